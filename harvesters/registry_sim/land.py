"""The land registry (CSDL quốc gia về đất đai): parcels by cadastral key or national id, and the
administrative units it knows under a code on a date."""

from __future__ import annotations

import re
import threading

from harvesters.registry_sim import seeded
from harvesters.registry_sim.answers import (
    Answer,
    bad_request,
    found,
    invalid,
    not_found,
    valid_date,
)
from harvesters.registry_sim.units import Unit, units
from repository.identifiers import GEOHASH

EXISTING = 0.9
MAX_SHEET = 150
MAX_PARCEL = 5000
SEEDED = 2000  # parcels known by id from the start (Hanoi's communes of today)
# Land use codes (TT 08/2024/TT-BTNMT) with how common they are among parcels.
LAND_USES = [
    ("ODT", 0.3),  # đất ở tại đô thị
    ("ONT", 0.25),  # đất ở tại nông thôn
    ("LUC", 0.15),  # đất chuyên trồng lúa
    ("CLN", 0.1),  # đất trồng cây lâu năm
    ("BHK", 0.06),  # đất bằng trồng cây hàng năm khác
    ("NTS", 0.04),  # đất nuôi trồng thủy sản
    ("TMD", 0.03),  # đất thương mại, dịch vụ
    ("SKC", 0.02),  # đất cơ sở sản xuất phi nông nghiệp
    ("DGD", 0.02),  # đất xây dựng cơ sở giáo dục và đào tạo
    ("NTD", 0.02),  # đất nghĩa trang, nhà tang lễ
    ("RSX", 0.01),  # đất rừng sản xuất
]
# docs/registries.md's example id: a parcel in Phường Hoàn Kiếm.
EXAMPLE_ID = ("w7er8u0g3k2m", "01", "00070", "12", "87")
_UNIT_CODE = re.compile(r"^(\d{2}|\d{3}|\d{5})$")
_issued: dict[str, dict] = {}  # parcel id -> answer (without commune_then), as issued
_lock = threading.Lock()


def unit(code: str, on: str) -> Answer:
    if not _UNIT_CODE.match(code):
        return invalid(f"Unit code {code} is not valid: 2 (province), 3 or 5 digits.")
    if not valid_date(on):
        return bad_request(f"on={on} is not a date (YYYY-MM-DD).")
    u = units().unit(code, on)
    if u is None:
        return not_found(f"No administrative unit bore the code {code} on {on}.")
    return found(u.json())


def parcel_by_key(commune: str, sheet: str, parcel: str, on: str, today: str) -> Answer:
    if not re.fullmatch(r"\d{5}", commune):
        return invalid(f"Commune code {commune} is not valid: 5 digits.")
    if not (re.fullmatch(r"\d{1,6}", sheet) and re.fullmatch(r"\d{1,7}", parcel)):
        return invalid("The map sheet needs 1–6 digits and the parcel number 1–7.")
    if not valid_date(on):
        return bad_request(f"on={on} is not a date (YYYY-MM-DD): a commune code needs its date.")
    sheet, parcel = str(int(sheet)), str(int(parcel))
    then = units().unit(commune, on)
    if then is None or then.level != "commune":
        return not_found(f"No commune bore the code {commune} on {on}.")
    key = (then.key, sheet, parcel)
    if not (
        1 <= int(sheet) <= MAX_SHEET
        and 1 <= int(parcel) <= MAX_PARCEL
        and seeded.chance(EXISTING, "parcel", *key)
    ):
        return not_found(f"No parcel {parcel} on map sheet {sheet} of {then.name} ({on}).")
    body = _parcel(then, sheet, parcel, today)
    return found({**body, "commune_then": {"code": then.code, "name": then.name, "on": on}})


def parcel_by_id(parcel_id: str, today: str) -> Answer:
    if not GEOHASH.match(parcel_id):
        return invalid(f"Parcel id {parcel_id} is not valid: 12 GeoHash characters.")
    _seed(today)
    with _lock:
        body = _issued.get(parcel_id)
    if body is None:
        return not_found(f"No parcel has the id {parcel_id}.")
    return found(dict(body))


def _parcel(then: Unit, sheet: str, parcel: str, today: str, parcel_id: str = "") -> dict:
    """A parcel registered in the commune `then`, the same whichever date asks for it."""
    key = (then.key, sheet, parcel)
    now = units().now(then, key)
    lat, lon = _point(now if now.lat is not None else then, key)
    parcel_id = parcel_id or seeded.geohash(lat, lon)
    use = seeded.weighted(LAND_USES, "use", *key)
    small = use in ("ODT", "ONT", "TMD")
    area = 30 + seeded.fraction("area", *key) * (400 if small else 4000)
    body = {
        "parcel_id": parcel_id,
        "sheet": sheet,
        "parcel": parcel,
        "area_m2": round(area, 1),
        "land_use": use,
        "commune_now": {"code": now.code, "name": now.name, "on": today},
    }
    with _lock:
        _issued.setdefault(parcel_id, body)
    return body


def _point(u: Unit, key: tuple) -> tuple[float, float]:
    """A point within about a kilometre of the unit's centre."""
    lat = (u.lat or 21.0285) + (seeded.fraction("lat", *key) - 0.5) * 0.02
    lon = (u.lon or 105.8542) + (seeded.fraction("lon", *key) - 0.5) * 0.02
    return lat, lon


_seeded = False


def _seed(today: str) -> None:
    """Issue the seeded parcels once: the contract's example and SEEDED parcels in Hanoi's
    communes of today."""
    global _seeded
    if _seeded:
        return
    us = units()
    parcel_id, _, commune, sheet, parcel = EXAMPLE_ID
    _parcel(us.unit(commune, today) or us.new["thanhphohanoi"], sheet, parcel, today, parcel_id)
    hanoi = sorted(
        (u for u in us.new.values() if u.province_code == "01" and u.level == "commune"),
        key=lambda u: u.code,
    )
    for n in range(SEEDED):
        then = hanoi[n % len(hanoi)]
        sheet = str(1 + seeded.number("seed-sheet", n) % MAX_SHEET)
        parcel = str(1 + seeded.number("seed-parcel", n) % MAX_PARCEL)
        if seeded.chance(EXISTING, "parcel", then.key, sheet, parcel):
            _parcel(then, sheet, parcel, today)
    _seeded = True


def seeded_ids(today: str, limit: int = 10) -> list[str]:
    """A few parcel ids the registry knows (for tests and demos)."""
    _seed(today)
    with _lock:
        return list(_issued)[:limit]
