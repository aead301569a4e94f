"""The standard agencies of every unit version, per block, with jurisdiction, dates, hierarchy and
succession through the reorganisation events; fonds and custody of ended agencies from
`mappings/custody.csv` (custody is configured, never implied).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from harvesters.gazetteer import ENGLISH_TYPE, LAST_OLD_DAY, REFORM_DAY, Gazetteer, Version
from repository.errors import HarvestError
from repository.namespaces import CV, KHO, ORG, RDF, RIC_RST, RICO, SKOS, Minter, code
from repository.rdf import Triples, text, xdate

# kind -> (block, Vietnamese name pattern, English name pattern). "{u}" is the unit's name with a
# lower-case type word ("phường Trúc Bạch"), "{e}" its English name.
KINDS: dict[str, tuple[str, str, str]] = {
    "hdnd": ("block-chinh-quyen", "Hội đồng nhân dân {u}", "People's Council of {e}"),
    "ubnd": ("block-chinh-quyen", "Ủy ban nhân dân {u}", "People's Committee of {e}"),
    "dang-uy": ("block-dang", "{party}", "Party Committee of {e}"),
    "mttq": (
        "block-doan-the",
        "Ủy ban Mặt trận Tổ quốc Việt Nam {u}",
        "Vietnam Fatherland Front Committee of {e}",
    ),
    "doan-tn": (
        "block-doan-the",
        "Đoàn Thanh niên Cộng sản Hồ Chí Minh {u}",
        "Hồ Chí Minh Communist Youth Union of {e}",
    ),
    "hoi-lhpn": ("block-doan-the", "Hội Liên hiệp Phụ nữ {u}", "Women's Union of {e}"),
    "hoi-nong-dan": ("block-doan-the", "Hội Nông dân {u}", "Farmers' Union of {e}"),
    "hoi-ccb": ("block-doan-the", "Hội Cựu chiến binh {u}", "Veterans' Association of {e}"),
    "ldld": ("block-doan-the", "Liên đoàn Lao động {u}", "Labour Federation of {e}"),
    "luu-tru-lich-su": (
        "block-chinh-quyen",
        "Trung tâm Lưu trữ lịch sử {u}",
        "Historical Archives of {e}",
    ),
    "luu-tru-dang": ("block-dang", "Kho Lưu trữ {party}", "Party Archives of {e}"),
}
PARTY_WORD = {
    "Tỉnh": "Tỉnh ủy",
    "Thành phố": "Thành ủy",
    "Quận": "Quận ủy",
    "Huyện": "Huyện ủy",
    "Thị xã": "Thị ủy",
}
# Urban self-government pilots: no People's Council in these wards/districts from 2021 until the
# reform (NQ 97/2019/QH14 Hà Nội wards; NQ 119/2020/QH14 Đà Nẵng; NQ 131/2020/QH14 TP. Hồ Chí Minh).
NO_COUNCIL = {("01", "Phường"), ("48", "Quận"), ("48", "Phường"), ("79", "Quận"), ("79", "Phường")}
CUSTODY_COLUMNS = ["province_code", "level", "agency_kind", "holder", "since", "basis"]


def kinds_for(v: Version, province_code: str) -> list[str]:
    """Which agencies a unit version has, by level and type."""
    kinds = ["hdnd", "ubnd", "dang-uy", "mttq", "doan-tn", "hoi-lhpn", "hoi-nong-dan", "hoi-ccb"]
    if v.level != "commune":
        kinds.append("ldld")
    if v.level == "province":
        kinds += ["luu-tru-lich-su", "luu-tru-dang"]
    if v.unit.type in ("Phường", "Quận"):  # urban units have no Farmers' Union
        kinds.remove("hoi-nong-dan")
    if v.valid_to and (province_code, v.unit.type) in NO_COUNCIL:
        kinds.remove("hdnd")
    return kinds


def _names(v: Version, kind: str) -> tuple[str, str]:
    u = v.unit
    lower = u.name[0].lower() + u.name[1:]
    english = f"{u.short} {ENGLISH_TYPE[u.type]}"
    party = (
        PARTY_WORD.get(u.type, "Đảng ủy") + " " + u.short
        if v.level != "commune"
        else f"Đảng ủy {lower}"
    )
    _, vi, en = KINDS[kind]
    return vi.format(u=lower, party=party), en.format(e=english)


def _province_code(v: Version) -> str:
    while v.parent is not None:
        v = v.parent
    return v.unit.code


@dataclass
class Agencies:
    triples: Triples
    by_unit: dict[str, dict[str, str]]  # unit iri -> kind -> agency iri


def build(gz: Gazetteer, minter: Minter, custody_csv: Path) -> Agencies:
    """Mint the agencies of every unit version and their succession, then configured custody."""
    t = Triples()
    by_unit: dict[str, dict[str, str]] = {}
    versions = gz.versions()
    for v in versions:
        by_unit[v.iri] = {}
        for kind in kinds_for(v, _province_code(v)):
            iri = by_unit[v.iri][kind] = minter.agency(kind, v.local)
            _agency(t, iri, v, kind)
    for v in versions:
        for kind, iri in by_unit[v.iri].items():
            if v.parent and kind in by_unit[v.parent.iri]:
                up = by_unit[v.parent.iri][kind]
                t.iri(iri, RICO + "isOrWasSubordinateTo", up)
        for event in v.ended_by:
            for iri in by_unit[v.iri].values():
                t.iri(iri, ORG + "changedBy", event)
        if v.event and v.predecessors:
            for iri in by_unit[v.iri].values():
                t.iri(iri, ORG + "resultedFrom", v.event)
        for new, whole, _default in v.successors:
            merged = len(new.predecessors) > 1
            for kind, old_agency in by_unit[v.iri].items():
                new_agency = by_unit[new.iri].get(kind)
                if new_agency:
                    _succession(t, old_agency, new_agency, whole, merged)
    _custody(t, gz, minter, by_unit, read_custody(custody_csv))
    return Agencies(t, by_unit)


def _agency(t: Triples, iri: str, v: Version, kind: str) -> None:
    block = KINDS[kind][0]
    vi, en = _names(v, kind)
    t.iri(iri, RDF + "type", RICO + "CorporateBody")
    t.iri(iri, RDF + "type", ORG + "Organization")
    if block == "block-chinh-quyen":
        t.iri(iri, RDF + "type", CV + "PublicOrganisation")
    t.lit(iri, SKOS + "prefLabel", text(vi, "vi"))
    t.lit(iri, SKOS + "prefLabel", text(en, "en"))
    t.iri(iri, KHO + "agencyKind", code(f"agency-{kind}"))
    t.iri(iri, RICO + "hasOrHadCorporateBodyType", code(block))
    t.iri(iri, RICO + "hasOrHadJurisdiction", v.iri)
    t.lit(iri, RICO + "beginningDate", xdate(v.valid_from))
    t.lit(iri, RICO + "endDate", xdate(v.valid_to))


def _succession(t: Triples, old: str, new: str, whole: bool, merged: bool) -> None:
    t.iri(old, RICO + "hasSuccessor", new)
    t.iri(new, RICO + "isSuccessorOf", old)
    if not whole:
        t.iri(old, RICO + "wasSplitInto", new)
        t.iri(new, RICO + "resultedFromTheSplitOf", old)
    elif merged:
        t.iri(old, RICO + "wasMergedInto", new)
        t.iri(new, RICO + "resultedFromTheMergerOf", old)


@dataclass(frozen=True)
class CustodyRule:
    line: int
    province_code: str
    level: str
    agency_kind: str  # a kind, or * for all
    holder: str  # a kind of the province's archives, or "default-successor"
    since: str
    basis: str


def read_custody(path: Path) -> list[CustodyRule]:
    """Read the custody rules; a bad row is an error naming its line and what to fix."""
    rules = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(line for line in f if not line.startswith("#"))
        if reader.fieldnames != CUSTODY_COLUMNS:
            raise HarvestError(
                f"{path}: the header must be {','.join(CUSTODY_COLUMNS)}, "
                f"not {','.join(reader.fieldnames or [])}."
            )
        for n, row in enumerate(reader, start=2):
            rule = CustodyRule(n, **{k: (row[k] or "").strip() for k in CUSTODY_COLUMNS})
            problem = None
            if rule.level not in ("district", "commune"):
                problem = f"level {rule.level!r} must be district or commune"
            elif rule.agency_kind != "*" and rule.agency_kind not in KINDS:
                problem = f"agency_kind {rule.agency_kind!r} is not one of {', '.join(KINDS)} or *"
            elif rule.holder not in ("default-successor", "luu-tru-lich-su", "luu-tru-dang"):
                problem = (
                    f"holder {rule.holder!r} must be default-successor, luu-tru-lich-su "
                    "or luu-tru-dang"
                )
            elif rule.since != REFORM_DAY:
                problem = f"since {rule.since!r}: only {REFORM_DAY} is supported for now"
            if problem:
                raise HarvestError(f"{path}, line {n}: {problem}. Fix the row and harvest again.")
            rules.append(rule)
    return rules


def _custody(
    t: Triples,
    gz: Gazetteer,
    minter: Minter,
    by_unit: dict[str, dict[str, str]],
    rules: list[CustodyRule],
) -> None:
    for v in gz.old.values():
        if v.valid_to != LAST_OLD_DAY or v.level not in ("district", "commune"):
            continue
        province = v
        while province.parent is not None:
            province = province.parent
        new_province = (
            province if province.valid_to is None else next(s for s, _, _ in province.successors)
        )
        for kind, agency in by_unit[v.iri].items():
            rule = _rule_for(rules, province.unit.code, v.level, kind)
            if rule is None:
                continue
            if rule.holder == "default-successor":
                target = next((s for s, _, d in v.successors if d), None)
                holder = by_unit[target.iri].get(kind) if target else None
            else:
                holder = by_unit[new_province.iri].get(rule.holder)
            if holder:
                _fonds(t, minter, v, kind, agency, holder, rule)


def _rule_for(
    rules: list[CustodyRule], province_code: str, level: str, kind: str
) -> CustodyRule | None:
    for r in rules:  # first matching row wins, like a routing table
        if (
            r.province_code in (province_code, "*")
            and r.level == level
            and r.agency_kind in (kind, "*")
        ):
            return r
    return None


def _fonds(
    t: Triples, minter: Minter, v: Version, kind: str, agency: str, holder: str, rule: CustodyRule
) -> None:
    fonds = minter.fonds(kind, v.local)
    vi, en = _names(v, kind)
    t.iri(fonds, RDF + "type", RICO + "RecordSet")
    t.iri(fonds, RICO + "hasRecordSetType", RIC_RST + "Fonds")
    t.lit(fonds, RICO + "title", text(f"Phông lưu trữ {vi}", "vi"))
    t.lit(fonds, RICO + "title", text(f"Fonds of the {en}", "en"))
    t.iri(fonds, RICO + "hasOrganicProvenance", agency)
    t.iri(fonds, RICO + "hasCreator", agency)
    t.lit(fonds, RICO + "endDate", xdate(v.valid_to))
    holder_local = holder.rsplit("/", 2)[-2] + "-" + holder.rsplit("/", 1)[-1]
    for source, begin, end, note in (
        (agency, v.valid_from, v.valid_to, "Cơ quan hình thành phông giữ tài liệu của mình."),
        (holder, rule.since, None, f"{rule.basis} (mappings/custody.csv, dòng {rule.line})"),
    ):
        local = "self" if source == agency else holder_local
        rel = minter.holding(kind, v.local, local, begin or "start")
        t.iri(rel, RDF + "type", RICO + "RecordResourceHoldingRelation")
        t.iri(rel, RICO + "relationHasSource", source)
        t.iri(rel, RICO + "relationHasTarget", fonds)
        t.lit(rel, RICO + "beginningDate", xdate(begin))
        t.lit(rel, RICO + "endDate", xdate(end))
        t.lit(rel, RICO + "generalDescription", text(note, "vi"))
        t.iri(fonds, RICO + "hasOrHadHolder", source)
