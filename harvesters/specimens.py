"""Realistic specimen documents of Hanoi's agencies, with their truth: born-digital PDFs laid out
per NĐ 30/2020 (Phụ lục I) or HD 36-HD/VPTW (Party), and degraded image-only "scans".
"""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from fpdf import FPDF
from PIL import Image

from harvesters import specimen_text as st
from harvesters.specimen_scan import degrade, sign_and_stamp
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


def make_spec(
    rng: random.Random, old: bool, block: str, issuer: st.Issuer | None = None
) -> DocumentSpec:
    """One random, internally consistent specimen of `block`, before or after the reform (by
    `issuer` when given, so a hồ sơ can hold several documents of one agency)."""
    issuer = issuer or st.pick_issuer(rng, old, block)
    day = st.random_day(rng, old)
    group = issuer.kind if issuer.kind in st.DOC_TYPES else "doan-the"
    types = [t for t in st.DOC_TYPES[group] if t != "Tờ trình" or issuer.level != "province"]
    doc_type = rng.choice(types)
    code, abbr = TYPE_CODES[doc_type]
    parent, lines, org = st.header(issuer, not old)
    number = _number(rng, day)
    if issuer.block == "dang" or issuer.kind == "doan-tn":
        notation = f"{abbr or 'CV'}/{org}"
        number_symbol = f"{number}-{notation}"
    else:
        dept = rng.choice(["VP", "ĐC", "TP", "KT"]) if issuer.kind == "ubnd" else "VP"
        notation = f"{org}-{dept}" if doc_type == "Công văn" else f"{abbr}-{org}"
        number_symbol = f"{number}/{notation}"
    body = st.content(rng, doc_type, issuer, day)
    prefix, title = st.signing(issuer, rng, doc_type)
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
                sign_and_stamp(img, spec, where, dpi, rng)
            pages.append(degrade(img, dpi, rng))
    pages[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=pages[1:], quality=80)


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
