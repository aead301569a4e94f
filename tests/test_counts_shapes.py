"""The home counts and the dashboard are written as hash-joined sub-selects
(repository.record_counts) for speed at 100k records; they must give the very rows the plain
queries they replace gave, for every kind of reader, on the demo store and on records with
repeated fields or triples stored in two graphs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyoxigraph as ox
import pytest

from repository import access, holdings, progress
from repository.config import Settings
from repository.namespaces import KHO, KHOC, RIC_RST, RICO, Minter
from repository.record_counts import hash_joins
from repository.store import Store, open_store
from tests.servers import virtuoso_server

# The queries as they were before the rewrite (holdings._COUNTS, progress._PROGRESS), kept here
# as the reference: plain patterns, every binding looked up in every graph of the dataset.
OLD_HOLDINGS = """
SELECT ?kind ?block ?level ?group (COUNT(?r) AS ?n) (SUM(?pg) AS ?pages) WHERE {
  { SELECT ?r ?kind (SAMPLE(?b) AS ?block) (SAMPLE(?l) AS ?level) (SAMPLE(?p) AS ?group)
           (MAX(COALESCE(?np, 0)) AS ?pg) WHERE {
      { ?r rico:hasRecordSetType ric-rst:File . BIND("hoso" AS ?kind)
        OPTIONAL { ?r kho:priorityGroup ?p } }
      UNION
      { ?r a rico:Record . BIND("record" AS ?kind)
        OPTIONAL { ?r rico:isOrWasIncludedIn ?h . ?h kho:priorityGroup ?p } }
      OPTIONAL { ?r kho:block ?b }
      OPTIONAL { ?r kho:adminUnit ?u . ?u kho:level ?l }
      OPTIONAL { ?r kho:numberOfPage ?np }
    } GROUP BY ?r ?kind }
} GROUP BY ?kind ?block ?level ?group"""

OLD_PROGRESS = """
SELECT ?group ?unit (COUNT(?h) AS ?hoso) (SUM(?declared) AS ?pages)
       (SUM(?docs) AS ?records) (SUM(?isdig) AS ?hoso_digitised) (SUM(?pdig) AS ?pages_digitised)
       (SUM(?isocr) AS ?hoso_ocr) (SUM(?pocr) AS ?pages_ocr)
