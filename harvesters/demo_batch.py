"""Demo batches like a scanning contractor delivers them: sheets of hồ sơ and documents with their
PDFs, across the three blocks, city/district/commune levels, before and after the 2025 mergers.

One batch follows TT 05/2025 (XLSX, two tabs, element names as headers); one is a legacy TT 02/2019
sheet in CSV with Vietnamese headers, with a few scans and a few deliberate mistakes (an impossible
date, a missing PDF, a document delivered twice) so the rejection report and the duplicate flags
have something to show. Both carry registry columns (harvesters/demo_registry.py: enterprises,
parcels, citizens, officials the records concern) and the legacy one a malformed citizen's number,
rejected with the number masked in the report.
"""

from __future__ import annotations

import csv
import random
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

from harvesters import demo_registry as dr
from harvesters import specimen_text as st
from harvesters.specimens import DocumentSpec, make_spec, render_pdf, render_scan

KIND_CODE = {
    "ubnd": "UBND",
    "hdnd": "HDND",
    "dang-uy": "DU",
    "mttq": "MTTQ",
    "doan-tn": "DTN",
    "hoi-lhpn": "LHPN",
    "hoi-nong-dan": "HND",
    "hoi-ccb": "CCB",
    "ldld": "LDLD",
}
TT05_HOSO = [
    "fileCode",
    "title",
    "maintenance",
    "mode",
    "language",
    "startDate",
    "endDate",
    "totalDoc",
    "numberOfPaper",
    "numberOfPage",
    "format",
    "confidenceLevel",
    "paperFileCode",
    "maSoDoanhNghiep",
    "thuaDat",
    "maCanBo",
    "sourceIdentifier",
]
TT05_DOC = [
    "docCode",
    "docOrdinal",
    "typeName",
    "codeNumber",
    "codeNotation",
    "issuedDate",
    "organName",
    "subject",
    "language",
    "numberOfPage",
    "mode",
    "confidenceLevel",
    "fileName",
    "maSoDoanhNghiep",
    "thuaDat",
    "soDinhDanh",
    "maCanBo",
]
TT02_HEADERS = [
    "Mã hồ sơ",
    "Tiêu đề hồ sơ",
    "Thời hạn bảo quản",
    "Chế độ sử dụng",
    "Ngôn ngữ",
    "Thời gian bắt đầu",
    "Thời gian kết thúc",
    "Tổng số văn bản trong hồ sơ",
    "Số lượng tờ",
    "Số lượng trang",
    "Tình trạng vật lý",
    "Số thứ tự văn bản trong hồ sơ",
    "Tên loại văn bản",
    "Số của văn bản",
    "Ký hiệu của văn bản",
    "Ngày, tháng, năm văn bản",
    "Tên cơ quan, tổ chức ban hành văn bản",
    "Trích yếu nội dung",
    "Tệp tin",
    "Mã số doanh nghiệp",
    "Thửa đất",
    "Số định danh cá nhân",
    "Mã cán bộ",
]
MALFORMED_CITIZEN = "00108501234"  # 11 digits: not a personal identification number
MAINTENANCE_TEXT = {
    "01": "Vĩnh viễn",
    "02": "70 năm",
    "03": "50 năm",
    "04": "30 năm",
    "05": "20 năm",
    "06": "10 năm",
}


def _dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def hoso_specs(rng: random.Random, documents: int) -> list[list[DocumentSpec]]:
    """Hồ sơ of one to four documents of one agency, across the three blocks, before and after
    the reform (about a third after), in date order."""
    blocks = ("chinh-quyen", "dang", "doan-the")
    files: list[list[DocumentSpec]] = []
    made = 0
    while made < documents:
        old = rng.random() >= 0.35
        block = blocks[len(files) % 3]
        issuer = st.pick_issuer(rng, old, block)
        docs = [
            make_spec(rng, old, block, issuer)
            for _ in range(min(rng.randint(1, 4), documents - made))
        ]
        docs.sort(key=lambda s: s.issued_on)
        files.append(docs)
        made += len(docs)
    return files


