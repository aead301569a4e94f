"""The record shapes (hồ sơ, documents, files, retention, flags, events) on a seeded bad-data set:
every typical mistake is caught, and repository/validation.py reports exactly the violations
pySHACL reports: the same (focus, path, component, value) set."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest

# tests/ is on sys.path (it has no __init__.py), so the bench's generator imports as `bench.`
from bench.bench_validation import MINTER, hoso_graph, record_shapes
from rdflib import SH, Graph
from rdflib.plugins.sparql import processor

from repository.errors import ConfigError
from repository.namespaces import DCT, KHO, RICO, XSD, Minter, code
from repository.validation import ShapesGraph, load_shapes, validate_graph

ROOT = Path(__file__).resolve().parent.parent
Triples = list[ox.Triple]


def _node(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def drop(triples: Triples, subject: str, predicate: str) -> Triples:
    return [
        t for t in triples if not (t.subject.value == subject and t.predicate.value == predicate)
    ]


def put(triples: Triples, subject: str, predicate: str, obj: ox.NamedNode | ox.Literal) -> Triples:
    return [*triples, ox.Triple(_node(subject), _node(predicate), obj)]


def swap(triples: Triples, subject: str, predicate: str, obj: ox.NamedNode | ox.Literal) -> Triples:
    return put(drop(triples, subject, predicate), subject, predicate, obj)


def lit(value: str, dt: str | None = None) -> ox.Literal:
    return ox.Literal(value, datatype=_node(XSD + dt) if dt else None)


def subjects(triples: Triples, type_iri: str) -> list[str]:
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    return sorted(
        t.subject.value
        for t in triples
        if t.predicate.value == rdf_type and t.object.value == type_iri
    )


@dataclass(frozen=True)
class Unit:
    triples: Triples
    hoso: str
    docs: list[str]
    files: list[str]


@dataclass(frozen=True)
class Mistake:
    """A typical error put into one unit; `focus` picks the node that must be reported."""

    name: str
    says: str
    apply: Callable[[Unit], Triples]
    focus: Callable[[Unit], str]


def _hoso(u: Unit) -> str:
    return u.hoso


def _doc(u: Unit) -> str:
    return u.docs[0]


def _file(u: Unit) -> str:
    return u.files[0]


def _decision(u: Unit) -> str:
    return Minter.retention(u.hoso)


def _mismatch_flag(u: Unit) -> Triples:
    flag = Minter.flag(u.docs[0], "extraction-mismatch", "issued_on")
    t = put(u.triples, flag, KHO.replace("ns#", "ns#") + "flagOf", _node(u.docs[0]))
    t = put(t, flag, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", _node(KHO + "QualityFlag"))
    t = put(t, flag, KHO + "flagKind", _node(code("flag-extraction-mismatch")))
    t = put(t, flag, KHO + "reviewStatus", _node(code("review-under-review")))
    t = put(t, flag, KHO + "field", lit("issued_on"))
    t = put(
        t, flag, "http://www.w3.org/ns/prov#generatedAtTime", lit("2026-11-26T02:15:00", "dateTime")
    )
    return t


def _duplicate_flag(u: Unit) -> Triples:
    flag = Minter.flag(u.docs[0], "duplicate-file")
    t = put(
        u.triples,
        flag,
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
        _node(KHO + "QualityFlag"),
    )
    t = put(t, flag, KHO + "flagOf", _node(u.docs[0]))
    t = put(t, flag, KHO + "flagKind", _node(code("flag-duplicate-file")))
    t = put(t, flag, KHO + "reviewStatus", _node(code("review-xem-xet-huy")))
    return put(
        t, flag, "http://www.w3.org/ns/prov#generatedAtTime", lit("2026-11-26T02:15:00", "dateTime")
    )


def _event_focus(u: Unit) -> str:
    return next(s for s in subjects(u.triples, KHO + "PreservationEvent"))


MISTAKES = [
    Mistake(
        "missing title",
        "exactly one language-tagged title",
        lambda u: drop(u.triples, u.hoso, RICO + "title"),
        _hoso,
    ),
    Mistake(
        "two titles",
        "exactly one language-tagged title",
        lambda u: put(u.triples, u.hoso, RICO + "title", ox.Literal("Tiêu đề khác", language="vi")),
        _hoso,
    ),
    Mistake(
        "title without language",
        "language-tagged title",
        lambda u: swap(u.triples, u.hoso, RICO + "title", lit("Hồ sơ")),
        _hoso,
    ),
    Mistake(
        "maintenance code out of the list",
        "retention period (kho:maintenance)",
        lambda u: swap(u.triples, u.hoso, KHO + "maintenance", _node(code("maintenance-09"))),
        _hoso,
    ),
    Mistake(
        "access level from the wrong scheme",
        "access level",
        lambda u: swap(u.triples, u.hoso, KHO + "accessLevel", _node(code("maintenance-01"))),
        _hoso,
    ),
    Mistake(
        "no language",
        "at least one language",
        lambda u: drop(u.triples, u.hoso, DCT + "language"),
        _hoso,
    ),
    Mistake(
        "end before start",
        "end date is before its start date",
        lambda u: swap(u.triples, u.hoso, RICO + "endDate", lit("2001-03", "gYearMonth")),
        _hoso,
    ),
    Mistake(
        "date as plain text",
        "must be a date",
        lambda u: swap(u.triples, u.hoso, RICO + "beginningDate", lit("04/01/2010")),
        _hoso,
    ),
    Mistake(
        "missing paperFileCode for digitised",
        "paper file code",
        lambda u: drop(u.triples, u.hoso, KHO + "paperFileCode"),
        _hoso,
    ),
    Mistake(
        "negative page count",
        "page count",
        lambda u: swap(u.triples, u.hoso, KHO + "numberOfPage", lit("-3", "integer")),
        _hoso,
    ),
    Mistake(
        "totalDoc as text",
        "document total",
        lambda u: swap(u.triples, u.hoso, KHO + "totalDoc", lit("abc")),
        _hoso,
    ),
    Mistake(
        "creator not an agency",
        "creating agency",
        lambda u: swap(u.triples, u.hoso, RICO + "hasCreator", _node(MINTER.unit("x"))),
        _hoso,
    ),
    Mistake(
        "doc without type",
        "exactly one type (kho:typeName)",
        lambda u: drop(u.triples, u.docs[0], KHO + "typeName"),
        _doc,
    ),
    Mistake(
        "doc type code 33",
        "exactly one type (kho:typeName)",
        lambda u: swap(u.triples, u.docs[0], KHO + "typeName", _node(code("typename-33"))),
        _doc,
    ),
    Mistake(
        "doc without subject",
        "subject (rico:scopeAndContent",
        lambda u: drop(u.triples, u.docs[0], RICO + "scopeAndContent"),
        _doc,
    ),
    Mistake(
        "doc without date",
        "exactly one date (dct:issued",
        lambda u: drop(u.triples, u.docs[0], DCT + "issued"),
        _doc,
    ),
    Mistake(
        "doc outside the hồ sơ's dates",
        "outside its hồ sơ's start and end",
        lambda u: swap(u.triples, u.docs[0], DCT + "issued", lit("1999-05-24", "date")),
        _doc,
    ),
    Mistake(
        "doc directly in a fonds",
        "not directly in a fonds",
        lambda u: swap(
            u.triples,
            u.docs[0],
            RICO + "isOrWasIncludedIn",
            _node(MINTER.fonds("ubnd", f"xa-mau-{0:05d}_until-2025-06-30")),
        ),
        _doc,
    ),
    Mistake(
        "doc with zero pages",
        "positive integer",
        lambda u: swap(u.triples, u.docs[0], KHO + "numberOfPage", lit("0", "integer")),
        _doc,
    ),
    Mistake(
        "lower-case sha256",
        "SHA-256",
        lambda u: swap(u.triples, u.files[0], KHO + "sha256", lit("ab" * 32)),
        _file,
    ),
    Mistake(
        "non-hex sha256",
        "SHA-256",
        lambda u: swap(u.triples, u.files[0], KHO + "sha256", lit("XYZ")),
        _file,
    ),
    Mistake(
        "empty file",
        "size (kho:byteSize)",
        lambda u: swap(u.triples, u.files[0], KHO + "byteSize", lit("0", "integer")),
        _file,
    ),
    Mistake(
        "orphan file",
        "belongs to no hồ sơ or document",
        lambda u: [
            t
            for t in u.triples
            if not (
                t.predicate.value
                in (RICO + "isOrWasInstantiationOf", RICO + "hasOrHadInstantiation")
                and u.files[0] in (t.subject.value, t.object.value)
            )
        ],
        _file,
    ),
    Mistake(
        "period missing",
        "needs its period",
        lambda u: drop(
            swap(u.triples, _decision(u), KHO + "maintenance", _node(code("maintenance-06"))),
            _decision(u),
            KHO + "retentionPeriod",
        ),
        _decision,
    ),
    Mistake(
        "permanent with a period",
        "Permanent retention has no period",
        lambda u: put(
            swap(u.triples, _decision(u), KHO + "maintenance", _node(code("maintenance-01"))),
            _decision(u),
            KHO + "retentionPeriod",
            lit("P10Y", "duration"),
        ),
        _decision,
    ),
    Mistake(
        "decision for two hồ sơ",
        "exactly one hồ sơ",
        lambda u: put(
            u.triples, _decision(u), RICO + "regulatesOrRegulated", _node(MINTER.hoso("H9"))
        ),
        _decision,
    ),
    Mistake(
        "decision without status",
        "exactly one status",
        lambda u: drop(u.triples, _decision(u), KHO + "decisionStatus"),
        _decision,
    ),
    Mistake(
        "mismatch flag without values",
        "sheet value and the extracted value",
        _mismatch_flag,
        lambda u: Minter.flag(u.docs[0], "extraction-mismatch", "issued_on"),
    ),
    Mistake(
        "duplicate flag without duplicateOf",
        "point to what it duplicates",
        _duplicate_flag,
        lambda u: Minter.flag(u.docs[0], "duplicate-file"),
    ),
    Mistake(
        "event of an unknown type",
        "exactly one type (kho:eventType)",
        lambda u: swap(u.triples, _event_focus(u), KHO + "eventType", _node(code("premis-xyz"))),
        _event_focus,
    ),
]


def _units(count: int) -> Iterator[Unit]:
    rng = random.Random(11)
    for n in range(count):
        triples, _ = hoso_graph(n, rng)
        hoso = subjects(triples, RICO + "RecordSet")
        hoso = [h for h in hoso if "/id/hoso/" in h]
        docs = subjects(triples, RICO + "Record")
        files = [f for f in subjects(triples, RICO + "Instantiation") if f.endswith("/original")]
        yield Unit(triples, hoso[0], docs, files)


@pytest.fixture(scope="module")
def shapes() -> ShapesGraph:
    return record_shapes()


@pytest.fixture(scope="module")
def seeded() -> tuple[Graph, Triples, list[tuple[Mistake, str]], int]:
    """About 200 records: one mistake in each of the first units, the rest clean."""
    units = list(_units(len(MISTAKES) + 10))
    triples: Triples = []
    expected = []
    for n, unit in enumerate(units):
        if n < len(MISTAKES):
            mistake = MISTAKES[n]
            triples += mistake.apply(unit)
            expected.append((mistake, mistake.focus(unit)))
        else:
            triples += unit.triples
    records = sum(1 + len(u.docs) for u in units)
    graph = Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    return graph, triples, expected, records


@pytest.fixture(scope="module")
def fast_rdflib_sparql() -> Iterator[None]:
    """pySHACL parses each SHACL-SPARQL query once per focus node; cache the parse (pure)."""
    parse, translate = processor.parseQuery, processor.translateQuery
    cache: dict[tuple[str, object, object], object] = {}

    def cached(text: str, base: object = None, init_ns: object = None) -> object:
        key = (text, base, tuple(sorted((init_ns or {}).items())))  # type: ignore[attr-defined]
        if key not in cache:
            cache[key] = translate(parse(text), base, init_ns)
        return cache[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(processor, "parseQuery", lambda text: text)
        patch.setattr(processor, "translateQuery", cached)
        yield


Key = tuple[str, str | None, str, str | None]


def _pyshacl(graph: Graph, shapes: ShapesGraph) -> set[Key]:
    _conforms, results, _ = pyshacl.validate(graph, shacl_graph=shapes.graph, advanced=True)
    found = set()
    for r in results.subjects(SH.focusNode, None):
        path, value = results.value(r, SH.resultPath), results.value(r, SH.value)
        if value == results.value(r, SH.focusNode) and (
            results.value(r, SH.sourceConstraintComponent) == SH.SPARQLConstraintComponent
        ):
            value = None  # SHACL §5.3.2: ?value unbound reads as $this; validation.py leaves it out
        found.add(
            (
                str(results.value(r, SH.focusNode)),
                None if path is None else str(path),
                str(results.value(r, SH.sourceConstraintComponent)),
                None if value is None else str(value),
            )
        )
    return found


def test_the_clean_graphs_conform(shapes: ShapesGraph) -> None:
    for unit in _units(5):
        report = validate_graph(unit.triples, shapes)
        assert report.conforms, report.text("en")


def test_the_seeded_set_has_about_200_records(seeded: tuple) -> None:
    assert 150 <= seeded[3] <= 300


@pytest.mark.parametrize("index", range(len(MISTAKES)), ids=[m.name for m in MISTAKES])
def test_each_mistake_is_caught_in_both_languages(
    index: int, seeded: tuple, shapes: ShapesGraph
) -> None:
    _graph, triples, expected, _ = seeded
    mistake, focus = expected[index]
    report = validate_graph(triples, shapes)
    hits = [v for v in report.violations if v.focus == focus and mistake.says in v.message_en]
    assert hits, "\n".join(report.messages("en"))
    assert all(v.message_vi and v.message_vi != v.message_en for v in hits)


def test_only_the_units_with_a_mistake_are_reported(seeded: tuple, shapes: ShapesGraph) -> None:
    _graph, triples, expected, _ = seeded
    report = validate_graph(triples, shapes)
    unit = re.compile(r"H01\.\d+\.\d{4}\.\d{5}\.TH")  # the file code in every IRI of a unit
    seeded_units = {unit.search(focus).group() for _, focus in expected}  # type: ignore[union-attr]
    for v in report.violations:
        found = unit.search(v.focus)
        assert found and found.group() in seeded_units, v


def test_same_violations_as_pyshacl(
    seeded: tuple, shapes: ShapesGraph, fast_rdflib_sparql: object
) -> None:
    graph, triples, _, _ = seeded
    ours = {
        (v.focus, v.path, v.component, v.value) for v in validate_graph(triples, shapes).violations
    }
    theirs = _pyshacl(graph, shapes)
    assert ours == theirs, (sorted(ours - theirs), sorted(theirs - ours))
    assert len(ours) >= len(MISTAKES)


def test_record_shapes_are_part_of_shapes_dir() -> None:
    every = load_shapes(ROOT / "shapes")
    names = {c.shape.rsplit("#", 1)[-1] for c in every.constraints}
    assert {
        "HosoShape",
        "RecordShape",
        "InstantiationShape",
        "RetentionDecisionShape",
        "AppraisalShape",
        "QualityFlagShape",
        "PreservationEventShape",
    } <= names


def test_sparql_target_must_spell_iris_out(tmp_path: Path) -> None:
    (tmp_path / "x.shapes.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .\n"
        'ex:XShape a sh:NodeShape ; sh:target [ a sh:SPARQLTarget ; sh:select """'
        'SELECT $this WHERE { $this a ex:X }""" ] ; sh:property [ sh:path ex:p ; '
        'sh:minCount 1 ; sh:message "m"@vi , "n"@en ] .',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="in full"):
        load_shapes(tmp_path)
