"""Identifiers of the national registries, checked before anyone asks a registry about them
(docs/registries.md; ../shared/reference/vn_standards.md §5), and citizens' keyed pseudonyms.

Each `check_*` returns the canonical form or raises InvalidIdentifier with what is wrong (in
Vietnamese and English) — never with the rejected value in the message when it is personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date

MST_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)
# Province codes of QĐ 124/2004 (63 provinces) — the first digits of citizens' and enterprises'
# numbers; the 2025 merger kept the surviving provinces' codes.
PROVINCE_CODES = frozenset(
    "01 02 04 06 08 10 11 12 14 15 17 19 20 22 24 25 26 27 30 31 33 34 35 36 37 38 40 42 44 45 "
    "46 48 49 51 52 54 56 58 60 62 64 66 67 68 70 72 74 75 77 79 80 82 83 84 86 87 89 91 92 93 "
    "94 95 96".split()
)
REGISTRIES = ("population", "land", "enterprise", "officials")
GEOHASH = re.compile(r"^[0-9b-hjkmnp-z]{12}$")
OFFICIAL = re.compile(r"^CB(?P<province>\d{2})-(?P<seq>\d{6})$")
_CITIZEN = re.compile(r"^\d{12}$")
_ENTERPRISE = re.compile(r"^(?P<code>\d{10})(?:-(?P<branch>\d{3}))?$")


class InvalidIdentifier(ValueError):
    """An identifier that cannot be what it claims to be; says why and what to do."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(f"{message_vi} / {message_en}")
        self.message_vi = message_vi
        self.message_en = message_en


# -- citizens (số định danh cá nhân, 12 digits) ---------------------------------------------------


