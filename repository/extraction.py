"""Fields of an administrative document read from its text (NĐ 30/2020 layout, Party documents
per HD 36-HD/VPTW, mass organisations), corrected with what Kho knows: the TT 05 document types,
the NĐ 30 abbreviations, signers' titles, real agencies on the issue date, registry check digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from repository import extraction_text as ft
from repository.pdftext import page_texts
from repository.store import Store


@dataclass
class ExtractedFields:
    document_type: str | None = None
    number_symbol: str | None = None
    issued_on: date | None = None
    issuer: str | None = None
    block: str | None = None
    subject: str | None = None
    signer: str | None = None
    signer_title: str | None = None
    admin_unit: dict[str, str] | None = None
    registry_refs: list[dict[str, str]] = field(default_factory=list)
    ocr: bool = False
    pages: int = 0
    place: str | None = None
    parent: str | None = None
    agency_iri: str | None = None
    unit_iri: str | None = None

    def to_json(self) -> dict[str, object]:
        """The shape printed by `kho extract --json`."""
        return {
            "document_type": self.document_type,
            "number_symbol": self.number_symbol,
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "issuer": self.issuer,
            "block": self.block,
            "subject": self.subject,
            "signer": self.signer,
            "signer_title": self.signer_title,
            "admin_unit": self.admin_unit,
            "registry_refs": self.registry_refs,
            "ocr": self.ocr,
            "pages": self.pages,
        }


def extract_pdf(pdf: Path, store: Store | None = None, language: str = "vie") -> ExtractedFields:
    """Read a PDF (text layer or OCR) and extract its fields."""
    pages, ocr = page_texts(pdf, language=language)
    return extract_fields(pages, store=store, ocr=ocr)


def extract_fields(pages: list[str], *, store: Store | None = None, ocr: bool) -> ExtractedFields:
    """The fields of a document from the layout text of its pages (see `repository.pdftext`)."""
    out = ExtractedFields(ocr=ocr, pages=len(pages))
    rows = [ft.segments(line) for page in pages for line in page.splitlines()]
    header_end = _header_end(rows)
    header = rows[:header_end]
    _read_header(header, out)
    _read_title(rows, header_end, out)
    _read_signature(rows, out)
    out.registry_refs = ft.registry_refs(" ".join(" ".join(page.split()) for page in pages))
    _resolve(out, store)
    return out


def _header_end(rows: list[list[str]]) -> int:
    """Index of the first row after the header block (title, Kính gửi or body)."""
    seen_number = False
    for i, row in enumerate(rows):
        text = " ".join(row)
        if ft.is_number_line(text):
            seen_number = True
            continue
        if seen_number and (
            ft.title_type(text) or ft.fold_keep(text).startswith(("kinh gui", "kinh goi"))
        ):
            return i
        if i > 18:
            break
    return min(len(rows), 14)


def _read_header(header: list[list[str]], out: ExtractedFields) -> None:
    left: list[str] = []
    subject: list[str] = []
    in_subject = False
    for row in header:
        for seg in row:
            seg = ft.strip_right_column(seg, out)
            if not seg:
                continue
            folded = ft.fold_keep(seg)
            if ft.is_number_line(seg):
                out.number_symbol = ft.number_symbol(seg)
                in_subject = False
                continue
            if re.match(r"^v\s*/\s*v\b", folded):
                in_subject = True
                subject.append(re.sub(r"^\S+\s*/\s*\S+\s*", "", seg, count=1))
                continue
            if in_subject:
                if ft.is_mark(seg):
                    in_subject = False
                else:
                    subject.append(seg)
                continue
            if out.number_symbol is None and not ft.is_mark(seg) and ft.agency_like(seg):
                left.append(seg)
    if subject:
        out.subject = ft.clean_subject("V/v " + " ".join(subject))
        out.document_type = "Công văn"
    out.parent, out.issuer = ft.split_issuer(left)


def _read_title(rows: list[list[str]], start: int, out: ExtractedFields) -> None:
    if start >= len(rows):
        return
    doc_type = ft.title_type(" ".join(rows[start]))
    if doc_type:
        out.document_type = doc_type
        lines: list[str] = []
        for row in rows[start + 1 : start + 6]:
            text = " ".join(row).strip()
            if not text:
                if lines:
                    break
                continue
            if lines and ft.body_start(text):
                break
            lines.append(text)
        if lines:
            out.subject = ft.clean_subject(" ".join(lines))
    if out.document_type is None and out.number_symbol:
        out.document_type = ft.type_from_symbol(out.number_symbol)
    if out.document_type is None:
        out.document_type = "Công văn" if out.subject and out.subject.startswith("V/v") else None
    if out.number_symbol:
        out.number_symbol = ft.snap_symbol(out.number_symbol, out.document_type)


def _read_signature(rows: list[list[str]], out: ExtractedFields) -> None:
    start = None
    for i in range(len(rows) - 1, -1, -1):
        text = ft.fold_keep(" ".join(rows[i]))
        if "noi nhan" in text or any(ft.is_prefix(s) for s in rows[i]):
            start = i
            break
    if start is None:
        start = max(0, len(rows) - 12)
    titles = []
    prefix = None
    for row in rows[start:]:
        for seg in row:
            if seg.lstrip().startswith(("-", "—", "–")) or "nhận" in seg.lower():
                continue
            if ft.is_prefix(seg):
                prefix = prefix or seg
                continue  # "KT. CHỦ TỊCH" names the head, not the signer
            title = ft.snap_title(seg)
            if title:
                titles.append(title)
                continue
            name = ft.person_name(seg)
            if name:
                out.signer = name
    if titles:
        out.signer_title = titles[-1]
    else:  # the seal hid the title line: "KT. CHỦ TỊCH" still says a deputy signed
        out.signer_title = ft.title_from_prefix(prefix, ft.kind_of(out.issuer or ""))


def _resolve(out: ExtractedFields, store: Store | None) -> None:
    kind = ft.kind_of(out.issuer) if out.issuer else None
    out.block = ft.BLOCK_OF.get(kind or "")
    if store is None or not out.issuer or out.issued_on is None:
        return
    from repository.resolve import resolve_issuer

    match = resolve_issuer(store, out.issuer, out.issued_on, parent=out.parent, place=out.place)
    if match is None:
        return
    out.issuer = match.agency_name
    out.block = match.block
    out.admin_unit = {"code": match.unit_code, "name": match.unit_name}
    out.agency_iri, out.unit_iri = match.agency_iri, match.unit_iri