def _file_code(docs: list[DocumentSpec], n: int) -> str:
    s = docs[0]
    return (
        f"H01.{s.admin_unit_code}.{KIND_CODE.get(s.agency_kind, 'CQ')}.{s.issued_on.year}.{n:02d}"
    )


def _title(docs: list[DocumentSpec]) -> str:
    s = docs[0]
    topic = s.subject[0].lower() + s.subject[1:] if s.subject else ""
    if len(docs) == 1:
        return f"{s.document_type} {topic}"
    return f"Hồ sơ {topic} năm {s.issued_on.year} của {s.issuer}"


def _render(spec: DocumentSpec, path: Path, scanned: bool, rng: random.Random) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if scanned:
        render_scan(spec, path, dpi=200, rng=rng)
    else:
        render_pdf(spec, path)


def write_tt05_batch(
    folder: Path,
    files: list[list[DocumentSpec]],
    rng: random.Random,
    scanned_ratio: float,
    progress: Callable[[str], None] | None = None,
    links: random.Random | None = None,
) -> int:
    """An XLSX with tabs "Hồ sơ" and "Tài liệu" (TT 05/2025 element names, and Kho's registry
    columns drawn from `links`) and the PDFs."""
    from openpyxl import Workbook

    wb = Workbook()
    hs = wb.active
    hs.title = "Hồ sơ"
    hs.append(TT05_HOSO)
    td = wb.create_sheet("Tài liệu")
    td.append(TT05_DOC)
    links = links or random.Random(0)
    count = 0
    for n, docs in enumerate(files, start=1):
        code = _file_code(docs, n)
        pages = len(docs)
        refs = dr.hoso_columns(docs, links, n)  # the specimens are one page each
        maintenance = "" if n % 4 == 0 else rng.choice(["01", "01", "04", "05", "06"])
        mode = "03" if n % 5 == 0 else "02" if n % 3 == 0 else "01"
        hs.append(
            [
                code,
                _title(docs),
                maintenance,
                mode,
                "01",
                _dmy(docs[0].issued_on),
                _dmy(docs[-1].issued_on),
                len(docs),
                pages,
                pages,
                "01",
                "02",
                f"H01.K1.G{n % 7 + 1}.H{n:03d}",
                refs["enterprise"],
                refs["land"],
                refs["official"],
                dr.source_identifier(code, n),
            ]
        )
        for k, spec in enumerate(docs, start=1):
            name = f"{code}.{k:07d}.pdf"
            scanned = rng.random() < scanned_ratio or (count == 0 and scanned_ratio > 0)
            _render(spec, folder / name, scanned, rng)  # at least one scan, so OCR runs
            cols = dr.doc_columns(spec, links, count)
            td.append(
                [
                    f"{code}.{k:07d}",
                    k,
                    spec.type_code,
                    spec.number,
                    spec.notation,
                    _dmy(spec.issued_on),
                    spec.issuer,
                    spec.subject,
                    "01",
                    1,
                    mode,
                    "02",
                    name,
                    cols["enterprise"],
                    cols["land"],
                    cols["citizen"],
                    cols["official"],
                ]
            )
            count += 1
            if progress and count % 10 == 0:
                progress(f"demo: {count} documents rendered")
    folder.mkdir(parents=True, exist_ok=True)
    wb.save(folder / "bang-ke.xlsx")
    return count


