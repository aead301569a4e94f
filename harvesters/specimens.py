"""Realistic specimen documents of Hanoi's agencies, with their truth: born-digital PDFs laid out
per NĐ 30/2020 (Phụ lục I) or HD 36-HD/VPTW (Party), and degraded image-only "scans".
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from harvesters import specimen_text as st
from repository.text import nfc

FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")
FONTS = {
    "": "LiberationSerif-Regular.ttf",
    "B": "LiberationSerif-Bold.ttf",
    "I": "LiberationSerif-Italic.ttf",
    "BI": "LiberationSerif-BoldItalic.ttf",
}
TYPE_CODES = {
    "Nghị quyết": ("01", "NQ"),
    "Quyết định": ("02", "QĐ"),
    "Chỉ thị": ("03", "CT"),
    "Thông báo": ("07", "TB"),
    "Hướng dẫn": ("08", "HD"),
    "Kế hoạch": ("10", "KH"),
    "Báo cáo": ("14", "BC"),
    "Tờ trình": ("15", "TTr"),
    "Công văn": ("22", ""),
}
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


@dataclass
class DocumentSpec:
    """Everything needed to render one document and to know what extraction should find."""

    block: str  # chinh-quyen | dang | doan-the
    agency_kind: str
    document_type: str
    type_code: str
    number: str
    notation: str
    number_symbol: str
    place: str
    issued_on: date
    issuer: str  # the agency's name as the store has it
    issuer_lines: list[str]  # as printed, upper case (left column, under the parent line)
    parent_line: str | None  # cơ quan chủ quản, as printed
    subject: str
    body: list[str]
    signer: str
    signer_title: str
    signing_prefix: str | None  # "TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "T/M ĐẢNG ỦY"...
    recipients: list[str]
    admin_unit_code: str
    admin_unit_name: str
    registry_refs: list[dict[str, str]] = field(default_factory=list)
    addressee: str | None = None  # công văn: Kính gửi
    urgency: str | None = None
    confidentiality: str | None = None

    @property
    def party_layout(self) -> bool:
        return self.block == "dang" or self.agency_kind == "doan-tn"

    def truth(self) -> dict[str, object]:
        """The fields in the shape of `kho extract --json` (without ocr and pages)."""
        return {
            "document_type": self.document_type,
            "number_symbol": self.number_symbol,
            "issued_on": self.issued_on.isoformat(),
            "issuer": self.issuer,
            "block": self.block,
            "subject": self.subject,
            "signer": self.signer,
            "signer_title": self.signer_title,
            "admin_unit": {"code": self.admin_unit_code, "name": self.admin_unit_name},
            "registry_refs": [dict(r) for r in self.registry_refs],
        }


def _number(rng: random.Random, day: date) -> str:
    n = rng.randrange(1, 40 + day.timetuple().tm_yday * 3)
    return f"{n:02d}"


def _signing(issuer: st.Issuer, rng: random.Random, doc_type: str) -> tuple[str | None, str]:
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


def _header(issuer: st.Issuer, post_reform: bool) -> tuple[str | None, list[str], str]:
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


def make_spec(rng: random.Random, old: bool, block: str) -> DocumentSpec:
    """One random, internally consistent specimen of `block`, before or after the reform."""
    issuer = st.pick_issuer(rng, old, block)
    day = st.random_day(rng, old)
    group = issuer.kind if issuer.kind in DOC_TYPES else "doan-the"
    types = [t for t in DOC_TYPES[group] if t != "Tờ trình" or issuer.level != "province"]
    doc_type = rng.choice(types)
    code, abbr = TYPE_CODES[doc_type]
    parent, lines, org = _header(issuer, not old)
    number = _number(rng, day)
    if issuer.block == "dang" or issuer.kind == "doan-tn":
        notation = f"{abbr or 'CV'}/{org}"
        number_symbol = f"{number}-{notation}"
    else:
        dept = rng.choice(["VP", "ĐC", "TP", "KT"]) if issuer.kind == "ubnd" else "VP"
        notation = f"{org}-{dept}" if doc_type == "Công văn" else f"{abbr}-{org}"
        number_symbol = f"{number}/{notation}"
    body = st.content(rng, doc_type, issuer, day)
    prefix, title = _signing(issuer, rng, doc_type)
    recipients = (
        ["Như trên;" if body.recipient else "Như Điều 3;"] if doc_type == "Quyết định" else []
    )
    recipients += (
        ["Thường trực Huyện ủy (để b/c);", "Các đồng chí Ủy viên BCH;", "Lưu VP."]
        if issuer.block == "dang"
        else ["Thường trực Đảng ủy;", "Chủ tịch, các PCT;", f"Lưu: VT, {notation.split('-')[-1]}."]
    )
    place = issuer.unit.short
    return DocumentSpec(
        block=block,
        agency_kind=issuer.kind,
        document_type=doc_type,
        type_code=code,
        number=number,
        notation=notation,
        number_symbol=number_symbol,
        place=place,
        issued_on=day,
        issuer=issuer.name,
        issuer_lines=lines,
        parent_line=parent,
        subject=body.subject,
        body=body.body,
        signer=st.person(rng),
        signer_title=title,
        signing_prefix=prefix,
        recipients=recipients,
        admin_unit_code=issuer.unit.code,
        admin_unit_name=issuer.unit.name,
        registry_refs=body.refs,
        addressee=body.recipient,
        urgency=rng.choice([None] * 8 + ["KHẨN", "HỎA TỐC"]) if issuer.block != "dang" else None,
        confidentiality=None,
    )


def random_specs(
    rng: random.Random, n: int, *, post_reform_ratio: float = 0.4, blocks: tuple[str, ...] = ()
) -> list[DocumentSpec]:
    """`n` specimens of all three blocks, about `post_reform_ratio` of them dated 2025-07-01 on."""
    blocks = blocks or ("chinh-quyen", "dang", "doan-the")
    return [
        make_spec(rng, rng.random() >= post_reform_ratio, blocks[i % len(blocks)]) for i in range(n)
    ]


def date_line(place: str, day: date) -> str:
    """NĐ 30 §3.3: day < 10 and months 1, 2 with a leading zero."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


