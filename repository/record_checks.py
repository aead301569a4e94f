"""What ingest checks and adds for one document beyond its sheet row: quality flags where the
fields extracted from its PDF disagree with the sheet, flags for damaged, unreadable and duplicate
files (same file, same document, near-duplicate text), and the registry references its text cites.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime
from typing import TYPE_CHECKING

from repository import dedup
from repository.rdf import Triples
from repository.record_lookups import unit_level
from repository.registry_links import record_link
from repository.resolve import IssuerMatch
from repository.store import Store
from repository.text import fold

if TYPE_CHECKING:
    from repository.batch import IngestReport
    from repository.config import Settings
    from repository.ingest import DocDraft, UnitDraft
    from repository.records_rdf import DocContext

_ALNUM = re.compile(r"[^0-9a-z]+")
SUBJECT_SIMILARITY = 0.9  # below this, the PDF's trích yếu is flagged as different from the sheet's


def norm_symbol(value: str | None) -> str:
    return _ALNUM.sub("", fold(value or ""))


def same_day(sheet: str | None, found: date | str | None) -> bool:
    from repository.ingest import _iso_date

    a = _iso_date(sheet)
    b = found if isinstance(found, date) else _iso_date(found)
    return a is not None and a == b


def same_issuer(match: IssuerMatch, found: str | None, organ: str | None) -> bool:
    if not found:
        return True
    if fold(found) == fold(organ or "") or fold(found) == fold(match.agency_name):
        return True
    return difflib.SequenceMatcher(None, fold(found), fold(match.agency_name)).ratio() >= 0.9


def similar(a: str | None, b: str | None) -> bool:
    fa, fb = _ALNUM.sub(" ", fold(a or "")).split(), _ALNUM.sub(" ", fold(b or "")).split()
    return difflib.SequenceMatcher(None, fa, fb).ratio() >= SUBJECT_SIMILARITY


def flag(
    doc: DocDraft, report: IngestReport, kind: str, now: datetime, note: str, **kw: object
) -> None:
    status = (
        "xem-xet-huy"
        if kind in ("duplicate-file", "duplicate-document", "near-duplicate", "damaged")
        else "under-review"
    )
    doc.curation += dedup.flag_triples(doc.iri, kind, status=status, note=note, at=now, **kw)  # type: ignore[arg-type]
    report.flags.append(
        {
            "resource": doc.iri,
            "kind": kind,
            "field": None,
            "sheet_value": None,
            "extracted_value": None,
            "note": note,
        }
    )


def duplicates(
    doc: DocDraft,
    ctx: DocContext,
    store: Store,
    report: IngestReport,
    seen: dedup.BatchDuplicates,
    symbol: str | None,
    t: Triples,
) -> None:
    """Exact file, same document (number/symbol + issuer + date), near-duplicate text."""
    from repository.ingest import _iso_date

    if doc.stored is not None:
        others = [
            i
            for i in dedup.files_with_checksum(store, doc.stored.sha256)
            if i != doc.iri and i not in seen.batch
        ]
        others += [i for i in seen.same_file(doc.stored.sha256, doc.iri) if i not in others]
        if others:
            flag(
                doc,
                report,
                "duplicate-file",
                ctx.now,
                f"Cùng tệp với / same file as {others[0]}",
                duplicate_of=others[0],
            )
    issued = _iso_date(doc.row.values.get("issuedDate"))
    if symbol and issued:
        same = [
            i
            for i in dedup.same_document(store, symbol, ctx.creator.agency_iri, issued)
            if i != doc.iri and i not in seen.batch
        ]
        same += [
            i
            for i in seen.same_document(symbol, ctx.creator.agency_iri, issued, doc.iri)
            if i not in same
        ]
        if same:
            flag(
                doc,
                report,
                "duplicate-document",
                ctx.now,
                "Cùng số, ký hiệu, cơ quan và ngày với / same number, issuer and date as "
                f"{same[0]}",
                duplicate_of=same[0],
            )
    body = "\n".join(ctx.texts)
    if len(body.split()) >= 30:
        sig = dedup.text_signature(body)
        near = [
            (i, j)
            for i, j in dedup.near_duplicates(store, sig)
            if i != doc.iri and i not in seen.batch
        ]
        near += [
            (i, j) for i, j in seen.near_duplicates(sig, doc.iri) if i not in {n for n, _ in near}
        ]
        if near:
            other, sim = near[0]
            flag(
                doc,
                report,
                "near-duplicate",
                ctx.now,
                f"Nội dung gần trùng ({sim:.0%}) với / text {sim:.0%} similar to {other}",
                duplicate_of=other,
            )
        doc.curation += dedup.signature_triples(doc.iri, sig)
        seen.add_text(doc.iri, sig)
    if doc.stored is not None:
        seen.add_file(doc.stored.sha256, doc.iri)
    if symbol and issued:
        seen.add_document(symbol, ctx.creator.agency_iri, issued, doc.iri)


def registry_ref(
    doc: DocDraft | UnitDraft,
    n: int,
    ref: dict[str, str],
    source: str = "text",
    *,
    settings: Settings | None = None,
    creator: IssuerMatch | None = None,
    store: Store | None = None,
) -> None:
    """The n-th registry reference of a document (or hồ sơ) as an unchecked link
    (repository.registry_links): in doc.triples, a citizen's number in doc.personal only.

    `source` is "text" (extracted from the PDF) or "sheet" (a metadata sheet column: IRI suffix
    `s{n}`). `settings` is needed (namespaces, the pseudonym key). A parcel cited without its
    commune takes the creating agency's (`creator`) commune when its unit is a commune — its code
    on the document's date — and that date as the key date; else both stay absent."""
    from repository.ingest import _iso_date

    if settings is None:
        raise TypeError("registry_ref needs settings= (registry namespaces, pseudonym key)")
    commune = key_date = None
    if ref.get("kind") == "land" and not ref.get("commune") and creator is not None:
        if store is not None and unit_level(store, creator.unit_iri) == "commune":
            commune = creator.unit_code
        row = doc.row if hasattr(doc, "row") else doc.rows.hoso
        issued = _iso_date(row.values.get("issuedDate") or row.values.get("startDate"))
        key_date = issued.isoformat() if issued and commune else None
    link = record_link(doc.iri, n, ref, settings, source=source, commune=commune, key_date=key_date)
    doc.triples += link.public
    if link.personal:
        if not hasattr(doc, "personal"):
            raise ValueError("a citizen's number belongs to a document, not to a hồ sơ")
        doc.personal += link.personal
