"""PREMIS-style preservation: digital-file (instantiation) triples, events, and the fixity run.

The RDF follows docs/model.md, "Digital file and preservation events (PREMIS-style)".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

import pyoxigraph as ox

from repository.files import FileStore, FixityResult, StoredFile
from repository.namespaces import DCT, KHO, PROV, RDF, RICO, XSD, Minter, code
from repository.rdf import Triples, boolean, text
from repository.store import Store

VN_TZ = timezone(timedelta(hours=7), "ICT")
EVENT_KINDS = ("ingestion", "ocr", "fixity-check", "quarantine")
OUTCOMES = ("success", "failure")
WHICH = ("original", "pdfa")
PDFA_2B = "http://www.iso.org/pdfa/2b"
FIXITY_CHUNK = 500  # instantiations whose events are written in one transaction

_XSD_DT = ox.NamedNode(XSD + "dateTime")
_XSD_INT = ox.NamedNode(XSD + "integer")


def timestamp(at: datetime) -> ox.Literal:
    """xsd:dateTime to the second; a naive time is taken as Vietnam time (+07:00)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=VN_TZ)
    return ox.Literal(at.isoformat(timespec="seconds"), datatype=_XSD_DT)


def integer(value: int) -> ox.Literal:
    return ox.Literal(str(int(value)), datatype=_XSD_INT)


def agent_term(t: Triples, who: str) -> ox.NamedNode | ox.Literal:
    """A person or program: an IRI when `who` is one, else a plain name such as "kho"."""
    return t.node(who) if who.startswith(("http://", "https://")) else text(who)


def event_triples(
    instantiation_iri: str,
    kind: str,
    at: datetime,
    outcome: str,
    note: str | None = None,
    agent: str = "kho",
) -> list[ox.Triple]:
    """One PREMIS-style event on a digital file (ingestion, ocr, fixity-check, quarantine)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown preservation event {kind!r}; use one of {EVENT_KINDS}")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; use success or failure")
    stamp = timestamp(at)
    iri = Minter.preservation_event(instantiation_iri, kind, stamp.value)
    t = Triples()
    t.iri(iri, RDF + "type", KHO + "PreservationEvent")
    t.iri(iri, KHO + "eventType", code(f"premis-{kind}"))
    t.iri(iri, PROV + "used", instantiation_iri)
    t.lit(iri, PROV + "endedAtTime", stamp)
    t.iri(iri, KHO + "outcome", code(f"outcome-{outcome}"))
    t.triples.add(ox.Triple(t.node(iri), t.node(PROV + "wasAssociatedWith"), agent_term(t, agent)))
    if note:
        t.lit(iri, RICO + "descriptiveNote", text(note))
    return sorted(t.triples, key=str)


def instantiation_triples(
    record_iri: str,
    which: str,
    stored: StoredFile,
    file_name: str,
    pages: int | None,
    has_text_layer: bool,
    derived_from: str | None = None,
) -> list[ox.Triple]:
    """A record's digital file: the scanned original or the searchable PDF/A made from it."""
    if which not in WHICH:
        raise ValueError(f"unknown instantiation {which!r}; use original or pdfa")
    iri = Minter.instantiation(record_iri, which)
    t = Triples()
    t.iri(iri, RDF + "type", RICO + "Instantiation")
    t.iri(iri, RICO + "isOrWasInstantiationOf", record_iri)
    t.iri(record_iri, RICO + "hasOrHadInstantiation", iri)
    t.lit(iri, DCT + "format", text("application/pdf"))
    t.lit(iri, KHO + "fileName", text(file_name))
    t.lit(iri, KHO + "sha256", text(stored.sha256.upper()))
    t.lit(iri, KHO + "byteSize", integer(stored.size))
    if pages is not None:
        t.lit(iri, KHO + "pageCount", integer(pages))
    t.lit(iri, KHO + "hasTextLayer", boolean(has_text_layer))
    if which == "pdfa":
        t.iri(iri, DCT + "conformsTo", PDFA_2B)
    if derived_from:
        t.iri(iri, RICO + "isDerivedFromInstantiation", derived_from)
    return sorted(t.triples, key=str)


# -- fixity ---------------------------------------------------------------------------------
@dataclass
class FixityProblem:
    """A file whose bytes no longer match its recorded checksum, or that is gone."""

    status: str  # mismatch | missing
    record: str | None
    instantiation: str
    graph: str
    expected: str
    actual: str | None
    path: str