class _Pdf(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4", unit="mm")
        for style, name in FONTS.items():
            self.add_font("Serif", style, str(FONT_DIR / name))
        self.set_margins(25, 18, 15)
        self.set_auto_page_break(True, margin=18)


LEFT, MID, RIGHT = 18.0, 96.0, 198.0  # header columns: [LEFT, MID] and [MID, RIGHT]


def _fit(pdf: FPDF, text: str, style: str, size: float, width: float) -> None:
    """Set the font, smaller if `text` would not fit in `width` (long unit names)."""
    pdf.set_font("Serif", style, size)
    while pdf.get_string_width(nfc(text)) > width and size > 9:
        size -= 0.5
        pdf.set_font("Serif", style, size)


def render_pdf(spec: DocumentSpec, path: Path) -> dict[str, float]:
    """Write a born-digital PDF of `spec`; return where the signature block is (mm, last page)."""
    pdf = _Pdf()
    pdf.add_page()
    party = spec.party_layout
    left: list[tuple[str, str, float]] = []
    if spec.parent_line:
        left.append((spec.parent_line, "", 12.5))
    left += [(line, "B", 12.5) for line in spec.issuer_lines]
    right = (
        [("ĐẢNG CỘNG SẢN VIỆT NAM" if spec.block == "dang" else "ĐOÀN TNCS HỒ CHÍ MINH", "B", 13)]
        if party
        else [
            ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "B", 12),
            ("Độc lập - Tự do - Hạnh phúc", "B", 13),
        ]
    )
    y = 16.0
    for i in range(max(len(left), len(right))):
        if i < len(left):
            text, style, size = left[i]
            _fit(pdf, text, style, size, MID - LEFT - 2)
            pdf.set_xy(LEFT, y)
            pdf.cell(MID - LEFT, 6, nfc(text), align="C", new_x="LMARGIN", new_y="NEXT")
        if i < len(right):
            text, style, size = right[i]
            pdf.set_font("Serif", style, size)
            pdf.set_xy(MID, y)
            pdf.cell(RIGHT - MID, 6, nfc(text), align="C", new_x="LMARGIN", new_y="NEXT")
            if not party and i == 1:
                pdf.line(MID + 25, y + 6.2, RIGHT - 25, y + 6.2)
        y += 6
    if party:
        pdf.set_font("Serif", "", 13)
        pdf.set_xy(LEFT, y)
        pdf.cell(MID - LEFT, 5, "*", align="C", new_x="LMARGIN", new_y="NEXT")
        y += 6
    else:
        pdf.line((LEFT + MID) / 2 - 12, y + 0.3, (LEFT + MID) / 2 + 12, y + 0.3)
        y += 2.5
    pdf.set_font("Serif", "", 13)
    pdf.set_xy(LEFT, y)
    pdf.cell(
        MID - LEFT,
        6,
        ("Số " if party else "Số: ") + spec.number_symbol,
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Serif", "I", 13)
    pdf.set_xy(MID, y)
    pdf.cell(
        RIGHT - MID,
        6,
        nfc(date_line(spec.place, spec.issued_on)),
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    y += 7
    if spec.document_type == "Công văn":
        pdf.set_font("Serif", "", 12)
        pdf.set_xy(LEFT + 4, y)
        pdf.multi_cell(
            MID - LEFT - 8, 5.5, nfc(spec.subject), align="C", new_x="LMARGIN", new_y="NEXT"
        )
        y = pdf.get_y() + 1
    for mark in (spec.urgency, spec.confidentiality):
        if mark:
            pdf.set_font("Serif", "B", 13)
            pdf.set_xy(LEFT + 22, y + 1)
            pdf.cell(MID - LEFT - 44, 7, mark, border=1, align="C", new_x="LMARGIN", new_y="NEXT")
            y += 9
    y += 4
    if spec.document_type == "Công văn":
        pdf.set_font("Serif", "", 14)
        pdf.set_xy(25, y)
        pdf.multi_cell(
            170, 7, nfc(f"Kính gửi: {spec.addressee}"), align="C", new_x="LMARGIN", new_y="NEXT"
        )
        y = pdf.get_y() + 3
    else:
        pdf.set_font("Serif", "B", 14)
        pdf.set_xy(25, y)
        pdf.cell(170, 7, nfc(spec.document_type.upper()), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_xy(35, y + 7)
        pdf.multi_cell(150, 6.5, nfc(spec.subject), align="C", new_x="LMARGIN", new_y="NEXT")
        y = pdf.get_y() + 1
        pdf.line(92, y, 128, y)
        y += 5
    pdf.set_font("Serif", "", 13.5)
    pdf.set_xy(25, y)
    for para in spec.body:
        pdf.set_x(25)
        pdf.multi_cell(170, 7, nfc("        " + para), align="J", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return _signature(pdf, spec, path)


def _signature(pdf: _Pdf, spec: DocumentSpec, path: Path) -> dict[str, float]:
    lines = [(line, "B", 13) for line in (spec.signing_prefix or "").split("\n") if line]
    lines.append((spec.signer_title.upper(), "B", 13))
    height = 6 * len(lines) + 30 + 7
    if pdf.get_y() + height > pdf.h - 18:
        pdf.add_page()
    y = pdf.get_y() + 4
    top = y
    pdf.set_font("Serif", "BI", 12)
    pdf.set_xy(25, y)
    pdf.cell(70, 5, "Nơi nhận:")
    pdf.set_font("Serif", "", 11)
    for i, r in enumerate(spec.recipients):
        pdf.set_xy(25, y + 5 + 5 * i)
        pdf.cell(75, 5, nfc(f"- {r}"))
    for text, style, size in lines:
        pdf.set_font("Serif", style, size)
        pdf.set_xy(110, y)
        pdf.cell(85, 6, nfc(text), align="C", new_x="LMARGIN", new_y="NEXT")
        y += 6
    sign_top = y
    y += 28
    pdf.set_font("Serif", "B", 13.5)
    pdf.set_xy(110, y)
    pdf.cell(85, 7, nfc(spec.signer), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return {
        "x0": 110.0,
        "x1": 195.0,
        "top": top,
        "sign_top": sign_top,
        "name_y": y,
        "page_h": pdf.h,
    }


# -- scans ------------------------------------------------------------------------------------
def render_scan(
    spec: DocumentSpec, path: Path, *, dpi: int = 300, rng: random.Random | None = None
) -> None:
    """Write an image-only PDF that looks like a scan of `spec` (skew, noise, stamp, signature)."""
    rng = rng or random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        born = Path(tmp) / "born.pdf"
        where = render_pdf(spec, born)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(born), str(Path(tmp) / "p")],
            check=True,
            capture_output=True,
        )
        pngs = sorted(Path(tmp).glob("p*.png"))
        pages = []
        for i, png in enumerate(pngs):
            img = Image.open(png).convert("RGB")
            if i == len(pngs) - 1:
                _sign_and_stamp(img, spec, where, dpi, rng)
            pages.append(_degrade(img, dpi, rng))
    pages[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=pages[1:], quality=80)


def _sign_and_stamp(
    img: Image.Image, spec: DocumentSpec, where: dict[str, float], dpi: int, rng: random.Random
) -> None:
    mm = dpi / 25.4
    draw = ImageDraw.Draw(img)
    cx = (where["x0"] + where["x1"]) / 2 * mm
    sy = (where["sign_top"] + 4) * mm
    # A blue hand signature: a few joined loops between the title and the name.
    pts, x, y = [], cx - 18 * mm, sy + 10 * mm
    for k in range(24):
        x += rng.uniform(1.0, 2.2) * mm
        y = sy + 10 * mm + math.sin(k * rng.uniform(0.8, 1.4)) * rng.uniform(3, 7) * mm
        pts.append((x, y))
    draw.line(pts, fill=(30, 50, 150), width=max(2, int(0.5 * mm)), joint="curve")
    # A red round seal over the left third of the signature (NĐ 30 Phụ lục I, ô 8).
    r = rng.uniform(17, 20) * mm
    sx, sy2 = cx - 20 * mm + rng.uniform(-3, 3) * mm, sy + 8 * mm + rng.uniform(-3, 3) * mm
    # Ink on toner: the scan multiplies them, so black text under the seal stays black.
    seal = Image.new("RGBA", img.size, (255, 255, 255, 0))
    sd = ImageDraw.Draw(seal)
    red = (200, 30, 40, 190)
    for rad, w in ((r, 0.7), (r * 0.68, 0.45)):
        sd.ellipse((sx - rad, sy2 - rad, sx + rad, sy2 + rad), outline=red, width=int(w * mm))
    star = [
        (
            sx + (r * 0.25 if k % 2 == 0 else r * 0.1) * math.cos(math.pi / 2 + k * math.pi / 5),
            sy2 - (r * 0.25 if k % 2 == 0 else r * 0.1) * math.sin(math.pi / 2 + k * math.pi / 5),
        )
        for k in range(10)
    ]
    sd.polygon(star, fill=red)
    font = ImageFont.truetype(str(FONT_DIR / FONTS["B"]), int(3.2 * mm))
    ring = nfc(f"{spec.issuer_lines[0]} * {spec.admin_unit_name.upper()} *")
    for k, ch in enumerate(ring):
        a = math.pi + k * 2 * math.pi / len(ring)
        glyph = Image.new("RGBA", (int(5 * mm), int(5 * mm)), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((mm, 0.5 * mm), ch, font=font, fill=red)
        glyph = glyph.rotate(-math.degrees(a) - 90, resample=Image.BICUBIC)
        gx = sx + r * 0.84 * math.cos(a) - glyph.width / 2
        gy = sy2 + r * 0.84 * math.sin(a) - glyph.height / 2
        seal.alpha_composite(glyph, (int(gx), int(gy)))
    ink = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), seal)
    img.paste(ImageChops.multiply(img, ink.convert("RGB")))


def _degrade(img: Image.Image, dpi: int, rng: random.Random) -> Image.Image:
    paper = (rng.randrange(225, 242), rng.randrange(222, 238), rng.randrange(210, 228))
    img = ImageChops.multiply(img, Image.new("RGB", img.size, paper))
    img = img.rotate(rng.uniform(-1.5, 1.5), resample=Image.BICUBIC, fillcolor=paper)
    noise = Image.effect_noise(img.size, rng.uniform(12, 22)).convert("RGB")
    img = Image.blend(img, ImageChops.multiply(img, noise), 0.12)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.uniform(150, 400) * dpi / 300)):
        x, y, s = rng.randrange(img.width), rng.randrange(img.height), rng.uniform(0.6, 2.2)
        g = rng.randrange(40, 140)
        draw.ellipse((x, y, x + s * dpi / 300, y + s * dpi / 300), fill=(g, g, g))
    return img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.9) * dpi / 300))


def write_corpus(
    out_dir: Path, n: int, seed: int = 0, scanned_ratio: float = 0.66
) -> list[tuple[Path, dict[str, object], bool]]:
    """Render `n` specimens (some as scans at 200 or 300 dpi) and write `truth.json` beside them."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = []
    for i, spec in enumerate(random_specs(rng, n)):
        scanned = rng.random() < scanned_ratio
        path = out_dir / f"{i:04d}-{'scan' if scanned else 'born'}.pdf"
        if scanned:
            render_scan(spec, path, dpi=rng.choice((200, 300)), rng=rng)
        else:
            render_pdf(spec, path)
        corpus.append((path, spec.truth(), scanned))
    truth = {p.name: {"truth": t, "scanned": s} for p, t, s in corpus}
    (out_dir / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), "utf-8")
    return corpus


def spec_json(spec: DocumentSpec) -> dict[str, object]:
    """The whole spec as JSON-ready data (dates as ISO strings)."""
    d = asdict(spec)
    d["issued_on"] = spec.issued_on.isoformat()
    return d
