"""Harvested records as an ingest batch: hồ sơ with their documents, as rows of a TT 05/2025
sheet (tabs "Hồ sơ" and "Tài liệu") that `kho ingest` reads, plus the column `sourceIdentifier`
holding each record's OAI identifier.

A document goes into the harvested hồ sơ its relation (dc:relation, rico:isOrWasIncludedIn)
names; a document without one becomes a hồ sơ of its own. Codes are the source's own when it
gives them (another Kho), else made from the OAI identifier, so a re-harvest replaces rather than
duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from harvesters.oai_records import Harvested
from repository.namespaces import Minter
from repository.resolve import resolve_issuer
from repository.store import Store

SHEET = "bang-ke-oai.xlsx"
HOSO_COLUMNS = [
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
    "paperFileCode",
    "keyword",
    "description",
    "sourceIdentifier",
]
DOC_COLUMNS = [
    "fileCode",
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
    "signer",
    "signerTitle",
    "keyword",
    "description",
    "fileName",
    "sourceIdentifier",
]
DEFAULT_LANGUAGE = "01"  # Tiếng Việt, when the source says nothing
DEFAULT_MODE = "01"  # the source disseminated it openly over OAI-PMH


@dataclass
class Unit:
    """One hồ sơ row and its document rows (with the records they came from)."""

    hoso: dict[str, str]
    docs: list[tuple[dict[str, str], Harvested]] = field(default_factory=list)
    source: Harvested | None = None  # None when made up for a document without a hồ sơ


@dataclass
class Skipped:
    identifier: str
    where: str
    why_vi: str
    why_en: str


def _key(text: str) -> str:
    return Minter.record_key(text) or "oai-record"


def group(
    records: list[Harvested], store: Store | None, skipped: list[Skipped], files: bool = False
) -> list[Unit]:
    """The hồ sơ units of the batch; records that cannot become rows go to `skipped`. With
    `files`, a document's page count may come from its PDF (downloaded afterwards)."""

    def skip(r: Harvested, problems: list[tuple[str, str]]) -> None:
        vi = " ".join(p[0] for p in problems)
        en = " ".join(p[1] for p in problems)
        skipped.append(Skipped(r.identifier, r.where(), vi, en))

    hosos = [r for r in records if r.kind == "hoso"]
    docs = [r for r in records if r.kind == "doc"]
    by_name: dict[str, Unit] = {}
    units: list[Unit] = []
    for r in hosos:
        if r.problems:
            skip(r, r.problems)
            continue
        unit = Unit(_hoso_row(r), source=r)
        units.append(unit)
        for name in r.names | {unit.hoso["fileCode"]}:
            by_name[name] = unit
    for r in sorted(docs, key=lambda d: (d.values.get("code", ""), d.identifier)):
        problems = list(r.problems) or _pages(r, files) or _creator(r, store)
        if problems:
            skip(r, problems)
            continue
        unit = next((by_name[p] for p in r.parents if p in by_name), None)
        if unit is None:
            unit = Unit(_lone_hoso(r))
            units.append(unit)
        unit.docs.append((_doc_row(r, unit), r))
    kept = []
    for unit in units:
        if not unit.docs:
            assert unit.source is not None
            skip(
                unit.source,
                [
                    (
                        "Không thu thập được tài liệu nào của hồ sơ này (nguồn không cho thấy "
                        "tài liệu nào, hoặc mọi tài liệu bị bỏ qua).",
                        "No document of this hồ sơ was harvested (the provider shows none to "
                        "this harvester, or all were skipped); Kho keeps no empty hồ sơ.",
                    )
                ],
            )
            continue
        _complete(unit)
        kept.append(unit)
    return kept


def _pages(r: Harvested, files: bool) -> list[tuple[str, str]]:
    if r.values.get("numberOfPage") or (files and r.pdf_urls):
        return []
    return [
        (
            "Không biết số trang của tài liệu (dc:format không ghi «N trang», không có PDF).",
            "The document's page count is unknown: no dc:format like «N pages» and no PDF "
            + ("link to download." if files else "downloaded (try --files)."),
        )
    ]


