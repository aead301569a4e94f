"""The bytes of one metadata sheet as rows of cell texts, defended against what contractors'
files really hold: legacy Vietnamese encodings (repository.legacy_text), UTF-16 from Excel's
"Unicode text", control characters, huge cells and files, unclosed quotes, empty files and files
that are not what their name says. CSV here; XLSX (bombs, formulas) in repository.sheet_xlsx.

A file that cannot be read safely raises Refused with the reason and what to do; the caller
refuses that sheet and goes on with the others of the batch.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from repository import legacy_text
from repository.text import nfc

HEADER_SCAN = 10
MAX_CSV_BYTES = 512 * 1024 * 1024  # one CSV sheet
MAX_CSV_FIELD = 64 * 1024 * 1024  # the csv module's own limit (128 KiB) would crash on a big cell
_LATIN1 = re.compile("[\u0080-\u00ff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SAVE_UTF8_VI = "Mở tệp bằng Excel hoặc LibreOffice và lưu lại dạng CSV UTF-8 (hoặc .xlsx)."
_SAVE_UTF8_EN = "Open it in Excel or LibreOffice and save it as CSV UTF-8 (or .xlsx)."


class Refused(Exception):
    """A sheet file that is not read at all, with why (Vietnamese and English)."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi, self.message_en = message_vi, message_en


@dataclass(frozen=True)
class Note:
    """Something changed or noticed while reading, for a warning in the report."""

    message_vi: str
    message_en: str
    row: int | None = None


def cell_text(value: object) -> str:
    """An XLSX or CSV cell as NFC text: dates as ISO, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return nfc(str(value)).strip()


def clean_cells(rows: list[list[str]], name: str, notes: list[Note]) -> list[list[str]]:
    """Control characters (NUL, ...) out of every cell: they cannot go into XML or RDF."""
    removed: dict[int, int] = {}
    if not any(_CONTROL.search(c) for r in rows for c in r if not c.isprintable()):
        return rows
    for r, cells in enumerate(rows, start=1):
        for i, cell in enumerate(cells):
            if _CONTROL.search(cell):
                cleaned = _CONTROL.sub("", cell)
                removed[r] = removed.get(r, 0) + len(cell) - len(cleaned)
                cells[i] = cleaned.strip()
    if removed:
        where = ", ".join(str(r) for r in list(removed)[:10]) + ("…" if len(removed) > 10 else "")
        notes.append(
            Note(
                f"{name}: đã bỏ {sum(removed.values())} ký tự điều khiển (NUL…) ở các dòng "
                f"{where}. Kiểm tra các ô đó.",
                f"{name}: removed {sum(removed.values())} control characters (NUL…) on rows "
                f"{where}. Check those cells.",
            )
        )
    return rows


def eth_to_d(rows: list[list[str]], name: str, notes: list[Note]) -> list[list[str]]:
    """ "Ð"/"ð" (Icelandic eth, U+00D0/U+00F0), typed for "Đ"/"đ" by old keyboards and fonts,
    as the Vietnamese letter: otherwise "Ðống Ða" matches no agency or unit."""
    count = 0
    for cells in rows:
        for i, cell in enumerate(cells):
            if "Ð" in cell or "ð" in cell:
                count += cell.count("Ð") + cell.count("ð")
                cells[i] = cell.replace("Ð", "Đ").replace("ð", "đ")
    if count:
        notes.append(
            Note(
                f"{name}: {count} chữ «Ð/ð» (chữ Eth của tiếng Iceland, U+00D0) đã được đổi thành "
                "«Đ/đ» tiếng Việt (U+0110). Lần sau hãy gõ bằng bộ gõ Unicode.",
                f"{name}: {count} letters «Ð/ð» (Icelandic eth, U+00D0) were read as the "
                "Vietnamese «Đ/đ» (U+0110). Type with a Unicode keyboard next time.",
            )
        )
    return rows


def legacy_cells(rows: list[list[str]], name: str, notes: list[Note]) -> list[list[str]]:
    """Cells typed in a legacy font (TCVN3, VNI) converted, or the sheet refused when the
    encoding cannot be told."""
    found = legacy_text.detect_cells(c for r in rows for c in r if c)
    if found.encoding is None and found.decided:
        return rows
    if not found.decided:
        raise _undecided(name, found)
    enc = found.encoding or ""
    converted = [[legacy_text.convert_cell(c, enc) for c in r] for r in rows]
    changed = sum(
        1 for a, b in zip(rows, converted, strict=True) for x, y in zip(a, b, strict=True) if x != y
    )
    notes.append(_legacy_note(name, enc, f"{changed} ô / cells"))
    return converted


def _legacy_note(name: str, encoding: str, what: str) -> Note:
    label = legacy_text.NAMES[encoding]
    return Note(
        f"{name} được gõ bằng bảng mã {label}, không phải Unicode; Kho đã chuyển sang Unicode "
        f"({what}). Kiểm tra dấu tiếng Việt, và lần sau hãy lưu bảng kê dạng Unicode (CSV UTF-8 "
        "hoặc .xlsx với phông Unicode).",
        f"{name} is in the {encoding} encoding, not Unicode; Kho converted it to Unicode "
        f"({what}). Check the Vietnamese diacritics, and save the sheet as UTF-8 (CSV UTF-8, or "
        ".xlsx typed in a Unicode font) next time.",
    )


def _undecided(name: str, found: legacy_text.Detection) -> Refused:
    return Refused(
        f"Không xác định được bảng mã của {name} (tỉ lệ âm tiết tiếng Việt: {found.explain()}): "
        f"Kho không đoán. {_SAVE_UTF8_VI}",
        f"Cannot tell the encoding of {name} (share of Vietnamese syllables: "
        f"{found.explain()}): Kho does not guess. {_SAVE_UTF8_EN}",
    )


def _csv_rows(text: str) -> list[list[str]]:
    head = [line for line in text.splitlines()[:HEADER_SCAN] if line.strip()]
    delimiter = max(";,\t", key=lambda d: sum(line.count(d) for line in head))
    csv.field_size_limit(MAX_CSV_FIELD)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        rows = [[cell_text(c) for c in r] for r in reader]
    except csv.Error as exc:  # a field over MAX_CSV_FIELD, a broken quote at the end...
        raise Refused(
            f"Không đọc được CSV ở dòng {reader.line_num}: {exc}. Kiểm tra dấu ngoặc kép và các ô "
            "quá dài, rồi xuất lại bảng kê.",
            f"The CSV cannot be read at line {reader.line_num}: {exc}. Check the quotes and "
            "overlong cells, and export the sheet again.",
        ) from exc
    _unclosed_quote(rows, delimiter)
    return rows


def _unclosed_quote(rows: list[list[str]], delimiter: str) -> None:
    """A quote opened and never closed swallows the following rows into one cell: refuse the
    sheet rather than lose them silently."""
    width = max((len(r) for r in rows[:HEADER_SCAN]), default=0)
    need = max(3, width // 2)
    for number, cells in enumerate(rows, start=1):
        for i, cell in enumerate(cells):
            if "\n" not in cell:
                continue
            swallowed = sum(1 for line in cell.split("\n") if line.count(delimiter) >= need)
            if swallowed >= 2:
                raise Refused(
                    f'Dòng {number}, cột {i + 1}: một dấu ngoặc kép (") mở mà không đóng, nuốt '
                    f"{swallowed} dòng sau vào một ô. Sửa dấu ngoặc rồi xuất lại bảng kê.",
                    f'Row {number}, column {i + 1}: a quote (") is opened and never closed, '
                    f"swallowing {swallowed} following rows into one cell. Fix the quote and "
                    "export the sheet again.",
                )


def read_csv(path: Path, notes: list[Note]) -> list[list[str]]:
    """A CSV file's rows: UTF-8 (with or without BOM), UTF-16, Windows-1258, TCVN3 or VNI."""
    name = path.name
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise Refused(
            f"{name} nặng {size:,} byte, quá giới hạn {MAX_CSV_BYTES:,} byte của một bảng kê. "
            "Chia bảng kê thành nhiều lô.",
            f"{name} is {size:,} bytes, over the limit of {MAX_CSV_BYTES:,} for one sheet. Split "
            "it into several batches.",
        )
    raw = path.read_bytes()
    if not raw.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise Refused(
            f"{name} rỗng (0 byte hoặc không có ô nào). Xuất lại bảng kê rồi nộp lại.",
            f"{name} is empty (0 bytes, or no cell at all). Export the sheet again and resubmit.",
        )
    _not_a_csv(raw, name)
    utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
    try:
        text = raw.decode("utf-16") if utf16 else raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _legacy_csv(raw, name, notes)
    rows = _csv_rows(text)
    if _CONTROL.search(text):  # whole-text checks first: a big clean sheet pays one scan each
        rows = clean_cells(rows, name, notes)
    if _LATIN1.search(text):
        rows = legacy_cells(rows, name, notes)
    return eth_to_d(rows, name, notes) if "Ð" in text or "ð" in text else rows


