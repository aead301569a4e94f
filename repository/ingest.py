"""ingest_batch(): a contractor's batch into the store, step by step.

read the sheets → group rows into hồ sơ units → store the PDFs by checksum → text layer or OCR →
extract fields and compare with the sheet → resolve creator agency on the document's date →
map rows to RDF → de-duplicate → retention decision and priority group → SHACL gate →
commit each unit whole → full-text index → report beside the batch.

A row that fails is rejected with its sheet, row, column and what to do; the rest still lands.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pyoxigraph as ox

from repository import dedup, index_journal, mapping, record_index, retention, sheets
from repository.batch import IngestReport, UnitRows, find_pdf, group_rows
from repository.config import Settings
from repository.digitised import FileFacts, page_texts, read_files
from repository.errors import KhoError
from repository.files import FileStore, StoredFile
from repository.namespaces import DCT, KHO, MODE_GRAPH, RDF, RIC_RST, RICO, Minter, code
from repository.pdfcheck import PdfLimits
from repository.preservation import VN_TZ, event_triples, instantiation_triples
from repository.records_rdf import DocContext, UnitContext, doc_triples, hoso_triples
from repository.resolve import explain_issuer, resolve_issuer
from repository.store import CommitUnit, Store
from repository.text import nfc
from repository.unit_gate import gate

Progress = Callable[[str], None]
CHUNK = 500  # hồ sơ validated and committed together
_TIME_PREDICATES = {
    "http://www.w3.org/ns/prov#endedAtTime",
    "http://www.w3.org/ns/prov#generatedAtTime",
}


@dataclass
class DocDraft:
    ordinal: int
    row: sheets.SourceRow
    iri: str
    pdf: Path | None = None
    stored: StoredFile | None = None
    facts: FileFacts | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    curation: list[ox.Triple] = field(default_factory=list)
    personal: list[ox.Triple] = field(default_factory=list)
    history: list[ox.Triple] = field(default_factory=list)
    mode: str = "01"
    rejected: bool = False
    first: bool = False  # the archive's first copy of its file: it gets the ingestion event


@dataclass
class UnitDraft:
    rows: UnitRows
    iri: str
    docs: list[DocDraft]
    triples: list[ox.Triple] = field(default_factory=list)
    curation: list[ox.Triple] = field(default_factory=list)
    mode: str = "01"
    rejected: bool = False


def ingest_batch(
    batch_dir: Path,
    store: Store,
    settings: Settings,
    *,
    jobs: int | None = None,
    ocr: bool = True,
    index: bool = True,
    metadata_only: bool = False,
    progress: Progress | None = None,
    ocr_progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> IngestReport:
    """Ingest one batch folder; return (and write into the folder) the report."""
    batch_dir = Path(batch_dir)
    if not batch_dir.is_dir():
        raise KhoError(
            f"{batch_dir} is not a folder; give the folder that holds the sheet and PDFs."
        )
    now = now or datetime.now(VN_TZ)
    say = progress or (lambda _m: None)
    clock = time.perf_counter()
    report = IngestReport(
        batch_id=batch_dir.name, batch_dir=str(batch_dir), started=now.isoformat(timespec="seconds")
    )
    minter = Minter(settings.base_iri)
    files = FileStore(Path(settings.files_path))  # type: ignore[arg-type]

    # 1. sheets → rows → units
    try:
        read = sheets.read_batch(batch_dir)
    except sheets.SheetError as exc:  # no sheet of the batch can be read: say why beside it
        report.reject(exc.message, " ".join(exc.details) or exc.message)
        report.finished = datetime.now(VN_TZ).isoformat(timespec="seconds")
        report.write(batch_dir)
        return report
    report.formats = {name: fmt.name for name, fmt in read.formats.items()}
    for w in read.warnings:
        report.warn(w.message_vi, w.message_en, sheet=w.sheet, row=w.row, column=w.column)
    units = [
        UnitDraft(
            u,
            minter.hoso(u.file_code),
            [
                DocDraft(
                    n, r, minter.record(r.values.get("docCode") or Minter.doc_code(u.file_code, n))
                )
                for n, r in sorted(u.docs, key=lambda d: d[0])
            ],
        )
        for u in group_rows(read.rows, report)
    ]
    say(f"{len(units)} hồ sơ, {sum(len(u.docs) for u in units)} tài liệu / documents")
    _lap(report, "sheets", clock)

    if index:  # an earlier run killed between a commit and its index update: finish it first
        index_journal.recover(store, settings)
    seen = dedup.BatchDuplicates(batch=frozenset(d.iri for u in units for d in u.docs))
    claimed: set[str] = set()  # files whose first document in this batch was found
    done = 0
    size = settings.ingest_chunk or CHUNK
    for first in range(0, len(units), size):
        chunk = units[first : first + size]
        _ingest_chunk(
            chunk,
            batch_dir,
            store,
            settings,
            minter,
            files,
            report,
            seen,
            claimed,
            now,
            jobs=jobs or settings.ocr_jobs,
            ocr=ocr,
            index=index,
            metadata_only=metadata_only,
            ocr_progress=ocr_progress,
        )
        done += len(chunk)
        for unit in chunk:  # committed and indexed: let the chunk's RDF go (flat memory)
            _release(unit)
        say(f"{done}/{len(units)} hồ sơ")
    report.finished = datetime.now(VN_TZ).isoformat(timespec="seconds")
    report.write(batch_dir)
    return report


def _ingest_chunk(
    units: list[UnitDraft],
    batch_dir: Path,
    store: Store,
    settings: Settings,
    minter: Minter,
    files: FileStore,
    report: IngestReport,
    seen: dedup.BatchDuplicates,
    claimed: set[str],
    now: datetime,
    *,
    jobs: int,
    ocr: bool,
    index: bool,
    metadata_only: bool,
    ocr_progress: Callable[[int, int], None] | None,
) -> None:
    """Steps 2–7 for a chunk of units; memory stays flat however large the batch."""
    # 2. PDFs into the content-addressed store
    clock = time.perf_counter()
    for unit in units:
        for doc in unit.docs:
            found = find_pdf(batch_dir, unit.rows.file_code, doc.ordinal, doc.row)
            if isinstance(found, str) and metadata_only:
                continue  # described now, digitised later: the record lands without a file
            if isinstance(found, str):
                doc.rejected = True
                report.reject(
                    f"Không tìm thấy tệp PDF của tài liệu: {found}. "
                    "Đặt tệp vào thư mục lô hoặc sửa cột tên tệp.",
                    f"The document's PDF is missing: {found}. "
                    "Put the file in the batch folder or fix the file-name column.",
                    doc.row,
                    column=doc.row.columns.get("fileName"),
                    value=doc.row.values.get("fileName"),
                    resource=doc.iri,
                )
                continue
            doc.pdf = found
            doc.stored = files.put(found)
            doc.first = _first_copy(doc.stored, store, claimed)
    _lap(report, "files", clock)

    # 3. text layer or OCR (cached by checksum)
    clock = time.perf_counter()
    stored = [d.stored for u in units for d in u.docs if d.stored is not None]
    facts = read_files(
        stored,
        files,
        language=settings.ocr_language,
        jobs=jobs,
        ocr=ocr,
        progress=ocr_progress,
        limits=PdfLimits.from_settings(settings),
    )
    for unit in units:
        for doc in unit.docs:
            if doc.stored is not None:
                doc.facts = facts[doc.stored.sha256]
                report.pages += doc.facts.pages
                if doc.facts.ocr and doc.first:
                    report.ocr_files += 1
                    report.ocr_pages += doc.facts.pages
    _lap(report, "text+ocr", clock)

    # 4. fields, creators, RDF for each unit
    clock = time.perf_counter()
    for unit in units:
        _build_unit(unit, store, settings, minter, files, report, seen, now)
    _lap(report, "rdf", clock)

    # 5. SHACL gate: rejects violating documents and units with the shape's message
    clock = time.perf_counter()
    gate(units, store, settings, report)
    _lap(report, "shacl", clock)

    # 6. commit each unit whole, then index what landed. The IRIs go to the index journal first:
    # a process killed between the commit and the index update leaves them for the next replay.
    clock = time.perf_counter()
    levels = _levels(units, store)
    commit = [_commit_unit(unit, store, minter, levels) for unit in units if not unit.rejected]
    gone = _replaced_subjects(commit, store) if index else set()
    landing = [
        i
        for u in units
        if not u.rejected
        for i in [u.iri] + [d.iri for d in u.docs if not d.rejected]
    ]
    with index_journal.pending(settings, [*landing, *sorted(gone)] if index else []):
        stats = store.commit_units(commit)
        report.hoso_added += len(stats.added)
        report.hoso_replaced += len(stats.replaced)
        report.hoso_unchanged += len(stats.unchanged)
        report.hoso_rejected += sum(1 for u in units if u.rejected)
        report.docs_committed += sum(
            1 for u in units if not u.rejected for d in u.docs if not d.rejected
        )
        report.docs_rejected += sum(1 for u in units for d in u.docs if d.rejected or u.rejected)
        _lap(report, "commit", clock)
        if index:
            clock = time.perf_counter()
            changed = set(stats.added) | set(stats.replaced)
            iris = [
                i
                for u in units
                if u.iri in changed
                for i in [u.iri] + [d.iri for d in u.docs if not d.rejected]
            ]
            if iris:
                added = set(stats.added)
                new = [
                    i for u in units if u.iri in added for i in [u.iri] + [d.iri for d in u.docs]
                ]
                record_index.update(
                    store, settings, iris, removed=sorted(gone - set(iris)), new=new
                )
            _lap(report, "index", clock)


def _replaced_subjects(commit: list[CommitUnit], store: Store) -> set[str]:
    """What the stored versions of units about to change hold: documents a new version no longer
    has leave the index with it."""
    gone: set[str] = set()
    for unit in commit:
        old = store.unit_digest(unit.key)
        if old is not None and old != unit.digest:
            gone |= store.unit_subjects(unit.key)
    return gone


def _first_copy(stored: StoredFile, store: Store, claimed: set[str]) -> bool:
    """Is this the archive's first copy of the file (the first document of the batch to name it,
    and no committed record names it)? Not "was it new on disk": a run killed after storing the
    file but before its commit leaves it on disk, and the re-run must still record its ingestion."""
    if stored.sha256 in claimed:
        return False
    claimed.add(stored.sha256)
    if stored.new:
        return True
    return not store.ask(f'ASK {{ GRAPH ?g {{ ?i kho:sha256 "{stored.sha256}" }} }}')


def _release(unit: UnitDraft) -> None:
    unit.triples, unit.curation = [], []
    for doc in unit.docs:
        doc.triples, doc.curation, doc.personal, doc.history = [], [], [], []
        doc.facts = None


def _lap(report: IngestReport, name: str, start: float) -> None:
    report.timings[name] = round(report.timings.get(name, 0.0) + time.perf_counter() - start, 2)


def _build_unit(
    unit: UnitDraft,
    store: Store,
    settings: Settings,
    minter: Minter,
    files: FileStore,
    report: IngestReport,
    seen: dedup.BatchDuplicates,
    now: datetime,
) -> None:
    """Map a hồ sơ and its documents to RDF; field errors reject the row they are on."""
    hoso_ctx = UnitContext(report.batch_id)
    for doc in unit.docs:
        if doc.rejected:
            continue
        row = doc.row
        triples, errors = mapping.row_to_rdf(row, doc.iri, row.format, today=_today(settings))
        report.reject_fields(errors, row, doc.iri)
        if errors:
            doc.rejected = True
            continue
        issued = _iso_date(row.values.get("issuedDate"))
        organ = row.values.get("organName", "")
        match = resolve_issuer(store, organ, issued) if organ and issued else None
        if match is None:
            doc.rejected = True
            why = explain_issuer(store, organ, issued) if organ and issued else None
            report.reject(
                why[0]
                if why
                else f"Không xác định được cơ quan ban hành «{organ}» vào ngày {issued or '?'}: "
                "không có cơ quan nào tên như vậy tồn tại vào ngày đó, hoặc có nhiều cơ quan trùng "
                "tên ở các huyện khác nhau. Kiểm tra tên cơ quan và ngày văn bản.",
                why[1]
                if why
                else f"Cannot resolve the issuing agency «{organ}» on {issued or '?'}: no agency "
                "of that name existed on that day, or several in different districts share it. "
                "Check the agency name and the document date.",
                row,
                column=row.columns.get("organName") if organ else row.columns.get("issuedDate"),
                field="organName",
                value=organ,
                resource=doc.iri,
            )
            continue
        hoso_ctx.creators.append(match)
        texts = page_texts(files, doc.stored.sha256) if doc.stored is not None else []
        ctx = DocContext(
            unit.iri, doc.ordinal, match, doc.facts, texts, now, triples, settings=settings
        )
        ok = doc_triples(doc, ctx, store, minter, report, seen)
        if not ok:
            doc.rejected = True
            continue
        if doc.stored is not None and doc.facts is not None:
            _files_rdf(doc, store, minter, now)
    if not hoso_ctx.creators:
        unit.rejected = True
        report.reject(
            "Hồ sơ không có tài liệu hợp lệ nào nên không được nhập; sửa các dòng tài liệu ở trên.",
            "The file has no valid document, so it was not ingested; fix the document rows above.",
            unit.rows.hoso,
            resource=unit.iri,
        )
        return
    if not hoso_triples(unit, hoso_ctx, store, settings, minter, report, now):
        unit.rejected = True


def _has_event(store: Store, instantiation: str, kind: str) -> bool:
    """Does the store hold an event of this kind on this instantiation (history is append-only:
    a re-run must not add a second one)?"""
    return store.ask(
        f"ASK {{ GRAPH ?g {{ ?e prov:used <{instantiation}> ; "
        f"kho:eventType <{code('premis-' + kind)}> }} }}"
    )


def _files_rdf(doc: DocDraft, store: Store, minter: Minter, now: datetime) -> None:
    facts = doc.facts
    assert facts is not None and doc.stored is not None and doc.pdf is not None
    original = Minter.instantiation(doc.iri, "original")
    doc.triples += instantiation_triples(
        doc.iri, "original", doc.stored, doc.pdf.name, facts.pages or None, facts.has_text_layer
    )
    if doc.first:
        doc.history += event_triples(
            original, "ingestion", now, "success", f"sha256 {doc.stored.sha256}"
        )
    if facts.damaged and not _has_event(store, original, "quarantine"):  # once per instantiation
        doc.history += event_triples(original, "quarantine", now, "failure", facts.damaged)
    if facts.pdfa_sha256:
        pdfa = StoredFile(facts.pdfa_sha256, facts.pdfa_size or 0, Path(), doc.first)
        doc.triples += instantiation_triples(
            doc.iri,
            "pdfa",
            pdfa,
            doc.pdf.stem + ".pdfa.pdf",
            facts.pages or None,
            True,
            derived_from=original,
        )
        if doc.first:
            doc.history += event_triples(
                Minter.instantiation(doc.iri, "pdfa"),
                "ocr",
                now,
                "success",
                f"ocrmypdf -l vie, {facts.pages} trang/pages, {facts.ocr_seconds} s",
            )


def _levels(units: list[UnitDraft], store: Store) -> dict[str, str]:
    """Mode code of every document and hồ sơ of this chunk (a document is at least as restricted
    as its hồ sơ), and of the stored records this chunk's flags point at."""
    levels: dict[str, str] = {}
    for unit in units:
        levels[unit.iri] = unit.mode
        for doc in unit.docs:
            levels[doc.iri] = max(doc.mode, unit.mode)
    pointed = {
        t.object.value
        for unit in units
        for doc in unit.docs
        for t in doc.curation
        if t.predicate.value == KHO + "duplicateOf" and t.object.value not in levels
    }
    if pointed:
        for row in store.select(
            "SELECT ?x ?m WHERE { GRAPH ?g { ?x kho:accessLevel ?m } VALUES ?x { "
            + " ".join(f"<{iri}>" for iri in sorted(pointed))
            + " } }"
        ):
            mode = str(row["m"]).rsplit("-", 1)[-1]  # khoc:mode-03 -> "03"
            levels[str(row["x"])] = max(levels.get(str(row["x"]), "01"), mode)
    return levels