WHERE {
  { SELECT ?h (SAMPLE(?g0) AS ?group) (SAMPLE(?u0) AS ?unit) (MAX(COALESCE(?np, 0)) AS ?declared)
           (COUNT(?r) AS ?docs) (SUM(?dig) AS ?ndig) (SUM(?ocr) AS ?nocr)
           (SUM(?dig * ?pc) AS ?pdig) (SUM(?ocr * ?pc) AS ?pocr) WHERE {
      ?h rico:hasRecordSetType ric-rst:File .
      OPTIONAL { ?h kho:priorityGroup ?g0 } OPTIONAL { ?h kho:adminUnit ?u0 }
      OPTIONAL { ?h kho:numberOfPage ?np }
      OPTIONAL {
        { SELECT ?r ?h (MAX(?d1) AS ?dig) (MAX(?o1) AS ?ocr) (MAX(?p1) AS ?pc) WHERE {
            ?r a rico:Record ; rico:isOrWasIncludedIn ?h .
            OPTIONAL { ?r rico:hasOrHadInstantiation ?f . ?f dct:format "application/pdf" .
                       FILTER NOT EXISTS { ?f rico:isDerivedFromInstantiation ?src } }
            OPTIONAL { ?f kho:pageCount ?fp }
            OPTIONAL { ?r rico:hasOrHadInstantiation ?t . ?t kho:hasTextLayer true }
            OPTIONAL { ?e prov:used ?i ; kho:eventType khoc:premis-ocr ;
                          kho:outcome khoc:outcome-success .
                       ?r rico:hasOrHadInstantiation ?i }
            BIND(IF(BOUND(?f), 1, 0) AS ?d1)
            BIND(IF(BOUND(?f) && (BOUND(?t) || BOUND(?e)), 1, 0) AS ?o1)
            BIND(COALESCE(?fp, 0) AS ?p1)
          } GROUP BY ?r ?h }
      }
    } GROUP BY ?h }
  BIND(IF(?docs > 0 && ?ndig = ?docs, 1, 0) AS ?isdig)
  BIND(IF(?docs > 0 && ?nocr = ?docs, 1, 0) AS ?isocr)
} GROUP BY ?group ?unit"""

OLD_FLAGGED = """
SELECT ?group ?unit (COUNT(DISTINCT ?h) AS ?hoso) (COUNT(DISTINCT ?flag) AS ?flags) WHERE {
  ?flag kho:flagOf ?x ; kho:reviewStatus ?status .
  FILTER(?status IN (khoc:review-xem-xet-huy, khoc:review-under-review))
  { ?x rico:hasRecordSetType ric-rst:File . BIND(?x AS ?h) }
  UNION { ?x rico:isOrWasIncludedIn ?h . ?h rico:hasRecordSetType ric-rst:File }
  OPTIONAL { ?h kho:priorityGroup ?group } OPTIONAL { ?h kho:adminUnit ?unit }
} GROUP BY ?group ?unit"""

READERS = {
    "anonymous": access.PUBLIC,
    "researcher": access.Reader("r", "researcher"),
    "archivist": access.Reader("a", "archivist"),
    "cleared": access.Reader("c", "researcher", frozenset({"secret", "personal"})),
    "admin-secret": access.Reader("s", "administrator", frozenset({"secret"})),
}


def rows(store: Store, sparql: str, graphs: list[str]) -> list[tuple[tuple[str, str], ...]]:
    """Rows as sorted (variable, value) pairs, unbound left out; sorted, repeats kept."""
    out = []
    for row in store.select(sparql, graphs=graphs):
        out.append(tuple(sorted((k, str(v)) for k, v in row.items() if v is not None)))
    return sorted(out)


def old_holdings(store: Store, graphs: list[str]) -> holdings.Holdings:
    rows_of = holdings._rows
    try:
        holdings._rows = lambda s, g: s.select(OLD_HOLDINGS, graphs=g)  # type: ignore[assignment]
        return holdings._holdings(store, graphs)
    finally:
        holdings._rows = rows_of  # type: ignore[assignment]


@pytest.fixture(scope="module")
def demo(demo_settings: Settings) -> tuple[Store, Minter]:
    store = open_store(demo_settings)
    if not hash_joins(store):
        pytest.skip(f"{store.backend} gets the plain queries themselves")
    return store, Minter(demo_settings.base_iri)


@pytest.mark.parametrize("who", sorted(READERS))
def test_home_counts_as_before_for_every_reader(demo: tuple[Store, Minter], who: str) -> None:
    store, minter = demo
    graphs = access.visible_graphs(store.named_graphs(), minter, READERS[who])
    old = rows(store, OLD_HOLDINGS, graphs)
    assert old and rows(store, holdings._FAST, graphs) == old
    assert rows(store, holdings._EXACT, graphs) == old
    assert holdings._holdings(store, graphs) == old_holdings(store, graphs)


@pytest.mark.parametrize("who", sorted(READERS))
def test_dashboard_as_before_for_every_reader(demo: tuple[Store, Minter], who: str) -> None:
    store, minter = demo
    graphs = access.visible_graphs(store.named_graphs(), minter, READERS[who])
    old = rows(store, OLD_PROGRESS, graphs)
    assert old == rows(store, progress._PROGRESS, graphs)
    measures = {k: v for row in old for k, v in row}
    if who != "anonymous":  # the demo's scans (digitised, OCR'd, page counts) are not public
        assert int(measures.get("pages_ocr", 0)) >= 0 and any(
            k == "hoso_ocr" and v != "0" for row in old for k, v in row
        )


@pytest.mark.parametrize("who", ["archivist", "admin-secret"])
def test_flagged_as_before_for_curators(demo: tuple[Store, Minter], who: str) -> None:
    store, minter = demo
    graphs = access.visible_graphs(store.named_graphs(), minter, READERS[who])
    old = rows(store, OLD_FLAGGED, graphs)
    new = sorted(
        tuple(sorted((k, str(v)) for k, v in row.items() if v is not None))
        for row in progress._flagged(store, graphs)
    )
    assert old and new == old


def scratch(twice: bool = True) -> tuple[Store, list[str]]:
    """Two hồ sơ in two graphs: one document with two page counts, one whose
    triples sit in both graphs (the plain queries count such triples twice), PDFs, a derived
    PDF/A, a text layer and an OCR event."""
    base = "https://kho.example.org/"
    g1, g2 = base + "graph/records/public", base + "graph/records/conditional"
    n = ox.NamedNode

    def q(s: str, p: str, o: ox.NamedNode | ox.Literal, g: str) -> ox.Quad:
        return ox.Quad(n(base + s), n(p), o, n(g))

    file_, rec, lit = n(RIC_RST + "File"), n(RICO + "Record"), ox.Literal

    def integer(value: int) -> ox.Literal:
        return lit(str(value), datatype=n("http://www.w3.org/2001/XMLSchema#integer"))

    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    quads = [
        q("h1", RICO + "hasRecordSetType", file_, g1),
        q("h1", KHO + "priorityGroup", n(KHOC + "priority-1"), g1),
        q("h1", KHO + "block", n(KHOC + "block-dang"), g1),
        q(
            "h1",
            KHO + "numberOfPage",
            integer(7),
            g1,
        ),
        q("r1", rdf_type, rec, g1),
        q("r1", RICO + "isOrWasIncludedIn", n(base + "h1"), g1),
        q("r1", KHO + "block", n(KHOC + "block-dang"), g1),
        q("r1", KHO + "numberOfPage", integer(3), g1),
        q("r1", KHO + "numberOfPage", integer(5), g1),
        q("r1", RICO + "hasOrHadInstantiation", n(base + "f1"), g1),
        q("f1", "http://purl.org/dc/terms/format", lit("application/pdf"), g1),
        q(
            "f1",
            KHO + "pageCount",
            integer(3),
            g1,
        ),
        q("r1", RICO + "hasOrHadInstantiation", n(base + "f2"), g1),
        q("f2", "http://purl.org/dc/terms/format", lit("application/pdf"), g1),
        q("f2", RICO + "isDerivedFromInstantiation", n(base + "f1"), g1),
        q("f2", KHO + "hasTextLayer", lit(True), g1),
    ]
    for g in (g1, g2) if twice else (g2,):  # the same hồ sơ and document in both graphs
        quads += [
            q("h2", RICO + "hasRecordSetType", file_, g),
            q("h2", KHO + "priorityGroup", n(KHOC + "priority-2"), g),
            q("r2", rdf_type, rec, g),
            q("r2", RICO + "isOrWasIncludedIn", n(base + "h2"), g),
            q("r2", RICO + "hasOrHadInstantiation", n(base + "f3"), g),
            q("f3", "http://purl.org/dc/terms/format", lit("application/pdf"), g),
        ]
    quads += [
        q("e1", KHO + "eventType", n(KHOC + "premis-ocr"), g2),
        q("e1", KHO + "outcome", n(KHOC + "outcome-success"), g2),
        q("e1", "http://www.w3.org/ns/prov#used", n(base + "f3"), g2),
    ]
    store = Store(None)
    store.add_quads(quads)
    return store, [g1, g2]


def test_repeated_fields_and_triples_in_two_graphs_count_as_before() -> None:
    store, graphs = scratch()
    for seen in ([graphs[0]], graphs):
        assert rows(store, progress._PROGRESS, seen) == rows(store, OLD_PROGRESS, seen)
        assert rows(store, holdings._EXACT, seen) == rows(store, OLD_HOLDINGS, seen)
        assert holdings._holdings(store, seen) == old_holdings(store, seen)
    # the one-row-per-record shape is not right here, and _rows knows it
    assert rows(store, holdings._FAST, graphs) != rows(store, OLD_HOLDINGS, graphs)


def test_virtuoso_gets_the_plain_queries_and_the_same_answers(tmp_path: Path) -> None:
    """Virtuoso answers no rows when an OPTIONAL sub-select is empty: Kho sends it the plain
    queries. (Virtuoso and Oxigraph differ on a triple stored in two graphs: none here.)"""
    embedded, graphs = scratch(twice=False)
    with virtuoso_server(buffers=2_000) as server:
        settings = Settings(data_dir=tmp_path, store=server.spec, **server.settings())
        store = open_store(settings)
        assert not hash_joins(store) and hash_joins(embedded)
        store.add_quads(list(embedded.quads()))
        today = date(2026, 11, 26)
        for seen in ([graphs[0]], graphs):
            assert holdings._holdings(store, seen) == holdings._holdings(embedded, seen)
            on_server = progress._dashboard(store, seen, today, with_flags=True)
            assert on_server == progress._dashboard(embedded, seen, today, with_flags=True)
            assert on_server.total.hoso_ocr
