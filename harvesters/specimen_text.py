"""Vietnamese content for specimen documents: real Hanoi issuers, people, subjects and bodies.

The issuers are the real units of `vietnamadminunits` (old units until 2025-06-30, new ones from
2025-07-01); agency names follow `harvesters.agencies` so that they match the harvested store.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from harvesters.agencies import KINDS, PARTY_WORD
from harvesters.gazetteer import HANOI_KEY
from harvesters.vn_units_source import SourceUnit, read_reform

FAMILY = (
    "Nguyễn Trần Lê Phạm Hoàng Phan Vũ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đinh Đào Trịnh Lưu Tạ "
    "Khuất Kiều Nghiêm Chu Cao Lại Mai Hà Tô Quách"
).split()
MIDDLE_M = "Văn Hữu Đức Minh Quang Công Đình Mạnh Xuân Tiến Thanh Ngọc Duy Trọng Quốc".split()
MIDDLE_F = "Thị Thị Thu Hồng Ngọc Thanh Kim Minh Phương Thúy Bích".split()
GIVEN_M = (
    "Hương Hùng Dũng Tuấn Nam Bình Cường Hải Long Thắng Hòa Tùng Việt Quý Khánh Nghĩa Trường "
    "Sơn Thành Huy Phong Lâm Toàn Thịnh Vượng Kiên Đạt Lợi Quyết Tú"
).split()
GIVEN_F = "Lan Hà Thủy Phượng Yến Oanh Huệ Thoa Tuyết Hạnh Mai Nga Hằng Loan Liên Dung".split()

WORKS = (
    "cải tạo, nâng cấp đường trục xã",
    "xây dựng nhà văn hóa thôn",
    "cải tạo trường mầm non",
    "nạo vét kênh tiêu nội đồng",
    "xây dựng trạm y tế",
    "chỉnh trang hè phố, thoát nước",
)
MOVEMENTS = (
    "phong trào thi đua xây dựng nông thôn mới",
    "phong trào Toàn dân đoàn kết xây dựng đời sống văn hóa",
    "công tác phòng, chống dịch bệnh",
    "phong trào thi đua yêu nước",
    "công tác cải cách hành chính",
)


@dataclass(frozen=True)
class Issuer:
    """A real agency on a date: what a specimen needs to render and to know its truth."""

    kind: str
    block: str  # chinh-quyen | dang | doan-the
    name: str  # as the store names the agency
    unit: SourceUnit
    parent: SourceUnit | None  # the district of an old commune
    level: str


@lru_cache(maxsize=1)
def hanoi_units() -> tuple[tuple[SourceUnit, ...], tuple[SourceUnit, ...]]:
    """(old units, new units) of Hà Nội: province, districts, communes."""
    reform = read_reform()
    old = tuple(u for k, u in reform.old.items() if k.split("_")[0] == HANOI_KEY)
    new = tuple(u for k, u in reform.new.items() if k.split("_")[0] == HANOI_KEY)
    return old, new


def agency_name(kind: str, unit: SourceUnit) -> str:
    """The agency's name as `harvesters.agencies` writes it ("Ủy ban nhân dân xã Song Phượng")."""
    lower = unit.name[0].lower() + unit.name[1:]
    party = (
        PARTY_WORD.get(unit.type, "Đảng ủy") + " " + unit.short
        if unit.level != "commune"
        else f"Đảng ủy {lower}"
    )
    return KINDS[kind][1].format(u=lower, party=party)


def kinds_of(unit: SourceUnit, old: bool) -> list[str]:
    """The agency kinds a Hanoi unit has (the rules of `harvesters.agencies.kinds_for`)."""
    kinds = ["hdnd", "ubnd", "dang-uy", "mttq", "doan-tn", "hoi-lhpn", "hoi-nong-dan", "hoi-ccb"]
    if unit.type in ("Phường", "Quận"):
        kinds.remove("hoi-nong-dan")
        if old:  # urban self-government pilot (NQ 97/2019/QH14): no council 2021-2025
            kinds.remove("hdnd")
    return kinds