def _commit_unit(
    unit: UnitDraft, store: Store, minter: Minter, levels: dict[str, str]
) -> CommitUnit:
    """The unit's quads in their graphs (access level, its curation and personal graphs);
    events as history. A flag that names a duplicate goes to the more restricted of the two
    levels, so nobody learns of a record they may not see through its twin's flag."""

    def put(triples: list[ox.Triple], mode: str, facet: str | None = None) -> list[ox.Quad]:
        g = ox.NamedNode(minter.records_graph(MODE_GRAPH[mode], facet))
        return [ox.Quad(t.subject, t.predicate, t.object, g) for t in triples]

    def flag_level(mode: str, triples: list[ox.Triple]) -> str:
        twins = [
            levels.get(t.object.value, mode)
            for t in triples
            if t.predicate.value == KHO + "duplicateOf"
        ]
        return max([mode, *twins])

    quads = put(unit.triples, unit.mode)
    quads += _flags(unit.curation, unit.mode, put, flag_level)
    history: list[ox.Quad] = []
    for doc in unit.docs:
        if doc.rejected:
            continue
        mode = levels[doc.iri]
        quads += put(doc.triples, mode)
        quads += _flags(doc.curation, mode, put, flag_level)
        quads += put(doc.personal, mode, "personal")
        history += put(doc.history, mode)
    stable = sorted(str(q) for q in quads if q.predicate.value not in _TIME_PREDICATES)
    digest = hashlib.sha256("\n".join(stable).encode()).hexdigest()
    keep = retention.reviewed_subjects(store, unit.iri) if store.unit_digest(unit.iri) else set()
    return CommitUnit(unit.iri, digest, quads, history, keep)


def _flags(
    triples: list[ox.Triple],
    mode: str,
    put: Callable[..., list[ox.Quad]],
    flag_level: Callable[[str, list[ox.Triple]], str],
) -> list[ox.Quad]:
    """Curation triples grouped by subject (one flag each), each group in its level's graph."""
    by_subject: dict[str, list[ox.Triple]] = {}
    for t in triples:
        by_subject.setdefault(t.subject.value, []).append(t)
    quads: list[ox.Quad] = []
    for group in by_subject.values():
        quads += put(group, flag_level(mode, group), "curation")
    return quads


def _today(settings: Settings) -> date | None:
    return date.fromisoformat(settings.today) if settings.today else None


def _iso_date(value: str | None) -> date | None:
    """A sheet date (already ISO from the mapping, or DD/MM/YYYY) as a date, else None."""
    if not value:
        return None
    value = value.strip()
    try:
        if "/" in value:
            d, m, y = value.split("/")
            return date(int(y), int(m), int(d))
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


__all__ = [
    "ingest_batch",
    "DocDraft",
    "UnitDraft",
    "DCT",
    "KHO",
    "RDF",
    "RICO",
    "RIC_RST",
    "code",
    "nfc",
]
