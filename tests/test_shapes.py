"""The shapes in shapes/: the sample conforms, and each typical mistake is caught by
repository/validation.py with a Vietnamese and an English message, on the same focus nodes as
pySHACL finds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
from rdflib import SH, Graph, URIRef
from rdflib.plugins.sparql import processor

from repository.errors import ConfigError
from repository.namespaces import PREFIXES
from repository.store import Store
from repository.validation import (
    ShapesGraph,
    load_shapes,
    validate_graph,
    validate_store,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "gazetteer_sample.ttl"
BASE = "https://kho.example.org/"
NS = {
    **PREFIXES,
    "unit": f"{BASE}id/unit/",
    "ev": f"{BASE}id/event/2025-07-01/",
    "tr": f"{BASE}id/transfer/",
    "law": f"{BASE}id/legal/",
    "ag": f"{BASE}id/agency/",
}
HEADER = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in NS.items())

TRUC_BACH = "unit:phuong-truc-bach-00004_until-2025-06-30"
NTT = "unit:phuong-nguyen-trung-truc-00010_until-2025-06-30"
QUAN_THANH = "unit:phuong-quan-thanh-00013_until-2025-06-30"
DIEN_BIEN = "unit:phuong-dien-bien-00019_until-2025-06-30"
BA_DINH = "unit:phuong-ba-dinh-00004_2025-07-01"
NGOC_HA = "unit:phuong-ngoc-ha-00008_2025-07-01"
EV_BA_DINH = "ev:phuong-ba-dinh-00004_2025-07-01"
EV_NGOC_HA = "ev:phuong-ngoc-ha-00008_2025-07-01"


def iri(curie: str) -> str:
    prefix, local = curie.split(":", 1)
    return NS[prefix] + local


def transfer(old: str, new: str) -> str:
    return f"tr:{old.split(':', 1)[1]}/{new.split(':', 1)[1]}"


def agency(kind: str, unit: str) -> str:
    return f"ag:{kind}/{unit.split(':', 1)[1]}"


def ttl(curie: str) -> str:
    """A curie as Turtle, escaping the slashes of our local names."""
    return curie.replace("/", "\\/")


@dataclass(frozen=True)
class Case:
    """A bad copy of the sample: triples removed, Turtle added, and the violation expected."""

    name: str
    focus: str
    says: str
    remove: tuple[tuple[str, str], ...] = ()
    add: str = ""

    def graph(self) -> Graph:
        graph = Graph().parse(SAMPLE)
        for subject, predicate in self.remove:
            graph.remove((URIRef(iri(subject)), URIRef(iri(predicate)), None))
        if self.add:
            graph.parse(data=HEADER + self.add, format="turtle")
        return graph


UBND_TRUC_BACH = agency("ubnd", TRUC_BACH)
UBND_BA_DINH = agency("ubnd", BA_DINH)
CASES = [
    # the typical mistakes of the brief
    Case(
        "dissolved unit without successor",
        QUAN_THANH,
        "Dissolved unit without successor",
        remove=((QUAN_THANH, "vl:successor"), (QUAN_THANH, "kho:defaultSuccessor")),
    ),
    Case(
        "dissolved unit without end date",
        TRUC_BACH,
        "Dissolved unit without end date",
        remove=((TRUC_BACH, "rico:endDate"),),
    ),
    Case(
        "overlapping validity for a reused code",
        "unit:phuong-truc-bach-00004_2020-01-01",
        "Overlapping validity for one code",
        add="""unit:phuong-truc-bach-00004_2020-01-01 a kho:AdminUnitVersion ;
                  skos:prefLabel "Phường Trúc Bạch"@vi ; skos:notation "00004" ;
                  kho:level khoc:level-commune ; rico:hasOrHadPlaceType khoc:unittype-phuong ;
                  rico:isOrWasContainedBy unit:thanh-pho-ha-noi-01_2008-08-01 ;
                  rico:beginningDate "2020-01-01"^^xsd:date .""",
    ),
    Case(
        "a split without portions",
        NTT,
        "A split without portions",
        remove=((transfer(NTT, BA_DINH), "kho:portion"),),
        add=f"{ttl(transfer(NTT, BA_DINH))} kho:portion khoc:portion-part .",
    ),
    Case(
        "transfer missing portion",
        transfer(QUAN_THANH, BA_DINH),
        "exactly one portion",
        remove=((transfer(QUAN_THANH, BA_DINH), "kho:portion"),),
    ),
    Case(
        "event without legal basis",
        EV_BA_DINH,
        "legal basis",
        remove=((EV_BA_DINH, "cv:hasFormalFramework"),),
    ),
    Case(
        "agency without block",
        UBND_TRUC_BACH,
        "exactly one bloc",
        remove=((UBND_TRUC_BACH, "rico:hasOrHadCorporateBodyType"),),
    ),
    Case(
        "successor before predecessor ends",
        UBND_TRUC_BACH,
        "Succession backwards in time",
        remove=((UBND_BA_DINH, "rico:beginningDate"),),
        add=f'{ttl(UBND_BA_DINH)} rico:beginningDate "2025-06-15"^^xsd:date .',
    ),
    # more of what the shapes check
    Case(
        "unit without a Vietnamese name",
        TRUC_BACH,
        "no Vietnamese name",
        remove=((TRUC_BACH, "skos:prefLabel"),),
        add=f'{TRUC_BACH} skos:prefLabel "Trúc Bạch Ward"@en .',
    ),
    Case(
        "unit without code", TRUC_BACH, "exactly one code", remove=((TRUC_BACH, "skos:notation"),)
    ),
    Case(
        "unit with an unknown level",
        TRUC_BACH,
        "exactly one level",
        remove=((TRUC_BACH, "kho:level"),),
        add=f"{TRUC_BACH} kho:level khoc:level-ward .",
    ),
    Case(
        "unit without type",
        TRUC_BACH,
        "exactly one unit type",
        remove=((TRUC_BACH, "rico:hasOrHadPlaceType"),),
    ),
    Case(
        "beginning date as a string",
        BA_DINH,
        "must be a single xsd:date",
        remove=((BA_DINH, "rico:beginningDate"),),
        add=f'{BA_DINH} rico:beginningDate "2025-07-01" .',
    ),
    Case(
        "end before beginning",
        TRUC_BACH,
        "end date is before the beginning date",
        add=f'{TRUC_BACH} rico:beginningDate "2026-01-01"^^xsd:date .',
    ),
    Case(
        "dissolved unit without end event",
        NTT,
        "Dissolved unit without end event",
        remove=((EV_BA_DINH, "prov:invalidated"),),
        add=f"{EV_BA_DINH} prov:invalidated {TRUC_BACH}, {QUAN_THANH}, {DIEN_BIEN} .",
    ),
    Case(
        "new unit beginning after its event",
        NGOC_HA,
        "differs from",
        remove=((NGOC_HA, "rico:beginningDate"),),
        add=f'{NGOC_HA} rico:beginningDate "2025-07-02"^^xsd:date .',
    ),
    Case(
        "new unit inside an abolished district",
        BA_DINH,
        "parent unit ends before",
        remove=((BA_DINH, "rico:isOrWasContainedBy"),),
        add=f"{BA_DINH} rico:isOrWasContainedBy unit:quan-ba-dinh-001_until-2025-06-30 .",
    ),
    Case(
        "successor without transfer",
        QUAN_THANH,
        "has no kho:TerritoryTransfer",
        add=f"{QUAN_THANH} vl:successor {NGOC_HA} .",
    ),
    Case(
        "two default successors",
        DIEN_BIEN,
        "More than one transfer",
        remove=((transfer(DIEN_BIEN, NGOC_HA), "kho:isDefaultSuccessor"),),
        add=f"{ttl(transfer(DIEN_BIEN, NGOC_HA))} kho:isDefaultSuccessor true .",
    ),
    Case(
        "divided unit without default",
        DIEN_BIEN,
        "none of its transfers is the default",
        remove=(
            (transfer(DIEN_BIEN, BA_DINH), "kho:isDefaultSuccessor"),
            (DIEN_BIEN, "kho:defaultSuccessor"),
        ),
    ),
    Case(
        "event generating nothing",
        EV_NGOC_HA,
        "generates no unit",
        remove=((EV_NGOC_HA, "prov:generated"),),
    ),
    Case(
        "transfer from a unit its event does not end",
        transfer(DIEN_BIEN, NGOC_HA),
        "is not prov:invalidated by the event",
        remove=((EV_NGOC_HA, "prov:invalidated"),),
        add=f"{EV_NGOC_HA} prov:invalidated unit:phuong-ngoc-ha-00016_until-2025-06-30 .",
    ),
    Case(
        "event of an unknown type",
        EV_BA_DINH,
        "from the khoc:change-types scheme",
        add=f"{EV_BA_DINH} rico:hasEventType khoc:change-reshuffle .",
    ),
    Case(
        "legal act without citation status",
        "law:luat-72-2025-qh15",
        "citation status",
        remove=(("law:luat-72-2025-qh15", "kho:citationStatus"),),
    ),
    Case(
        "agency without kind",
        UBND_TRUC_BACH,
        "exactly one agency kind",
        remove=((UBND_TRUC_BACH, "kho:agencyKind"),),
    ),
    Case(
        "agency in the wrong bloc for its kind",
        UBND_TRUC_BACH,
        "differs from the bloc of its kind",
        remove=((UBND_TRUC_BACH, "rico:hasOrHadCorporateBodyType"),),
        add="khoc:agency-ubnd kho:block khoc:block-chinh-quyen .\n"
        f"{ttl(UBND_TRUC_BACH)} rico:hasOrHadCorporateBodyType khoc:block-dang .",
    ),
    Case(
        "archives without jurisdiction",
        "ag:luu-tru-lich-su/thanh-pho-ha-noi-01_2008-08-01",
        "at least one jurisdiction",
        remove=(
            ("ag:luu-tru-lich-su/thanh-pho-ha-noi-01_2008-08-01", "rico:hasOrHadJurisdiction"),
        ),
    ),
    Case(
        "agency outliving its unit",
        "ag:ubnd/quan-ba-dinh-001_until-2025-06-30",
        "lasts beyond the end",
        remove=(("ag:ubnd/quan-ba-dinh-001_until-2025-06-30", "rico:endDate"),),
    ),
    Case(
        "successor without inverse",
        agency("ubnd", DIEN_BIEN),
        "stated both ways",
        remove=((agency("ubnd", NGOC_HA), "rico:isSuccessorOf"),),
    ),
]


@pytest.fixture(scope="session")
def shapes() -> ShapesGraph:
    return load_shapes(ROOT / "shapes")


@pytest.fixture(scope="session")
def fast_rdflib_sparql() -> Iterator[None]:
    """rdflib re-parses each SHACL-SPARQL query for every focus node (pySHACL passes text);
    caching the parsed query, a pure function of its text, makes pySHACL ~20x faster here."""
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


def pyshacl_focus(data: Graph, shapes: ShapesGraph) -> set[str]:
    _conforms, results, _ = pyshacl.validate(data, shacl_graph=shapes.graph, advanced=True)
    return {str(f) for f in results.objects(None, SH.focusNode)}


# -- the sample ------------------------------------------------------------------------------


def test_every_constraint_has_a_vietnamese_and_an_english_message(shapes: ShapesGraph) -> None:
    assert len(shapes.constraints) > 50
    for c in shapes.constraints:
        assert c.message_vi and c.message_en and c.message_vi != c.message_en, c.shape


def test_sample_conforms_with_validation_py(shapes: ShapesGraph) -> None:
    report = validate_graph(SAMPLE, shapes)
    assert report.conforms, report.text("en")


def test_sample_conforms_with_pyshacl(shapes: ShapesGraph, fast_rdflib_sparql: object) -> None:
    conforms, _, text = pyshacl.validate(
        Graph().parse(SAMPLE), shacl_graph=shapes.graph, advanced=True
    )
    assert conforms, text


def test_sample_conforms_with_the_vocabulary_loaded(shapes: ShapesGraph) -> None:
    vocabulary = sorted((ROOT / "ontology").rglob("*.ttl"))
    if not vocabulary:
        pytest.skip("ontology/ holds no Turtle yet")
    store = Store(None)
    store.load_file(SAMPLE, BASE + "graph/gazetteer")
    for path in vocabulary:
        store.load_file(path, BASE + "graph/vocabulary")
    report = validate_store(store, shapes)
    assert report.conforms, report.text("en")


# -- the bad copies --------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_mistake_is_reported_in_both_languages(case: Case, shapes: ShapesGraph) -> None:
    report = validate_graph(case.graph(), shapes)
    assert not report.conforms
    focus = iri(case.focus)
    hits = [v for v in report.violations if v.focus == focus and case.says in v.message_en]
    assert hits, report.text("en")
    assert all(v.message_vi and v.message_vi != v.message_en for v in hits)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_pyshacl_flags_the_same_focus_nodes(
    case: Case, shapes: ShapesGraph, fast_rdflib_sparql: object
) -> None:
    data = case.graph()
    ours = validate_graph(data, shapes).focus_nodes()
    assert ours == pyshacl_focus(data, shapes)
    assert iri(case.focus) in ours


# -- the validator -----------------------------------------------------------------------------


def test_report_reads_in_vietnamese_and_english_and_as_json(shapes: ShapesGraph) -> None:
    report = validate_graph(CASES[0].graph(), shapes)
    assert "Không hợp lệ" in report.text("vi") and iri(QUAN_THANH) in report.text("vi")
    assert "Dissolved unit without successor" in report.text("en")
    body = json.loads(report.to_json())
    assert body["conforms"] is False
    assert {"focus", "path", "shape", "component", "message_vi", "message_en", "value"} <= set(
        body["violations"][0]
    )


def test_validate_store_sees_only_the_graphs_asked_for(shapes: ShapesGraph) -> None:
    store = Store(None)
    store.load_file(SAMPLE, BASE + "graph/gazetteer")
    stray = ox.Quad(
        ox.NamedNode(BASE + "id/unit/stray"),
        ox.NamedNode(NS["rdf"] + "type"),
        ox.NamedNode(NS["kho"] + "AdminUnitVersion"),
    )  # a unit with no attribute
    store.replace_graph(BASE + "graph/stray", [stray])
    assert BASE + "id/unit/stray" in validate_store(store, shapes).focus_nodes()
    assert validate_store(store, shapes, graphs=[BASE + "graph/gazetteer"]).conforms


CORE_SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://example.org/> .
ex:ThingShape a sh:NodeShape ; sh:targetClass ex:Thing ;
  sh:property [ sh:path ex:code ; sh:pattern "^[a-z]+$" ; sh:flags "i" ; sh:minLength 2 ;
                sh:maxLength 4 ; sh:message "mã"@vi , "code"@en ] ;
  sh:property [ sh:path ex:size ; sh:datatype xsd:integer ; sh:minInclusive 1 ;
                sh:maxExclusive 10 ; sh:message "cỡ"@vi , "size"@en ] ;
  sh:property [ sh:path ex:label ; sh:languageIn ( "vi" "en" ) ; sh:uniqueLang true ;
                sh:message "nhãn"@vi , "label"@en ] ;
  sh:property [ sh:path ( ex:part [ sh:inversePath ex:holds ] ) ; sh:minCount 2 ;
                sh:nodeKind sh:IRI ; sh:message "đường dẫn"@vi , "path"@en ] ;
  sh:property [ sh:path [ sh:zeroOrMorePath ex:next ] ; sh:maxCount 2 ;
                sh:message "chuỗi"@vi , "chain"@en ] ;
  sh:property [ sh:path ex:kind ; sh:hasValue ex:good ; sh:message "loại"@vi , "kind"@en ] .
"""
CORE_DATA = """
@prefix ex: <https://example.org/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:ok a ex:Thing ; ex:code "AbC" ; ex:size 3 ; ex:label "a"@vi , "b"@en ; ex:kind ex:good ;
  ex:part ex:p1 , ex:p2 ; ex:next ex:n1 .
ex:x1 ex:holds ex:p1 . ex:x2 ex:holds ex:p2 .
ex:bad a ex:Thing ; ex:code "a1" , "abcdef" , _:b ; ex:size "x"^^xsd:integer , 10 , 0 , "4" ;
  ex:label "a"@fr , "b"@vi , "c"@vi , "plain" ; ex:kind ex:poor ; ex:part ex:p3 ;
  ex:next ex:n2 . ex:n2 ex:next ex:n3 . _:h ex:holds ex:p3 .
"""


