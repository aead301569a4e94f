"""Reads a batch folder's metadata sheets (CSV or XLSX) into rows of canonical fields.

Which column holds which field is declared per sheet format in mappings/*.toml (tt05-2025,
tt02-2019, vi-headers); the format of each sheet is detected from its headers. Hồ sơ and documents
come as two sheets (two files, or two tabs named like "Hồ sơ" / "Tài liệu"), or as one sheet where
a row with a docCode or a document ordinal is a document.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from repository.errors import BadRequest, ConfigError
from repository.sheet_read import HEADER_SCAN, Note, Refused, read_csv
from repository.sheet_read import cell_text as cell_text  # re-exported
from repository.sheet_xlsx import read_xlsx
from repository.text import fold, nfc

MAPPINGS = Path(__file__).resolve().parent.parent / "mappings"
SHEET_SUFFIXES = (".csv", ".xlsx")
# HEADER_SCAN (sheet_read): title lines above the header are skipped, up to this many rows
REFUSED_VI = "Bảng kê bị từ chối"  # a SheetWarning starting so refuses the whole sheet
LEVELS = ("hoso", "doc", "both")
TYPES = ("text", "texts", "integer", "date", "code", "codes")
_NON_KEY = re.compile(r"[^0-9a-z]+")
_HOSO_NAMES = ("hoso", "files")  # matched inside the folded name: "Danh mục hồ sơ", "hoso_2021"
_DOC_NAMES = ("tailieu", "vanban", "documents", "docs")


class SheetError(BadRequest):
    """A metadata sheet that cannot be read: no sheet, or no header row of a known format."""


def header_key(text: str) -> str:
    """A header as compared: 'Ngày, tháng, năm văn bản' and 'ngay thang nam van ban' are alike."""
    return _NON_KEY.sub("", fold(text))


@dataclass(frozen=True)
class FieldSpec:
    """How one canonical field is read from a sheet of one format."""

    name: str
    headers: tuple[str, ...]
    level: str
    type: str
    values: dict[str, str] = field(default_factory=dict)  # header_key(label) -> code

    def applies_to(self, kind: str) -> bool:
        return self.level == "both" or self.level == kind


@dataclass(frozen=True)
class SheetFormat:
    """One sheet format of mappings/: its name, its source circular and its fields."""

    name: str
    title: str
    source: str
    rank: int
    min_columns: int
    key_fields: tuple[str, ...]
    fields: dict[str, FieldSpec]
    path: Path

    @property
    def by_header(self) -> dict[str, str]:
        """header_key -> canonical field."""
        return {header_key(h): f.name for f in self.fields.values() for h in f.headers}

    def expected_headers(self) -> list[str]:
        return [f.headers[0] for f in self.fields.values()]


@dataclass(frozen=True)
class SourceRow:
    """One hồ sơ or document row, with the sheet's original header for each field."""

    sheet: str
    row: int  # as a spreadsheet user sees it: the header is row 1 (or the row it is on)
    kind: str  # "hoso" | "doc"
    values: dict[str, str]  # canonical field -> NFC, stripped, non-empty text
    columns: dict[str, str]  # canonical field -> the header of its column in this sheet
    format: SheetFormat


@dataclass(frozen=True)
class SheetWarning:
    """Something worth telling the contractor that does not stop the batch."""

    sheet: str
    row: int | None
    column: str | None
    message_vi: str
    message_en: str


@dataclass
class BatchSheets:
    """Every row of a batch's sheets, the format detected per sheet, and the warnings."""

    rows: list[SourceRow] = field(default_factory=list)
    formats: dict[str, SheetFormat] = field(default_factory=dict)
    warnings: list[SheetWarning] = field(default_factory=list)


# -- formats ------------------------------------------------------------------------------------


def _load_format(path: Path) -> SheetFormat:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        fields = {}
        for name, spec in data["fields"].items():
            level, kind = spec["level"], spec["type"]
            if level not in LEVELS or kind not in TYPES:
                raise ValueError(f"field {name}: level {level!r} / type {kind!r}")
            values = {header_key(k): str(v) for k, v in spec.get("values", {}).items()}
            headers = tuple(nfc(h) for h in spec["headers"])
            fields[name] = FieldSpec(name, headers, level, kind, values)
        detect = data["detect"]
        return SheetFormat(
            name=data["name"],
            title=nfc(data["title"]),
            source=nfc(data["source"]),
            rank=int(data.get("rank", 9)),
            min_columns=int(detect.get("min_columns", 3)),
            key_fields=tuple(detect["key_fields"]),
            fields=fields,
            path=path,
        )
    except (KeyError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"The sheet format {path} is not valid: {exc}") from exc


