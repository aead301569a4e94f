"""The SPARQL 1.1 Service Description of /sparql and the VoID description at /.well-known/void.

Both describe only what the reader may see: the named graphs, their sizes and the totals come
from the reader's visible graphs (repository.access), never from the others.
"""

from __future__ import annotations

import threading
import time

import pyoxigraph as ox
from flask import Response

from repository.namespaces import CV, DCT, GEO, KHO, ORG, PROV, RICO, SKOS, VL, XSD
from webapp import site
from webapp.auth import current_reader

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
FOAF = "http://xmlns.com/foaf/0.1/"
FORMATS = "http://www.w3.org/ns/formats/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDF_MEDIA = ["text/turtle", "application/n-triples", "application/ld+json", "application/json"]
_OX = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/json": ox.RdfFormat.JSON_LD,
}
RESULT_FORMATS = [
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "JSON-LD",
]
VOCABULARIES = [KHO, RICO, ORG, PROV, DCT, SKOS, VL, CV, GEO]
COUNTS_TTL_SECONDS = 300  # graph sizes are kept this long (records graphs change with curation)
_PREFIXES = {"sd": SD, "void": VOID, "dct": DCT, "foaf": FOAF, "xsd": XSD, "fmt": FORMATS}

_counts: dict[tuple[str, str], tuple[float, int, int]] = {}
_counts_lock = threading.Lock()


def graph_counts(graphs: list[str]) -> dict[str, tuple[int, int]]:
    """(triples, distinct IRI subjects) of each graph, counted over those graphs only."""
    s = site()
    store_key = s.store.backend
    now = time.monotonic()
    with _counts_lock:
        cached = {
            g: _counts[(store_key, g)][1:]
            for g in graphs
            if (store_key, g) in _counts and now - _counts[(store_key, g)][0] < COUNTS_TTL_SECONDS
        }
    missing = [g for g in graphs if g not in cached]
    if missing:
        rows = s.store.select(
            "SELECT ?g (COUNT(*) AS ?t) (COUNT(DISTINCT ?e) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o "
            "BIND(IF(isIRI(?s), ?s, ?unbound) AS ?e) } } GROUP BY ?g",
            graphs=missing,
        )
        found = {str(r["g"]): (int(r["t"]), int(r["n"])) for r in rows}  # type: ignore[call-overload]
        with _counts_lock:
            for g in missing:
                t, n = found.get(g, (0, 0))
                _counts[(store_key, g)] = (now, t, n)
                cached[g] = (t, n)
    return cached


def _iri(value: str) -> ox.NamedNode:
    return ox.NamedNode(value)


def _int(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=ox.NamedNode(XSD + "integer"))


def _title(graph: str) -> str:
    root = site().minter.graph("")
    return graph[len(root) :] if graph.startswith(root) else graph


def _respond(triples: list[ox.Triple], media: str) -> Response:
    body = ox.serialize(triples, format=_OX[media], prefixes=_PREFIXES)
    mimetype = "application/ld+json" if media == "application/json" else media
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    response.vary.add("Cookie")  # what is described depends on who asks
    return response