def _creator(r: Harvested, store: Store | None) -> list[tuple[str, str]]:
    """Why the creator is unknown on the document's date, if a store is there to ask."""
    if store is None:
        return []
    organ, day = r.values["organName"], date.fromisoformat(r.values["issuedDate"])
    if resolve_issuer(store, organ, day) is not None:
        return []
    return [
        (
            f"Không xác định được cơ quan ban hành «{organ}» vào ngày {day}.",
            f"Unknown creator: no agency called «{organ}» existed on {day} (or several in "
            "different districts share the name).",
        )
    ]


def _hoso_row(r: Harvested) -> dict[str, str]:
    v = r.values
    row = {c: v.get(c, "") for c in HOSO_COLUMNS}
    row["fileCode"] = v.get("code") or _key(r.identifier)
    row["sourceIdentifier"] = r.identifier
    return row


def _lone_hoso(r: Harvested) -> dict[str, str]:
    """A hồ sơ of one document, for a document whose source has no hồ sơ."""
    v = r.values
    row = dict.fromkeys(HOSO_COLUMNS, "")
    row |= {
        "fileCode": _key(r.identifier),
        "title": v.get("subject", ""),
        "mode": v.get("mode", ""),
        "language": v.get("language", ""),
        "description": "Hồ sơ một tài liệu, tạo khi thu thập qua OAI-PMH / one-document file "
        "made by the OAI-PMH harvest",
    }
    return row


def _doc_row(r: Harvested, unit: Unit) -> dict[str, str]:
    v = r.values
    row = {c: v.get(c, "") for c in DOC_COLUMNS}
    file_code = unit.hoso["fileCode"]
    ordinal = v.get("docOrdinal", "")
    code = v.get("code", "")
    if not ordinal and code.startswith(file_code + ".") and code[len(file_code) + 1 :].isdigit():
        ordinal = str(int(code[len(file_code) + 1 :]))
    ordinal = ordinal or str(len(unit.docs) + 1)
    row |= {
        "fileCode": file_code,
        "docOrdinal": ordinal,
        "docCode": code
        if unit.source is not None and code
        else Minter.doc_code(file_code, int(ordinal)),
        "sourceIdentifier": r.identifier,
    }
    return row


def _complete(unit: Unit) -> None:
    """Fill what a hồ sơ needs from its documents: dates, pages, access level, language."""
    h = unit.hoso
    days = sorted(d["issuedDate"] for d, _ in unit.docs if d.get("issuedDate"))
    if not h["startDate"] and days:
        h["startDate"] = days[0]
    if not h["endDate"] and days:
        h["endDate"] = days[-1]
    pages = [d.get("numberOfPage", "") for d, _ in unit.docs]
    if not h["numberOfPage"] and all(p.isdigit() for p in pages):
        h["numberOfPage"] = str(sum(map(int, pages)))  # else counted from the PDFs at ingest
    if not h["mode"]:
        modes = [d["mode"] for d, _ in unit.docs if d.get("mode")]
        h["mode"] = min(modes) if modes else DEFAULT_MODE  # a document is at least as closed
    if not h["language"]:
        langs = [d["language"] for d, _ in unit.docs if d.get("language")]
        h["language"] = langs[0] if langs else DEFAULT_LANGUAGE


def write_sheet(folder: Path, units: list[Unit]) -> Path:
    """The XLSX of the batch (tabs Hồ sơ / Tài liệu), written whole or not at all."""
    from openpyxl import Workbook

    book = Workbook()
    hoso = book.active
    hoso.title = "Hồ sơ"
    hoso.append(HOSO_COLUMNS)
    docs = book.create_sheet("Tài liệu")
    docs.append(DOC_COLUMNS)
    for unit in units:
        hoso.append([unit.hoso.get(c, "") or None for c in HOSO_COLUMNS])
        for row, _ in sorted(unit.docs, key=lambda d: int(d[0]["docOrdinal"])):
            docs.append([row.get(c, "") or None for c in DOC_COLUMNS])
    path = folder / SHEET
    tmp = folder / (SHEET + ".tmp")
    book.save(tmp)
    tmp.replace(path)
    return path