def write_tt02_batch(
    folder: Path,
    files: list[list[DocumentSpec]],
    rng: random.Random,
    scanned_ratio: float,
    progress: Callable[[str], None] | None = None,
    links: random.Random | None = None,
) -> int:
    """A legacy TT 02/2019 sheet (CSV, Vietnamese headers, one row per document, registry
    columns drawn from `links`) and the PDFs, with one impossible date, one missing PDF, one
    document delivered twice and one malformed citizen's number."""
    links = links or random.Random(0)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [TT02_HEADERS]
    count = 0
    for n, docs in enumerate(files, start=1):
        code = _file_code(docs, 50 + n)
        maintenance = MAINTENANCE_TEXT[rng.choice(["01", "04", "06"])]
        first = docs[0]
        rows.append(
            [
                code,
                _title(docs),
                maintenance,
                "Công khai",
                "Tiếng Việt",
                _dmy(first.issued_on),
                _dmy(docs[-1].issued_on),
                len(docs),
                len(docs),
                len(docs),
                "Tốt",
                *[""] * 8,
            ]
        )
        for k, spec in enumerate(docs, start=1):
            name = f"{code}/{k:03d}.pdf"
            _render(spec, folder / name, rng.random() < scanned_ratio, rng)
            issued = _dmy(spec.issued_on)
            if n == 2 and k == 1:
                issued = f"31/02/{spec.issued_on.year}"  # a typo the report must catch
            cols = dr.doc_columns(spec, links, count)
            rows.append(
                [
                    code,
                    *[""] * 10,
                    k,
                    spec.document_type,
                    spec.number,
                    spec.notation,
                    issued,
                    spec.issuer,
                    spec.subject,
                    name,
                    cols["enterprise"],
                    cols["land"],
                    cols["citizen"],
                    cols["official"],
                ]
            )
            count += 1
    # A document delivered twice, in another hồ sơ: flagged "Xem xét hủy", not dropped.
    dup_code, dup_docs = rows[1][0], files[0]
    src = folder / f"{dup_code}/001.pdf"
    twice = folder / "trung-lap" / "001.pdf"
    twice.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, twice)
    code = _file_code(dup_docs, 99)
    spec = dup_docs[0]
    rows.append(
        [
            code,
            f"Bản sao: {_title(dup_docs)}",
            "Vĩnh viễn",
            "Công khai",
            "Tiếng Việt",
            _dmy(spec.issued_on),
            _dmy(spec.issued_on),
            1,
            1,
            1,
            "Tốt",
        ]
        + [""] * 8
    )
    rows.append(
        [
            code,
            *[""] * 10,
            1,
            spec.document_type,
            spec.number,
            spec.notation,
            _dmy(spec.issued_on),
            spec.issuer,
            spec.subject,
            "trung-lap/001.pdf",
        ]
    )
    # A row whose PDF the contractor forgot.
    rows.append(
        [
            code,
            *[""] * 10,
            2,
            "Thông báo",
            "07",
            "TB-UBND",
            _dmy(spec.issued_on),
            spec.issuer,
            "Về việc lịch tiếp công dân",
            "thieu.pdf",
        ]
    )
    # A citizen's number one digit short: the row is rejected, the report shows it masked.
    rows.append(
        [code, "", "", "", "", "", "", "", "", "", "", 3, "Công văn", "09", "UBND-VP"]
        + [_dmy(spec.issued_on), spec.issuer, "V/v xác minh thông tin cư trú của công dân"]
        + ["trung-lap/001.pdf", "", "", MALFORMED_CITIZEN, ""]
    )
    with (folder / "bang-ke-tt02.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        csv.writer(fh).writerows(rows)
    return count + 3


def write_demo(
    root: Path,
    *,
    documents: int = 48,
    seed: int = 2025,
    scanned_ratio: float = 0.25,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Two batch folders under `root`; return their paths."""
    rng = random.Random(seed)
    links = random.Random(seed + 1)  # registry columns: their own draws, the documents unchanged
    files = hoso_specs(rng, documents)
    cut = max(1, len(files) * 3 // 4)
    first, second = root / "lo-01-tt05", root / "lo-02-tt02"
    for folder in (first, second):
        shutil.rmtree(folder, ignore_errors=True)
    write_tt05_batch(first, files[:cut], rng, scanned_ratio, progress, links)
    write_tt02_batch(second, files[cut:], rng, scanned_ratio, progress, links)
    return [first, second]