def _not_a_csv(raw: bytes, name: str) -> None:
    head = raw[:512].lstrip().lower()
    kind = None
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table")):
        kind = "HTML/XML"
    elif raw.startswith(b"PK\x03\x04"):
        kind = "ZIP (XLSX?)"
    elif raw.startswith(b"\xd0\xcf\x11\xe0"):
        kind = "Excel 97-2003 (.xls)"
    elif raw.startswith(b"%PDF"):
        kind = "PDF"
    if kind:
        raise Refused(
            f"{name} không phải tệp CSV mà là {kind}. {_SAVE_UTF8_VI}",
            f"{name} is not a CSV file but {kind}. {_SAVE_UTF8_EN}",
        )


def _legacy_csv(raw: bytes, name: str, notes: list[Note]) -> list[list[str]]:
    found = legacy_text.detect_bytes(raw)
    if not found.decided or found.encoding is None:
        raise _undecided(name, found)
    enc = found.encoding
    if enc == "Windows-1258":
        text = unicodedata.normalize("NFC", raw.decode("cp1258", errors="replace"))
        rows = _csv_rows(text)
    else:  # font encodings: ASCII delimiters and quotes are the same bytes; convert each cell
        text = raw.decode("latin-1" if enc == "TCVN3" else "cp1252", errors="replace")
        convert = legacy_text.CONVERTERS[enc]
        rows = [[convert(c) for c in r] for r in _csv_rows(text)]
    notes.append(_legacy_note(name, enc, found.explain()))
    return clean_cells(rows, name, notes)
