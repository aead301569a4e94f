"""The SHACL gate of ingest: validate every candidate unit of a chunk at once, reject what fails.

Candidates go into one in-memory store with the code lists and the types of the agencies, units
and fonds they point at, so each constraint is one set-based query for the whole chunk. A
violation on a document rejects that document; one on the hồ sơ rejects the whole unit. Each
rejection names the shape's message, the sheet row and the column the value came from.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from repository import gazetteer, mapping
from repository.config import PROJECT_DIR, Settings
from repository.namespaces import KHO, Minter
from repository.store import Store
from repository.validation import ShapesGraph, load_shapes, validate_triples

if TYPE_CHECKING:
    from repository.batch import IngestReport
    from repository.ingest import DocDraft, UnitDraft

SHAPES_DIR = PROJECT_DIR / "shapes"
CONTEXT_GRAPH = "urn:x-kho:context"


@lru_cache(maxsize=2)
def shapes(path: Path = SHAPES_DIR) -> ShapesGraph:
    return load_shapes(path)


def _context(store: Store, settings: Settings, iris: set[str]) -> list[ox.Quad]:
    """Code lists (whole vocabulary graph) and rdf:type of the referenced resources."""
    g = ox.NamedNode(CONTEXT_GRAPH)
    vocab = Minter(settings.base_iri).graph("vocabulary")
    quads = [ox.Quad(q.subject, q.predicate, q.object, g) for q in store.graph_quads(vocab)]
    wanted = sorted(iris)
    for start in range(0, len(wanted), 1000):
        values = " ".join(f"<{i}>" for i in wanted[start : start + 1000])
        for row in store.select(f"SELECT ?s ?t WHERE {{ VALUES ?s {{ {values} }} ?s a ?t }}"):
            quads.append(
                ox.Quad(
                    ox.NamedNode(str(row["s"])),
                    ox.NamedNode(_RDF_TYPE),
                    ox.NamedNode(str(row["t"])),
                    g,
                )
            )
    return quads


_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def gate(units: list[UnitDraft], store: Store, settings: Settings, report: IngestReport) -> None:
    """Validate the non-rejected units; mark and report the documents and units that fail."""
    owner: dict[str, tuple[UnitDraft, DocDraft | None]] = {}
    candidate: list[ox.Triple] = []
    referenced: set[str] = set()

    def add(triples: list[ox.Triple], unit: UnitDraft, doc: DocDraft | None) -> None:
        candidate.extend(triples)
        for t in triples:
            owner.setdefault(t.subject.value, (unit, doc))
            if isinstance(t.object, ox.NamedNode):
                referenced.add(t.object.value)

    _commune_codes(units, store, report)
    for unit in units:
        if unit.rejected:
            continue
        add(unit.triples + unit.curation, unit, None)
        for doc in unit.docs:
            if not doc.rejected:
                add(doc.triples + doc.curation + doc.personal + doc.history, unit, doc)
    if not candidate:
        return
    context = _context(store, settings, referenced - set(owner))
    result = validate_triples(candidate, shapes(), context=context)
    failed_units: set[str] = set()
    for v in result.violations:
        if v.focus not in owner:
            continue  # context nodes (agencies, codes) are validated where they live
        unit, doc = owner[v.focus]
        row = doc.row if doc is not None else unit.rows.hoso
        predicate = _predicate(v.path)
        column = mapping.column_for(row, predicate) if predicate else None
        target = doc.iri if doc is not None else unit.iri
        report.reject(
            v.message_vi,
            v.message_en,
            row,
            column=column,
            field=_field_of(predicate),
            value=v.value,
            resource=target if v.focus == target else f"{target} ({v.focus})",
        )
        if doc is not None:
            doc.rejected = True
        else:
            failed_units.add(unit.iri)
    for unit in units:
        if unit.iri in failed_units:
            unit.rejected = True
        elif not unit.rejected and unit.docs and all(d.rejected for d in unit.docs):
            unit.rejected = True
            report.reject(
                "Mọi tài liệu của hồ sơ đều bị từ chối nên hồ sơ không được nhập.",
                "Every document of the file was rejected, so the file was not ingested.",
                unit.rows.hoso,
                resource=unit.iri,
            )


def _commune_codes(units: list[UnitDraft], store: Store, report: IngestReport) -> None:
    """A land parcel's commune code from the sheet must have existed on its key date (the
    document's date): codes were reused and retired on 2025-07-01. A code that did not is
    rejected with the units that bore it and when; codes read by OCR are left to the registry
    check (a misread digit must not reject a document)."""
    versions: dict[str, list[gazetteer.UnitRef]] = {}
    for unit in units:
        if unit.rejected:
            continue
        targets = [(unit.triples, unit.rows.hoso, None)]
        targets += [(d.triples, d.row, d) for d in unit.docs if not d.rejected]
        for triples, row, doc in targets:
            for code, day in _sheet_parcels(triples):
                found = versions.setdefault(code, gazetteer.units_with_code(store, code))
                if any(u.valid_on(date.fromisoformat(day)) for u in found):
                    continue
                vi, en = _code_problem(code, day, found)
                report.reject(
                    vi,
                    en,
                    row,
                    column=row.columns.get("landParcel"),
                    field="landParcel",
                    value=code,
                    resource=doc.iri if doc is not None else unit.iri,
                )
                if doc is not None:
                    doc.rejected = True
                else:
                    unit.rejected = True


def _sheet_parcels(triples: list[ox.Triple]) -> list[tuple[str, str]]:
    """(commune code, key date) of the sheet's land references among `triples`."""
    links: dict[str, dict[str, str]] = {}
    for t in triples:
        if t.predicate.value in _LINK_FACTS:
            links.setdefault(t.subject.value, {})[t.predicate.value] = t.object.value
    return [
        (facts[KHO + "communeCode"], facts[KHO + "keyDate"][:10])
        for facts in links.values()
        if facts.get(KHO + "refSource") == "sheet"
        and KHO + "communeCode" in facts
        and KHO + "keyDate" in facts
    ]


_LINK_FACTS = {KHO + "communeCode", KHO + "keyDate", KHO + "refSource"}


def _code_problem(code: str, day: str, found: list[gazetteer.UnitRef]) -> tuple[str, str]:
    on = date.fromisoformat(day).strftime("%d/%m/%Y")
    if not found:
        return (
            f"Mã xã {code} của thửa đất không phải mã của xã nào. Ghi mã xã như vào ngày {on}.",
            f"The parcel's commune code {code} is no commune's code. Write the commune code as "
            f"it was on {on}.",
        )
    bore = "; ".join(f"{u.name} ({u.valid_from or '…'} – {u.valid_to or 'nay/now'})" for u in found)
    return (
        f"Mã xã {code} của thửa đất không tồn tại vào ngày {on}; mã này là của: {bore}. Ghi mã "
        f"xã như vào ngày {on} (trước 01/7/2025 là mã cũ).",
        f"The parcel's commune code {code} did not exist on {on}; the code belonged to: {bore}. "
        f"Write the commune code as it was on {on} (before 2025-07-01, the old code).",
    )


def _predicate(path: str | None) -> str | None:
    """The predicate IRI of a simple path ('<iri>' or 'iri'); None for complex paths."""
    if not path:
        return None
    bare = path.strip()
    if bare.startswith("<") and bare.endswith(">") and bare.count("<") == 1:
        return bare[1:-1]
    return bare if "://" in bare and " " not in bare and "<" not in bare else None


def _field_of(path: str | None) -> str | None:
    if not path:
        return None
    return path.rsplit("#", 1)[-1].rsplit("/", 1)[-1].rstrip(">")
