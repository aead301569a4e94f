"""The enterprise registry (CSDL quốc gia về đăng ký doanh nghiệp): well-known enterprises under
their real codes with their real abbreviated (tên viết tắt) and foreign (tên nước ngoài) names, and
an enterprise for most other codes with a valid check digit, generated from the code (name, short
and foreign names for most, status, founding date)."""

from __future__ import annotations

import re

from harvesters.registry_sim import seeded
from harvesters.registry_sim.answers import Answer, day_between, found, invalid, not_found
from harvesters.registry_sim.units import units
from repository.identifiers import enterprise_problem
from repository.text import fold

EXISTING = 0.85
STATUSES = {
    "dang-hoat-dong": "Đang hoạt động",
    "tam-ngung-kinh-doanh": "Tạm ngừng kinh doanh",
    "dang-giai-the": "Đang làm thủ tục giải thể",
    "da-giai-the": "Đã giải thể",
    "cham-dut-hieu-luc-mst": "Chấm dứt hiệu lực mã số thuế",
}
STATUS_WEIGHTS = [
    ("dang-hoat-dong", 0.72),
    ("tam-ngung-kinh-doanh", 0.1),
    ("dang-giai-the", 0.04),
    ("da-giai-the", 0.1),
    ("cham-dut-hieu-luc-mst", 0.04),
]
# Real codes and names (full, abbreviated, foreign); the founding dates are the simulator's (the
# contract's for Viettel).
KNOWN = {
    "0100109106": (
        "Tập đoàn Công nghiệp – Viễn thông Quân đội",
        "2010-01-01",
        "VIETTEL",
        "VIETTEL GROUP",
    ),
    "0101248141": ("Công ty Cổ phần FPT", "2002-03-13", "FPT CORP", "FPT CORPORATION"),
    "0300588569": (
        "Công ty Cổ phần Sữa Việt Nam",
        "2003-11-20",
        "VINAMILK",
        "VIETNAM DAIRY PRODUCTS JOINT STOCK COMPANY",
    ),
    "0101245486": (
        "Tập đoàn Vingroup – Công ty Cổ phần",
        "2002-05-03",
        "VINGROUP JSC",
        "VINGROUP JOINT STOCK COMPANY",
    ),
    "0100112437": (
        "Ngân hàng TMCP Ngoại thương Việt Nam",
        "2008-06-02",
        "VIETCOMBANK",
        "JOINT STOCK COMMERCIAL BANK FOR FOREIGN TRADE OF VIETNAM",
    ),
    "0100107370": (
        "Tập đoàn Xăng dầu Việt Nam",
        "2012-07-01",
        "PETROLIMEX",
        "VIETNAM NATIONAL PETROLEUM GROUP",
    ),
    "0100100079": ("Tập đoàn Điện lực Việt Nam", "2010-06-25", "EVN", "VIETNAM ELECTRICITY"),
    "0900189284": (
        "Công ty Cổ phần Tập đoàn Hòa Phát",
        "2001-08-09",
        "HOA PHAT GROUP",
        "HOA PHAT GROUP JOINT STOCK COMPANY",
    ),
    "0303576603": (
        "Công ty Cổ phần Tập đoàn Masan",
        "2004-11-18",
        "MASAN GROUP",
        "MASAN GROUP CORPORATION",
    ),
    "0100684378": (
        "Tập đoàn Bưu chính Viễn thông Việt Nam",
        "2006-01-09",
        "VNPT",
        "VIETNAM POSTS AND TELECOMMUNICATIONS GROUP",
    ),
    "0100107518": (
        "Tổng công ty Hàng không Việt Nam – CTCP",
        "2010-06-30",
        "VIETNAM AIRLINES",
        "VIETNAM AIRLINES JSC",
    ),
    "0300583659": (
        "Tổng Công ty Cổ phần Bia – Rượu – Nước giải khát Sài Gòn",
        "2008-04-28",
        "SABECO",
        "SAIGON BEER - ALCOHOL - BEVERAGE CORPORATION",
    ),
    "0100150619": (
        "Ngân hàng TMCP Đầu tư và Phát triển Việt Nam",
        "2012-05-01",
        "BIDV",
        "JOINT STOCK COMMERCIAL BANK FOR INVESTMENT AND DEVELOPMENT OF VIETNAM",
    ),
    "0100111948": (
        "Ngân hàng TMCP Công thương Việt Nam",
        "2009-07-03",
        "VIETINBANK",
        "VIETNAM JOINT STOCK COMMERCIAL BANK FOR INDUSTRY AND TRADE",
    ),
    "0100681592": (
        "Tập đoàn Dầu khí Việt Nam",
        "2010-07-19",
        "PETROVIETNAM",
        "VIETNAM OIL AND GAS GROUP",
    ),
}
FORMS = [
    ("Công ty TNHH", 0.45),
    ("Công ty TNHH Một thành viên", 0.15),
    ("Công ty Cổ phần", 0.3),
    ("Doanh nghiệp tư nhân", 0.07),
    ("Hợp tác xã", 0.03),
]
# A form's foreign and abbreviated suffixes (a private enterprise or a cooperative registers
# neither name here).
FOREIGN_FORMS = {
    "Công ty TNHH": ("COMPANY LIMITED", "CO., LTD"),
    "Công ty TNHH Một thành viên": ("ONE MEMBER COMPANY LIMITED", "CO., LTD"),
    "Công ty Cổ phần": ("JOINT STOCK COMPANY", "JSC"),
}
# How often a generated company registered a foreign name, and an abbreviated one beside it.
FOREIGN_NAME = 0.7
SHORT_NAME = 0.8
# Trades with their English words in foreign names.
TRADE_NAMES = {
    "Thương mại": "TRADING",
    "Thương mại và Dịch vụ": "TRADING AND SERVICES",
    "Xây dựng": "CONSTRUCTION",
    "Đầu tư và Xây dựng": "INVESTMENT AND CONSTRUCTION",
    "Sản xuất và Thương mại": "PRODUCTION AND TRADING",
    "Vận tải": "TRANSPORT",
    "Công nghệ": "TECHNOLOGY",
    "Công nghệ Thông tin": "INFORMATION TECHNOLOGY",
    "Du lịch": "TOURISM",
    "Tư vấn Thiết kế": "DESIGN CONSULTANCY",
    "Xuất nhập khẩu": "IMPORT EXPORT",
    "Dược phẩm": "PHARMACEUTICAL",
    "Thực phẩm": "FOOD",
    "May mặc": "GARMENT",
    "Cơ khí": "MECHANICAL ENGINEERING",
    "Bất động sản": "REAL ESTATE",
    "Giáo dục": "EDUCATION",
    "Nông nghiệp": "AGRICULTURE",
}
TRADES = list(TRADE_NAMES)
NAMES = [
    "An Phát",
    "Hưng Thịnh",
    "Minh Long",
    "Thành Công",
    "Phú Gia",
    "Việt Tiến",
    "Hoàng Long",
    "Đại Dương",
    "Sao Mai",
    "Bình Minh",
    "Hồng Hà",
    "Thăng Long",
    "Trường An",
    "Kim Ngân",
    "Tân Việt",
    "Hòa Bình",
    "Ngọc Lan",
    "Quang Trung",
    "Đông Á",
    "Phương Nam",
]
_PROVINCE_KIND = re.compile(r"^(Thành phố|Tỉnh)\s+")
_CODE = re.compile(r"^(?P<code>\d{10})(?:-(?P<branch>\d{3}))?$")