def test_core_components_agree_with_pyshacl(tmp_path: Path, fast_rdflib_sparql: object) -> None:
    (tmp_path / "core.shapes.ttl").write_text(CORE_SHAPES, encoding="utf-8")
    shapes = load_shapes(tmp_path)
    data = Graph().parse(data=CORE_DATA, format="turtle")
    ours = validate_graph(data, shapes)
    _conforms, results, _ = pyshacl.validate(data, shacl_graph=shapes.graph, advanced=True)
    theirs = {
        (str(results.value(r, SH.focusNode)), str(results.value(r, SH.sourceConstraintComponent)))
        for r in results.subjects(SH.focusNode, None)
    }
    assert {(v.focus, v.component) for v in ours.violations} == theirs
    assert "https://example.org/ok" not in ours.focus_nodes()


@pytest.mark.parametrize(
    "fragment, component",
    [
        ("sh:node ex:Other", "sh:node"),
        ("sh:or ( [ sh:minCount 1 ] )", "sh:or"),
        ("sh:severity sh:Warning", "sh:severity"),
    ],
)
def test_unsupported_shape_fails_at_load(tmp_path: Path, fragment: str, component: str) -> None:
    (tmp_path / "x.shapes.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .\n"
        f"ex:XShape a sh:NodeShape ; sh:targetClass ex:X ; sh:property [ sh:path ex:p ; "
        f'{fragment} ; sh:message "m"@vi , "m"@en ] .',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=component) as error:
        load_shapes(tmp_path)
    assert "https://example.org/XShape" in error.value.message


def test_constraint_without_english_message_fails_at_load(tmp_path: Path) -> None:
    (tmp_path / "x.shapes.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .\n"
        'ex:XShape a sh:NodeShape ; sh:targetClass ex:X ; sh:sparql [ sh:message "m"@vi ; '
        'sh:select "SELECT $this WHERE { $this ex:p ?o }" ] .',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="@en"):
        load_shapes(tmp_path)


def test_values_are_reported_as_plain_text(shapes: ShapesGraph) -> None:
    case = next(c for c in CASES if c.name == "end before beginning")
    report = validate_graph(case.graph(), shapes)
    values = {v.value for v in report.violations if v.focus == iri(TRUC_BACH)}
    assert "2025-06-30" in values


def test_turtle_text_is_accepted(shapes: ShapesGraph) -> None:
    report = validate_graph(HEADER + "unit:bare a kho:AdminUnitVersion .", shapes)
    assert iri("unit:bare") in report.focus_nodes()
    assert any("exactly one code" in line for line in report.messages("en"))
