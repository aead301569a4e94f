"""Reads Vietnam's real administrative units, before and after 2025-07-01, from `vietnamadminunits`.

The package ships a SQLite table of the 10,040 pre-reform commune-level units (63 provinces, with
their districts), a table of the 3,321 post-reform units (34 provinces) and the old->new mapping,
including the old communes that were divided between several new ones with their default successor.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from importlib import metadata, resources

from repository.errors import HarvestError
from repository.text import nfc

PACKAGE = "vietnamadminunits"


@dataclass(frozen=True)
class SourceUnit:
    """One unit as the source states it (no dates: the reform fixes those)."""

    key: str  # the source's own key, unique within its table ("thanhphohanoi_quanbadinh_...")
    code: str
    name: str  # full name with its type, e.g. "Phường Trúc Bạch"
    short: str
    type: (
        str  # source type word: Tỉnh, Thành phố, Quận, Huyện, Thị xã, Phường, Xã, Thị trấn, Đặc khu
    )
    level: str  # province | district | commune
    parent_key: str | None
    lat: float | None = None
    lon: float | None = None
    area_km2: float | None = None


@dataclass(frozen=True)
class Successor:
    new_key: str
    whole: bool
    default: bool


@dataclass
class Reform:
    """Everything the 2025 reform data says, keyed by the source's keys."""

    version: str
    old: dict[str, SourceUnit] = field(default_factory=dict)  # provinces, districts, communes
    new: dict[str, SourceUnit] = field(default_factory=dict)  # provinces, communes
    # old key -> its successors (commune level; also island districts that became đặc khu)
    successors: dict[str, list[Successor]] = field(default_factory=dict)
    # old province key -> new province key
    province_successor: dict[str, str] = field(default_factory=dict)


TYPES = ("Thành phố", "Tỉnh", "Quận", "Huyện", "Thị xã", "Phường", "Xã", "Thị trấn", "Đặc khu")


def _type_of(name: str) -> str:
    for t in TYPES:
        if name.lower().startswith(t.lower() + " "):
            return t
    raise HarvestError(f"Cannot tell the unit type of {name!r} from its name.")


def read_reform() -> Reform:
    """Load both tables and the mapping; raise HarvestError if the package data is inconsistent."""
    data = resources.files(PACKAGE) / "data"
    reform = Reform(version=metadata.version(PACKAGE))
    with resources.as_file(data / "dataset.db") as db_path:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        legacy = [dict(r) for r in con.execute("SELECT * FROM admin_units_legacy")]
        current = [dict(r) for r in con.execute("SELECT * FROM admin_units")]
        con.close()
    mapping = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))

    for r in legacy:
        p, d = r["provinceKey"], f"{r['provinceKey']}_{r['districtKey']}"
        reform.old.setdefault(
            p,
            _province(r),
        )
        reform.old.setdefault(
            d,
            _unit(
                d,
                r["districtCode"],
                r["district"],
                "district",
                p,
                r["districtLat"],
                r["districtLon"],
            ),
        )
        if r["ward"]:
            w = f"{d}_{r['wardKey']}"
            reform.old[w] = _unit(
                w, r["wardCode"], r["ward"], "commune", d, r["wardLat"], r["wardLon"]
            )
    for r in current:
        p = r["provinceKey"]
        reform.new.setdefault(
            p,
            _province(r),
        )
        w = f"{p}_{r['wardKey']}"
        reform.new[w] = _unit(
            w, r["wardCode"], r["ward"], "commune", p, r["wardLat"], r["wardLon"], r["wardAreaKm2"]
        )

    for new_p, olds in mapping["DICT_PROVINCE"].items():
        for old_p in olds:
            reform.province_successor[old_p] = new_p
    for new_p, wards in mapping["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_w, old_keys in wards.items():
            for old_key in old_keys:
                reform.successors.setdefault(_old_key(old_key), []).append(
                    Successor(f"{new_p}_{new_w}", whole=True, default=True)
                )
    for new_p, olds in mapping["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, news in olds.items():
            reform.successors.setdefault(_old_key(old_key), []).extend(
                Successor(
                    f"{new_p}_{n['newWardKey']}", whole=False, default=bool(n["isDefaultNewWard"])
                )
                for n in news
            )
    _check(reform)
    return reform


def _province(r: dict) -> SourceUnit:
    """The province of a source row (both tables name it with the same columns)."""
    return _unit(
        r["provinceKey"],
        r["provinceCode"],
        r["province"],
        "province",
        None,
        r["provinceLat"],
        r["provinceLon"],
    )


def _old_key(key: str) -> str:
    # Island districts without communes appear as "province_district_" (empty ward key).
    return key[:-1] if key.endswith("_") else key


def _unit(
    key: str,
    code: str,
    name: str,
    level: str,
    parent: str | None,
    lat: float | None,
    lon: float | None,
    area: float | None = None,
) -> SourceUnit:
    name = " ".join(nfc(name).split())
    kind = _type_of(name)
    name = kind + name[len(kind) :]  # the source sometimes capitalises the type: "Thành Phố"
    return SourceUnit(
        key=key,
        code=code,
        name=name,
        short=name[len(kind) + 1 :],
        type=kind,
        level=level,
        parent_key=parent,
        lat=lat,
        lon=lon,
        area_km2=area,
    )


def _check(reform: Reform) -> None:
    problems = []
    for old_key, succs in reform.successors.items():
        if old_key not in reform.old:
            problems.append(f"mapping names unknown old unit {old_key}")
        problems += [
            f"mapping names unknown new unit {s.new_key}"
            for s in succs
            if s.new_key not in reform.new
        ]
        if len(succs) > 1 and sum(s.default for s in succs) != 1:
            problems.append(f"divided unit {old_key} has {sum(s.default for s in succs)} defaults")
    communes = [k for k, u in reform.old.items() if u.level == "commune"]
    problems += [
        f"old commune {k} has no successor" for k in communes if k not in reform.successors
    ]
    if problems:
        raise HarvestError(
            f"The {PACKAGE} {reform.version} data is inconsistent ({len(problems)} problems); "
            "pin the last good version. First problems: " + "; ".join(problems[:5]),
            details=problems,
        )