def service_description(media: str) -> Response:
    """sd:Service of /sparql: endpoint, language, formats and the reader's default dataset."""
    s = site()
    graphs = s.visible_graphs(current_reader())
    counts = graph_counts(graphs)
    service = _iri(s.minter.from_path("sparql#service"))
    dataset = ox.BlankNode()
    default_graph = ox.BlankNode()
    t = [
        ox.Triple(service, RDF_TYPE, _iri(SD + "Service")),
        ox.Triple(service, _iri(SD + "endpoint"), _iri(s.minter.from_path("sparql"))),
        ox.Triple(service, _iri(SD + "supportedLanguage"), _iri(SD + "SPARQL11Query")),
        ox.Triple(service, _iri(SD + "feature"), _iri(SD + "UnionDefaultGraph")),
        ox.Triple(
            service,
            _iri(SD + "defaultEntailmentRegime"),
            _iri("http://www.w3.org/ns/entailment/Simple"),
        ),
        ox.Triple(service, _iri(SD + "defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, _iri(SD + "Dataset")),
        ox.Triple(dataset, _iri(SD + "defaultGraph"), default_graph),
        ox.Triple(default_graph, RDF_TYPE, _iri(SD + "Graph")),
        ox.Triple(default_graph, _iri(VOID + "triples"), _int(sum(c[0] for c in counts.values()))),
    ]
    t += [ox.Triple(service, _iri(SD + "resultFormat"), _iri(FORMATS + f)) for f in RESULT_FORMATS]
    for g in graphs:
        named, graph = ox.BlankNode(), ox.BlankNode()
        t += [
            ox.Triple(dataset, _iri(SD + "namedGraph"), named),
            ox.Triple(named, RDF_TYPE, _iri(SD + "NamedGraph")),
            ox.Triple(named, _iri(SD + "name"), _iri(g)),
            ox.Triple(named, _iri(SD + "graph"), graph),
            ox.Triple(graph, RDF_TYPE, _iri(SD + "Graph")),
            ox.Triple(graph, _iri(VOID + "triples"), _int(counts[g][0])),
        ]
    return _respond(t, media)


def void_description(media: str) -> Response:
    """void:Dataset of what the reader may see, with one void:subset per visible graph."""
    s = site()
    graphs = s.visible_graphs(current_reader())
    counts = graph_counts(graphs)
    document = _iri(s.minter.from_path(".well-known/void"))
    dataset = _iri(s.minter.from_path(".well-known/void#kho"))
    endpoint = _iri(s.minter.from_path("sparql"))
    t = [
        ox.Triple(document, RDF_TYPE, _iri(VOID + "DatasetDescription")),
        ox.Triple(document, _iri(FOAF + "primaryTopic"), dataset),
        ox.Triple(dataset, RDF_TYPE, _iri(VOID + "Dataset")),
        ox.Triple(
            dataset,
            _iri(DCT + "title"),
            ox.Literal("Kho lưu trữ tài liệu số Hà Nội", language="vi"),
        ),
        ox.Triple(
            dataset, _iri(DCT + "title"), ox.Literal("Kho: Hanoi's digital archive", language="en")
        ),
        ox.Triple(
            dataset,
            _iri(DCT + "description"),
            ox.Literal(
                "Đơn vị hành chính trước và sau 01/7/2025, cơ quan, phông và hồ sơ, tài liệu "
                "lưu trữ mà người hỏi được xem.",
                language="vi",
            ),
        ),
        ox.Triple(
            dataset,
            _iri(DCT + "description"),
            ox.Literal(
                "Administrative units before and after 2025-07-01, agencies, fonds and the "
                "archival files and records the asking reader may see.",
                language="en",
            ),
        ),
        ox.Triple(dataset, _iri(VOID + "sparqlEndpoint"), endpoint),
        ox.Triple(dataset, _iri(VOID + "uriSpace"), ox.Literal(s.minter.from_path("id/"))),
        ox.Triple(dataset, _iri(VOID + "triples"), _int(sum(c[0] for c in counts.values()))),
        ox.Triple(dataset, _iri(VOID + "feature"), _iri(FORMATS + "Turtle")),
        ox.Triple(dataset, _iri(VOID + "feature"), _iri(FORMATS + "JSON-LD")),
        ox.Triple(dataset, _iri(VOID + "feature"), _iri(FORMATS + "N-Triples")),
    ]
    t += [ox.Triple(dataset, _iri(VOID + "vocabulary"), _iri(v)) for v in VOCABULARIES]
    for g in graphs:
        subset = _iri(g)
        triples, entities = counts[g]
        t += [
            ox.Triple(dataset, _iri(VOID + "subset"), subset),
            ox.Triple(subset, RDF_TYPE, _iri(VOID + "Dataset")),
            ox.Triple(subset, _iri(DCT + "title"), ox.Literal(_title(g))),
            ox.Triple(subset, _iri(VOID + "sparqlEndpoint"), endpoint),
            ox.Triple(subset, _iri(VOID + "triples"), _int(triples)),
            ox.Triple(subset, _iri(VOID + "entities"), _int(entities)),
        ]
    return _respond(t, media)