def pick_issuer(rng: random.Random, old: bool, block: str) -> Issuer:
    """A random real agency of the given block, valid before (old) or after the reform."""
    units_old, units_new = hanoi_units()
    units = units_old if old else units_new
    by_key = {u.key: u for u in units}
    roll = rng.random()
    levels = ("province", "district", "commune") if old else ("province", "commune")
    level = "province" if roll < 0.1 else ("district" if old and roll < 0.4 else "commune")
    assert level in levels
    unit = rng.choice([u for u in units if u.level == level])
    kinds = [k for k in kinds_of(unit, old) if KINDS[k][0] == f"block-{block}"]
    if block == "chinh-quyen":
        kinds = ["ubnd"] * 3 + [k for k in kinds if k == "hdnd"]
    kind = rng.choice(kinds)
    parent = by_key.get(unit.parent_key or "") if level == "commune" and old else None
    return Issuer(kind, block, agency_name(kind, unit), unit, parent, level)


def person(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"


def random_day(rng: random.Random, old: bool) -> date:
    start, end = (
        (date(2015, 1, 5), date(2025, 6, 30)) if old else (date(2025, 7, 1), date(2026, 10, 30))
    )
    return start + timedelta(days=rng.randrange((end - start).days + 1))


# -- registry identifiers (vn_standards §5) -----------------------------------------------------
MST_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)
PROVINCE_CODES = (
    "01 02 04 06 08 10 11 12 14 15 17 19 20 22 24 25 26 27 30 31 33 34 35 36 37 38 40 42 44 45 "
    "46 48 49 51 52 54 56 58 60 62 64 66 67 68 70 72 74 75 77 79 80 82 83 84 86 87 89 91 92 93 "
    "94 95 96"
).split()


def mst_check_digit(first9: str) -> int | None:
    """N10 = 10 - (sum of N1..N9 x weights) mod 11; None when that is 10 (no such number)."""
    check = 10 - sum(w * int(d) for w, d in zip(MST_WEIGHTS, first9, strict=True)) % 11
    return None if check == 10 else check


def enterprise_code(rng: random.Random) -> str:
    while True:
        first9 = "01" + f"{rng.randrange(10**7):07d}"
        check = mst_check_digit(first9)
        if check is not None:
            return f"{first9}{check}"


def citizen_id(rng: random.Random) -> str:
    year = rng.randrange(1950, 2006)
    sex = rng.randrange(2)
    century = (0 if year < 2000 else 2) + sex
    province = rng.choice(["001"] * 6 + [f"0{p}" for p in PROVINCE_CODES])
    return f"{province}{century}{year % 100:02d}{rng.randrange(10**6):06d}"


@dataclass
class Content:
    subject: str
    body: list[str]
    refs: list[dict[str, str]]
    recipient: str | None = None  # công văn: Kính gửi


