"""The read-only SPARQL 1.1 Protocol endpoint: methods, result formats, refusals, the workbench."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
import rdflib
from flask.testing import FlaskClient
from lxml import html as lxml_html

from repository.config import Settings
from tests.web import client_as
from webapp import create_app
from webapp.examples import EXAMPLES, Example

SELECT = """SELECT ?u ?name WHERE { ?u skos:notation "00004" ; skos:prefLabel ?name
            FILTER(lang(?name) = "vi") } ORDER BY ?name"""
CONSTRUCT = """CONSTRUCT { ?u skos:prefLabel ?name } WHERE { ?u skos:notation "00004" ;
               skos:prefLabel ?name }"""
ASK = 'ASK { ?u skos:prefLabel "Phường Trúc Bạch"@vi }'
SPARQL_JSON = "application/sparql-results+json"
SRX = "{http://www.w3.org/2005/sparql-results#}"


@pytest.fixture(scope="module")
def client(harvested_settings: Settings) -> FlaskClient:
    return create_app(harvested_settings).test_client()


def names(bindings: list[dict]) -> list[str]:
    return [b["name"]["value"] for b in bindings]


def test_get_select_as_sparql_json(client: FlaskClient) -> None:
    response = client.get(
        "/sparql", query_string={"query": SELECT}, headers={"Accept": SPARQL_JSON}
    )
    assert response.status_code == 200 and response.mimetype == SPARQL_JSON
    body = json.loads(response.data)
    assert body["head"]["vars"] == ["u", "name"]
    assert names(body["results"]["bindings"]) == ["Phường Ba Đình", "Phường Trúc Bạch"]


def test_without_accept_a_client_gets_json(client: FlaskClient) -> None:
    response = client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": "*/*"})
    assert response.mimetype == SPARQL_JSON


def test_post_form_encoded(client: FlaskClient) -> None:
    response = client.post("/sparql", data={"query": SELECT}, headers={"Accept": SPARQL_JSON})
    assert response.status_code == 200
    assert names(json.loads(response.data)["results"]["bindings"])[1] == "Phường Trúc Bạch"


def test_post_sparql_query_body(client: FlaskClient) -> None:
    response = client.post(
        "/sparql",
        data=SELECT.encode(),
        content_type="application/sparql-query",
        headers={"Accept": SPARQL_JSON},
    )
    assert response.status_code == 200
    assert len(json.loads(response.data)["results"]["bindings"]) == 2


def test_select_as_xml(client: FlaskClient) -> None:
    response = client.get(
        "/sparql",
        query_string={"query": SELECT},
        headers={"Accept": "application/sparql-results+xml"},
    )
    assert response.mimetype == "application/sparql-results+xml"
    root = ET.fromstring(response.data)
    literals = [e.text for e in root.iter(f"{SRX}literal")]
    assert literals == ["Phường Ba Đình", "Phường Trúc Bạch"]


def test_select_as_csv_and_tsv(client: FlaskClient) -> None:
    as_csv = client.get("/sparql", query_string={"query": SELECT, "format": "csv"})
    assert as_csv.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [r["name"] for r in rows] == ["Phường Ba Đình", "Phường Trúc Bạch"]
    as_tsv = client.get(
        "/sparql", query_string={"query": SELECT}, headers={"Accept": "text/tab-separated-values"}
    )
    assert as_tsv.mimetype == "text/tab-separated-values"
    lines = [line.split("\t") for line in as_tsv.get_data(as_text=True).splitlines()]
    assert lines[0] == ["?u", "?name"] and len(lines) == 3
    assert lines[2][1] == '"Phường Trúc Bạch"@vi'


def test_ask(client: FlaskClient) -> None:
    response = client.get("/sparql", query_string={"query": ASK}, headers={"Accept": SPARQL_JSON})
    assert json.loads(response.data)["boolean"] is True


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
    ],
)
def test_construct_formats(client: FlaskClient, accept: str, fmt: str) -> None:
    response = client.get("/sparql", query_string={"query": CONSTRUCT}, headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == accept
    if fmt == "json-ld":
        doc = json.loads(response.data)
        assert doc["@context"] == "https://kho.example.org/context/v1.jsonld"
        labels = {n["name"]["vi"] for n in doc["@graph"]}
        assert labels == {"Phường Ba Đình", "Phường Trúc Bạch"}
        return
    graph = rdflib.Graph().parse(data=response.data, format=fmt)
    assert rdflib.Literal("Phường Trúc Bạch", lang="vi") in set(graph.objects())
    assert len(graph) == 4


def test_a_graph_asked_as_json_comes_as_json_ld(client: FlaskClient) -> None:
    response = client.get("/sparql", query_string={"query": CONSTRUCT, "format": "json"})
    assert response.status_code == 200 and response.mimetype == "application/ld+json"


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"method": "POST", "data": {"update": "DROP ALL"}},
        {"method": "GET", "query_string": {"update": "DROP ALL"}},
        {"method": "POST", "data": b"DROP ALL", "content_type": "application/sparql-update"},
        {"method": "GET", "query_string": {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}},
        {"method": "GET", "query_string": {"query": "DELETE WHERE { ?s ?p ?o }"}},
    ],
)
def test_updates_are_refused(client: FlaskClient, request_kwargs: dict) -> None:
    response = client.open("/sparql", headers={"Accept": "application/json"}, **request_kwargs)
    assert response.status_code == 400
    assert "read-only" in response.json["error"]  # type: ignore[index]
    assert response.json["ok"] is False  # type: ignore[index]
    still_there = client.get(
        "/sparql", query_string={"query": ASK}, headers={"Accept": SPARQL_JSON}
    )
    assert json.loads(still_there.data)["boolean"] is True


def test_syntax_error_gives_the_parser_message(client: FlaskClient) -> None:
    response = client.get(
        "/sparql",
        query_string={"query": "SELECT ?x WHERE { ?x ?y }"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    message = response.json["error"]  # type: ignore[index]
    assert message.startswith("SPARQL syntax error") and "1:" in message


def test_service_is_refused(client: FlaskClient) -> None:
    query = "SELECT * WHERE { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }"
    response = client.get(
        "/sparql", query_string={"query": query}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400 and "SERVICE" in response.json["error"]  # type: ignore[index]


def test_store_bookkeeping_is_not_visible(client: FlaskClient) -> None:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    response = client.get("/sparql", query_string={"query": query}, headers={"Accept": SPARQL_JSON})
    graphs = {b["g"]["value"] for b in json.loads(response.data)["results"]["bindings"]}
    assert graphs >= {
        f"https://kho.example.org/graph/{n}" for n in ("vocabulary", "gazetteer", "agencies")
    }
    # Only repository graphs (on a server the harvested suites run on the demo repository):
    # never Kho's bookkeeping (kho:metaGraph; kho:storeGraph on a server).
    assert all(g.startswith("https://kho.example.org/graph/") for g in graphs), graphs


def test_workbench_without_query(client: FlaskClient) -> None:
    response = client.get("/sparql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    doc = lxml_html.fromstring(response.data)
    assert doc.xpath("//form//textarea[@name='query']")
    assert doc.xpath("//form//select[@name='format']/option[@value='csv']")
    assert len(doc.xpath("//section[@class='examples']//li")) == len(EXAMPLES)


def test_html_results_link_our_iris_locally(client: FlaskClient) -> None:
    response = client.get(
        "/sparql", query_string={"query": SELECT}, headers={"Accept": "text/html"}
    )
    doc = lxml_html.fromstring(response.data)
    links = doc.xpath("//table[contains(@class, 'sparql-results')]//a/@href")
    assert "/id/unit/phuong-truc-bach-00004_until-2025-06-30" in links


def test_html_syntax_error_stays_in_the_workbench(client: FlaskClient) -> None:
    response = client.get(
        "/sparql", query_string={"query": "SELEC nothing"}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 400
    doc = lxml_html.fromstring(response.data)
    assert doc.xpath("//textarea[@name='query']")[0].text == "SELEC nothing"
    assert "SPARQL" in doc.find_class("error-message")[0].text_content()


def test_html_table_is_capped(harvested_settings: Settings) -> None:
    capped = create_app(replace(harvested_settings, sparql_row_limit=5)).test_client()
    query = "SELECT ?u WHERE { ?u a kho:AdminUnitVersion }"
    doc = lxml_html.fromstring(
        capped.get("/sparql", query_string={"query": query, "format": "html"}).data
    )
    assert len(doc.xpath("//table[contains(@class, 'sparql-results')]/tbody/tr")) == 5
    assert doc.find_class("notice")
    full = capped.get("/sparql", query_string={"query": query, "format": "json"})
    assert len(json.loads(full.data)["results"]["bindings"]) > 10000  # downloads are not cut


@pytest.fixture(scope="module")
def archivist(demo_settings: Settings) -> FlaskClient:
    """An archivist signed in to the demo repository (records of every level but secret)."""
    return client_as(create_app(demo_settings), "archivist")


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.key for e in EXAMPLES])
def test_examples_answer(archivist: FlaskClient, example: Example) -> None:
    query = example.query
    accept = "text/turtle" if query.lstrip().startswith("CONSTRUCT") else SPARQL_JSON
    response = archivist.get("/sparql", query_string={"query": query}, headers={"Accept": accept})
    assert response.status_code == 200, response.get_data(as_text=True)
    if accept == "text/turtle":
        assert len(rdflib.Graph().parse(data=response.data, format="turtle")) > 10
        return
    body = json.loads(response.data)
    assert body.get("boolean") is not None or body["results"]["bindings"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.key for e in EXAMPLES])
def test_example_links_load_and_run(archivist: FlaskClient, example: Example) -> None:
    page = lxml_html.fromstring(archivist.get("/sparql", headers={"Accept": "text/html"}).data)
    item = page.get_element_by_id(f"example-{example.key}")
    load = archivist.get(item.find_class("load")[0].get("href"), headers={"Accept": "text/html"})
    editor = lxml_html.fromstring(load.data).xpath("//textarea[@name='query']")[0]
    assert editor.text.strip() == example.query.strip()
    assert item.find_class("user")[0].text_content().strip()  # says whom it serves
    run = archivist.get(item.find_class("run")[0].get("href"), headers={"Accept": "text/html"})
    assert run.status_code == 200
    doc = lxml_html.fromstring(run.data)
    if example.query.lstrip().startswith("ASK"):
        assert doc.find_class("ask-result")[0].text_content().startswith(("true", "false"))
    else:
        assert doc.xpath("//table[contains(@class, 'sparql-results')]/tbody/tr")


def test_provenance_example_reaches_todays_holder(archivist: FlaskClient) -> None:
    query = next(e.query for e in EXAMPLES if e.key == "provenance")
    response = archivist.get("/sparql", query_string={"query": query, "format": "json"})
    rows = json.loads(response.data)["results"]["bindings"]
    now = [r for r in rows if r["holdsNow"]["value"] == "true"]
    assert len(rows) == 2 and len(now) == 1
    assert now[0]["holderName"]["value"].endswith("xã Yên Xuân")  # the default successor
    assert now[0]["from"]["value"] == "2025-07-01"


def test_html_labels_our_iris_and_offers_every_download(archivist: FlaskClient) -> None:
    query = next(e.query for e in EXAMPLES if e.key == "records-of-predecessors")
    doc = lxml_html.fromstring(
        archivist.get("/sparql", query_string={"query": query, "format": "html"}).data
    )
    link = doc.xpath("//table[contains(@class, 'sparql-results')]//a[contains(@href, '/id/unit/')]")
    assert link[0].text_content() == "Xã Tiến Xuân"  # the label, not the IRI
    formats = [a.text_content() for a in doc.find_class("download")]
    assert formats == ["JSON", "XML", "CSV", "TSV"]
    for a in doc.find_class("download"):
        response = archivist.get(a.get("href"))
        assert response.status_code == 200 and response.data
    graph = next(e.query for e in EXAMPLES if e.key == "construct-ba-dinh")
    doc = lxml_html.fromstring(
        archivist.get("/sparql", query_string={"query": graph, "format": "html"}).data
    )
    assert [a.text_content() for a in doc.find_class("download")] == [
        "TURTLE",
        "NTRIPLES",
        "JSONLD",
    ]


def test_hanoi_has_126_units_after_the_reform(client: FlaskClient) -> None:
    query = next(e.query for e in EXAMPLES if e.key == "hanoi-126")
    response = client.get("/sparql", query_string={"query": query}, headers={"Accept": SPARQL_JSON})
    assert len(json.loads(response.data)["results"]["bindings"]) == 126