@dataclass
class FixityReport:
    """Counts and every problem found by one `kho fixity` run."""

    at: str
    checked: int = 0  # instantiations
    files: int = 0  # distinct files (one file may serve several records)
    good: int = 0
    events: int = 0
    orphans: int = 0  # files on disk that no record refers to
    problems: list[FixityProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, status: str) -> int:
        return sum(1 for p in self.problems if p.status == status)

    def text(self) -> str:
        lines = [
            f"Kiểm tra toàn vẹn tệp / fixity check ({self.at})",
            f"  tệp đã kiểm / files checked:        {self.files:,}"
            f" ({self.checked:,} bản số hóa / instantiations)",
            f"  tốt / good:                          {self.good:,}",
            f"  sai lệch SHA-256 / mismatch:         {self.count('mismatch'):,}",
            f"  thiếu tệp / missing:                 {self.count('missing'):,}",
            f"  tệp không thuộc hồ sơ nào / orphans: {self.orphans:,}",
            f"  sự kiện đã ghi / events recorded:    {self.events:,}",
        ]
        for p in self.problems:
            label = "SAI LỆCH / MISMATCH" if p.status == "mismatch" else "THIẾU / MISSING"
            lines.append(f"{label}: {p.record or p.instantiation}")
            lines.append(f"    mong đợi / expected {p.expected}")
            if p.actual:
                lines.append(f"    thực tế / actual    {p.actual}")
            lines.append(f"    tệp / path          {p.path}")
        lines.append(
            "Tất cả tệp đều toàn vẹn. / All files are intact."
            if self.ok
            else "Có tệp hỏng hoặc thiếu: khôi phục từ bản dự phòng. / "
            "Restore the damaged or missing files from a backup."
        )
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["ok"] = self.ok
        data["mismatch"] = self.count("mismatch")
        data["missing"] = self.count("missing")
        return data


_INSTANTIATIONS = """
SELECT ?inst ?g ?sha ?rec WHERE {
  GRAPH ?g { ?inst kho:sha256 ?sha . OPTIONAL { ?inst rico:isOrWasInstantiationOf ?rec } }
} ORDER BY ?inst ?g
"""


def run_fixity(
    store: Store,
    files: FileStore,
    *,
    progress: Callable[[str], None] | None = None,
    at: datetime | None = None,
    chunk: int = FIXITY_CHUNK,
) -> FixityReport:
    """Re-hash every file a record refers to; record a fixity-check event for each.

    Each event goes to the named graph of its instantiation; events are written one transaction
    per `chunk` instantiations.
    """
    at = at or datetime.now(VN_TZ)
    report = FixityReport(at=timestamp(at).value)
    rows = store.select(_INSTANTIATIONS)
    results: dict[str, FixityResult] = {}
    pending: list[ox.Quad] = []
    for i, row in enumerate(rows, 1):
        inst, graph, sha = str(row["inst"]), str(row["g"]), str(row["sha"])
        rec = row["rec"]
        result = results.get(sha.upper())
        if result is None:
            result = results[sha.upper()] = files.verify(sha)
            report.files += 1
            report.good += result.ok
        report.checked += 1
        if result.ok:
            note = f"SHA-256 {result.sha256} khớp / matches."
        else:
            report.problems.append(
                FixityProblem(
                    result.status,
                    str(rec) if rec else None,
                    inst,
                    graph,
                    result.sha256,
                    result.actual,
                    str(result.path),
                )
            )
            note = (
                f"Thiếu tệp / file missing: {result.path}"
                if result.status == "missing"
                else f"SHA-256 sai lệch / mismatch: expected {result.sha256}, got {result.actual}"
            )
        outcome = "success" if result.ok else "failure"
        g = ox.NamedNode(graph)
        pending += [
            ox.Quad(t.subject, t.predicate, t.object, g)
            for t in event_triples(inst, "fixity-check", at, outcome, note)
        ]
        report.events += 1
        if i % chunk == 0:
            store.add_quads(pending)
            pending = []
            if progress:
                progress(f"fixity: {i:,}/{len(rows):,} checked, {len(report.problems)} problems")
    if pending:
        store.add_quads(pending)
    referenced = {p.stem.upper() for p in (r.path for r in results.values())}
    report.orphans = sum(1 for f in files.iter_files() if f.sha256 not in referenced)
    if progress:
        progress(f"fixity: {report.checked:,} checked, {len(report.problems)} problems")
    return report
