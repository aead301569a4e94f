"""The enterprise registry (CSDL quốc gia về đăng ký doanh nghiệp): well-known enterprises under
their real codes, and an enterprise for most other codes with a valid check digit, generated from
the code (name, status, founding date)."""

from __future__ import annotations

import re

from harvesters.registry_sim import seeded
from harvesters.registry_sim.answers import Answer, day_between, found, invalid, not_found
from harvesters.registry_sim.units import units
from repository.identifiers import enterprise_problem

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
# Real codes and names; the founding dates are the simulator's (the contract's for Viettel).
KNOWN = {
    "0100109106": ("Tập đoàn Công nghiệp – Viễn thông Quân đội", "2010-01-01"),
    "0101248141": ("Công ty Cổ phần FPT", "2002-03-13"),
    "0300588569": ("Công ty Cổ phần Sữa Việt Nam", "2003-11-20"),
    "0101245486": ("Tập đoàn Vingroup – Công ty Cổ phần", "2002-05-03"),
    "0100112437": ("Ngân hàng TMCP Ngoại thương Việt Nam", "2008-06-02"),
    "0100107370": ("Tập đoàn Xăng dầu Việt Nam", "2012-07-01"),
    "0100100079": ("Tập đoàn Điện lực Việt Nam", "2010-06-25"),
    "0900189284": ("Công ty Cổ phần Tập đoàn Hòa Phát", "2001-08-09"),
    "0303576603": ("Công ty Cổ phần Tập đoàn Masan", "2004-11-18"),
    "0100684378": ("Tập đoàn Bưu chính Viễn thông Việt Nam", "2006-01-09"),
    "0100107518": ("Tổng công ty Hàng không Việt Nam – CTCP", "2010-06-30"),
    "0300583659": ("Tổng Công ty Cổ phần Bia – Rượu – Nước giải khát Sài Gòn", "2008-04-28"),
    "0100150619": ("Ngân hàng TMCP Đầu tư và Phát triển Việt Nam", "2012-05-01"),
    "0100111948": ("Ngân hàng TMCP Công thương Việt Nam", "2009-07-03"),
    "0100681592": ("Tập đoàn Dầu khí Việt Nam", "2010-07-19"),
}
FORMS = [
    ("Công ty TNHH", 0.45),
    ("Công ty TNHH Một thành viên", 0.15),
    ("Công ty Cổ phần", 0.3),
    ("Doanh nghiệp tư nhân", 0.07),
    ("Hợp tác xã", 0.03),
]
TRADES = [
    "Thương mại",
    "Thương mại và Dịch vụ",
    "Xây dựng",
    "Đầu tư và Xây dựng",
    "Sản xuất và Thương mại",
    "Vận tải",
    "Công nghệ",
    "Công nghệ Thông tin",
    "Du lịch",
    "Tư vấn Thiết kế",
    "Xuất nhập khẩu",
    "Dược phẩm",
    "Thực phẩm",
    "May mặc",
    "Cơ khí",
    "Bất động sản",
    "Giáo dục",
    "Nông nghiệp",
]
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
    return found(
        {
            **main,
            "code": code,
            "name": f"Chi nhánh {main['name']} tại {province}",
            "status": status,
            "status_label": STATUSES[status],
            "founded": founded,
        }
    )


def _enterprise(code: str, today: str) -> dict | None:
    if code in KNOWN:
        name, founded = KNOWN[code]
        status = "dang-hoat-dong"
    elif seeded.chance(EXISTING, "enterprise", code):
        form = seeded.weighted(FORMS, "form", code)
        name = f"{form} {seeded.pick(TRADES, 'trade', code)} {seeded.pick(NAMES, 'name', code)}"
        founded = day_between("1995-01-01", today, seeded.fraction("founded", code))
        status = seeded.weighted(STATUS_WEIGHTS, "status", code)
    else:
        return None
    return {
        "code": code,
        "name": name,
        "status": status,
        "status_label": STATUSES[status],
        "founded": founded,
        "province_code": code[:2],
    }


def _province_name(code: str, today: str) -> str:
    """The province's name today, else its last name (a province merged in 2025)."""
    versions = [u for u in units().by_code.get(code, []) if u.level == "province"]
    now = [u for u in versions if u.valid_on(today)]
    best = now or sorted(versions, key=lambda u: u.valid_from)[-1:]
    return best[0].name if best else f"tỉnh mã {code}"
