"""The officials' registry (CSDL cán bộ, công chức, viên chức): Hanoi's officials CB01-000001 …
CB01-008000 in the agencies of Hanoi's units of today, and agencies found by name on a date."""

from __future__ import annotations

from harvesters.registry_sim import seeded
from harvesters.registry_sim.answers import (
    Answer,
    bad_request,
    day_between,
    found,
    invalid,
    not_found,
    valid_date,
)
from harvesters.registry_sim.units import Agency, units
from repository.identifiers import OFFICIAL, PROVINCE_CODES

PROVINCE = "01"
COUNT = 8000
# Positions by agency kind, with how many of an agency's officials hold them.
POSITIONS: dict[str, list[tuple[str, float]]] = {
    "ubnd": [
        ("Chủ tịch", 0.05),
        ("Phó Chủ tịch", 0.1),
        ("Chánh Văn phòng", 0.05),
        ("Công chức Văn phòng – Thống kê", 0.15),
        ("Công chức Địa chính – Xây dựng", 0.2),
        ("Công chức Tư pháp – Hộ tịch", 0.15),
        ("Công chức Tài chính – Kế toán", 0.15),
        ("Công chức Văn hóa – Xã hội", 0.15),
    ],
    "hdnd": [("Chủ tịch", 0.2), ("Phó Chủ tịch", 0.4), ("Trưởng ban", 0.4)],
    "doan-tn": [("Bí thư", 0.3), ("Phó Bí thư", 0.7)],
    "dang-uy": [
        ("Bí thư", 0.1),
        ("Phó Bí thư", 0.2),
        ("Ủy viên Ban Thường vụ", 0.3),
        ("Chánh Văn phòng", 0.1),
        ("Chuyên viên", 0.3),
    ],
}
OTHER_POSITIONS = [("Chủ tịch", 0.3), ("Phó Chủ tịch", 0.4), ("Chuyên viên", 0.3)]
# docs/registries.md's example.
EXAMPLE = ("CB01-004512", "Chủ tịch", "H01.26.04", "2025-07-01")


def official(code: str, today: str) -> Answer:
    m = OFFICIAL.match(code)
    if not m or m["province"] not in PROVINCE_CODES:
        return invalid(f"Personnel code {code} is not valid (form CB01-004512).")
    seq = int(m["seq"])
    if m["province"] != PROVINCE or not 1 <= seq <= COUNT:
        return not_found(f"No official has the personnel code {code}.")
    us = units()
    if code == EXAMPLE[0]:
        _, position, agency_code, since = EXAMPLE
        agency = us.agencies_by_code[agency_code]
    else:
        today_agencies = _current(today)
        agency = seeded.pick(today_agencies, "agency", code)
        positions = POSITIONS.get(agency.kind, OTHER_POSITIONS)
        position = seeded.weighted(positions, "position", code)
        since = day_between(agency.unit.valid_from, today, seeded.fraction("since", code) ** 2)
    return found(
        {
            "code": code,
            "position": position,
            "agency": {"code": agency.code, "name": agency.name},
            "since": since,
        }
    )


def agencies(name: str, on: str) -> Answer:
    if not name.strip():
        return bad_request(
            "name= is missing: the agency's name, e.g. Ủy ban nhân dân phường Ba Đình."
        )
    if not valid_date(on):
        return bad_request(f"on={on} is not a date (YYYY-MM-DD).")
    return found({"items": [a.json() for a in units().find_agencies(name, on)]})


_current_cache: dict[str, list[Agency]] = {}


def _current(today: str) -> list[Agency]:
    if today not in _current_cache:
        _current_cache[today] = [a for a in units().agencies if a.unit.valid_on(today)]
    return _current_cache[today]
