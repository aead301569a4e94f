"""RDF for one hồ sơ and its documents: the sheet's declared fields (mappings/), plus what Kho
adds — creator agency on the document's date, its unit and block, the fonds, holder, priority
group, retention decision, files, quality flags from extraction and de-duplication (those
checks are in repository.record_checks, the memoised look-ups in repository.record_lookups).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

import pyoxigraph as ox

from repository import dedup, mapping, retention, sheet_refs
from repository.config import Settings
from repository.digitised import FileFacts
from repository.namespaces import DCT, KHO, RDF, RIC_RST, RICO, Minter, code
from repository.rdf import Triples, text
from repository.record_checks import (
    duplicates,
    flag,
    norm_symbol,
    registry_ref,
    same_day,
    same_issuer,
    similar,
)
from repository.record_lookups import fonds_and_holder, type_labels, unit_level
from repository.resolve import IssuerMatch
from repository.store import Store
from repository.text import fold, nfc

if TYPE_CHECKING:
    from repository.batch import IngestReport
    from repository.ingest import DocDraft, UnitDraft

_XSD_INT = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


@dataclass
class DocContext:
    hoso_iri: str
    ordinal: int
    creator: IssuerMatch
    facts: FileFacts | None
    texts: list[str]
    now: datetime
    triples: list[ox.Triple]  # the sheet's fields, already mapped without errors
    settings: Settings | None = None  # registry links: namespaces, citizens' pseudonym key


@dataclass
class UnitContext:
    batch_id: str
    creators: list[IssuerMatch] = field(default_factory=list)
    doc_types: list[str] = field(default_factory=list)
    pages: int = 0


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=_XSD_INT)


def doc_triples(
    doc: DocDraft,
    ctx: DocContext,
    store: Store,
    minter: Minter,
    report: IngestReport,
    seen: dedup.BatchDuplicates,
) -> bool:
    """Fill doc.triples/curation/personal; False (with the errors reported) if the row fails."""
    from repository.extraction import extract_fields

    row = doc.row
    refs, problems = sheet_refs.read_refs(row, ctx.now.date())
    if problems:  # a bad registry value rejects the row (a citizen's number never quoted)
        report.reject_fields(problems, row, doc.iri)
        return False
    triples = ctx.triples
    t = Triples()
    s = doc.iri
    t.iri(s, RDF + "type", RICO + "Record")
    t.iri(s, RICO + "isOrWasIncludedIn", ctx.hoso_iri)
    t.lit(s, KHO + "docOrdinal", _int(ctx.ordinal))
    if not row.values.get("docCode"):
        t.lit(
            s,
            RICO + "identifier",
            text(Minter.doc_code(row.values.get("fileCode") or "", ctx.ordinal)),
        )
    m = ctx.creator
    t.iri(s, RICO + "hasCreator", m.agency_iri)
    t.iri(s, KHO + "adminUnit", m.unit_iri)
    t.iri(s, KHO + "block", code(f"block-{m.block}"))
    number, notation = row.values.get("codeNumber", ""), row.values.get("codeNotation", "")
    symbol = _number_symbol(number, notation, m.block)
    if symbol:
        t.lit(s, KHO + "numberSymbol", text(symbol))
    have = {str(x.predicate.value) for x in triples}
    if KHO + "numberOfPage" not in have and ctx.facts and ctx.facts.pages:
        t.lit(s, KHO + "numberOfPage", _int(ctx.facts.pages))  # counted in the PDF
    doc.mode = _code_of(triples, KHO + "accessLevel", "mode-") or doc.mode
    # Extraction from the PDF's text: fills what the sheet left empty, flags what disagrees.
    extracted = (
        extract_fields(ctx.texts, store=store, ocr=bool(ctx.facts and ctx.facts.ocr))
        if ctx.texts
        else None
    )
    if extracted is not None:
        if KHO + "signer" not in have and extracted.signer:
            t.lit(s, KHO + "signer", text(extracted.signer))
        if KHO + "signerTitle" not in have and extracted.signer_title:
            t.lit(s, KHO + "signerTitle", text(extracted.signer_title))
        labels = type_labels(store)
        sheet_type = labels.get(_code_iri(triples, KHO + "typeName") or "", "")
        checks = [
            (
                "document_type",
                sheet_type,
                extracted.document_type,
                fold(sheet_type) == fold(extracted.document_type or ""),
            ),
            (
                "number_symbol",
                symbol,
                extracted.number_symbol,
                norm_symbol(symbol) == norm_symbol(extracted.number_symbol),
            ),
            (
                "issued_on",
                row.values.get("issuedDate"),
                extracted.issued_on,
                same_day(row.values.get("issuedDate"), extracted.issued_on),
            ),
            (
                "issuer",
                row.values.get("organName"),
                extracted.issuer,
                same_issuer(m, extracted.issuer, row.values.get("organName")),
            ),
            (
                "subject",
                row.values.get("subject"),
                extracted.subject,
                similar(row.values.get("subject"), extracted.subject),
            ),
        ]
        for name, sheet_value, found, same in checks:
            if sheet_value and found and not same:
                doc.curation += dedup.flag_triples(
                    doc.iri,
                    "extraction-mismatch",
                    field=name,
                    sheet_value=nfc(str(sheet_value)),
                    extracted_value=nfc(str(found)),
                    status="under-review",
                    at=ctx.now,
                )
                report.flags.append(
                    {
                        "resource": doc.iri,
                        "kind": "extraction-mismatch",
                        "field": name,
                        "sheet_value": str(sheet_value),
                        "extracted_value": str(found),
                        "note": None,
                    }
                )
        for n, ref in enumerate(extracted.registry_refs or [], start=1):
            registry_ref(doc, n, ref, settings=ctx.settings, creator=m, store=store)
        text_all = "\n".join(ctx.texts)
        if ctx.facts and ctx.facts.readable and not text_all.strip():
            flag(
                doc,
                report,
                "empty-text",
                ctx.now,
                "Không có chữ nào đọc được / no text could be read",
            )
    if ctx.facts and ctx.facts.damaged:
        where = f"{doc.pdf.name if doc.pdf else ''} ({doc.row.sheet}, dòng/row {doc.row.row})"
        flag(doc, report, "damaged", ctx.now, f"{where}: {ctx.facts.damaged}")
    for n, ref in enumerate(refs, start=1):  # the sheet's registry columns
        registry_ref(doc, n, ref, source="sheet", settings=ctx.settings, creator=m, store=store)
    duplicates(doc, ctx, store, report, seen, symbol, t)
    # registry_ref has put the links' triples in doc.triples already: keep them
    doc.triples = sorted(set(triples) | t.triples | set(doc.triples), key=str)
    return True


def hoso_triples(
    unit: UnitDraft,
    ctx: UnitContext,
    store: Store,
    settings: Settings,
    minter: Minter,
    report: IngestReport,
    now: datetime,
) -> bool:
    """The hồ sơ's triples: creator = its documents' most frequent creator; retention; priority."""
    row = unit.rows.hoso
    today = date.fromisoformat(settings.today) if settings.today else None
    triples, errors = mapping.row_to_rdf(row, unit.iri, row.format, today=today)
    report.reject_fields(errors, row, unit.iri)
    refs, problems = sheet_refs.read_refs(row, now.date())
    report.reject_fields(problems, row, unit.iri)
    if errors or problems:
        return False
    creator = Counter(m.agency_iri for m in ctx.creators).most_common(1)[0][0]
    match = next(m for m in ctx.creators if m.agency_iri == creator)
    s = unit.iri
    t = Triples()
    t.iri(s, RDF + "type", RICO + "RecordSet")
    t.iri(s, RICO + "hasRecordSetType", RIC_RST + "File")
    t.iri(s, RICO + "hasCreator", match.agency_iri)
    t.iri(s, KHO + "adminUnit", match.unit_iri)
    t.iri(s, KHO + "block", code(f"block-{match.block}"))
    fonds, holder = fonds_and_holder(store, match)
    if fonds:
        t.iri(s, RICO + "isOrWasIncludedIn", fonds)
    t.iri(s, RICO + "hasOrHadHolder", holder or match.agency_iri)
    level = unit_level(store, match.unit_iri)
    group = retention.priority_group(match.agency_kind, level)
    t.iri(s, KHO + "priorityGroup", code(f"priority-{group}"))
    t.lit(s, KHO + "batch", text(ctx.batch_id))
    have = {x.predicate.value for x in triples}
    kept = [d for d in unit.docs if not d.rejected]
    if KHO + "totalDoc" not in have:
        t.lit(s, KHO + "totalDoc", _int(len(kept)))
    if KHO + "numberOfPage" not in have:
        pages = sum(d.facts.pages for d in kept if d.facts is not None)
        if pages:
            t.lit(s, KHO + "numberOfPage", _int(pages))
    t.lit(s, DCT + "source", text(f"{row.sheet}!R{row.row}"))
    unit.mode = _code_of(triples, KHO + "accessLevel", "mode-") or unit.mode
    # Documents inherit the hồ sơ's retention and access level when their rows leave them empty.
    inherit = {
        p: [x.object for x in triples if x.predicate.value == p]
        for p in (KHO + "maintenance", KHO + "accessLevel", DCT + "language")
    }
    for doc in unit.docs:
        if doc.rejected:
            continue
        has = {x.predicate.value for x in doc.triples if x.subject.value == doc.iri}
        for p, values in inherit.items():
            if p not in has:
                doc.triples += [
                    ox.Triple(ox.NamedNode(doc.iri), ox.NamedNode(p), v) for v in values
                ]
                if p == KHO + "accessLevel" and values:
                    doc.mode = values[0].value.rsplit("mode-", 1)[-1]
    t.triples |= set(_retention(unit, triples, store, match, level, now))
    unit.triples = sorted(set(triples) | t.triples, key=str)
    for n, ref in enumerate(refs, start=1):  # the sheet's registry columns (never citizens here)
        registry_ref(unit, n, ref, source="sheet", settings=settings, creator=match, store=store)
    return True


def _retention(
    unit: UnitDraft,
    triples: list[ox.Triple],
    store: Store,
    match: IssuerMatch,
    level: str,
    now: datetime,
) -> list[ox.Triple]:
    row = unit.rows.hoso
    decision = Minter.retention(unit.iri)
    known = store.unit_digest(unit.iri) is not None
    if known and decision in retention.reviewed_subjects(store, unit.iri):
        # An archivist decided: the decision stays, and the hồ sơ takes its period from it.
        rows = store.select(
            "SELECT ?m WHERE { ?d kho:maintenance ?m }",
            substitutions={"d": ox.NamedNode(decision)},
        )
        if rows:
            hoso = ox.NamedNode(unit.iri)
            triples[:] = [x for x in triples if x.predicate.value != KHO + "maintenance"]
            return [
                ox.Triple(hoso, ox.NamedNode(KHO + "maintenance"), ox.NamedNode(str(rows[0]["m"])))
            ]
    maintenance = _code_of(triples, KHO + "maintenance", "maintenance-")
    end = _end_date(triples)
    if maintenance:
        column = row.columns.get("maintenance", "maintenance")
        return retention.decision_triples(
            unit.iri,
            maintenance,
            status="confirmed",
            basis=f"Theo bảng kê của lô / from the batch sheet ({row.sheet}, dòng/row {row.row}, "
            f"cột/column «{column}»)",
            end=end,
            decided_by="kho",
            at=now,
        )
    labels = type_labels(store)
    doc_types = [
        labels.get(_code_iri(d.triples, KHO + "typeName") or "", "")
        for d in unit.docs
        if not d.rejected
    ]
    title = row.values.get("title", "")
    suggestion = retention.suggest(
        title, [d for d in doc_types if d], block=match.block, level=level
    )
    if suggestion is None:
        return []
    out = retention.decision_triples(
        unit.iri,
        suggestion.code,
        status="suggested",
        basis=suggestion.basis,
        end=end,
        decided_by="kho",
        at=now,
    )
    # A hồ sơ must carry a period (TT 05/2025); the suggestion stands in until it is confirmed.
    out.append(
        ox.Triple(
            ox.NamedNode(unit.iri),
            ox.NamedNode(KHO + "maintenance"),
            ox.NamedNode(code(f"maintenance-{suggestion.code}")),
        )
    )
    return out


def _number_symbol(number: str, notation: str, block: str) -> str | None:
    number, notation = number.strip(), notation.strip()
    if not notation:
        return number or None
    if not number:
        return notation
    # Party documents: "15-NQ/ĐU" (HD 36-HD/VPTW); state and mass organisations: "1624/QĐ-UBND".
    # A notation with "/" is the Party style (also used by the Youth Union); state ones use "-".
    return f"{number}-{notation}" if "/" in notation else f"{number}/{notation}"


def _code_iri(triples: list[ox.Triple], predicate: str) -> str | None:
    return next((x.object.value for x in triples if x.predicate.value == predicate), None)


def _code_of(triples: list[ox.Triple], predicate: str, prefix: str) -> str | None:
    iri = _code_iri(triples, predicate)
    return iri.rsplit(prefix, 1)[-1] if iri and prefix in iri else None


def _end_date(triples: list[ox.Triple]) -> date | None:
    value = _code_iri(triples, RICO + "endDate")
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10]) if len(value) >= 10 else date(int(value[:4]), 12, 31)
    except ValueError:
        return None