@lru_cache(maxsize=4)
def load_formats(mappings_dir: Path = MAPPINGS) -> tuple[SheetFormat, ...]:
    """Every sheet format in mappings/ (the TOML files with a [detect] table), best rank first."""
    found = []
    for path in sorted(Path(mappings_dir).glob("*.toml")):
        if "detect" in tomllib.loads(path.read_text(encoding="utf-8")):
            found.append(_load_format(path))
    return tuple(sorted(found, key=lambda f: f.rank))


def detect_format(
    headers: list[str], formats: Iterable[SheetFormat]
) -> tuple[SheetFormat, dict[int, str]] | None:
    """The format whose headers this row matches best, and column index -> field; else None."""
    best: tuple[int, int, SheetFormat, dict[int, str]] | None = None
    for fmt in formats:
        lookup = fmt.by_header
        columns = {i: lookup[k] for i, h in enumerate(headers) if (k := header_key(h)) in lookup}
        if len(set(columns.values())) < fmt.min_columns:
            continue
        if not set(columns.values()) & set(fmt.key_fields):
            continue
        score = (len(set(columns.values())), -fmt.rank)
        if best is None or score > best[:2]:
            best = (*score, fmt, columns)
    return (best[2], best[3]) if best else None


# -- reading ------------------------------------------------------------------------------------


def _kind_of_name(name: str) -> str | None:
    """ "hoso" or "doc" when a file or tab name says which rows it holds; None for a mixed sheet."""
    key = header_key(name)
    is_doc = any(n in key for n in _DOC_NAMES)
    is_hoso = any(n in key for n in _HOSO_NAMES)
    if is_doc == is_hoso:
        return None
    return "doc" if is_doc else "hoso"


def _note(name: str, notes: list[Note], out: BatchSheets) -> None:
    for n in notes:
        out.warnings.append(SheetWarning(name, n.row, None, n.message_vi, n.message_en))


def read_table(
    name: str,
    rows: list[list[str]],
    formats: tuple[SheetFormat, ...],
    kind_hint: str | None,
    out: BatchSheets,
) -> bool:
    """Detect the header and format of one table and add its rows; False if not recognised."""
    found, header_row, header = None, 0, []
    for header_row, header in enumerate(rows[:HEADER_SCAN], start=1):  # noqa: B007
        found = detect_format(header, formats)
        if found is not None:
            break
    if found is None:
        return False
    fmt, columns = found
    out.formats[name] = fmt
    headers = {f: header[i] for i, f in sorted(columns.items(), reverse=True)}  # first one wins
    seen: set[str] = set()
    for i, h in enumerate(header):
        if not h:
            continue
        if i not in columns:
            out.warnings.append(
                SheetWarning(
                    name,
                    header_row,
                    h,
                    f"Cột «{h}» không có trong mẫu {fmt.name} nên bị bỏ qua.",
                    f"Column «{h}» is not part of the {fmt.name} format and is ignored.",
                )
            )
        elif columns[i] in seen:
            out.warnings.append(
                SheetWarning(
                    name,
                    header_row,
                    h,
                    f"Cột «{h}» lặp lại trường {columns[i]}; dùng giá trị của cột đầu tiên khi có.",
                    f"Column «{h}» repeats field {columns[i]}; the first column's value is used "
                    "when present.",
                )
            )
        seen.add(columns.get(i, ""))
    width = max((i + 1 for i, h in enumerate(header) if h), default=0)
    for offset, cells in enumerate(rows[header_row:], start=header_row + 1):
        if any(cells[width:]):
            out.warnings.append(
                SheetWarning(
                    name,
                    offset,
                    None,
                    f"Dòng {offset} có {len(cells)} ô, nhiều hơn số cột tiêu đề ({width}): các ô "
                    "thừa bị bỏ qua. Kiểm tra dấu phân cách hoặc ô bị tách.",
                    f"Row {offset} has {len(cells)} cells, more than the {width} header columns: "
                    "the extra cells are ignored. Check the delimiters or a split cell.",
                )
            )
        values: dict[str, str] = {}
        for i, f in columns.items():
            if i < len(cells) and cells[i] and f not in values:
                values[f] = cells[i]
        if not values:
            continue  # blank line
        kind = kind_hint or ("doc" if values.get("docCode") or values.get("docOrdinal") else "hoso")
        out.rows.append(SourceRow(name, offset, kind, values, headers, fmt))
    return True