def content(rng: random.Random, doc_type: str, issuer: Issuer, day: date) -> Content:
    """A subject and body for the document, with registry references in some of them."""
    y = day.year
    who = person(rng)
    honor = "bà" if " Thị " in who or who.split()[-1] in GIVEN_F else "ông"
    sheet, parcel = str(rng.randrange(1, 60)), str(rng.randrange(1, 1500))
    mst, cccd = enterprise_code(rng), citizen_id(rng)
    land = {"kind": "land", "sheet": sheet, "parcel": parcel}
    firm = {"kind": "enterprise", "id": mst}
    citizen = {"kind": "citizen", "id": cccd}
    unit = issuer.unit.name[0].lower() + issuer.unit.name[1:]
    party = issuer.block == "dang"
    refs: list[dict[str, str]] = []
    body: list[str] = []
    if doc_type == "Quyết định" and issuer.kind == "ubnd":
        case = rng.randrange(4)
        if case == 0:
            subject = (
                f"Về việc giao đất ở cho hộ gia đình {honor} {who} tại thửa đất số {parcel}, "
                f"tờ bản đồ số {sheet}"
            )
            body = [
                f"Điều 1. Giao cho hộ gia đình {honor} {who}, CCCD số {cccd}, sử dụng thửa đất số "
                f"{parcel}, tờ bản đồ số {sheet} tại {unit}, mục đích sử dụng: đất ở.",
            ]
            refs = [land, citizen]
        elif case == 1:
            subject = f"Về việc phê duyệt kết quả lựa chọn nhà thầu công trình {rng.choice(WORKS)}"
            body = [
                "Điều 1. Phê duyệt kết quả lựa chọn nhà thầu: Công ty cổ phần Xây dựng "
                f"Thăng Long, mã số doanh nghiệp {mst}, giá trúng thầu "
                f"{rng.randrange(900, 9900)} triệu đồng.",
            ]
            refs = [firm]
        elif case == 2:
            subject = (
                f"Về việc khen thưởng các tập thể, cá nhân có thành tích xuất sắc trong "
                f"{rng.choice(MOVEMENTS)} năm {y - 1}"
            )
            body = ["Điều 1. Tặng Giấy khen cho 05 tập thể và 12 cá nhân có thành tích xuất sắc."]
        else:
            subject = f"Về việc giao dự toán thu, chi ngân sách năm {y}"
            body = [
                f"Điều 1. Giao dự toán thu, chi ngân sách năm {y} cho các đơn vị "
                "(phụ lục kèm theo)."
            ]
        body = [
            "Căn cứ Luật Tổ chức chính quyền địa phương ngày "
            + (
                "19 tháng 6 năm 2015;"
                if day.year < 2025 or day.month < 7
                else "16 tháng 6 năm 2025;"
            ),
            "Căn cứ Luật Đất đai ngày 18 tháng 01 năm 2024;"
            if case == 0
            else "Căn cứ Luật Ngân sách nhà nước ngày 25 tháng 6 năm 2015;",
            "Xét đề nghị của công chức Văn phòng - Thống kê.",
            *body,
            "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
            "Điều 3. Văn phòng, các bộ phận chuyên môn và các cá nhân có liên quan chịu trách "
            "nhiệm thi hành Quyết định này./.",
        ]
        return Content(subject, body, refs)
    if doc_type == "Công văn":
        case = rng.randrange(3)
        if case == 0:
            subject = f"V/v rà soát hiện trạng sử dụng thửa đất số {parcel}, tờ bản đồ số {sheet}"
            body = [
                f"Thực hiện ý kiến chỉ đạo của cấp trên, {issuer.name} đề nghị rà soát hiện trạng "
                f"sử dụng thửa đất số {parcel}, tờ bản đồ số {sheet} do {honor} {who} "
                f"(CCCD số {cccd}) đang sử dụng.",
            ]
            refs = [land, citizen]
        elif case == 1:
            subject = "V/v xác minh thông tin doanh nghiệp hoạt động trên địa bàn"
            body = [
                f"{issuer.name} đề nghị xác minh thông tin của Công ty TNHH Thương mại Hồng Hà, "
                f"mã số doanh nghiệp {mst}, có trụ sở trên địa bàn {unit}.",
            ]
            refs = [firm]
        else:
            subject = f"V/v tăng cường {rng.choice(MOVEMENTS)}"
            body = [
                f"Để triển khai có hiệu quả {rng.choice(MOVEMENTS)} năm {y}, {issuer.name} đề "
                "nghị các đơn vị quan tâm chỉ đạo, tổ chức thực hiện các nội dung sau:",
            ]
        body += [
            "Đề nghị các đơn vị, cá nhân liên quan khẩn trương thực hiện và báo cáo kết quả "
            "trước ngày 25 hằng tháng./.",
        ]
        return Content(subject, body, refs, recipient="Các đơn vị, cá nhân có liên quan")
    topic = rng.choice(
        (
            f"nhiệm vụ phát triển kinh tế - xã hội năm {y}",
            f"công tác xây dựng Đảng và hệ thống chính trị năm {y}",
            f"công tác thi đua, khen thưởng năm {y}",
            "công tác quản lý đất đai, trật tự xây dựng",
            "công tác chuyển đổi số, cải cách hành chính",
        )
    )
    subjects = {
        "Nghị quyết": f"về lãnh đạo thực hiện {topic}" if party else f"Về việc thông qua {topic}",
        "Quyết định": f"Về việc khen thưởng thành tích trong {rng.choice(MOVEMENTS)} năm {y - 1}",
        "Báo cáo": f"Kết quả thực hiện {topic} 6 tháng đầu năm, phương hướng nhiệm vụ "
        "6 tháng cuối năm",
        "Kế hoạch": f"Triển khai thực hiện {topic}",
        "Thông báo": f"Kết luận của Thường trực về {topic}",
        "Tờ trình": f"Về việc đề nghị phê duyệt kế hoạch đầu tư công trình {rng.choice(WORKS)}",
        "Chỉ thị": f"về tăng cường sự lãnh đạo của Đảng đối với {topic}",
        "Hướng dẫn": f"Thực hiện {topic}",
    }
    subject = subjects[doc_type]
    body = [
        f"Thực hiện chương trình công tác năm {y}, {issuer.name} {doc_type.lower()} như sau:",
        f"1. Tình hình chung: trên địa bàn {unit}, các cơ quan, đơn vị đã triển khai nghiêm túc "
        "các chủ trương, nghị quyết của cấp trên; đời sống Nhân dân cơ bản ổn định.",
        "2. Nhiệm vụ trọng tâm: tiếp tục nâng cao chất lượng hoạt động, phát huy sức mạnh khối "
        "đại đoàn kết toàn dân tộc, hoàn thành các chỉ tiêu được giao.",
    ]
    roll = rng.random()
    if roll < 0.25:
        body.append(
            f"3. Hỗ trợ hộ {honor} {who}, CCCD số {cccd}, tại thửa đất số {parcel}, tờ bản đồ số "
            f"{sheet}, khắc phục hậu quả thiên tai."
        )
        refs = [citizen, land]
    elif roll < 0.4:
        body.append(
            f"3. Phối hợp với Công ty TNHH Dịch vụ Sông Hồng, mã số doanh nghiệp {mst}, tổ chức "
            "các hoạt động an sinh xã hội."
        )
        refs = [firm]
    body.append("Đề nghị các đơn vị nghiêm túc triển khai thực hiện./.")
    return Content(subject, body, refs)


