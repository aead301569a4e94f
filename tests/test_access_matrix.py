"""Zero leaks: every role × every access level × every route that can show a record.

For each demo user (anonymous, researcher, archivist, administrator, and a researcher cleared for
secret and personal data) and for sample records and hồ sơ of each access level, every surface
answers as repository.access decides: the resource is there (200) if the reader may see its level,
and otherwise it is 404 and its identifier appears nowhere in the answer. A crawl of every page
reachable from the home page then checks that no identifier of a record the reader may not see,
and no unmasked citizen's number (without the personal grant), appears anywhere.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from repository.access import PUBLIC, Reader
from repository.config import Settings
from repository.namespaces import Minter
from repository.store import open_store
from tests.conftest import DEMO_USERS
from tests.web import client_as
from webapp import create_app

READERS = {"anonymous": PUBLIC} | {
    name: Reader(name, role, frozenset(grants)) for name, (role, grants) in DEMO_USERS.items()
}
LEVEL_OF_GRAPH = {"public": "01", "conditional": "02", "secret": "03"}
CRAWL_LIMIT = 120  # pages per reader
NO_SUCH = "H01.99999.XX.1900.99.9999999"  # an identifier no record has


@dataclass(frozen=True)
class Sample:
    iri: str
    identifier: str
    level: str
    kind: str  # record | hoso


@pytest.fixture(scope="module")
def app(demo_settings: Settings) -> Flask:
    return create_app(demo_settings)


@pytest.fixture(scope="module")
def samples(demo_settings: Settings) -> list[Sample]:
    """Two documents and one hồ sơ of each access level, read from the store directly."""
    store = open_store(demo_settings)
    minter = Minter(demo_settings.base_iri)
    found: list[Sample] = []
    for family, level in LEVEL_OF_GRAPH.items():
        for kind, cls, limit in (("record", "rico:Record", 2), ("hoso", "rico:RecordSet", 1)):
            rows = store.select(
                f"SELECT ?s ?id WHERE {{ GRAPH <{minter.records_graph(family)}> "
                f"{{ ?s a {cls} ; rico:identifier ?id }} }} ORDER BY ?s LIMIT {limit}"
            )
            found += [Sample(str(r["s"]), str(r["id"]), level, kind) for r in rows]
    assert {s.level for s in found} == {"01", "02", "03"}, "the demo needs all three levels"
    return found


@pytest.fixture(scope="module")
def citizen_numbers(demo_settings: Settings) -> set[str]:
    store = open_store(demo_settings)
    rows = store.select(
        'SELECT DISTINCT ?n WHERE { GRAPH ?g { ?ref kho:refKind "citizen" ; kho:registryId ?n } }'
    )
    numbers = {str(r["n"]) for r in rows}
    assert numbers, "the demo has citizens' numbers in its documents"
    return numbers


@pytest.fixture(scope="module")
def clients(app: Flask) -> dict[str, FlaskClient]:
    return {name: client_as(app, name) for name in READERS}


def local(iri: str, base: str) -> str:
    return "/" + iri.removeprefix(base)


def forbidden_markers(reader: Reader, samples: list[Sample], numbers: set[str]) -> set[str]:
    hidden = {s.identifier for s in samples if s.level not in reader.levels}
    hidden |= {s.iri for s in samples if s.level not in reader.levels}
    hidden |= {"/" + s.iri.split("/", 3)[3] + '"' for s in samples if s.level not in reader.levels}
    if not reader.sees_personal:
        hidden |= numbers
    return hidden


def assert_no_leak(body: str, markers: set[str], where: str) -> None:
    leaked = sorted(m for m in markers if m in body)
    assert not leaked, f"{where} shows {leaked[:3]}"


def resource_routes(sample: Sample, base: str) -> list[str]:
    path = local(sample.iri, base)
    key = path.rsplit("/", 1)[-1]
    svg = f"/provenance/{sample.kind}/{key}.svg"
    return [path, f"{path}.ttl", f"{path}.jsonld", f"{path}.nt", svg]


@pytest.mark.parametrize("name", list(READERS))
def test_resource_pages_and_rdf_follow_the_rule(
    name: str,
    clients: dict[str, FlaskClient],
    samples: list[Sample],
    citizen_numbers: set[str],
    demo_settings: Settings,
) -> None:
    reader, client = READERS[name], clients[name]
    markers = forbidden_markers(reader, samples, citizen_numbers)
    for sample in samples:
        visible = sample.level in reader.levels
        for route in resource_routes(sample, demo_settings.base_iri):
            response = client.get(route)
            where = f"{name} GET {route}"
            assert response.status_code == (200 if visible else 404), where
            body = response.get_data(as_text=True)
            if not visible:
                # Hidden is indistinguishable from absent: the same answer as for a made-up
                # identifier, but for the echo of what was asked.
                missing = client.get(route.replace(sample.identifier, NO_SUCH))
                assert missing.status_code == 404
                asked = body.replace(sample.identifier, "<asked>")
                assert asked == missing.get_data(as_text=True).replace(NO_SUCH, "<asked>"), where
                body = asked
            assert_no_leak(body, markers, where)
        response = client.get(f"/describe?iri={quote(sample.iri)}", follow_redirects=True)
        assert response.status_code == (200 if visible else 404), f"{name} describe {sample}"


@pytest.mark.parametrize("name", list(READERS))
def test_downloads_follow_the_rule(
    name: str,
    clients: dict[str, FlaskClient],
    samples: list[Sample],
    demo_settings: Settings,
) -> None:
    """Download links are found on the page a cleared reader sees; each answers the rule."""
    cleared = clients["cleared"]
    reader, client = READERS[name], clients[name]
    checked = 0
    for sample in (s for s in samples if s.kind == "record"):
        page = cleared.get(local(sample.iri, demo_settings.base_iri)).get_data(as_text=True)
        for link in sorted(set(re.findall(r'(?:href|data|src)="(/files/[^"]+)"', page))):
            response = client.get(link)
            response.close()  # a file answer streams; close it
            if sample.level not in reader.levels:
                assert response.status_code == 404, f"{name} GET {link}"
            else:
                assert response.status_code in (200, 404), f"{name} GET {link}"
            checked += 1
    assert checked, "record pages link their files under /files/"


@pytest.mark.parametrize("name", list(READERS))
def test_search_sparql_api_and_oai_follow_the_rule(
    name: str,
    clients: dict[str, FlaskClient],
    samples: list[Sample],
    citizen_numbers: set[str],
    demo_settings: Settings,
) -> None:
    reader, client = READERS[name], clients[name]
    markers = forbidden_markers(reader, samples, citizen_numbers)
    host = urlsplit(demo_settings.base_iri).hostname
    for sample in samples:
        path = local(sample.iri, demo_settings.base_iri)
        visible = sample.level in reader.levels
        checks = {
            "search": f"/records?q={quote(sample.identifier)}",
            "search json": f"/records?q={quote(sample.identifier)}&format=json",
            "sparql describe": "/sparql?format=json&query=" + quote(f"DESCRIBE <{sample.iri}>"),
            "sparql graph": "/sparql?format=json&query="
            + quote(f"SELECT ?g ?p ?o WHERE {{ GRAPH ?g {{ <{sample.iri}> ?p ?o }} }}"),
            "oai": f"/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:{host}:{path[1:]}",
        }
        for what, url in checks.items():
            accept = "text/html" if what == "search" else "application/json"
            body = client.get(url, headers={"Accept": accept}).get_data(as_text=True)
            if what.startswith("search") or what == "oai":  # echo what was asked, show nothing
                body = body.replace(sample.identifier, "<asked>")
            assert_no_leak(body, markers, f"{name} {what} {sample.identifier}")
            if not visible and what == "oai":
                assert "idDoesNotExist" in body, f"{name} {what} {sample.identifier}"
    # The collections list nothing the reader may not see.
    url = "/api/records?per_page=500"
    while url:
        response = client.get(url, headers={"Accept": "application/ld+json"})
        assert response.status_code == 200, url
        assert_no_leak(response.get_data(as_text=True), markers, f"{name} {url}")
        following = urlsplit((response.get_json() or {}).get("next") or "")
        url = following.path + ("?" + following.query if following.query else "")


@pytest.mark.parametrize("name", list(READERS))
def test_crawl_every_page_reachable_from_home(
    name: str,
    clients: dict[str, FlaskClient],
    samples: list[Sample],
    citizen_numbers: set[str],
) -> None:
    """Follow every local link from / (breadth first, up to CRAWL_LIMIT pages): nothing the
    reader may not see appears on any of them."""
    reader, client = READERS[name], clients[name]
    markers = forbidden_markers(reader, samples, citizen_numbers)
    seen, queue, fetched = {"/"}, deque(["/"]), 0
    skip = ("/logout", "/lang/", "/static/", "/files/", "/admin/users/")
    while queue and fetched < CRAWL_LIMIT:
        url = queue.popleft()
        response = client.get(url)
        fetched += 1
        body = response.get_data(as_text=True)
        assert_no_leak(body, markers, f"{name} crawl {url}")
        if response.mimetype != "text/html":
            continue
        for href in re.findall(r'href="(/[^"#]*)"', body):
            href = href.replace("&amp;", "&")
            if href not in seen and not href.startswith(skip):
                seen.add(href)
                queue.append(href)
    assert fetched > 10


def test_a_citizen_number_anywhere_in_an_answer_leaves_masked(
    clients: dict[str, FlaskClient], samples: list[Sample], demo_settings: Settings
) -> None:
    """A number in a place nobody masked on purpose (here: a flag's extracted value, shown on the
    archivists' flag list and in SPARQL answers) still reaches readers without the grant masked."""
    from datetime import UTC, datetime

    import pyoxigraph as ox

    from repository.dedup import flag_triples

    store = open_store(demo_settings)
    minter = Minter(demo_settings.base_iri)
    record = next(s.iri for s in samples if s.level == "01" and s.kind == "record")
    graph = ox.NamedNode(minter.records_graph("public", "curation"))
    number = "001099887766"
    quads = [
        ox.Quad(t.subject, t.predicate, t.object, graph)
        for t in flag_triples(
            record,
            "extraction-mismatch",
            field="subject",
            sheet_value="-",
            extracted_value=f"CCCD số {number}",
            at=datetime(2026, 11, 26, 9, tzinfo=UTC),
        )
    ]
    store.add_quads(quads)
    try:
        query = quote(f"SELECT ?v WHERE {{ GRAPH ?g {{ ?f <{KHO_EXTRACTED}> ?v }} }}")
        for name in ("archivist", "admin"):
            page = clients[name].get("/curation/flags").get_data(as_text=True)
            assert "001******766" in page and number not in page, name
            answer = clients[name].get(f"/sparql?format=json&query={query}")
            assert number not in answer.get_data(as_text=True), name
    finally:
        store.update_quads(quads, [])


KHO_EXTRACTED = "https://w3id.org/kho/ns#extractedValue"