def citizen_problem(number: str, on: date | None = None) -> str | None:
    """Why `number` is not a personal identification number (English), or None if it may be one:
    province/country 001–096, century+sex digit, birth year not after `on` (default today)."""
    if not _CITIZEN.match(number):
        return "not 12 digits"
    if number[0] != "0" or number[1:3] not in PROVINCE_CODES:
        return "digits 1–3 are not a province code (001–096)"
    year = 1900 + 100 * (int(number[3]) // 2) + int(number[4:6])
    if year > (on or date.today()).year:
        return "digits 4–6 give a birth year in the future"
    return None


def valid_citizen(number: str, on: date | None = None) -> bool:
    return citizen_problem(number, on) is None


def check_citizen(number: str, on: date | None = None) -> str:
    """The number with spaces and dots removed, or InvalidIdentifier (the number is not quoted)."""
    clean = re.sub(r"[\s.]", "", number)
    problem = citizen_problem(clean, on)
    if problem:
        raise InvalidIdentifier(
            "Số định danh cá nhân không hợp lệ (cần 12 chữ số: mã tỉnh 001–096, mã thế kỷ/giới "
            "tính, "
            "năm sinh, 6 số ngẫu nhiên). Kiểm tra lại số trên giấy tờ.",
            f"Not a personal identification number ({problem}). Check it against the document.",
        )
    return clean


def pseudonym(number: str, key: bytes) -> str:
    """A citizen's keyed pseudonym: HMAC-SHA256(key, number), 26 lower-case base32 characters.
    Without the key nobody can find the number by trying all ~10^9 possible ones."""
    digest = hmac.new(key, number.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:26]


# -- enterprises (mã số doanh nghiệp) -----------------------------------------------------------


def enterprise_problem(code: str) -> str | None:
    m = _ENTERPRISE.match(code)
    if not m:
        return "not 10 digits with an optional -NNN branch suffix"
    digits = m["code"]
    check = 10 - sum(w * int(d) for w, d in zip(MST_WEIGHTS, digits, strict=False)) % 11
    if check == 10 or check != int(digits[9]):
        return "check digit (10th) does not match (weights 31 29 23 19 17 13 7 5 3)"
    if m["branch"] == "000":
        return "branch suffix must be 001–999"
    return None


def valid_enterprise(code: str) -> bool:
    """Mã số doanh nghiệp: N10 = 10 - (Σ Ni·Wi mod 11), and never 10 (vn_standards §5.3)."""
    return enterprise_problem(code) is None


def check_enterprise(code: str) -> str:
    clean = re.sub(r"\s", "", code)
    problem = enterprise_problem(clean)
    if problem:
        raise InvalidIdentifier(
            f"Mã số doanh nghiệp «{clean}» không hợp lệ. Kiểm tra lại trên giấy chứng nhận "
            "đăng ký doanh nghiệp.",
            f"Enterprise code «{clean}» is not valid ({problem}). Check it against the "
            "registration certificate.",
        )
    return clean


# -- land parcels -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParcelKey:
    """A parcel by its cadastral key (commune code as on `on`, map sheet, parcel number) or by
    its national 12-character identifier (`parcel_id`)."""

    commune: str = ""
    sheet: str = ""
    parcel: str = ""
    on: str = ""  # ISO date the commune code is meant on
    parcel_id: str = ""

    def text(self) -> str:
        """How people write it: 'w7er8u0g3k2m' or 'xã 10369 (2019-03-05), tờ 8, thửa 434'."""
        if self.parcel_id:
            return self.parcel_id
        return f"{self.commune} ({self.on}) · tờ/sheet {self.sheet} · thửa/parcel {self.parcel}"


def check_parcel_id(parcel_id: str) -> str:
    clean = parcel_id.strip().lower()
    if not GEOHASH.match(clean):
        raise InvalidIdentifier(
            f"Mã định danh thửa đất «{parcel_id}» không hợp lệ (cần 12 ký tự GeoHash, "
            "TT 09/2024/TT-BTNMT).",
            f"Parcel identifier «{parcel_id}» is not valid (needs 12 GeoHash characters: "
            "0-9 and b-z without a, i, l, o).",
        )
    return clean


def check_parcel(commune: str, sheet: str, parcel: str, on: str) -> ParcelKey:
    """A cadastral key: 5-digit commune code, sheet up to 6 digits, parcel up to 7, and the date
    the commune code is meant on (codes were reused after 2025-07-01)."""
    commune, sheet, parcel = commune.strip(), sheet.strip().lstrip("0"), parcel.strip().lstrip("0")
    problems = []
    if not re.fullmatch(r"\d{5}", commune):
        problems.append(("mã xã phải có 5 chữ số", "the commune code needs 5 digits"))
    if not re.fullmatch(r"\d{1,6}", sheet):
        problems.append(("số tờ bản đồ 1–6 chữ số", "map sheet needs 1–6 digits"))
    if not re.fullmatch(r"\d{1,7}", parcel):
        problems.append(("số thửa 1–7 chữ số", "parcel number needs 1–7 digits"))
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", on or ""):
        problems.append(("thiếu ngày của mã xã", "the date of the commune code is missing"))
    if problems:
        raise InvalidIdentifier(
            "Thửa đất không hợp lệ: " + "; ".join(p[0] for p in problems) + ".",
            "Land parcel is not valid: " + "; ".join(p[1] for p in problems) + ".",
        )
    return ParcelKey(commune=commune, sheet=sheet, parcel=parcel, on=on)


# -- officials -----------------------------------------------------------------------------------


def valid_official(code: str) -> bool:
    """The personnel code: 'CB' + province code + '-' + six digits (format assumed: the real one
    is not public, vn_standards §5.4 — change it here)."""
    m = OFFICIAL.match(code)
    return bool(m) and m["province"] in PROVINCE_CODES


def check_official(code: str) -> str:
    clean = code.strip().upper()
    if not valid_official(clean):
        raise InvalidIdentifier(
            f"Mã cán bộ «{code}» không hợp lệ (dạng CB01-004512: CB, mã tỉnh, gạch ngang, 6 số).",
            f"Personnel code «{code}» is not valid (form CB01-004512: CB, province code, dash, "
            "six digits).",
        )
    return clean
