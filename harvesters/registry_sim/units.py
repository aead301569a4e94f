"""Vietnam's real administrative units before and after 2025-07-01 (`vietnamadminunits`, read
through harvesters/vn_units_source.py), each with the dates it bore its code, and the agencies of
Hanoi's units named exactly as Kho names them (harvesters/agencies.py). Loaded once per process,
on first use (about a second).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from harvesters import agencies as kho_agencies
from harvesters.gazetteer import HANOI_KEY, HANOI_SINCE, LAST_OLD_DAY, REFORM_DAY, Version
from harvesters.registry_sim import seeded
from harvesters.vn_units_source import Reform, SourceUnit, read_reform
from repository.text import fold

# The day QĐ 124/2004/QĐ-TTg (the list of unit codes before the reform) was signed: the registry's
# start date for units outside Hanoi, whose real start dates the source does not give.
CODES_2004 = "2004-07-08"
# The contract's example (docs/registries.md) answers as written.
EXAMPLE_AGENCY = ("00004", REFORM_DAY, "ubnd", "H01.26.04")


@dataclass(frozen=True)
class Unit:
    """One unit as the registry knows it: a code borne from `valid_from` to `valid_to`."""

    key: str
    code: str
    name: str
    level: str  # province | district | commune
    province_code: str
    valid_from: str
    valid_to: str | None
    lat: float | None
    lon: float | None

    def valid_on(self, on: str) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    def json(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "province_code": self.province_code,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
        }


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    kind: str
    unit: Unit

    def json(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "unit_code": self.unit.code,
            "valid_from": self.unit.valid_from,
            "valid_to": self.unit.valid_to,
        }


@dataclass
class Units:
    by_code: dict[str, list[Unit]] = field(default_factory=dict)
    old: dict[str, Unit] = field(default_factory=dict)  # source key -> unit before the reform
    new: dict[str, Unit] = field(default_factory=dict)  # source key -> unit after
    successors: dict[str, list[str]] = field(default_factory=dict)  # old key -> new keys
    agencies: list[Agency] = field(default_factory=list)
    agencies_by_name: dict[str, list[Agency]] = field(default_factory=dict)  # folded name
    agencies_by_code: dict[str, Agency] = field(default_factory=dict)

    def unit(self, code: str, on: str) -> Unit | None:
        """The unit that bore `code` on `on`."""
        return next((u for u in self.by_code.get(code, []) if u.valid_on(on)), None)

    def now(self, old: Unit, choice: object) -> Unit:
        """The unit `old` lies in today: itself if current, else its successor (for a divided
        commune, one of them, chosen by `choice`)."""
        if old.valid_to is None:
            return old
        keys = self.successors.get(old.key) or [old.key]
        return self.new.get(seeded.pick(keys, old.key, choice), old)

    def find_agencies(self, name: str, on: str) -> list[Agency]:
        return [a for a in self.agencies_by_name.get(match_key(name), []) if a.unit.valid_on(on)]


def match_key(name: str) -> str:
    """Names match accent-, case- and space-insensitively ('Uỷ' and 'Ủy' alike)."""
    return fold(name)


_lock = threading.Lock()
_units: Units | None = None


def units() -> Units:
    """The units and agencies, loaded on first use and kept for the process."""
    global _units
    with _lock:
        if _units is None:
            _units = build(read_reform())
        return _units


def build(reform: Reform) -> Units:
    out = Units()
    merged = {}
    for old, new in reform.province_successor.items():
        merged.setdefault(new, []).append(old)
    unchanged = {new for new, olds in merged.items() if olds == [new]}

    def province_code(u: SourceUnit, table: dict[str, SourceUnit]) -> str:
        while u.parent_key:
            u = table[u.parent_key]
        return u.code

    for key, su in reform.old.items():
        hanoi = key.split("_")[0] == HANOI_KEY
        since = HANOI_SINCE if hanoi else CODES_2004
        until = None if su.level == "province" and key in unchanged else LAST_OLD_DAY
        unit = _unit(su, province_code(su, reform.old), since, until)
        out.old[key] = unit
        if until is None:
            out.new[key] = unit
    for key, su in reform.new.items():
        if key not in out.new:
            out.new[key] = _unit(su, province_code(su, reform.new), REFORM_DAY, None)
    for u in {id(u): u for u in [*out.old.values(), *out.new.values()]}.values():
        out.by_code.setdefault(u.code, []).append(u)
    for old_key, succs in reform.successors.items():
        # the default successor first, then the others
        out.successors[old_key] = [s.new_key for s in sorted(succs, key=lambda s: not s.default)]
    _hanoi_agencies(out, reform)
    return out


def _unit(su: SourceUnit, province_code: str, since: str, until: str | None) -> Unit:
    return Unit(su.key, su.code, su.name, su.level, province_code, since, until, su.lat, su.lon)


def _hanoi_agencies(out: Units, reform: Reform) -> None:
    """Every agency of every version of Hanoi and its units, as Kho names them, with a stable
    registry code H01.<unit number>.<kind number>."""
    hanoi = [
        u
        for u in {id(u): u for u in [*out.old.values(), *out.new.values()]}.values()
        if u.province_code == "01"
    ]
    hanoi.sort(key=lambda u: (u.valid_from, "pdc".index(u.level[0]), u.code))
    kind_no = {kind: n for n, kind in enumerate(kho_agencies.KINDS, start=1)}
    source = {**reform.old, **reform.new}
    agencies = []
    for n, u in enumerate(hanoi):
        v = Version("", "", source[u.key], u.level, u.valid_from, u.valid_to)
        for kind in kho_agencies.kinds_for(v, "01"):
            name, _ = kho_agencies._names(v, kind)
            agencies.append(Agency(f"H01.{n}.{kind_no[kind]:02d}", name, kind, u))
    code, since, kind, wanted = EXAMPLE_AGENCY
    for i, a in enumerate(agencies):
        if a.unit.code == code and a.unit.valid_from == since and a.kind == kind:
            taken = next((j for j, b in enumerate(agencies) if b.code == wanted), None)
            if taken is not None:
                agencies[taken] = Agency(a.code, *_rest(agencies[taken]))
            agencies[i] = Agency(wanted, *_rest(a))
    out.agencies = agencies
    for a in agencies:
        out.agencies_by_name.setdefault(match_key(a.name), []).append(a)
        out.agencies_by_code[a.code] = a


def _rest(a: Agency) -> tuple[str, str, Unit]:
    return a.name, a.kind, a.unit
