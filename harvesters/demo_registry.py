"""The registry columns of the demo batches (issue 5 §3): enterprise codes, land parcels,
citizens' numbers and officials' codes a hồ sơ or document concerns, as a contractor fills them.

Most identifiers are ones the registries know (docs/registries.md: well-known enterprises, valid
codes, parcels in the record's own commune as its code was on the record's date, officials
CB01-000001…CB01-008000); a few are deliberately unknown, so that verification has "not found"
links to show: an official code beyond the registry's range or of another province, a map sheet
beyond the cadastre's, a parcel id nobody issued. Every choice comes from the generator given
here (its own, seeded), never from the batch's main one, so adding columns changes no document.
"""

from __future__ import annotations

import random
from datetime import date

from harvesters import specimen_text as st
from harvesters.specimens import DocumentSpec

REFORM = date(2025, 7, 1)
# Real enterprises (docs/registries.md): Viettel, FPT, Vinamilk.
KNOWN_ENTERPRISES = ("0100109106", "0101248141", "0300588569")
KNOWN_PARCEL_ID = "w7er8u0g3k2m"  # docs/registries.md's example parcel (Phường Hoàn Kiếm)
UNKNOWN_PARCEL_ID = "w7er8u0g3kzz"  # well formed, issued by nobody
OFFICIALS_KNOWN = 8000  # the registry's Hanoi officials CB01-000001 … CB01-008000
REGISTRY_KINDS = ("enterprise", "land", "citizen", "official")


def official_code(rng: random.Random) -> str:
    return f"CB01-{rng.randint(1, OFFICIALS_KNOWN):06d}"


def commune_code(spec: DocumentSpec, rng: random.Random) -> str:
    """A commune code valid on the document's date: the issuer's own commune, else a commune of
    Hanoi of that time (old communes before 2025-07-01, new ones from it)."""
    if len(spec.admin_unit_code) == 5:
        return spec.admin_unit_code
    old, new = st.hanoi_units()
    units = old if spec.issued_on < REFORM else new
    return rng.choice(sorted(u.code for u in units if u.level == "commune"))


def _parcel(spec: DocumentSpec, rng: random.Random, ref: dict[str, str] | None = None) -> str:
    sheet = ref["sheet"] if ref else str(rng.randint(1, 60))
    parcel = ref["parcel"] if ref else str(rng.randint(1, 1500))
    return f"{commune_code(spec, rng)}/{sheet}/{parcel}"


def doc_columns(spec: DocumentSpec, rng: random.Random, n: int) -> dict[str, str]:
    """Registry columns of the n-th document of a batch: kind -> "a; b" (empty when none).

    What the document's text cites is often copied into the sheet too (the same enterprise,
    parcel or citizen); some rows add an enterprise, parcel or official the text does not name.
    """
    cols: dict[str, list[str]] = {k: [] for k in REGISTRY_KINDS}
    for ref in spec.registry_refs:
        if rng.random() >= 0.7:
            continue
        if ref["kind"] == "land":
            cols["land"].append(_parcel(spec, rng, ref))
        else:
            cols[ref["kind"]].append(ref["id"])
    if rng.random() < 0.2:
        cols["enterprise"].append(rng.choice(KNOWN_ENTERPRISES))
    if rng.random() < 0.15:
        cols["land"].append(_parcel(spec, rng))
    if spec.agency_kind in ("ubnd", "hdnd", "dang-uy") and rng.random() < 0.3:
        cols["official"].append(official_code(rng))
    # a few deliberately unknown identifiers, well formed: verification says "not found"
    if n % 9 == 4:
        cols["official"].append(rng.choice(["CB01-009321", "CB79-000112"]))
    if n % 11 == 6:
        cols["land"].append(f"{commune_code(spec, rng)}/{rng.randint(151, 400)}/12")
    if n % 13 == 7:
        cols["land"].append(rng.choice([KNOWN_PARCEL_ID, UNKNOWN_PARCEL_ID]))
    return {k: "; ".join(v) for k, v in cols.items()}


def hoso_columns(docs: list[DocumentSpec], rng: random.Random, n: int) -> dict[str, str]:
    """Registry columns of the n-th hồ sơ: now and then an enterprise or a parcel the whole file
    is about (its key date: the hồ sơ's start date, the first document's)."""
    cols = {k: "" for k in REGISTRY_KINDS if k != "citizen"}
    if n % 6 == 1:
        cols["enterprise"] = rng.choice(KNOWN_ENTERPRISES)
    if n % 6 == 3:
        cols["land"] = _parcel(docs[0], rng)
    if n % 8 == 5:
        cols["official"] = official_code(rng)
    return cols


def source_identifier(code: str, n: int) -> str:
    """Now and then, the hồ sơ's identifier in the contractor's digitisation system (it becomes
    dct:source; an OAI-PMH harvest puts the OAI identifier here)."""
    return f"oai:so-hoa.hanoi.example:{code}" if n % 4 == 2 else ""