def lookup(code: str, today: str) -> Answer:
    problem = enterprise_problem(code)
    if problem:
        return invalid(f"Enterprise code {code} is not valid: {problem}.")
    m = _CODE.match(code)
    assert m
    main = _enterprise(m["code"], today)
    if main is None or (m["branch"] and not seeded.chance(EXISTING, "branch", code)):
        return not_found(f"No enterprise is registered under {code}.")
    if not m["branch"]:
        return found(main)
    founded = day_between(main["founded"], today, seeded.fraction("branch-founded", code))
    status = main["status"]
    if status == "dang-hoat-dong":
        status = seeded.weighted(STATUS_WEIGHTS, "branch-status", code)
    province = _province_name(main["province_code"], today)
    branch = {
        **main,
        "code": code,
        "name": f"Chi nhánh {main['name']} tại {province}",
        "status": status,
        "status_label": STATUSES[status],
        "founded": founded,
    }
    branch.pop("short_name", None)  # a branch registers its own, rarely
    if main.get("foreign_name"):
        where = fold(_PROVINCE_KIND.sub("", province)).upper()
        branch["foreign_name"] = f"{main['foreign_name']} - {where} BRANCH"
    return found(branch)


def _enterprise(code: str, today: str) -> dict | None:
    names: dict[str, str] = {}
    if code in KNOWN:
        name, founded, short, foreign = KNOWN[code]
        names = {"short_name": short, "foreign_name": foreign}
        status = "dang-hoat-dong"
    elif seeded.chance(EXISTING, "enterprise", code):
        form = seeded.weighted(FORMS, "form", code)
        trade, own = seeded.pick(TRADES, "trade", code), seeded.pick(NAMES, "name", code)
        name = f"{form} {trade} {own}"
        names = _foreign_names(code, form, trade, own)
        founded = day_between("1995-01-01", today, seeded.fraction("founded", code))
        status = seeded.weighted(STATUS_WEIGHTS, "status", code)
    else:
        return None
    return {
        "code": code,
        "name": name,
        **names,
        "status": status,
        "status_label": STATUSES[status],
        "founded": founded,
        "province_code": code[:2],
    }


def _foreign_names(code: str, form: str, trade: str, own: str) -> dict[str, str]:
    """A generated company's foreign name ("AN PHAT TRADING COMPANY LIMITED") and abbreviated
    one ("AN PHAT TRADING CO., LTD") — for most companies; some register neither, some only the
    foreign one."""
    if form not in FOREIGN_FORMS or not seeded.chance(FOREIGN_NAME, "foreign-name", code):
        return {}
    long_form, short_form = FOREIGN_FORMS[form]
    stem = f"{fold(own).upper()} {TRADE_NAMES[trade]}"
    names = {"foreign_name": f"{stem} {long_form}"}
    if seeded.chance(SHORT_NAME, "short-name", code):
        names["short_name"] = f"{stem} {short_form}"
    return names


def _province_name(code: str, today: str) -> str:
    """The province's name today, else its last name (a province merged in 2025)."""
    versions = [u for u in units().by_code.get(code, []) if u.level == "province"]
    now = [u for u in versions if u.valid_on(today)]
    best = now or sorted(versions, key=lambda u: u.valid_from)[-1:]
    return best[0].name if best else f"tỉnh mã {code}"