# -- how an issuer prints its header and signs (NĐ 30, HD 36) ------------------------------------
DOC_TYPES = {  # kind -> document types it issues (weights by repetition)
    "ubnd": ["Quyết định"] * 4
    + ["Công văn"] * 3
    + ["Báo cáo", "Kế hoạch", "Thông báo", "Tờ trình"],
    "hdnd": ["Nghị quyết"] * 3 + ["Báo cáo", "Thông báo", "Công văn"],
    "dang-uy": ["Nghị quyết"] * 2
    + ["Báo cáo", "Kế hoạch", "Thông báo", "Quyết định", "Chỉ thị", "Công văn"],
    "doan-the": ["Kế hoạch"] * 2 + ["Báo cáo", "Thông báo", "Công văn", "Quyết định", "Hướng dẫn"],
}
ORG_ABBR = {  # notation of the issuer in a number/symbol
    "ubnd": "UBND",
    "hdnd": "HĐND",
    "mttq": "MTTQ",
    "hoi-lhpn": "HLHPN",
    "hoi-nong-dan": "HND",
    "hoi-ccb": "CCB",
}
PARTY_ABBR = {"commune": "ĐU", "Huyện": "HU", "Quận": "QU", "Thị xã": "TU", "province": "TU"}
DOAN_ABBR = {"commune": "ĐTN", "district": "HĐTN", "province": "TĐTN"}
HEADER_KIND = {
    "ubnd": "ỦY BAN NHÂN DÂN",
    "hdnd": "HỘI ĐỒNG NHÂN DÂN",
    "mttq": "ỦY BAN MTTQ VIỆT NAM",
    "hoi-lhpn": "HỘI LIÊN HIỆP PHỤ NỮ",
    "hoi-nong-dan": "HỘI NÔNG DÂN",
    "hoi-ccb": "HỘI CỰU CHIẾN BINH",
}
PARENT_KIND = {
    "hdnd": "HĐND",
    "mttq": "UBMTTQ VN",
    "hoi-lhpn": "HỘI LHPN",
    "hoi-nong-dan": "HỘI NÔNG DÂN",
    "hoi-ccb": "HỘI CCB",
}


