"""`kho check`: do the store, the file store and the search index agree?

Kho keeps a record in three places: its triples in the store, its PDFs (and OCR text) in the
content-addressed file store, its search document in the records index. Each is crash-safe on its
own (store transactions, files written to a temp name, fsync'd and renamed, index commits); what a
killed process can leave is a gap *between* them, and this module finds it:

- problems ("error"): a record or hồ sơ half-present (a unit owns a subject the store no longer
  holds, a record outside every ingest unit), a file a record names missing or of the wrong size
  (wrong checksum with `deep`), the index holding a record the store lacks or lacking one it holds,
  a record indexed twice. These need an archivist: restore from a backup, re-run the batch.
- unfinished work ("pending"): index updates journalled before a commit and never done
  (repository.index_journal), an index swap or rebuild cut short, temp files of an interrupted
  write, files no record names (an ingest killed before its commit). The next ingest, reindex or
  `repair=True` finishes or clears them; unreferenced files are moved aside, never deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from repository import index_journal, record_index, search_text
from repository.config import Settings
from repository.files import FileStore
from repository.search_index import unit_index_path
from repository.store import Store

Progress = Callable[[str], None]

_RECORDS = """
SELECT DISTINCT ?r WHERE { { ?r a rico:Record } UNION { ?r rico:hasRecordSetType ric-rst:File } }"""
# A subject a unit owns must be in some graph besides the bookkeeping one (its content).
_HALF = """
SELECT ?u ?s WHERE {
  GRAPH kho:metaGraph { ?u kho:owns ?s }
  FILTER NOT EXISTS { GRAPH ?g { ?s ?p ?o } FILTER(?g != kho:metaGraph) }
}"""
_OUTSIDE = """
SELECT DISTINCT ?r WHERE {
  { ?r a rico:Record } UNION { ?r rico:hasRecordSetType ric-rst:File }
  FILTER NOT EXISTS { GRAPH kho:metaGraph { ?u kho:owns ?r } }
}"""
_FILES = """
SELECT ?sha (SAMPLE(?size) AS ?bytes) (SAMPLE(?inst) AS ?i) WHERE {
  GRAPH ?g { ?inst kho:sha256 ?sha OPTIONAL { ?inst kho:byteSize ?size } }
} GROUP BY ?sha"""
UNREFERENCED = "files-unreferenced"  # beside files/: where repair moves files no record names


@dataclass
class Finding:
    kind: str
    severity: str  # "error" | "pending"
    subject: str
    detail: str
    todo: str
    repaired: bool = False


@dataclass
class CheckReport:
    records: int = 0  # records + hồ sơ in the store
    indexed: int = 0  # documents in the records index
    files_referenced: int = 0
    files_on_disk: int = 0
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error" and not f.repaired]

    @property
    def pending(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "pending" and not f.repaired]

    def add(self, kind: str, severity: str, subject: str, detail: str, todo: str) -> Finding:
        found = Finding(kind, severity, subject, detail, todo)
        self.findings.append(found)
        return found

    def text(self, limit: int = 20) -> str:
        lines = [
            f"Bản ghi / records + hồ sơ in the store: {self.records:,}; in the search index: "
            f"{self.indexed:,}",
            f"Tệp / files named by records: {self.files_referenced:,}; on disk: "
            f"{self.files_on_disk:,}",
        ]
        by_kind = Counter((f.kind, f.severity, f.repaired) for f in self.findings)
        for (kind, severity, repaired), n in sorted(by_kind.items()):
            first = next(
                f
                for f in self.findings
                if (f.kind, f.severity, f.repaired) == (kind, severity, repaired)
            )
            state = "repaired" if repaired else severity
            lines.append(f"  [{state}] {kind}: {n:,} — {first.detail} → {first.todo}")
            shown = [f.subject for f in self.findings if f.kind == kind][:limit]
            lines += [f"      {s}" for s in shown]
        if not self.errors and not self.pending:
            lines.append("Nhất quán / consistent: the store, the files and the index agree.")
        elif not self.errors:
            lines.append("Không có lỗi / no errors; unfinished work only (kho check --repair).")
        lines.append(f"({self.seconds:.1f} s)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["errors"] = len(self.errors)
        data["pending"] = len(self.pending)
        return data


def check(
    store: Store,
    settings: Settings,
    *,
    deep: bool = False,
    repair: bool = False,
    progress: Progress | None = None,
) -> CheckReport:
    """Compare the store, the file store and the records index; with `repair`, finish what was
    left unfinished (journal, swaps, temp files, index gaps) and move unreferenced files aside."""
    say = progress or (lambda _m: None)
    started = time.perf_counter()
    report = CheckReport()
    say("index: interrupted swaps and journal")
    _check_index_state(store, settings, report, repair)
    say("store: records and their ingest units")
    records = {str(r["r"]) for r in store.select(_RECORDS)}
    report.records = len(records)
    _check_units(store, report)
    say("files: every file a record names")
    _check_files(store, settings, report, deep=deep, repair=repair, progress=say)
    say("index: every record once")
    _check_index(store, settings, records, report, repair)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def _check_index_state(store: Store, settings: Settings, report: CheckReport, repair: bool) -> None:
    for target in (record_index.index_path(settings), unit_index_path(settings)):
        old = target.with_name(target.name + ".old")
        if old.exists() and not target.exists():
            f = report.add(
                "index-swap",
                "pending",
                str(target),
                "an index rebuild was stopped while swapping in the new index (the old one is "
                "kept as .old)",
                "kho check --repair puts it back (or the next kho reindex)",
            )
            f.repaired = repair and search_text.recover_swap(target)
        for stale in search_text.leftovers(target):
            f = report.add(
                "index-build-left",
                "pending",
                str(stale),
                "a rebuild that never finished left its directory",
                "kho check --repair removes it (or the next kho reindex)",
            )
            if repair:
                shutil.rmtree(stale, ignore_errors=True)
                f.repaired = True
    left = index_journal.left_behind(settings)
    for entry in left:
        report.add(
            "index-journal",
            "pending",
            entry.path.name,
            f"{len(entry.iris)} records were committed by a process that stopped before the "
            "index took them",
            "the next kho ingest, kho reindex or kho check --repair indexes them",
        )
    if repair and left:
        index_journal.replay(store, settings)
        for f in report.findings:
            if f.kind == "index-journal":
                f.repaired = True


def _check_units(store: Store, report: CheckReport) -> None:
    for row in store.select(_HALF):
        report.add(
            "unit-incomplete",
            "error",
            str(row["s"]),
            f"the ingest unit {row['u']} owns this subject but the store holds nothing of it",
            "re-run the batch of that hồ sơ (kho ingest) or restore it from a backup",
        )
    for row in store.select(_OUTSIDE):
        report.add(
            "record-outside-unit",
            "error",
            str(row["r"]),
            "a record or hồ sơ that no ingest unit owns (written outside kho ingest?)",
            "re-ingest its batch, so it is committed (and replaced) whole",
        )


def _check_files(
    store: Store,
    settings: Settings,
    report: CheckReport,
    *,
    deep: bool,
    repair: bool,
    progress: Progress,
) -> None:
    files = FileStore(Path(settings.files_path))  # type: ignore[arg-type]
    referenced: set[str] = set()
    rows = store.select(_FILES)
    for n, row in enumerate(rows, 1):
        sha = str(row["sha"]).upper()
        referenced.add(sha)
        path = files.path_for(sha)
        size = row.get("bytes")
        if not path.is_file():
            report.add(
                "file-missing",
                "error",
                str(path),
                f"{row['i']} names a file the file store lacks",
                "restore the file from a backup (kho restore) or re-run its batch",
            )
        elif size is not None and path.stat().st_size != int(size):  # type: ignore[call-overload]
            report.add(
                "file-size",
                "error",
                str(path),
                f"{path.stat().st_size:,} bytes on disk, {int(size):,} recorded",  # type: ignore[call-overload]
                "restore the file from a backup (kho restore); kho fixity records the check",
            )
        elif deep and not files.verify(sha).ok:
            report.add(
                "file-checksum",
                "error",
                str(path),
                "its SHA-256 no longer matches the one it is stored under",
                "restore the file from a backup (kho restore); kho fixity records the check",
            )
        if n % 1000 == 0:
            progress(f"files: {n:,}/{len(rows):,}")
    report.files_referenced = len(referenced)
    named = _named_by_facts(files, referenced)
    on_disk = 0
    base = files.root / "sha256"
    for path in sorted(base.glob("??/??/*")) if base.is_dir() else []:
        if path.name.startswith(".part-"):
            f = report.add(
                "temp-file",
                "pending",
                str(path),
                "a file write that was interrupted (never renamed into place)",
                "kho check --repair removes it",
            )
            if repair:
                path.unlink(missing_ok=True)
                f.repaired = True
            continue
        if path.suffix != ".pdf":
            continue
        on_disk += 1
        sha = path.stem.upper()
        if sha in referenced or sha in named:
            continue
        f = report.add(
            "file-unreferenced",
            "pending",
            str(path),
            "no record names this file (its row was rejected, or an ingest stopped before its "
            "commit)",
            "re-run the batch that holds it, or kho check --repair moves it to "
            f"DATA_DIR/{UNREFERENCED}/",
        )
        if repair:
            _move_aside(files, path, Path(settings.data_dir) / UNREFERENCED)
            f.repaired = True
    report.files_on_disk = on_disk


def _named_by_facts(files: FileStore, referenced: set[str]) -> set[str]:
    """PDF/A outputs a referenced original's cached facts name (the store names them too, but
    a PDF/A of a file whose record is rejected is still the original's derivative)."""
    named = set()
    for sha in referenced:
        facts = files.path_for(sha, ".json")
        try:
            data = json.loads(facts.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("pdfa_sha256"):
            named.add(str(data["pdfa_sha256"]).upper())
    return named


def _move_aside(files: FileStore, path: Path, aside: Path) -> None:
    aside.mkdir(parents=True, exist_ok=True)
    for sibling in path.parent.glob(path.stem + ".*"):
        os.replace(sibling, aside / sibling.name)


def _check_index(
    store: Store, settings: Settings, records: set[str], report: CheckReport, repair: bool
) -> None:
    journalled = {i for entry in index_journal.entries(settings) for i in entry.iris}
    if not record_index.exists(settings):
        # Killed after the first commit, before the index was first made: the journal has them.
        if records - journalled:
            f = report.add(
                "index-absent",
                "error",
                str(record_index.index_path(settings)),
                "there is no records index",
                "kho reindex --records-only (kho check --repair does it)",
            )
            if repair:
                record_index.rebuild(store, settings)
                f.repaired = True
                report.indexed = len(records)
        return
    documents = record_index.indexed_documents(settings)
    report.indexed = len(documents)
    counts = Counter(documents)
    indexed = set(counts)
    # IRIs a journal entry names are committed, or being committed, ahead of the index: that is
    # the journal's "index-journal" finding (or a running ingest's own business), not a gap.
    missing = sorted(records - indexed - journalled)
    extra = sorted(indexed - records - journalled)
    twice = sorted(i for i, n in counts.items() if n > 1)
    found = [
        report.add(
            "index-missing",
            "error",
            iri,
            "in the store but not in the search index: searches do not find it",
            "kho check --repair indexes it (or kho reindex)",
        )
        for iri in missing
    ]
    found += [
        report.add(
            "index-extra",
            "error",
            iri,
            "in the search index but not in the store: searches show a record that is gone",
            "kho check --repair removes it (or kho reindex)",
        )
        for iri in extra
    ]
    found += [
        report.add(
            "index-twice",
            "error",
            iri,
            f"indexed {counts[iri]} times: searches show it more than once",
            "kho check --repair replaces it by one (or kho reindex)",
        )
        for iri in twice
    ]
    if repair and found:
        record_index.update(store, settings, sorted(set(missing) | set(twice)), extra)
        still = Counter(record_index.indexed_documents(settings))
        for f in found:
            f.repaired = still.get(f.subject, 0) == (1 if f.subject in records else 0)
        report.indexed = sum(still.values())
