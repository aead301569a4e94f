"""The Python evaluation of the simple constraints (repository/shacl_fast.py) reports exactly the
violations of the pure-SPARQL path: same focus, path, shape, component, value and messages."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

# tests/ is on sys.path (it has no __init__.py): reuse the seeded set and the core-component data
from test_record_shapes import MISTAKES, _units
from test_shapes import CORE_DATA, CORE_SHAPES, SAMPLE

from repository.validation import (
    CANDIDATE_GRAPH,
    ShapesGraph,
    ValidationReport,
    load_shapes,
    validate_graph,
    validate_store,
    validate_triples,
)

ROOT = Path(__file__).resolve().parent.parent


def _store(triples: list[ox.Triple]) -> object:
    from repository.store import Store

    store = Store(None)
    g = ox.NamedNode(CANDIDATE_GRAPH)
    store.add_quads(ox.Quad(t.subject, t.predicate, t.object, g) for t in triples)
    return store


def _every_path(triples: list[ox.Triple], shapes: ShapesGraph) -> dict[str, ValidationReport]:
    store = _store(triples)
    return {
        "sparql": validate_store(store, shapes, engine="sparql"),  # type: ignore[arg-type]
        "python on a store": validate_store(store, shapes, engine="python"),  # type: ignore[arg-type]
        "python on triples": validate_triples(triples, shapes),
    }


def _assert_same(reports: dict[str, ValidationReport]) -> ValidationReport:
    reference = reports.pop("sparql")
    for name, report in reports.items():
        ours, theirs = set(report.violations), set(reference.violations)
        assert ours == theirs, (name, sorted(ours - theirs), sorted(theirs - ours))
        assert report.violations == reference.violations, name  # the same order, too
    return reference


@pytest.fixture(scope="module")
def record_shapes() -> ShapesGraph:
    from bench.bench_validation import record_shapes as shapes

    return shapes()


def test_plan_keeps_sparql_only_for_what_python_cannot_do(record_shapes: ShapesGraph) -> None:
    plan = record_shapes.plan()
    assert len(plan.python) > 150
    assert {c.component.rsplit("#", 1)[1] for c in plan.sparql} == {"SPARQLConstraintComponent"}
    assert plan.predicates is not None and plan.target_queries


def test_seeded_bad_data_same_violations_on_every_path(record_shapes: ShapesGraph) -> None:
    units = list(_units(len(MISTAKES) + 10))
    triples = [
        t
        for n, u in enumerate(units)
        for t in (MISTAKES[n].apply(u) if n < len(MISTAKES) else u.triples)
    ]
    reference = _assert_same(_every_path(triples, record_shapes))
    assert len(reference.violations) >= len(MISTAKES)


def test_gazetteer_sample_same_violations_on_every_path() -> None:
    shapes = load_shapes(ROOT / "shapes")
    triples = list(ox.parse(path=str(SAMPLE), format=ox.RdfFormat.TURTLE))
    assert _assert_same(_every_path(triples, shapes)).conforms
    # the same sample with every fifth triple gone, and wrong values here and there
    odd = ox.Literal("x", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))
    broken = [
        ox.Triple(t.subject, t.predicate, odd if n % 7 == 0 else ox.Literal("y"))
        if n % 7 == 0 or n % 11 == 0
        else t
        for n, t in enumerate(triples)
        if n % 5
    ]
    reference = _assert_same(_every_path(broken, shapes))
    assert len({v.component for v in reference.violations}) >= 5


def test_core_components_same_violations(tmp_path: Path) -> None:
    (tmp_path / "core.shapes.ttl").write_text(CORE_SHAPES, encoding="utf-8")
    shapes = load_shapes(tmp_path)
    triples = list(ox.parse(CORE_DATA, format=ox.RdfFormat.TURTLE))
    assert not _assert_same(_every_path(triples, shapes)).conforms


EDGE_SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix ex: <https://example.org/> .
ex:Item a sh:NodeShape , rdfs:Class ;
  sh:property [ sh:path ex:n ; sh:maxCount 1 ; sh:datatype xsd:integer ; sh:maxInclusive 99 ;
                sh:message "n {$this} {?value}"@vi , "n of {$this} is {?value}"@en ] ;
  sh:property [ sh:path ex:d ; sh:datatype xsd:date ; sh:minInclusive "2000-01-01"^^xsd:date ;
                sh:message "d {?value}"@vi , "date {?value}"@en ] ;
  sh:property [ sh:path ex:b ; sh:datatype xsd:boolean ; sh:minCount 2 ;
                sh:message "b"@vi , "boolean"@en ] ;
  sh:property [ sh:path ex:dec ; sh:minExclusive 0.5 ; sh:maxExclusive 2 ;
                sh:message "dec"@vi , "decimal"@en ] ;
  sh:property [ sh:path ex:s ; sh:datatype xsd:string ; sh:pattern "^[a-z]+$" ; sh:maxLength 3 ;
                sh:in ( "ab" "abc" "a\\nb" ) ; sh:message "s {?value}"@vi , "string {?value}"@en ] ;
  sh:property [ sh:path ex:l ; sh:languageIn ( "vi" ) ; sh:uniqueLang true ;
                sh:datatype <http://www.w3.org/1999/02/22-rdf-syntax-ns#langString> ;
                sh:message "l"@vi , "language {?value}"@en ] ;
  sh:property [ sh:path [ sh:inversePath ex:owns ] ; sh:minCount 1 ; sh:class ex:Owner ;
                sh:nodeKind sh:BlankNodeOrIRI ; sh:message "owner"@vi , "owner {?value}"@en ] ;
  sh:property [ sh:path ex:k ; sh:hasValue 1 ; sh:message "k"@vi , "k {$this}"@en ] .
ex:TargetsShape a sh:NodeShape ; sh:targetNode ex:ghost , ex:i1 ; sh:targetSubjectsOf ex:s ;
  sh:targetObjectsOf ex:owns ;
  sh:property [ sh:path ex:tag ; sh:minCount 1 ; sh:message "tag"@vi , "tag {$this}"@en ] .
ex:Agent a rdfs:Class . ex:Owner rdfs:subClassOf ex:Agent .
"""
EDGE_DATA = """
@prefix ex: <https://example.org/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Person rdfs:subClassOf ex:Owner . ex:Special rdfs:subClassOf ex:Item .
ex:i1 a ex:Item ; ex:n "01"^^xsd:integer , "1"^^xsd:integer , "+1"^^xsd:integer ;
  ex:d "2021-02-31"^^xsd:date , "1999-12-31"^^xsd:date , "2001-01-01Z"^^xsd:date ;
  ex:b "1"^^xsd:boolean , "true"^^xsd:boolean , "yes"^^xsd:boolean ;
  ex:dec 0.50 , "1.0"^^xsd:decimal , 2e0 , "x"^^xsd:decimal , 1 ;
  ex:s "ab" , "a\\nb" , "abcd" , "AB"@en , ex:iri ; ex:l "a"@vi , "b"@VI , "c"@vi-VN , "d" ;
  ex:k 1.0 , "01"^^xsd:integer ; ex:tag "t" .
ex:i2 a ex:Special ; ex:n "abc"^^xsd:integer , 100 , 99999999999999999999 ;
  ex:d "2021-02-28"^^xsd:date ; ex:s _:blank ; ex:l "x"@en , "y"@EN ; ex:k 1 .
_:p a ex:Person ; ex:owns ex:i2 . ex:o1 a ex:Agent ; ex:owns ex:i2 . _:q ex:owns ex:i1 .
ex:Agent a <http://www.w3.org/2000/01/rdf-schema#Class> .
"""


def test_edge_cases_same_violations(tmp_path: Path) -> None:
    """Canonical forms ("01" is 1), ill-typed literals, blank nodes, regex on a newline, language
    ranges, inverse paths, subclass closure, every kind of target, message templates."""
    (tmp_path / "edge.shapes.ttl").write_text(EDGE_SHAPES, encoding="utf-8")
    shapes = load_shapes(tmp_path)
    triples = list(ox.parse(EDGE_DATA, format=ox.RdfFormat.TURTLE))
    reference = _assert_same(_every_path(triples, shapes))
    found = {
        (v.focus.rsplit("/", 1)[-1], v.component.rsplit("#", 1)[-1], v.value)
        for v in reference.violations
    }
    assert ("i1", "DatatypeConstraintComponent", "2021-02-31") in found  # ill-typed date
    assert ("i2", "DatatypeConstraintComponent", "abc") in found  # ill-typed integer
    assert ("i1", "MaxCountConstraintComponent", None) not in found  # "01", "+1" and "1" are one
    assert ("ghost", "MinCountConstraintComponent", None) in found  # sh:targetNode
    assert validate_graph(EDGE_DATA, shapes).violations == reference.violations
