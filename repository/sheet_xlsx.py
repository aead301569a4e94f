"""One XLSX metadata workbook as worksheets of cell texts (see repository.sheet_read): files that
are not workbooks (HTML or a ZIP renamed .xlsx), decompression bombs and sparse sheets that would
expand to millions of cells are refused or read narrow; formula cells saved without a value keep
their formula as text (never run); a worksheet that cannot be read is refused alone.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from repository.sheet_read import Note, Refused, cell_text, clean_cells, eth_to_d, legacy_cells

MAX_XLSX_UNZIPPED = 256 * 1024 * 1024  # bytes of XML an XLSX may expand to (a bomb is refused)
MAX_COLUMNS = 256  # columns read from a worksheet; the formats declare about 40 fields
_BLANK: list[object] = []  # every blank worksheet row (never mutated)
_BLANK_TEXT: list[str] = []


def _check_zip(path: Path) -> None:
    """Refuse what is not an XLSX (HTML, a renamed file, a broken ZIP) and decompression bombs,
    before openpyxl reads a byte of it."""
    name = path.name
    try:
        with zipfile.ZipFile(path) as book:
            infos = book.infolist()
            names = {i.filename for i in infos}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        head = path.read_bytes()[:512].lstrip().lower() if path.is_file() else b""
        what = "HTML" if head.startswith((b"<!doctype", b"<html", b"<table")) else "ZIP"
        raise Refused(
            f"{name} không phải tệp Excel .xlsx đọc được ({what}: {exc}). Mở bằng Excel hoặc "
            "LibreOffice và lưu lại dạng .xlsx.",
            f"{name} is not a readable Excel .xlsx file ({what}: {exc}). Open it in Excel or "
            "LibreOffice and save it as .xlsx.",
        ) from exc
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise Refused(
            f"{name} là tệp ZIP nhưng không phải bảng tính .xlsx. Lưu bảng kê dạng .xlsx.",
            f"{name} is a ZIP file but not an .xlsx workbook. Save the sheet as .xlsx.",
        )
    total = sum(i.file_size for i in infos)
    if total > MAX_XLSX_UNZIPPED:
        packed = sum(i.compress_size for i in infos)
        raise Refused(
            f"{name} giải nén ra {total:,} byte (nén {packed:,} byte), quá giới hạn "
            f"{MAX_XLSX_UNZIPPED:,} byte: có thể là tệp độc hại (zip bomb). Chia bảng kê thành "
            "nhiều tệp nhỏ hơn hoặc nộp dạng CSV.",
            f"{name} unzips to {total:,} bytes ({packed:,} packed), over the limit of "
            f"{MAX_XLSX_UNZIPPED:,}: possibly a decompression bomb. Split the sheet into smaller "
            "files or send it as CSV.",
        )


_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of the workbook holds a formula (streamed, within the unzip cap)."""
    with zipfile.ZipFile(path) as book:
        for info in book.infolist():
            if not info.filename.startswith("xl/worksheets/"):
                continue
            with book.open(info) as fh:
                tail = b""
                while chunk := fh.read(1 << 20):
                    if _FORMULA.search(tail + chunk):
                        return True
                    tail = chunk[-16:]
    return False


def _open(path: Path, data_only: bool):  # noqa: ANN202 (openpyxl's workbook)
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise Refused(
            f"{path.name} hỏng, không đọc được ({type(exc).__name__}: {exc}). Mở bằng Excel hoặc "
            "LibreOffice và lưu lại dạng .xlsx.",
            f"{path.name} is damaged and cannot be read ({type(exc).__name__}: {exc}). Open it in "
            "Excel or LibreOffice and save it as .xlsx.",
        ) from exc