def _unrecognised(name: str, formats: tuple[SheetFormat, ...]) -> SheetError:
    expected = "; ".join(f"{f.name}: {', '.join(f.expected_headers()[:8])}…" for f in formats)
    return SheetError(
        f"Không nhận ra bảng kê {name}: dòng tiêu đề phải có các cột theo một mẫu đã khai báo "
        f"trong mappings/ (ít nhất mã hồ sơ hoặc mã tài liệu). Mẫu / expected headers: {expected}",
        details=[
            f"Sheet {name} is not recognised: its header row must use the columns of one format "
            f"declared in mappings/ (at least the file code or the document code). {expected}"
        ],
    )


def sheet_files(batch_dir: Path) -> list[Path]:
    """The metadata sheets of a batch folder (its top-level CSV and XLSX files)."""
    return sorted(
        p
        for p in Path(batch_dir).iterdir()
        if p.is_file() and p.suffix.lower() in SHEET_SUFFIXES and not p.name.startswith(("~$", "."))
    )


def read_sheet(path: Path, out: BatchSheets, formats: tuple[SheetFormat, ...]) -> None:
    """Add one CSV or XLSX file's rows to `out`; raise SheetError if nothing in it is a sheet."""
    notes: list[Note] = []
    if path.suffix.lower() == ".csv":
        rows = read_csv(path, notes)
        _note(path.name, notes, out)
        if not read_table(path.name, rows, formats, _kind_of_name(path.stem), out):
            raise _unrecognised(path.name, formats)
        return
    tabs = list(read_xlsx(path, notes))
    _note(path.name, notes, out)
    skipped, refused = [], []
    for tab, rows in tabs:
        name = f"{path.name}#{tab}"
        hint = _kind_of_name(tab) or (_kind_of_name(path.stem) if len(tabs) == 1 else None)
        if isinstance(rows, Refused):
            refused.append((name, rows))
        elif not read_table(name, rows, formats, hint, out):
            skipped.append(name)
    if len(skipped) + len(refused) == len(tabs):
        if refused:
            raise refused[0][1]  # the batch reports the file as refused, with this reason
        raise _unrecognised(path.name, formats)
    for name, exc in refused:
        out.warnings.append(
            SheetWarning(
                name,
                None,
                None,
                f"{REFUSED_VI} / sheet refused: {exc.message_vi}",
                f"Sheet refused: {exc.message_en}",
            )
        )
    for name in skipped:
        out.warnings.append(
            SheetWarning(
                name,
                None,
                None,
                f"Trang tính {name} không có dòng tiêu đề theo mẫu nào nên bị bỏ qua.",
                f"Worksheet {name} has no header row of a known format and is skipped.",
            )
        )


def read_batch(batch_dir: Path, mappings_dir: Path = MAPPINGS) -> BatchSheets:
    """Every hồ sơ and document row of the batch folder's sheets."""
    formats = load_formats(Path(mappings_dir))
    files = sheet_files(batch_dir)
    if not files:
        raise SheetError(
            f"Thư mục {batch_dir} không có bảng kê (.csv hoặc .xlsx). Đặt bảng kê hồ sơ, tài liệu "
            "vào thư mục lô.",
            details=[
                f"The folder {batch_dir} holds no metadata sheet (.csv or .xlsx). Put the sheet "
                "of files and documents in the batch folder."
            ],
        )
    out = BatchSheets()
    refused: list[SheetError] = []
    for path in files:
        try:
            read_sheet(path, out, formats)
        except Refused as exc:
            refused.append(SheetError(exc.message_vi, details=[exc.message_en]))
        except SheetError as exc:
            refused.append(exc)
        else:
            continue
        err = refused[-1]
        out.warnings.append(
            SheetWarning(
                path.name,
                None,
                None,
                f"{REFUSED_VI} / sheet refused: {err.message}",
                f"Sheet refused: {' '.join(err.details) if err.details else err.message}",
            )
        )
    if refused and not out.rows:
        if len(refused) == 1:
            raise refused[0]
        raise SheetError(
            "Không bảng kê nào của lô đọc được: " + " | ".join(e.message for e in refused),
            details=[
                "No sheet of the batch could be read: "
                + " | ".join(" ".join(e.details or [e.message]) for e in refused)
            ],
        )
    return out
