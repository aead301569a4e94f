"""The SPARQL endpoint's limits and access: time limit, row cap, several queries at once, only
the reader's graphs, the service description and VoID. A real app over the demo repository; the
concurrency tests go through a real waitress server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace

import pyoxigraph as ox
import pytest
import rdflib
import waitress
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html

from repository.config import Settings
from repository.errors import QueryError
from repository.sparql_dataset import dataset_of, query_dataset
from repository.sparql_text import without_dataset_clauses
from repository.store import open_store
from tests.conftest import STORE_BACKEND
from tests.web import client_as
from webapp import create_app
from webapp.sparql import query_pool

BASE = "https://kho.example.org/"
G = BASE + "graph/"
SECRET = G + "records/secret"
CONDITIONAL = G + "records/conditional"
RESTRICTED = [
    CONDITIONAL,
    SECRET,
    G + "records/public/curation",
    G + "records/conditional/curation",
    G + "records/secret/curation",
    G + "records/public/personal",
    G + "records/conditional/personal",
    G + "records/secret/personal",
]
SPARQL_JSON = "application/sparql-results+json"
# Every gazetteer triple against every other, sorted: it would run for hours.
RUNAWAY = f"SELECT * WHERE {{ GRAPH <{G}gazetteer> {{ ?a ?b ?c . ?d ?e ?f }} }} ORDER BY ?c ?f"
# Counting a cross product: as endless, but without the memory of a sort.
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"
QUICK = 'SELECT ?u WHERE { ?u skos:notation "00004" }'
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
WAIT = 60  # seconds: only so that a broken limit fails the test instead of hanging it
# The module's time limit: a full scan of the demo store (ALL_GRAPHS) takes ~1 s alone, and up to
# 3 s on a loaded 2-core CI machine (over HTTP to a server, several times that); the runaway
# queries run for hours either way.
LIMIT_S = 5 if STORE_BACKEND == "embedded" else 20


@pytest.fixture(scope="module")
def app(demo_settings: Settings) -> Iterator[Flask]:
    app = create_app(replace(demo_settings, sparql_timeout=LIMIT_S, sparql_workers=2))
    yield app
    query_pool(app).close()


def rows(client: FlaskClient, query: str, **params: str) -> list[dict]:
    response = client.get(
        "/sparql", query_string={"query": query, **params}, headers={"Accept": SPARQL_JSON}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.loads(response.data)["results"]["bindings"]


def graphs_seen(client: FlaskClient, query: str, **params: str) -> set[str]:
    return {b["g"]["value"] for b in rows(client, query, **params) if "g" in b}


# -- time limit, busy workers, concurrency ------------------------------------------------------


def test_a_runaway_query_is_stopped_and_the_next_one_works(app: Flask) -> None:
    client = client_as(app, "researcher")
    response = client.get(
        "/sparql", query_string={"query": ENDLESS}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 503
    message = response.json["error"]  # type: ignore[index]
    assert f"{LIMIT_S} giây" in message and f"{LIMIT_S} seconds" in message and "LIMIT" in message
    assert response.headers["Retry-After"] == str(LIMIT_S)
    assert len(rows(client, QUICK)) == 2  # a fresh worker took over


@pytest.mark.skipif(
    STORE_BACKEND != "embedded",
    reason="the memory cap is the embedded store's worker processes'; a server has its own",
)
def test_a_query_that_eats_memory_is_stopped(demo_settings: Settings) -> None:
    """A sort over a cross product grows fast: the worker's memory cap stops it first."""
    app = create_app(replace(demo_settings, sparql_timeout=120, sparql_memory_mb=700))
    try:
        response = app.test_client().get(
            "/sparql", query_string={"query": RUNAWAY}, headers={"Accept": "application/json"}
        )
        assert response.status_code == 503
        assert "700 MB" in response.json["error"]  # type: ignore[index]
    finally:
        query_pool(app).close()