def _sheet_rows(book, index: int, label: str) -> list[list[object]]:  # noqa: ANN001
    """A worksheet's values, at most MAX_COLUMNS wide; blank rows share one empty list, so a
    tiny file declaring a million rows by thousands of columns costs no memory."""
    rows: list[list[object]] = []
    try:
        for r in book.worksheets[index].iter_rows(values_only=True, max_col=MAX_COLUMNS):
            rows.append(list(r) if r.count(None) != len(r) else _BLANK)
    except Exception as exc:
        raise Refused(
            f"Trang tính {label} hỏng ({type(exc).__name__}: {exc}). Lưu lại tệp .xlsx.",
            f"Worksheet {label} is damaged ({type(exc).__name__}: {exc}). Save the .xlsx again.",
        ) from exc
    while rows and rows[-1] is _BLANK:
        rows.pop()
    return rows


def _too_wide(sheet, label: str, notes: list[Note]) -> None:  # noqa: ANN001
    width = sheet.max_column or 0
    if width > MAX_COLUMNS:
        notes.append(
            Note(
                f"{label} khai báo {width:,} cột; chỉ {MAX_COLUMNS} cột đầu được đọc (bảng kê có "
                "chưa đến 60 cột). Xoá các cột thừa ở bên phải.",
                f"{label} declares {width:,} columns; only the first {MAX_COLUMNS} are read (a "
                "metadata sheet has fewer than 60). Delete the extra columns on the right.",
            )
        )


def _formulas_as_text(
    values: list[list[object]], formulas: list[list[object]], label: str, notes: list[Note]
) -> None:
    """A formula cell saved without its computed value keeps its formula as text (never run);
    one with a value keeps the value the contractor saw."""
    kept = []
    values.extend([_BLANK] * (len(formulas) - len(values)))  # rows holding formulas only
    for r, frow in enumerate(formulas, start=1):
        for i, f in enumerate(frow):
            if not (isinstance(f, str) and f.startswith("=")):
                continue
            if values[r - 1] is _BLANK:
                values[r - 1] = [None] * len(frow)
            row = values[r - 1]
            if i < len(row) and row[i] is None:
                row[i] = f
                kept.append(r)
    while values and values[-1] is _BLANK:
        values.pop()
    if kept:
        where = ", ".join(str(r) for r in sorted(set(kept))[:10])
        notes.append(
            Note(
                f"{label}: {len(kept)} ô công thức chưa được tính (dòng {where}) được lưu nguyên "
                "văn công thức, không chạy. Nhập giá trị thay cho công thức.",
                f"{label}: {len(kept)} formula cells saved without a computed value (rows "
                f"{where}) are stored as the formula's text, never run. Type the values instead.",
            )
        )


def _tab(book, formulas, index: int, label: str, notes: list[Note]) -> list[list[str]]:  # noqa: ANN001
    _too_wide(book.worksheets[index], label, notes)
    values = _sheet_rows(book, index, label)
    if formulas is not None:
        _formulas_as_text(values, _sheet_rows(formulas, index, label), label, notes)
    rows = [[cell_text(c) for c in r] if r else _BLANK_TEXT for r in values]
    rows = legacy_cells(clean_cells(rows, label, notes), label, notes)
    return eth_to_d(rows, label, notes)


def read_xlsx(path: Path, notes: list[Note]) -> Iterator[tuple[str, list[list[str]] | Refused]]:
    """Each worksheet of an XLSX file as (title, rows), legacy-font cells converted; or (title,
    Refused) for a worksheet that cannot be read (the others still are). Refused for the file."""
    _check_zip(path)
    book = _open(path, data_only=True)
    formulas = _open(path, data_only=False) if _has_formulas(path) else None
    try:
        tabs = []
        for index, sheet in enumerate(book.worksheets):
            label = f"{path.name}#{sheet.title}"
            try:
                tabs.append((str(sheet.title), _tab(book, formulas, index, label, notes)))
            except Refused as exc:
                tabs.append((str(sheet.title), exc))
    finally:
        book.close()
        if formulas is not None:
            formulas.close()
    yield from tabs
