"""A batch from a scanning contractor: its rows grouped into ingest units, its PDFs, its report.

An ingest unit is one hồ sơ with its documents; it is committed whole or not at all. The report is
written into the batch folder (`kho-report.json` and `kho-report.txt`) and says, for every
rejected row, the sheet, row number, column, the value and what to do.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from repository.access import mask_personal
from repository.mapping import FieldError
from repository.sheets import REFUSED_VI, SourceRow
from repository.text import fold

REPORT_JSON = "kho-report.json"
REPORT_TEXT = "kho-report.txt"
_ORDINAL = re.compile(r"^(?P<file>.+)\.(?P<n>\d{1,7})$")


@dataclass
class Problem:
    """A rejected row (or a warning) with where it is and what to do."""

    severity: str  # "rejected" | "warning"
    message_vi: str
    message_en: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    field: str | None = None
    value: str | None = None
    resource: str | None = None

    def where(self) -> str:
        parts = [p for p in (self.sheet, f"dòng/row {self.row}" if self.row else None) if p]
        if self.column:
            parts.append(f"cột/column «{self.column}»")
        return ", ".join(parts)


@dataclass
class UnitRows:
    """One hồ sơ row and its document rows."""

    file_code: str
    hoso: SourceRow
    docs: list[tuple[int, SourceRow]]  # (ordinal, row)


@dataclass
class IngestReport:
    batch_id: str
    batch_dir: str
    started: str
    finished: str = ""
    formats: dict[str, str] = field(default_factory=dict)
    hoso_added: int = 0
    hoso_replaced: int = 0
    hoso_unchanged: int = 0
    hoso_rejected: int = 0
    docs_committed: int = 0
    docs_rejected: int = 0
    pages: int = 0
    ocr_files: int = 0
    ocr_pages: int = 0
    flags: list[dict[str, str | None]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rejected(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "rejected"]

    def reject(
        self, message_vi: str, message_en: str, row: SourceRow | None = None, **kw: object
    ) -> None:
        if row is not None:
            kw.setdefault("sheet", row.sheet)
            kw.setdefault("row", row.row)
        self.problems.append(Problem("rejected", message_vi, message_en, **kw))  # type: ignore[arg-type]

    def reject_fields(self, errors: list[FieldError], row: SourceRow, resource: str) -> None:
        """Reject a row for the sheet values that could not be read (one problem per value)."""
        for e in errors:
            self.reject(
                e.message_vi,
                e.message_en,
                row,
                column=e.column,
                field=e.field,
                value=e.value,
                resource=resource,
            )

    def warn(self, message_vi: str, message_en: str, **kw: object) -> None:
        """A warning; a sheet the reader refused whole (sheets.REFUSED_VI) counts as rejected."""
        severity = "rejected" if message_vi.startswith(REFUSED_VI) else "warning"
        self.problems.append(Problem(severity, message_vi, message_en, **kw))  # type: ignore[arg-type]

    def to_json(self) -> dict[str, object]:
        """The report as JSON, every text in it with citizens' numbers masked."""
        data = asdict(self)
        data["problems"] = [asdict(p) for p in self.problems]
        return _masked(data)  # type: ignore[return-value]

    def text(self) -> str:
        """The report for people, with citizens' numbers masked (NĐ 13/2023: a report is read
        by whoever runs the batch, and sits in the contractor's folder)."""
        return mask_personal(self._text())

    def _text(self) -> str:
        lines = [
            f"Lô / batch {self.batch_id} — {self.batch_dir}",
            f"Bắt đầu / started {self.started}, xong / finished {self.finished}",
            "Định dạng bảng kê / sheet formats: "
            + (", ".join(f"{k}: {v}" for k, v in self.formats.items()) or "—"),
            "",
            f"Hồ sơ nhập mới / files added:        {self.hoso_added}",
            f"Hồ sơ cập nhật / files replaced:     {self.hoso_replaced}",
            f"Hồ sơ không đổi / files unchanged:   {self.hoso_unchanged}",
            f"Hồ sơ bị từ chối / files rejected:   {self.hoso_rejected}",
            f"Tài liệu đã lưu / documents stored:  {self.docs_committed}",
            f"Tài liệu bị từ chối / docs rejected: {self.docs_rejected}",
            f"Trang / pages: {self.pages} "
            f"(OCR: {self.ocr_files} tệp/files, {self.ocr_pages} trang/pages)",
            f"Cờ chất lượng / quality flags: {len(self.flags)}",
        ]
        rejected = self.rejected
        if rejected:
            lines += ["", f"TỪ CHỐI / REJECTED ({len(rejected)}):"]
            for p in rejected:
                lines.append(f"- {p.where()}: {p.message_vi}")
                lines.append(
                    f"  {p.message_en}" + (f" [giá trị/value: {p.value!r}]" if p.value else "")
                )
        warnings = [p for p in self.problems if p.severity == "warning"]
        if warnings:
            lines += ["", f"CẢNH BÁO / WARNINGS ({len(warnings)}):"]
            for p in warnings:
                lines.append(
                    f"- {p.where() + ': ' if p.where() else ''}{p.message_vi} / {p.message_en}"
                )
        if self.flags:
            lines += ["", "CỜ / FLAGS (cần lưu trữ viên xem xét / for an archivist to review):"]
            for f in self.flags:
                detail = (
                    f" ({f['field']}: sheet {f['sheet_value']!r} ≠ PDF {f['extracted_value']!r})"
                    if f.get("field")
                    else ""
                )
                lines.append(
                    f"- {f['resource']}: {f['kind']}{detail}"
                    + (f" — {f['note']}" if f.get("note") else "")
                )
        if self.timings:
            lines += [
                "",
                "Thời gian / timings: "
                + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items()),
            ]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write the JSON and the readable report into `folder`; return both paths."""
        js, tx = folder / REPORT_JSON, folder / REPORT_TEXT
        for path, content in (
            (js, json.dumps(self.to_json(), ensure_ascii=False, indent=2)),
            (tx, self.text()),
        ):
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(content, encoding="utf-8")
            tmp.replace(path)
        return js, tx


def _masked(value: object) -> object:
    """`value` (JSON-like) with every citizen's number in its strings masked."""
    if isinstance(value, str):
        return mask_personal(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def group_rows(rows: list[SourceRow], report: IngestReport) -> list[UnitRows]:
    """Hồ sơ rows with their document rows; orphans and duplicated keys are rejected."""
    units: dict[str, UnitRows] = {}
    contested: dict[str, SourceRow] = {}  # file code -> first row, when its rows disagree
    for row in rows:
        if row.kind != "hoso":
            continue
        code = row.values.get("fileCode", "").strip()
        if not code:
            report.reject(
                "Hồ sơ không có mã hồ sơ (fileCode). Điền mã hồ sơ rồi nhập lại.",
                "The file row has no file code (fileCode). Fill it in and ingest again.",
                row,
                column=row.columns.get("fileCode"),
                field="fileCode",
            )
            continue
        if code in units or code in contested:
            _repeated_hoso(code, row, units, contested, report)
            continue
        units[code] = UnitRows(code, row, [])
    by_fold = sorted(units, key=len, reverse=True)
    seen_docs: dict[str, SourceRow] = {}
    for row in rows:
        if row.kind != "doc":
            continue
        file_code, ordinal = _doc_place(row, by_fold + sorted(contested, key=len, reverse=True))
        if file_code in contested:
            first = contested[file_code]
            report.reject(
                f"Tài liệu thuộc hồ sơ {file_code}, hồ sơ bị từ chối vì các dòng hồ sơ mang mã "
                f"này (dòng {first.row}, {first.sheet}…) khác nhau. Sửa dòng hồ sơ rồi nhập lại.",
                f"The document belongs to file {file_code}, which is rejected because its file "
                f"rows (row {first.row}, {first.sheet}…) disagree. Fix them and ingest again.",
                row,
                column=row.columns.get("fileCode") or row.columns.get("docCode"),
                value=file_code,
            )
            continue
        if file_code is None or file_code not in units:
            given = row.values.get("fileCode") or row.values.get("docCode") or ""
            report.reject(
                f"Tài liệu không thuộc hồ sơ nào trong lô (mã {given!r}). Thêm dòng hồ sơ hoặc "
                "sửa mã hồ sơ/mã tài liệu.",
                f"The document belongs to no file in this batch (code {given!r}). Add the file row "
                "or correct the file/document code.",
                row,
                column=row.columns.get("fileCode") or row.columns.get("docCode"),
                value=given,
            )
            continue
        unit = units[file_code]
        ordinal = ordinal or len(unit.docs) + 1
        key = f"{file_code}#{ordinal}"
        if key in seen_docs:
            _repeated_doc(seen_docs[key], row, file_code, ordinal, report)
            continue
        seen_docs[key] = row
        unit.docs.append((ordinal, row))
    return list(units.values())


def _differ(a: SourceRow, b: SourceRow) -> str:
    """The fields two rows of one key disagree on, by their column names."""
    fields = sorted(k for k in set(a.values) | set(b.values) if a.values.get(k) != b.values.get(k))
    return ", ".join(f"«{b.columns.get(f) or a.columns.get(f) or f}»" for f in fields)


def _repeated_hoso(
    code: str,
    row: SourceRow,
    units: dict[str, UnitRows],
    contested: dict[str, SourceRow],
    report: IngestReport,
) -> None:
    """A second row with a file code already seen (in this sheet or another of the batch): an
    identical one is skipped; one that disagrees rejects the hồ sơ, since Kho cannot tell which
    row is right (nothing of it lands until the sheet is fixed)."""
    first = units[code].hoso if code in units else contested[code]
    doc_fields = [f for f in row.values if (s := row.format.fields.get(f)) and s.level == "doc"]
    if doc_fields:  # a document row that lost its key, not a second hồ sơ row
        names = ", ".join(f"«{row.columns.get(f, f)}»" for f in doc_fields[:4])
        report.reject(
            f"Dòng có trường của tài liệu ({names}) nhưng không có số thứ tự tài liệu "
            "(docOrdinal) hay mã tài liệu (docCode): Kho không đoán tài liệu này là số mấy. "
            "Điền một trong hai cột rồi nhập lại.",
            f"The row has document fields ({names}) but no document number (docOrdinal) or "
            "document code (docCode): Kho does not guess which document it is. Fill in one of "
            "them and ingest again.",
            row,
            column=row.format.fields["docOrdinal"].headers[0]
            if "docOrdinal" in row.format.fields
            else None,
            field="docOrdinal",
            value=code,
        )
        return
    where = f"dòng {first.row} ({first.sheet})"
    where_en = f"row {first.row} ({first.sheet})"
    kw = {"sheet": row.sheet, "row": row.row, "column": row.columns.get("fileCode")}
    if first.values == row.values:
        report.warn(
            f"Mã hồ sơ {code} lặp lại y hệt {where}: dòng lặp bị bỏ qua.",
            f"File code {code} repeats {where_en} identically: the repeated row is skipped.",
            field="fileCode",
            value=code,
            **kw,
        )
        return
    diff = _differ(first, row)
    for r in (first, row) if code in units else (row,):
        report.reject(
            f"Mã hồ sơ {code} có hai dòng hồ sơ khác nhau ({where} và dòng {row.row} "
            f"({row.sheet}), khác ở {diff}): Kho không đoán dòng nào đúng nên không nhập hồ sơ "
            "này. Giữ một dòng hồ sơ cho mỗi mã rồi nhập lại.",
            f"File code {code} has two different file rows ({where_en} and row {row.row} "
            f"({row.sheet}), differing in {diff}): Kho does not guess which is right, so the file "
            "is not ingested. Keep one file row per code and ingest again.",
            r,
            column=r.columns.get("fileCode"),
            field="fileCode",
            value=code,
        )
    if code in units:
        contested[code] = units.pop(code).hoso


def _repeated_doc(
    first: SourceRow, row: SourceRow, file_code: str, ordinal: int, report: IngestReport
) -> None:
    """A document row whose place in its hồ sơ is taken: identical, skipped with a warning;
    different, rejected (the first row is ingested)."""
    vi = f"Tài liệu số {ordinal} của hồ sơ {file_code} trùng với dòng {first.row} ({first.sheet})"
    en = f"Document {ordinal} of file {file_code} repeats row {first.row} ({first.sheet})"
    column = row.columns.get("docCode") or row.columns.get("docOrdinal")
    value = row.values.get("docCode") or str(ordinal)
    if first.values == row.values:
        report.warn(
            vi + ": dòng lặp y hệt, bỏ qua.",
            en + ": an identical line, skipped.",
            sheet=row.sheet,
            row=row.row,
            column=column,
            value=value,
        )
        return
    diff = _differ(first, row)
    report.reject(
        vi + f" nhưng khác ở {diff}: chỉ dòng đầu được nhập; sửa hoặc xoá dòng này.",
        en + f" but differs in {diff}: only the first row is ingested; fix or delete this one.",
        row,
        column=column,
        value=value,
    )


def _doc_place(row: SourceRow, file_codes: list[str]) -> tuple[str | None, int | None]:
    ordinal_text = row.values.get("docOrdinal", "").strip()
    ordinal = int(ordinal_text) if ordinal_text.isdigit() else None
    file_code = row.values.get("fileCode", "").strip() or None
    doc_code = row.values.get("docCode", "").strip()
    if doc_code:
        m = _ORDINAL.match(doc_code)
        if m and (file_code is None or m.group("file") == file_code):
            file_code = file_code or m.group("file")
            ordinal = ordinal or int(m.group("n"))
        elif file_code is None:
            file_code = next((c for c in file_codes if doc_code.startswith(c + ".")), None)
    return file_code, ordinal


def find_pdf(batch_dir: Path, file_code: str, ordinal: int, row: SourceRow) -> Path | str:
    """The PDF of a document row, or a reason why it cannot be found.

    Looked up by the sheet's file-name column, else by TT 05/2025's naming rule
    (`{fileCode}.{ordinal}.pdf`, with or without zero padding) and the docCode.
    """
    name = row.values.get("fileName", "").strip()
    if name:
        candidate = Path(name)
        if candidate.is_absolute() or ".." in candidate.parts:
            return f"tên tệp không hợp lệ / unsafe file name {name!r}"
        path = batch_dir / candidate
        if path.is_file():
            return path
        found = [p for p in batch_dir.rglob(candidate.name) if p.is_file()]
        if len(found) == 1:
            return found[0]
        return f"không có tệp / no file {name!r} in the batch folder"
    doc_code = row.values.get("docCode", "").strip()
    names = [
        f"{file_code}.{ordinal:07d}.pdf",
        f"{file_code}.{ordinal}.pdf",
        f"{file_code}.{ordinal:03d}.pdf",
        f"{file_code}/{ordinal:07d}.pdf",
        f"{file_code}/{ordinal}.pdf",
    ] + ([f"{doc_code}.pdf"] if doc_code else [])
    for candidate in names:
        path = batch_dir / candidate
        if path.is_file():
            return path
    wanted = {fold(n) for n in names}
    for path in batch_dir.rglob("*"):
        if path.is_file() and fold(str(path.relative_to(batch_dir))) in wanted:
            return path
    return f"không thấy tệp PDF / no PDF found (looked for {names[0]})"
