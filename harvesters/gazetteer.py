"""Builds the dated gazetteer of all of Vietnam: unit versions before and after 2025-07-01, the
reorganisation events with their territory transfers (whole or part), and the legal acts behind
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harvesters.vn_units_source import Reform, SourceUnit
from repository.namespaces import CV, DCT, GEO, KHO, PROV, RDF, RICO, SKOS, VL, Minter, code
from repository.rdf import Triples, boolean, decimal, text, xdate
from repository.text import fold

REFORM_DAY = "2025-07-01"
LAST_OLD_DAY = "2025-06-30"
HANOI_KEY = "thanhphohanoi"
SOURCE_URL = "https://pypi.org/project/vietnamadminunits/{version}/"

# Legal acts. Only those we could verify are marked so; the others are named, not guessed.
ACTS = {
    "hanoi-communes": (
        "1656/NQ-UBTVQH15",
        "2025-06-16",
        True,
        "Nghị quyết về việc sắp xếp các đơn vị hành chính cấp xã của thành phố Hà Nội năm 2025",
    ),
    "provinces": (
        "202/2025/QH15",
        "2025-06-12",
        True,
        "Nghị quyết về việc sắp xếp đơn vị hành chính cấp tỉnh",
    ),
    "districts": (
        "72/2025/QH15",
        "2025-06-16",
        False,
        "Luật Tổ chức chính quyền địa phương (không tổ chức cấp huyện từ 01/7/2025)",
    ),
    "hanoi-2008": (
        "15/2008/QH12",
        "2008-05-29",
        False,
        "Nghị quyết về việc điều chỉnh địa giới hành chính thành phố Hà Nội và một số "
        "tỉnh có liên quan",
    ),
}
# The day the current Thành phố Hà Nội began (NQ 15/2008/QH12 took effect on 2008-08-01).
HANOI_SINCE = "2008-08-01"

UNIT_TYPES = {
    ("province", "Thành phố"): "unittype-thanh-pho-truc-thuoc-tw",
    ("province", "Tỉnh"): "unittype-tinh",
    ("district", "Quận"): "unittype-quan",
    ("district", "Huyện"): "unittype-huyen",
    ("district", "Thị xã"): "unittype-thi-xa",
    ("district", "Thành phố"): "unittype-thanh-pho-thuoc-tinh",
    ("commune", "Phường"): "unittype-phuong",
    ("commune", "Xã"): "unittype-xa",
    ("commune", "Thị trấn"): "unittype-thi-tran",
    ("commune", "Đặc khu"): "unittype-dac-khu",
}
ENGLISH_TYPE = {
    "Thành phố": "City",
    "Tỉnh": "Province",
    "Quận": "District",
    "Huyện": "District",
    "Thị xã": "Town",
    "Phường": "Ward",
    "Xã": "Commune",
    "Thị trấn": "Township",
    "Đặc khu": "Special Zone",
}


@dataclass
class Version:
    """One unit version as the gazetteer mints it."""

    iri: str
    local: str
    unit: SourceUnit
    level: str
    valid_from: str | None
    valid_to: str | None
    parent: Version | None = None
    successors: list[tuple[Version, bool, bool]] = field(
        default_factory=list
    )  # (to, whole, default)
    predecessors: list[tuple[Version, bool, bool]] = field(default_factory=list)
    event: str | None = None  # the event that generated it
    ended_by: list[str] = field(default_factory=list)


@dataclass
class Gazetteer:
    """The minted versions and events, kept for the agency harvester."""

    old: dict[str, Version] = field(default_factory=dict)  # source key -> version before the reform
    new: dict[str, Version] = field(default_factory=dict)  # source key -> version after
    triples: Triples = field(default_factory=Triples)
    events: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # iri -> (date, types)

    def versions(self) -> list[Version]:
        seen: dict[str, Version] = {}
        for v in [*self.old.values(), *self.new.values()]:
            seen.setdefault(v.iri, v)
        return list(seen.values())


def build(reform: Reform, minter: Minter) -> Gazetteer:
    """Mint every unit version, event, transfer and legal act from the reform data."""
    gz = Gazetteer()
    unchanged = {
        old
        for old, new in reform.province_successor.items()
        if [o for o, n in reform.province_successor.items() if n == new] == [old] and old == new
    }
    for key, unit in reform.old.items():
        if unit.level == "province" and key in unchanged:
            since = HANOI_SINCE if key == HANOI_KEY else None
            gz.old[key] = gz.new[key] = _version(minter, unit, since, None)
        else:
            gz.old[key] = _version(minter, unit, None, LAST_OLD_DAY)
    for key, unit in reform.new.items():
        if key not in gz.new:
            gz.new[key] = _version(minter, unit, REFORM_DAY, None)
    for v in gz.old.values():
        v.parent = gz.old.get(v.unit.parent_key) if v.unit.parent_key else None
    for v in gz.new.values():
        if v.parent is None and v.unit.parent_key:
            v.parent = gz.new[v.unit.parent_key]

    acts = _legal_acts(gz.triples, minter)
    _province_events(reform, gz, minter, unchanged, acts)
    _commune_events(reform, gz, minter, acts)
    _district_abolition(gz, minter, acts)
    for v in gz.versions():
        _describe(gz.triples, v, reform.version)
    return gz


def _version(minter: Minter, unit: SourceUnit, since: str | None, until: str | None) -> Version:
    local = minter.unit_local(unit.name, unit.code, since, until)
    return Version(minter.unit(local), local, unit, unit.level, since, until)


def _legal_acts(t: Triples, minter: Minter) -> dict[str, str]:
    iris = {}
    for key, (number, issued, verified, title) in ACTS.items():
        iri = iris[key] = minter.legal(number)
        _act(t, iri, number, issued, verified, title)
    return iris


def _act(t: Triples, iri: str, number: str, issued: str | None, verified: bool, title: str) -> None:
    t.iri(iri, RDF + "type", RICO + "Mandate")
    t.iri(iri, RDF + "type", CV + "ReferenceFramework")
    t.lit(iri, RICO + "identifier", text(number))
    t.lit(iri, RICO + "title", text(title, "vi"))
    t.lit(iri, SKOS + "prefLabel", text(f"{number} — {title}", "vi"))
    t.lit(iri, DCT + "issued", xdate(issued))
    status = "citation-verified" if verified else "citation-unverified"
    t.iri(iri, KHO + "citationStatus", code(status))


def _province_act(t: Triples, minter: Minter, province: Version) -> str:
    """The commune-level resolution for one province: known for Hanoi, otherwise marked unknown."""
    name = province.unit.name
    number = f"NQ-UBTVQH15 (sắp xếp cấp xã {name}, số hiệu chưa xác minh)"
    iri = minter.legal(f"ubtvqh15-2025-cap-xa-{province.local}")
    _act(
        t,
        iri,
        number,
        None,
        False,
        f"Nghị quyết của Ủy ban Thường vụ Quốc hội về việc sắp xếp các đơn vị hành chính cấp xã "
        f"của {name[0].lower()}{name[1:]} năm 2025",
    )
    return iri


def _event(
    gz: Gazetteer, iri: str, label: str, types: list[str], act: str, parent: str | None
) -> None:
    t = gz.triples
    t.iri(iri, RDF + "type", KHO + "ReorganisationEvent")
    t.lit(iri, SKOS + "prefLabel", text(label, "vi"))
    t.lit(iri, DCT + "date", xdate(REFORM_DAY))
    for ty in types:
        t.iri(iri, RICO + "hasEventType", code(ty))
    t.iri(iri, CV + "hasFormalFramework", act)
    if parent:
        t.iri(iri, RICO + "isOrWasSubeventOf", parent)
    gz.events[iri] = (REFORM_DAY, types)


def _transfer(
    gz: Gazetteer,
    minter: Minter,
    event: str,
    old: Version,
    new: Version,
    whole: bool,
    default: bool,
) -> None:
    t = gz.triples
    tr = minter.transfer(old.local, new.local)
    t.iri(event, KHO + "transfer", tr)
    t.iri(tr, RDF + "type", KHO + "TerritoryTransfer")
    t.iri(tr, KHO + "fromUnit", old.iri)
    t.iri(tr, KHO + "toUnit", new.iri)
    t.iri(tr, KHO + "portion", code("portion-whole" if whole else "portion-part"))
    t.lit(tr, KHO + "isDefaultSuccessor", boolean(default))
    t.iri(event, PROV + "invalidated", old.iri)
    t.iri(event, PROV + "generated", new.iri)
    old.successors.append((new, whole, default))
    new.predecessors.append((old, whole, default))
    if event not in old.ended_by:
        old.ended_by.append(event)
    new.event = event


def _types_for(new: Version) -> list[str]:
    preds = new.predecessors
    types = []
    if len(preds) > 1:
        types.append("change-merger")
    if any(not whole for _, whole, _ in preds):
        types.append("change-partial-transfer")
    if len(preds) == 1 and preds[0][1]:
        old = preds[0][0]
        # Spelling-only differences ("KRong" / "Krong") are not renames.
        same = fold(old.unit.short) == fold(new.unit.short)
        types.append("change-hierarchy" if same else "change-rename")
    return types


def _province_events(
    reform: Reform, gz: Gazetteer, minter: Minter, unchanged: set[str], acts: dict[str, str]
) -> None:
    parent = minter.event(REFORM_DAY, "nq-202-2025-qh15")
    _event(
        gz,
        parent,
        "Sắp xếp đơn vị hành chính cấp tỉnh (2025-07-01)",
        ["change-merger"],
        acts["provinces"],
        None,
    )
    by_new: dict[str, list[str]] = {}
    for old, new in sorted(reform.province_successor.items()):
        if old not in unchanged:
            by_new.setdefault(new, []).append(old)
    for new_key, old_keys in sorted(by_new.items()):
        new = gz.new[new_key]
        event = minter.event(REFORM_DAY, new.local)
        for old_key in old_keys:
            _transfer(gz, minter, event, gz.old[old_key], new, True, True)
        _event(
            gz,
            event,
            f"Sắp xếp thành {new.unit.name} ({REFORM_DAY})",
            _types_for(new),
            acts["provinces"],
            parent,
        )


def _commune_events(reform: Reform, gz: Gazetteer, minter: Minter, acts: dict[str, str]) -> None:
    parents: dict[str, tuple[str, str]] = {}
    for new_p in sorted({u.parent_key for u in reform.new.values() if u.level == "commune"}):
        province = gz.new[new_p]  # type: ignore[index]
        act = (
            acts["hanoi-communes"]
            if new_p == HANOI_KEY
            else _province_act(gz.triples, minter, province)
        )
        parent = minter.event(REFORM_DAY, f"cap-xa-{province.local}")
        _event(
            gz,
            parent,
            f"Sắp xếp đơn vị hành chính cấp xã của {province.unit.name} ({REFORM_DAY})",
            ["change-merger"],
            act,
            None,
        )
        parents[new_p] = (parent, act)  # type: ignore[index]
    pending: dict[str, list[tuple[Version, bool, bool]]] = {}
    for old_key, succs in sorted(reform.successors.items()):
        for s in succs:
            pending.setdefault(s.new_key, []).append((gz.old[old_key], s.whole, s.default))
    for new_key, preds in sorted(pending.items()):
        new = gz.new[new_key]
        event = minter.event(REFORM_DAY, new.local)
        for old, whole, default in preds:
            _transfer(gz, minter, event, old, new, whole, default)
        parent, act = parents[new.unit.parent_key]  # type: ignore[index]
        _event(
            gz, event, f"Sắp xếp thành {new.unit.name} ({REFORM_DAY})", _types_for(new), act, parent
        )


def _district_abolition(gz: Gazetteer, minter: Minter, acts: dict[str, str]) -> None:
    """Districts end with their level; island districts that became đặc khu have transfers."""
    by_province: dict[str, list[Version]] = {}
    for v in gz.old.values():
        if v.level == "district" and not v.successors:
            by_province.setdefault(v.parent.local, []).append(v)  # type: ignore[union-attr]
    for province_local, districts in sorted(by_province.items()):
        event = minter.event(REFORM_DAY, f"khong-to-chuc-cap-huyen-{province_local}")
        _event(
            gz,
            event,
            f"Kết thúc hoạt động của đơn vị hành chính cấp huyện thuộc "
            f"{districts[0].parent.unit.name} ({REFORM_DAY})",  # type: ignore[union-attr]
            ["change-level-abolition"],
            acts["districts"],
            None,
        )
        for d in districts:
            gz.triples.iri(event, PROV + "invalidated", d.iri)
            d.ended_by.append(event)


def _describe(t: Triples, v: Version, source_version: str) -> None:
    u, iri = v.unit, v.iri
    t.iri(iri, RDF + "type", KHO + "AdminUnitVersion")
    t.lit(iri, SKOS + "prefLabel", text(u.name, "vi"))
    t.lit(iri, SKOS + "prefLabel", text(f"{u.short} {ENGLISH_TYPE[u.type]}", "en"))
    t.lit(iri, KHO + "shortName", text(u.short, "vi"))
    t.lit(iri, SKOS + "notation", text(u.code))
    t.iri(iri, KHO + "level", code(f"level-{v.level}"))
    place_type = UNIT_TYPES[(v.level, u.type)]
    if (
        v.level == "district"
        and u.type == "Thành phố"
        and v.parent
        and v.parent.unit.type == "Thành phố"
    ):
        place_type = "unittype-thanh-pho-thuoc-tp"
    t.iri(iri, RICO + "hasOrHadPlaceType", code(place_type))
    if v.parent:
        t.iri(iri, RICO + "isOrWasContainedBy", v.parent.iri)
    t.lit(iri, RICO + "beginningDate", xdate(v.valid_from))
    t.lit(iri, RICO + "endDate", xdate(v.valid_to))
    for new, _whole, default in v.successors:
        t.iri(iri, VL + "successor", new.iri)
        if default:
            t.iri(iri, KHO + "defaultSuccessor", new.iri)
    for old, _whole, _default in v.predecessors:
        t.iri(iri, VL + "predecessor", old.iri)
    t.lit(iri, GEO + "lat", decimal(u.lat))
    t.lit(iri, GEO + "long", decimal(u.lon))
    t.lit(iri, KHO + "areaKm2", decimal(u.area_km2))
    t.iri(iri, DCT + "source", SOURCE_URL.format(version=source_version))