def signing(issuer: Issuer, rng: random.Random, doc_type: str) -> tuple[str | None, str]:
    """(prefix lines as printed, the signer's title in normal case)."""
    kind, level = issuer.kind, issuer.level
    deputy = rng.random() < 0.45
    if kind == "ubnd":
        if level != "commune" and doc_type == "Công văn" and rng.random() < 0.3:
            return "TL. CHỦ TỊCH", "Chánh Văn phòng"
        return ("KT. CHỦ TỊCH", "Phó Chủ tịch") if deputy else ("TM. ỦY BAN NHÂN DÂN", "Chủ tịch")
    if kind == "hdnd":
        if doc_type == "Nghị quyết":
            return None, "Chủ tịch"
        return ("KT. CHỦ TỊCH", "Phó Chủ tịch") if deputy else ("TM. THƯỜNG TRỰC HĐND", "Chủ tịch")
    if kind == "dang-uy":
        collective = "T/M ĐẢNG ỦY" if level == "commune" else "T/M BAN THƯỜNG VỤ"
        if level != "commune" and doc_type == "Công văn" and rng.random() < 0.4:
            return "T/L BAN THƯỜNG VỤ", "Chánh Văn phòng"
        return (collective, "Phó Bí thư") if deputy else (collective, "Bí thư")
    collective = "TM. BAN THƯỜNG TRỰC" if kind == "mttq" else "TM. BAN THƯỜNG VỤ"
    if kind == "doan-tn":
        return (collective, "Phó Bí thư") if deputy else (collective, "Bí thư")
    return ("KT. CHỦ TỊCH", "Phó Chủ tịch") if deputy else (collective, "Chủ tịch")


def header(issuer: Issuer, post_reform: bool) -> tuple[str | None, list[str], str]:
    """(parent line, issuer lines, notation of the issuer) as printed."""
    u, up = issuer.unit, issuer.unit.name.upper()
    district = issuer.parent.name.upper() if issuer.parent else None
    kind = issuer.kind
    if kind == "dang-uy":
        if issuer.level == "province":
            return None, [f"THÀNH ỦY {u.short.upper()}"], "TU"
        parent = f"ĐẢNG BỘ {district}" if district else "ĐẢNG BỘ THÀNH PHỐ HÀ NỘI"
        if issuer.level == "district":
            abbr = PARTY_ABBR[u.type]
            return parent, [issuer.name.upper()], abbr
        return parent, [f"ĐẢNG ỦY {up}"], "ĐU"
    if kind == "doan-tn":
        if issuer.level == "province":
            return None, [f"BCH THÀNH ĐOÀN {u.short.upper()}"], "TĐTN"
        if issuer.level == "district":
            word = {"Huyện": "HUYỆN", "Quận": "QUẬN", "Thị xã": "THỊ"}[u.type]
            return "BCH THÀNH ĐOÀN HÀ NỘI", [f"BCH {word} ĐOÀN {u.short.upper()}"], "HĐTN"
        parent = f"BCH ĐOÀN {district}" if district else "BCH THÀNH ĐOÀN HÀ NỘI"
        return parent, ["BCH ĐOÀN", up], "ĐTN"
    parent = None
    if district and kind == "ubnd":
        parent = f"UBND {district}"
    elif district:
        parent = f"{PARENT_KIND[kind]} {district}"
    return parent, [HEADER_KIND[kind], up], ORG_ABBR[kind]