def test_a_stopped_query_in_the_workbench_explains_itself(app: Flask) -> None:
    response = app.test_client().get(
        "/sparql", query_string={"query": ENDLESS}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 503
    doc = lxml_html.fromstring(response.data)
    assert doc.xpath("//textarea[@name='query']")[0].text == ENDLESS  # the query stays
    assert "thu hẹp" in doc.find_class("error-message")[0].text_content()


@pytest.fixture(scope="module")
def server(app: Flask) -> Iterator[str]:
    """The app served by waitress (8 threads) on 127.0.0.1, as `kho serve` does."""
    wsgi = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=wsgi.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{wsgi.effective_port}"
    wsgi.task_dispatcher.shutdown()
    wsgi.close()


def fetch(url: str, query: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url + "/sparql?" + urllib.parse.urlencode({"query": query}),
        headers={"Accept": SPARQL_JSON},
    )
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


def test_a_query_is_answered_while_another_runs(app: Flask, server: str) -> None:
    slow: list[int] = []
    runner = threading.Thread(target=lambda: slow.append(fetch(server, ENDLESS)[0]))
    runner.start()
    while query_pool(app).busy() == 0 and runner.is_alive():
        threading.Event().wait(0.01)
    status, _, body = fetch(server, QUICK)
    assert status == 200 and len(json.loads(body)["results"]["bindings"]) == 2
    assert runner.is_alive()  # answered while the slow query still held its worker
    runner.join(WAIT)
    assert slow == [503]


def test_two_slowish_queries_run_at_once(app: Flask, server: str) -> None:
    count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{G}gazetteer> {{ ?s ?p ?o }} }}"
    answers: list[tuple[int, dict[str, str], bytes]] = []
    threads = [threading.Thread(target=lambda: answers.append(fetch(server, count))) for _ in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert [a[0] for a in answers] == [200, 200]
    counts = {json.loads(a[2])["results"]["bindings"][0]["n"]["value"] for a in answers}
    assert len(counts) == 1 and int(counts.pop()) > 100_000


def test_when_every_worker_is_busy_the_answer_is_503_with_retry_after(
    demo_settings: Settings,
) -> None:
    app = create_app(replace(demo_settings, sparql_timeout=5, sparql_workers=1))
    pool = query_pool(app)
    pool.wait = 0.2
    try:
        client = app.test_client()
        runner = threading.Thread(
            target=lambda: client.get("/sparql", query_string={"query": ENDLESS})
        )
        runner.start()
        while pool.busy() == 0 and runner.is_alive():
            threading.Event().wait(0.01)
        response = app.test_client().get(
            "/sparql", query_string={"query": QUICK}, headers={"Accept": "application/json"}
        )
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        assert "busy" in response.json["error"]  # type: ignore[index]
        runner.join(WAIT)
    finally:
        pool.close()


# -- row cap -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def capped(demo_settings: Settings) -> Iterator[FlaskClient]:
    app = create_app(replace(demo_settings, sparql_max_rows=5, sparql_row_limit=3))
    yield app.test_client()
    query_pool(app).close()


def test_results_are_cut_at_max_rows_and_say_so(capped: FlaskClient) -> None:
    query = "SELECT ?u WHERE { ?u a kho:AdminUnitVersion }"
    as_json = capped.get("/sparql", query_string={"query": query, "format": "json"})
    assert len(json.loads(as_json.data)["results"]["bindings"]) == 5
    assert as_json.headers["Kho-Results-Truncated"] == "true"
    as_csv = capped.get("/sparql", query_string={"query": query, "format": "csv"})
    assert len(as_csv.get_data(as_text=True).splitlines()) == 1 + 5
    assert as_csv.headers["Kho-Results-Truncated"] == "true"
    graph = capped.get(
        "/sparql",
        query_string={"query": "CONSTRUCT WHERE { ?u a kho:AdminUnitVersion }"},
        headers={"Accept": "application/n-triples"},
    )
    assert len(graph.get_data(as_text=True).splitlines()) == 5
    assert graph.headers["Kho-Results-Truncated"] == "true"
    whole = capped.get("/sparql", query_string={"query": QUICK, "format": "json"})
    assert "Kho-Results-Truncated" not in whole.headers


def test_the_html_table_notes_the_cut(capped: FlaskClient) -> None:
    query = "SELECT ?u WHERE { ?u a kho:AdminUnitVersion }"
    response = capped.get("/sparql", query_string={"query": query, "format": "html"})
    assert response.headers["Kho-Results-Truncated"] == "true"
    doc = lxml_html.fromstring(response.data)
    assert len(doc.xpath("//table[contains(@class, 'sparql-results')]/tbody/tr")) == 3
    assert "truncated" in doc.find_class("truncated")[0].text_content()


# -- refusals ------------------------------------------------------------------------------------

PUBLIC_GRAPHS = ("vocabulary", "gazetteer", "agencies", "registries", "records/public")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { service silent <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
        "LOAD <https://example.org/data.ttl>",
    ],
)
def test_service_and_load_are_refused_before_any_worker(app: Flask, query: str) -> None:
    response = app.test_client().get(
        "/sparql", query_string={"query": query}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    message = response.json["error"]  # type: ignore[index]
    assert "SERVICE" in message or "read-only" in message


# -- access --------------------------------------------------------------------------------------

ALL_GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"


@pytest.mark.parametrize(
    "query",
    [
        ALL_GRAPHS,
        *[f"SELECT ?s WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }} LIMIT 1" for g in RESTRICTED],
        *[f"SELECT ?s FROM <{g}> WHERE {{ ?s ?p ?o }} LIMIT 1" for g in RESTRICTED],
        *[
            f"SELECT ?g ?s FROM NAMED <{g}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT 1"
            for g in RESTRICTED
        ],
        "PREFIX r: <https://kho.example.org/graph/records/> SELECT ?s FROM r:secret "
        "WHERE { ?s ?p ?o } LIMIT 1",
        "SELECT ?s WHERE { ?s kho:accessLevel ?l FILTER(?l != khoc:mode-01) } LIMIT 1",
        'SELECT ?s WHERE { ?s kho:refKind "citizen" ; kho:registryId ?n } LIMIT 1',
        "SELECT ?s WHERE { ?s a kho:QualityFlag } LIMIT 1",
    ],
)
def test_anonymous_gets_not_one_restricted_triple(app: Flask, query: str) -> None:
    found = rows(app.test_client(), query)
    assert not [b for b in found if b.get("g", {}).get("value") in RESTRICTED]
    if query != ALL_GRAPHS:
        assert found == []


def test_hidden_graphs_named_by_the_protocol_answer_nothing(app: Flask) -> None:
    client = app.test_client()
    query = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"
    assert rows(client, query, **{"default-graph-uri": SECRET}) == []
    assert rows(client, ALL_GRAPHS, **{"named-graph-uri": SECRET}) == []
    visible = rows(client, query, **{"default-graph-uri": G + "records/public"})
    assert len(visible) == 1


def test_each_reader_sees_exactly_their_graphs(app: Flask) -> None:
    public = {G + n for n in PUBLIC_GRAPHS}
    assert graphs_seen(app.test_client(), ALL_GRAPHS) == public
    assert graphs_seen(client_as(app, "researcher"), ALL_GRAPHS) == public | {CONDITIONAL}
    archivist = graphs_seen(client_as(app, "archivist"), ALL_GRAPHS)
    assert G + "records/conditional/curation" in archivist and SECRET not in archivist
    cleared = graphs_seen(client_as(app, "cleared"), ALL_GRAPHS)
    assert {SECRET, G + "records/secret/personal", G + "records/public/personal"} <= cleared
    assert G + "records/secret/curation" not in cleared  # a researcher does not curate
    secret_hoso = f"SELECT ?h FROM <{SECRET}> WHERE {{ ?h kho:accessLevel khoc:mode-03 }}"
    assert rows(client_as(app, "cleared"), secret_hoso)
    assert rows(client_as(app, "researcher"), secret_hoso) == []


def test_researcher_queries_over_restricted_graphs_are_audited(app: Flask) -> None:
    client = client_as(app, "researcher")
    rows(client, "SELECT ?h WHERE { ?h kho:accessLevel khoc:mode-02 }")
    entries = app.extensions["kho"].users.audit_log(
        limit=5, actor="researcher", action="read-restricted"
    )
    assert entries and CONDITIONAL in entries[0].detail


def test_citizen_numbers_are_masked_without_the_personal_grant(app: Flask) -> None:
    query = 'SELECT ?n WHERE { BIND("CCCD 001203004567 của ông A" AS ?n) }'
    assert rows(app.test_client(), query)[0]["n"]["value"] == "CCCD 001******567 của ông A"
    cleared = rows(client_as(app, "cleared"), query)
    assert cleared[0]["n"]["value"] == "CCCD 001203004567 của ông A"
    html = app.test_client().get("/sparql", query_string={"query": query, "format": "html"})
    cells = lxml_html.fromstring(html.data).xpath("//table[contains(@class, 'sparql-results')]//td")
    assert [c.text_content() for c in cells] == ["CCCD 001******567 của ông A"]


def test_workers_see_what_the_web_process_writes(app: Flask) -> None:
    store = open_store(app.extensions["kho"].settings)
    quad = ox.Quad(
        ox.NamedNode(BASE + "id/test/h1-write"),
        ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
        ox.Literal("viết thử / a test write"),
        ox.NamedNode(G + "gazetteer"),
    )
    query = f"ASK {{ <{BASE}id/test/h1-write> ?p ?o }}"
    client = app.test_client()

    def ask() -> bool:
        response = client.get("/sparql", query_string={"query": query, "format": "json"})
        return bool(json.loads(response.data)["boolean"])

    assert ask() is False
    store.add_quads([quad])
    try:
        assert ask() is True
    finally:
        store.update_quads([quad], [])
    assert ask() is False


# -- the dataset a query names ---------------------------------------------------------------------


def test_from_clauses_are_read_with_prefixes_and_never_from_strings() -> None:
    query = """PREFIX g: <https://kho.example.org/graph/>
    # FROM <https://kho.example.org/graph/hidden> in a comment
    SELECT * FROM g:gazetteer FROM NAMED <https://kho.example.org/graph/agencies#x>
    WHERE { ?s ?p "FROM <https://kho.example.org/graph/secret>" }"""
    assert query_dataset(query) == ([G + "gazetteer"], [G + "agencies#x"])
    visible = [G + "gazetteer", G + "agencies"]
    assert dataset_of("SELECT * WHERE { ?s ?p ?o }", visible) == (visible, visible)
    assert dataset_of(f"SELECT * FROM <{SECRET}> WHERE {{}}", visible) == ([], [])
    assert dataset_of("ASK {}", visible, [G + "gazetteer", SECRET], None) == (
        [G + "gazetteer"],
        [],
    )


def test_from_clauses_can_be_left_out_for_the_protocol_to_say() -> None:
    """Virtuoso reads a query's FROM over the protocol's dataset: it is sent the query without
    them (the dataset they name, cut down to the reader's graphs, goes as parameters)."""
    query = """PREFIX g: <https://kho.example.org/graph/>
    # FROM <https://kho.example.org/graph/hidden> in a comment
    SELECT ?from FROM g:gazetteer
    from named <https://kho.example.org/graph/agencies#x> FROM NAMED g:
    WHERE { ?from ?p "FROM <https://kho.example.org/graph/secret>" }"""
    bare = without_dataset_clauses(query)
    assert query_dataset(bare) == ([], [])
    assert '?from ?p "FROM <https://kho.example.org/graph/secret>"' in bare
    assert "# FROM <https://kho.example.org/graph/hidden>" in bare
    construct = f"CONSTRUCT {{ ?s ?p ?o }} FROM <{SECRET}> WHERE {{ ?s ?p ?o }}"
    assert without_dataset_clauses(construct) == "CONSTRUCT { ?s ?p ?o }  WHERE { ?s ?p ?o }"
    assert without_dataset_clauses(QUICK) == QUICK
    with pytest.raises(QueryError, match="FROM"):
        without_dataset_clauses("SELECT * FROM ?g WHERE { ?s ?p ?o }")


# -- service description and VoID -----------------------------------------------------------------


def test_service_description(app: Flask) -> None:
    response = app.test_client().get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    graph = rdflib.Graph().parse(data=response.data, format="turtle")
    service = graph.value(predicate=rdflib.RDF.type, object=SD.Service)
    assert graph.value(service, SD.endpoint) == rdflib.URIRef(BASE + "sparql")
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    formats = set(graph.objects(service, SD.resultFormat))
    assert rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in formats
    dataset = graph.value(service, SD.defaultDataset)
    assert graph.value(dataset, SD.defaultGraph) is not None
    names = {str(graph.value(n, SD.name)) for n in graph.objects(dataset, SD.namedGraph)}
    assert names == {G + n for n in PUBLIC_GRAPHS}
    cleared = client_as(app, "cleared").get("/sparql", headers={"Accept": "text/turtle"})
    assert SECRET.encode() in cleared.data


def void_counts(client: FlaskClient, accept: str = "text/turtle") -> dict[str, int]:
    response = client.get("/.well-known/void", headers={"Accept": accept})
    assert response.status_code == 200
    data = response.data
    if "json" in accept:  # expanded JSON-LD, no remote context: any parser reads it offline
        assert response.mimetype == "application/ld+json"
        data = ox.serialize(ox.parse(data, format=ox.RdfFormat.JSON_LD), format=ox.RdfFormat.TURTLE)
    graph = rdflib.Graph().parse(data=data, format="turtle")
    top = next(d for d in graph.subjects(rdflib.RDF.type, VOID.Dataset) if "void#" in str(d))
    assert graph.value(top, VOID.sparqlEndpoint) == rdflib.URIRef(BASE + "sparql")
    assert str(graph.value(top, VOID.uriSpace)) == BASE + "id/"
    assert rdflib.URIRef("https://www.ica.org/standards/RiC/ontology#") in set(
        graph.objects(top, VOID.vocabulary)
    )
    counts = {str(s): int(graph.value(s, VOID.triples)) for s in graph.objects(top, VOID.subset)}
    for subset in graph.objects(top, VOID.subset):
        assert int(graph.value(subset, VOID.entities)) > 0
    counts["total"] = int(graph.value(top, VOID.triples))
    return counts


def test_void_counts_only_what_the_reader_sees(app: Flask) -> None:
    anonymous = void_counts(app.test_client())
    cleared = void_counts(client_as(app, "cleared"))
    assert SECRET not in anonymous and cleared[SECRET] > 0
    assert anonymous[G + "gazetteer"] == cleared[G + "gazetteer"] > 100_000
    assert (
        cleared["total"]
        > anonymous["total"]
        == sum(n for g, n in anonymous.items() if g != "total")
    )
    assert void_counts(app.test_client(), "application/ld+json") == anonymous
