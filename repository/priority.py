"""The digitisation programme's priority groups (1–5) of hồ sơ, and counts per group.

Programme order (docs/model.md, "Retention decision"): 1 district Party + government;
2 commune Party + government; 3 city Party; 4 city government; 5 mass organisations of every level.
"""

from __future__ import annotations

from repository.errors import BadRequest
from repository.namespaces import code
from repository.store import Store

PARTY = {"dang-uy", "luu-tru-dang"}
GOVERNMENT = {"hdnd", "ubnd", "luu-tru-lich-su"}
MASS = {"mttq", "doan-tn", "hoi-lhpn", "hoi-nong-dan", "hoi-ccb", "ldld"}
LEVELS = ("province", "district", "commune")
GROUP_LABELS: dict[int, tuple[str, str]] = {
    1: ("Đảng và chính quyền cấp huyện", "District Party and government"),
    2: ("Đảng và chính quyền cấp xã", "Commune Party and government"),
    3: ("Đảng bộ thành phố", "City Party"),
    4: ("Chính quyền thành phố", "City government"),
    5: ("Mặt trận và các đoàn thể các cấp", "Mass organisations of every level"),
}


def _local(value: str, prefix: str) -> str:
    value = value.rsplit("/", 1)[-1]
    return value[len(prefix) :] if value.startswith(prefix) else value


def priority_group(agency_kind: str, level: str) -> int:
    """The programme group (1–5) of a creator's hồ sơ, from its agency kind and level.

    Kinds and levels as in harvesters/agencies.py (`ubnd`, `dang-uy`, …; `province`, `district`,
    `commune`); code IRIs (khoc:agency-ubnd, khoc:level-commune) are accepted too. The city is
    the province level (Hà Nội).
    """
    kind, lvl = _local(agency_kind, "agency-"), _local(level, "level-")
    if lvl not in LEVELS:
        raise BadRequest(f"Unknown level {level!r}: use province, district or commune.")
    if kind in MASS:
        return 5
    if kind not in PARTY | GOVERNMENT:
        raise BadRequest(
            f"Unknown agency kind {agency_kind!r}: use one of "
            f"{', '.join(sorted(PARTY | GOVERNMENT | MASS))}."
        )
    if lvl == "district":
        return 1
    if lvl == "commune":
        return 2
    return 3 if kind in PARTY else 4


def priority_iri(group: int) -> str:
    """khoc:priority-1 … khoc:priority-5."""
    if group not in GROUP_LABELS:
        raise BadRequest(f"Unknown priority group {group}: groups are 1 to 5.")
    return code(f"priority-{group}")


_COUNTS = """
SELECT ?p (COUNT(?h) AS ?n) (SUM(?pages) AS ?total) WHERE {
  { SELECT ?h ?p (MAX(COALESCE(?pg, 0)) AS ?pages) WHERE {
      ?h kho:priorityGroup ?p . OPTIONAL { ?h kho:numberOfPage ?pg }
    } GROUP BY ?h ?p }
} GROUP BY ?p
"""


def priority_counts(store: Store) -> dict[int, dict[str, object]]:
    """Per group 1–5: its labels, how many hồ sơ, and their pages (kho:numberOfPage)."""
    out: dict[int, dict[str, object]] = {
        g: {"label_vi": vi, "label_en": en, "hoso": 0, "pages": 0}
        for g, (vi, en) in GROUP_LABELS.items()
    }
    for row in store.select(_COUNTS):
        tail = str(row["p"]).rsplit("priority-", 1)[-1]
        if tail.isdigit() and int(tail) in out:
            out[int(tail)]["hoso"] = int(row["n"] or 0)  # type: ignore[call-overload]
            out[int(tail)]["pages"] = int(row["total"] or 0)  # type: ignore[call-overload]
    return out
