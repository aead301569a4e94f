"""The vocabulary (ontology/kho.ttl) and the code lists (ontology/codes/*.ttl) are well formed."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pyoxigraph
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from repository.namespaces import KHO as KHO_IRI
from repository.namespaces import KHOC as KHOC_IRI

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY = ROOT / "ontology"
CODES = ONTOLOGY / "codes"
TTL_FILES = sorted(ONTOLOGY.rglob("*.ttl"))
CODE_FILES = sorted(CODES.glob("*.ttl"))

KHO = Namespace(KHO_IRI)
KHOC = Namespace(KHOC_IRI)
RICO = Namespace("https://www.ica.org/standards/RiC/ontology#")
VL = Namespace("https://version.link/")
# A plain Namespace: pytest probes module attributes, and rdflib's closed XSD namespace warns.
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
LANGS = ("vi", "en")

PREFIX_BLOCK = """\
@prefix rdf:  <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl:  <http://www.w3.org/2002/07/owl#> .
@prefix xsd:  <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dct:  <http://purl.org/dc/terms/> .
@prefix rico: <https://www.ica.org/standards/RiC/ontology#> .
@prefix vl:   <https://version.link/> .
@prefix kho:  <https://w3id.org/kho/ns#> .
@prefix khoc: <https://w3id.org/kho/code/> .
"""

# Other code mints these IRIs (repository.namespaces.code); the names are part of the contract.
EXPECTED: dict[str, list[str]] = {
    "levels": ["level-province", "level-district", "level-commune"],
    "blocks": ["block-dang", "block-chinh-quyen", "block-doan-the"],
    "unit-types": [
        "unittype-thanh-pho-truc-thuoc-tw",
        "unittype-tinh",
        "unittype-quan",
        "unittype-huyen",
        "unittype-thi-xa",
        "unittype-thanh-pho-thuoc-tinh",
        "unittype-thanh-pho-thuoc-tp",
        "unittype-phuong",
        "unittype-xa",
        "unittype-thi-tran",
        "unittype-dac-khu",
    ],
    "change-types": [
        "change-merger",
        "change-partial-transfer",
        "change-rename",
        "change-hierarchy",
        "change-level-abolition",
        "change-establishment",
        "change-dissolution",
    ],
    "portions": ["portion-whole", "portion-part"],
    "citation-status": ["citation-verified", "citation-unverified"],
    "agency-kinds": [
        "agency-hdnd",
        "agency-ubnd",
        "agency-dang-uy",
        "agency-mttq",
        "agency-doan-tn",
        "agency-hoi-lhpn",
        "agency-hoi-nong-dan",
        "agency-hoi-ccb",
        "agency-ldld",
        "agency-luu-tru-lich-su",
        "agency-luu-tru-dang",
    ],
    "maintenance": [f"maintenance-{n:02d}" for n in range(1, 8)],
    "mode": [f"mode-{n:02d}" for n in range(1, 4)],
    "confidence-level": [f"confidence-{n:02d}" for n in range(1, 4)],
    "format": [f"format-{n:02d}" for n in range(1, 4)],
    "type-name": [f"typename-{n:02d}" for n in range(1, 33)],
    "language": [f"language-{n:02d}" for n in range(1, 12)],
    # records (issue 3)
    "priority-groups": [f"priority-{n}" for n in range(1, 6)],
    "flag-kinds": [
        "flag-extraction-mismatch",
        "flag-duplicate-file",
        "flag-duplicate-document",
        "flag-near-duplicate",
        "flag-damaged",
        "flag-empty-text",
    ],
    "review-status": [
        "review-xem-xet-huy",
        "review-under-review",
        "review-confirmed",
        "review-overturned",
    ],
    "decision-status": ["decision-suggested", "decision-confirmed"],
    "premis-event-types": [
        "premis-ingestion",
        "premis-ocr",
        "premis-fixity-check",
        "premis-quarantine",
    ],
    "outcomes": ["outcome-success", "outcome-failure"],
    # registry links (issue 5): concept IRIs {khoc}registry/<name>, {khoc}verification/<status>
    "registries": [f"registry/{r}" for r in ("population", "land", "enterprise", "officials")],
    "verification-status": [
        f"verification/{s}" for s in ("verified", "not-found", "registry-error", "unchecked")
    ],
}

# Codes from TT 05/2025/TT-BNV: the notation is the two-digit code at the end of the local name.
TT05_SCHEMES = ("maintenance", "mode", "confidence-level", "format", "type-name", "language")

KHO_CLASSES = (
    "AdminUnitVersion",
    "ReorganisationEvent",
    "TerritoryTransfer",
    "RetentionDecision",
    "Appraisal",
    "PreservationEvent",
    "QualityFlag",
    "RegistryReference",
    "NamedGraph",  # a graph Kho wrote on a SPARQL server (issue 6)
)
KHO_PROPERTIES = (
    "level",
    "shortName",
    "areaKm2",
    "defaultSuccessor",
    "transfer",
    "fromUnit",
    "toUnit",
    "portion",
    "isDefaultSuccessor",
    "agencyKind",
    "block",
    "citationStatus",
    "retentionPeriod",
    "accessLevel",
    # records (issue 3)
    *"""maintenance totalDoc numberOfPaper numberOfPage physicalCondition confidenceLevel
    paperFileCode keyword inforSign adminUnit priorityGroup batch docOrdinal typeName codeNumber
    codeNotation numberSymbol organName signer signerTitle fileName sha256 byteSize pageCount
    hasTextLayer eventType outcome flagOf flagKind field sheetValue extractedValue duplicateOf
    reviewStatus decisionStatus basis reviewDate textBand refKind mapSheet parcel registryId
    contentDigest autograph textSignature matchedVia""".split(),
    # registry links (issue 5)
    *"""registry refSource communeCode keyDate linkTarget verificationStatus checkedAt
    lastVerifiedAt verificationNote enterpriseName enterpriseShortName enterpriseForeignName
    enterpriseStatus enterpriseStatusLabel parcelId parcelArea landUse parcelUnitThen
    parcelUnitNow officialPosition officialAgency officialAgencyName registryName""".split(),
    "writeStamp",  # server stores (issue 6)
)
# The store's bookkeeping graphs (repository/store.py; storeGraph on a SPARQL server).
KHO_INDIVIDUALS = ("metaGraph", "storeGraph")
# Not declared on purpose: the datatype Virtuoso keeps xsd:duration under
# (repository/store_wire.py) is rewritten to xsd:duration in every answer, wherever it stands.
KHO_DATATYPES: tuple[str, ...] = ()


@pytest.fixture(scope="module")
def graph() -> Graph:
    g = Graph()
    for path in TTL_FILES:
        g.parse(path, format="turtle")
    return g


def _schemes(g: Graph) -> set[URIRef]:
    return set(g.subjects(RDF.type, SKOS.ConceptScheme))


def _concepts(g: Graph) -> set[URIRef]:
    return set(g.subjects(RDF.type, SKOS.Concept))


def _in_scheme(g: Graph, scheme: str) -> set[URIRef]:
    return set(g.subjects(SKOS.inScheme, KHOC[scheme]))


def _by_lang(g: Graph, subject: URIRef, predicate: URIRef, lang: str) -> list[Literal]:
    return [
        o for o in g.objects(subject, predicate) if isinstance(o, Literal) and o.language == lang
    ]


# -- parsing ------------------------------------------------------------------------------------


def test_ontology_files_exist() -> None:
    assert ONTOLOGY / "kho.ttl" in TTL_FILES
    assert {p.stem for p in CODE_FILES} == set(EXPECTED)


@pytest.mark.parametrize("path", TTL_FILES, ids=lambda p: str(p.relative_to(ONTOLOGY)))
def test_parses_with_rdflib_and_pyoxigraph_alike(path: Path) -> None:
    g = Graph().parse(path, format="turtle")
    quads = list(pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TURTLE))
    assert len(g) > 0
    assert len(quads) == len(g)


@pytest.mark.parametrize("path", CODE_FILES, ids=lambda p: p.name)
def test_code_file_opens_with_the_shared_prefix_block(path: Path) -> None:
    assert path.read_text(encoding="utf-8").startswith(PREFIX_BLOCK)


@pytest.mark.parametrize("path", CODE_FILES, ids=lambda p: p.name)
def test_code_file_holds_one_scheme_named_after_it(path: Path) -> None:
    g = Graph().parse(path, format="turtle")
    assert _schemes(g) == {KHOC[path.stem]}
    assert _concepts(g) == _in_scheme(g, path.stem)


@pytest.mark.parametrize("path", TTL_FILES, ids=lambda p: str(p.relative_to(ONTOLOGY)))
def test_text_is_nfc(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", text)
    for o in Graph().parse(path, format="turtle").objects():
        if isinstance(o, Literal):
            assert unicodedata.is_normalized("NFC", str(o)), o


def test_no_owl_imports(graph: Graph) -> None:
    assert not list(graph.triples((None, OWL.imports, None)))


# -- the local vocabulary -----------------------------------------------------------------------


def test_ontology_header(graph: Graph) -> None:
    onto = URIRef("https://w3id.org/kho/ns")
    assert (onto, RDF.type, OWL.Ontology) in graph
    assert (onto, OWL.versionInfo, Literal("0.1.0")) in graph
    for lang in LANGS:
        assert len(_by_lang(graph, onto, DCTERMS.title, lang)) == 1
        assert len(_by_lang(graph, onto, DCTERMS.description, lang)) == 1


def _kho_terms(g: Graph) -> set[URIRef]:
    return {s for s in g.subjects() if isinstance(s, URIRef) and s.startswith(KHO_IRI)}


def test_expected_kho_terms_are_declared(graph: Graph) -> None:
    for name in KHO_CLASSES:
        assert (KHO[name], RDF.type, OWL.Class) in graph, name
    prop_types = {OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty}
    for name in KHO_PROPERTIES:
        assert set(graph.objects(KHO[name], RDF.type)) & prop_types, name
    for name in KHO_INDIVIDUALS:
        assert (KHO[name], RDF.type, OWL.NamedIndividual) in graph, name
    for name in KHO_DATATYPES:
        assert (KHO[name], RDF.type, RDFS.Datatype) in graph, name
    expected = KHO_CLASSES + KHO_PROPERTIES + KHO_INDIVIDUALS + KHO_DATATYPES
    assert _kho_terms(graph) == {KHO[n] for n in expected}


def test_every_kho_term_has_labels_and_comments_in_vi_and_en(graph: Graph) -> None:
    for term in _kho_terms(graph):
        assert (term, RDFS.isDefinedBy, URIRef("https://w3id.org/kho/ns")) in graph, term
        for lang in LANGS:
            assert len(_by_lang(graph, term, RDFS.label, lang)) == 1, (term, lang)
            assert len(_by_lang(graph, term, RDFS.comment, lang)) == 1, (term, lang)


def test_alignment_to_reused_vocabularies(graph: Graph) -> None:
    org = Namespace("http://www.w3.org/ns/org#")
    prov = Namespace("http://www.w3.org/ns/prov#")
    supers = set(graph.objects(KHO.AdminUnitVersion, RDFS.subClassOf))
    assert {RICO.Place, VL.Version, DCTERMS.Location} <= supers
    supers = set(graph.objects(KHO.ReorganisationEvent, RDFS.subClassOf))
    assert {RICO.Event, org.ChangeEvent, VL.ChangeEvent, prov.Activity} <= supers
    assert (KHO.defaultSuccessor, RDFS.subPropertyOf, VL.successor) in graph
    assert (KHO.isDefaultSuccessor, RDFS.range, XSD.boolean) in graph
    assert (KHO.retentionPeriod, RDFS.range, XSD.duration) in graph
    records = {
        "RetentionDecision": {RICO.Rule},
        "Appraisal": {RICO.Activity, prov.Activity},
        "PreservationEvent": {RICO.Event, prov.Activity},
    }
    for name, expected in records.items():
        assert expected <= set(graph.objects(KHO[name], RDFS.subClassOf)), name
    assert (KHO.typeName, RDFS.subPropertyOf, RICO.hasDocumentaryFormType) in graph
    assert (KHO.eventType, RDFS.subPropertyOf, RICO.hasEventType) in graph


def test_premis_event_types_match_the_library_of_congress_vocabulary(graph: Graph) -> None:
    loc = Namespace("http://id.loc.gov/vocabulary/preservation/eventType/")
    exact = {"premis-ingestion": "ing", "premis-fixity-check": "fix", "premis-quarantine": "qua"}
    for local, code in exact.items():
        assert (KHOC[local], SKOS.exactMatch, loc[code]) in graph, local
    assert (KHOC["premis-ocr"], SKOS.closeMatch, loc["nor"]) in graph


def test_terms_used_in_the_data_model_exist(graph: Graph) -> None:
    model = ROOT / "docs" / "model.md"
    if not model.exists():
        pytest.skip("docs/model.md not present")
    text = model.read_text(encoding="utf-8")
    declared = _kho_terms(graph)
    for name in set(re.findall(r"\bkho:([A-Za-z][\w-]*)", text)):
        assert KHO[name] in declared, f"kho:{name} is used in docs/model.md but not declared"
    concepts_and_schemes = _concepts(graph) | _schemes(graph)
    for name in set(re.findall(r"\bkhoc:([A-Za-z][\w-]*[\w])", text)):
        assert KHOC[name] in concepts_and_schemes, f"khoc:{name} is in docs/model.md only"


# -- the code lists -----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", sorted(EXPECTED))
def test_expected_concepts_exist(graph: Graph, scheme: str) -> None:
    assert _in_scheme(graph, scheme) == {KHOC[name] for name in EXPECTED[scheme]}
    tops = set(graph.objects(KHOC[scheme], SKOS.hasTopConcept))
    assert tops == {KHOC[name] for name in EXPECTED[scheme]}


def test_counts(graph: Graph) -> None:
    counts = {
        s: len(_in_scheme(graph, s)) for s in ("type-name", "language", "maintenance", "mode")
    }
    assert counts == {"type-name": 32, "language": 11, "maintenance": 7, "mode": 3}


def test_every_concept_has_one_preflabel_per_language(graph: Graph) -> None:
    for concept in _concepts(graph):
        for lang in LANGS:
            assert len(_by_lang(graph, concept, SKOS.prefLabel, lang)) == 1, (concept, lang)
        untagged = [o for o in graph.objects(concept, SKOS.prefLabel) if o.language is None]
        assert not untagged, concept


def test_every_concept_is_a_top_concept_of_exactly_one_scheme(graph: Graph) -> None:
    for concept in _concepts(graph):
        schemes = set(graph.objects(concept, SKOS.inScheme))
        assert len(schemes) == 1, concept
        assert set(graph.objects(concept, SKOS.topConceptOf)) == schemes, concept
        assert (schemes.pop(), SKOS.hasTopConcept, concept) in graph


def test_every_scheme_has_labels_and_a_source(graph: Graph) -> None:
    for scheme in _schemes(graph):
        for lang in LANGS:
            assert len(_by_lang(graph, scheme, SKOS.prefLabel, lang)) == 1, (scheme, lang)
        sources = list(graph.objects(scheme, DCTERMS.source)) + list(
            graph.objects(scheme, DCTERMS.bibliographicCitation)
        )
        assert sources, scheme


@pytest.mark.parametrize("scheme", TT05_SCHEMES)
def test_tt05_notations_are_the_two_digit_codes(graph: Graph, scheme: str) -> None:
    for concept in _in_scheme(graph, scheme):
        notations = [str(n) for n in graph.objects(concept, SKOS.notation)]
        assert notations == [str(concept)[-2:]], concept
        assert re.fullmatch(r"\d{2}", notations[0])


def test_tt05_labels(graph: Graph) -> None:
    def vi(local: str) -> str:
        return str(_by_lang(graph, KHOC[local], SKOS.prefLabel, "vi")[0])

    maintenance = ["Vĩnh viễn", "70 năm", "50 năm", "30 năm", "20 năm", "10 năm", "Khác"]
    assert [vi(f"maintenance-{n:02d}") for n in range(1, 8)] == maintenance
    assert [vi(f"mode-{n:02d}") for n in range(1, 4)] == [
        "Công khai",
        "Sử dụng có điều kiện",
        "Mật",
    ]
    assert [vi(f"format-{n:02d}") for n in range(1, 4)] == ["Tốt", "Bình thường", "Hỏng"]
    assert [vi(f"confidence-{n:02d}") for n in range(1, 4)] == ["Gốc điện tử", "Số hóa", "Hỗn hợp"]
    assert vi("typename-01") == "Nghị quyết"
    assert vi("typename-16") == "Giấy ủy quyền"
    assert vi("typename-32") == "Khác"
    assert vi("language-01") == "Tiếng Việt"
    assert vi("language-09") == "Hán Nôm"


def test_retention_periods(graph: Graph) -> None:
    years = {"02": 70, "03": 50, "04": 30, "05": 20, "06": 10}
    for n in range(1, 8):
        code = f"{n:02d}"
        periods = list(graph.objects(KHOC[f"maintenance-{code}"], KHO.retentionPeriod))
        if code in years:
            assert periods == [Literal(f"P{years[code]}Y", datatype=XSD.duration)], code
        else:
            assert periods == [], code


def test_type_names_are_documentary_form_types_with_nd30_abbreviations(graph: Graph) -> None:
    for concept in _in_scheme(graph, "type-name"):
        assert (concept, RDF.type, RICO.DocumentaryFormType) in graph
    abbreviations = {"typename-02": "QĐ", "typename-05": "QyĐ", "typename-15": "TTr"}
    for local, abbr in abbreviations.items():
        assert Literal(abbr, lang="vi") in set(graph.objects(KHOC[local], SKOS.altLabel))
    assert not list(graph.objects(KHOC["typename-22"], SKOS.altLabel))  # Công văn has none


def test_unit_types_have_a_level(graph: Graph) -> None:
    levels = _in_scheme(graph, "levels")
    for concept in _in_scheme(graph, "unit-types"):
        assert (concept, RDF.type, RICO.PlaceType) in graph
        assert len(set(graph.objects(concept, KHO.level)) & levels) == 1, concept
    assert (KHOC["unittype-phuong"], KHO.level, KHOC["level-commune"]) in graph
    assert (KHOC["unittype-quan"], KHO.level, KHOC["level-district"]) in graph
    assert (KHOC["unittype-tinh"], KHO.level, KHOC["level-province"]) in graph


def test_what_ended_and_began_on_2025_07_01_is_marked(graph: Graph) -> None:
    ended = ["level-district", "unittype-quan", "unittype-huyen", "unittype-thi-xa"]
    ended += ["unittype-thanh-pho-thuoc-tinh", "unittype-thanh-pho-thuoc-tp", "unittype-thi-tran"]
    for local in ended:
        valid = [str(v) for v in graph.objects(KHOC[local], DCTERMS.valid)]
        assert valid and "end=2025-06-30" in valid[0], local
    valid = [str(v) for v in graph.objects(KHOC["unittype-dac-khu"], DCTERMS.valid)]
    assert valid and "start=2025-07-01" in valid[0]
    assert not list(graph.objects(KHOC["unittype-phuong"], DCTERMS.valid))


def test_agency_kinds_have_a_block_and_a_definition(graph: Graph) -> None:
    blocks = _in_scheme(graph, "blocks")
    for concept in _in_scheme(graph, "agency-kinds"):
        assert len(set(graph.objects(concept, KHO.block)) & blocks) == 1, concept
        for lang in LANGS:
            assert _by_lang(graph, concept, SKOS.definition, lang), (concept, lang)
    assert (KHOC["agency-ubnd"], KHO.block, KHOC["block-chinh-quyen"]) in graph
    assert (KHOC["agency-dang-uy"], KHO.block, KHOC["block-dang"]) in graph
    assert (KHOC["agency-luu-tru-dang"], KHO.block, KHOC["block-dang"]) in graph
    assert (KHOC["agency-mttq"], KHO.block, KHOC["block-doan-the"]) in graph


def test_rico_types(graph: Graph) -> None:
    for concept in _in_scheme(graph, "blocks"):
        assert (concept, RDF.type, RICO.CorporateBodyType) in graph
    for concept in _in_scheme(graph, "change-types"):
        assert (concept, RDF.type, RICO.EventType) in graph


def test_change_types_match_version_link(graph: Graph) -> None:
    matches = {
        "change-merger": VL.Combination,
        "change-partial-transfer": VL.Separation,
        "change-rename": VL.ChangeOfName,
        "change-hierarchy": VL.ChangeInHierarchy,
        "change-level-abolition": VL.Deprecation,
    }
    for local, target in matches.items():
        assert (KHOC[local], SKOS.closeMatch, target) in graph, local
