"""Personal data (issue 5 §4), proved for every surface on the demo repository after its links
were verified against the registry simulator: a citizen's identification number is in no quad
outside the */personal graphs and in no IRI; in neither search index; in no log record, audit
entry, registry cache or ingest report; in no OAI-PMH record for any reader; in no page, RDF,
SPARQL answer, API page, search result or downloaded text for readers without the `personal`
grant — and the cleared reader does see it on the record page, with an audit entry.

The numbers are read from the personal graphs (the only place they may be).
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from whoosh import index as windex

from harvesters.demo_batch import MALFORMED_CITIZEN
from harvesters.registries import Registries
from repository import record_index
from repository.access import PUBLIC, Reader
from repository.batch import REPORT_JSON, REPORT_TEXT
from repository.config import Settings
from repository.ingest import ingest_batch
from repository.namespaces import Minter, verification_concept
from repository.registry_verify import verify
from repository.store import Store, open_store
from repository.users import Users
from tests.conftest import DEMO_USERS
from tests.registry_sim_server import running_simulator, sim_settings
from tests.web import client_as
from webapp import create_app

READERS = {"anonymous": PUBLIC} | {
    name: Reader(name, role, frozenset(grants)) for name, (role, grants) in DEMO_USERS.items()
}
UNCLEARED = [name for name, r in READERS.items() if not r.sees_personal]
OAI = "{http://www.openarchives.org/OAI/2.0/}"
_NUMBERS = """
SELECT DISTINCT ?n WHERE { GRAPH ?g { ?l kho:refKind "citizen" ; kho:registryId ?n } }"""
_CITING = """
SELECT DISTINCT ?s ?target WHERE { GRAPH ?g { ?s dct:references ?l . ?l kho:refKind "citizen" ;
  kho:linkTarget ?target } }"""


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with running_simulator() as url:
        yield url


def checked_settings(demo_settings: Settings, url: str) -> Settings:
    """The demo's settings with the registries at the simulator (same data dir and keys)."""
    return sim_settings(url, like=demo_settings)


def run_verify(store: Store, settings: Settings, status: str | None = None) -> object:
    registries = Registries(settings)
    try:
        return verify(store, settings, registries, status=status)
    finally:
        registries.close()


@pytest.fixture(scope="module")
def verified(demo_settings: Settings, sim: str) -> Store:
    """The demo store with its links checked (once; the demo fixture may have done it)."""
    store = open_store(demo_settings)
    unchecked = verification_concept("unchecked")
    if not store.ask(
        "ASK WHERE { GRAPH ?g { ?l kho:verificationStatus ?s FILTER(?s != ?u) } }",
        substitutions={"u": ox.NamedNode(unchecked)},
    ):
        run_verify(store, checked_settings(demo_settings, sim))
    return store


@pytest.fixture(scope="module")
def numbers(verified: Store) -> set[str]:
    found = {str(r["n"]) for r in verified.select(_NUMBERS)}
    assert len(found) >= 3, "the demo cites citizens (texts and sheet columns)"
    return found


@pytest.fixture(scope="module")
def citing(verified: Store) -> dict[str, str]:
    """Record or hồ sơ IRI -> the pseudonymous IRI of a citizen it cites."""
    return {str(r["s"]): str(r["target"]) for r in verified.select(_CITING)}


@pytest.fixture(scope="module")
def app(demo_settings: Settings, verified: Store) -> Flask:
    return create_app(demo_settings)


@pytest.fixture(scope="module")
def clients(app: Flask) -> dict[str, FlaskClient]:
    return {name: client_as(app, name) for name in READERS}


def leaks(text: str, numbers: set[str]) -> list[str]:
    return sorted(n for n in numbers if n in text)


def local(iri: str, base: str) -> str:
    return "/" + iri.removeprefix(base)


# -- (a) the store -------------------------------------------------------------------------------


def test_numbers_only_in_personal_graphs_and_in_no_iri(
    verified: Store, numbers: set[str], demo_settings: Settings
) -> None:
    pattern = re.compile("|".join(map(re.escape, numbers)))
    outside, in_iris, odd = [], [], []
    quads = 0
    for q in verified.quads():
        quads += 1
        graph = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        personal = graph.endswith("/personal")
        for term in (q.subject, q.predicate, q.object, q.graph_name):
            value = getattr(term, "value", "")
            if not pattern.search(value):
                continue
            if isinstance(term, ox.NamedNode):
                in_iris.append(value)
            elif not personal:
                outside.append(str(q))
            elif q.predicate.value != "https://w3id.org/kho/ns#registryId":
                odd.append(str(q))
    assert quads > 100_000
    assert not in_iris, in_iris[:3]
    assert not outside, outside[:3]
    assert not odd, odd[:3]  # in a personal graph, only as a link's kho:registryId


# -- (b) the search indexes ----------------------------------------------------------------------


@pytest.mark.parametrize("which", ["records", "units"])
def test_no_number_in_the_search_indexes(
    which: str, verified: Store, numbers: set[str], demo_settings: Settings
) -> None:
    record_index.ensure_current(verified, demo_settings)
    path = record_index.index_path(demo_settings) if which == "records" else None
    ix = windex.open_dir(str(path or demo_settings.index_path))
    stored = terms = 0
    with ix.searcher() as searcher:
        reader = searcher.reader()
        for fields in reader.all_stored_fields():
            stored += 1
            assert not leaks(repr(fields), numbers), fields.get("iri")
        for name in ix.schema.names():
            if not ix.schema[name].indexed:
                continue
            for term in reader.lexicon(name):
                terms += 1
                text = term.decode("utf-8", "replace") if isinstance(term, bytes) else str(term)
                assert not leaks(text, numbers), f"{which} index, field {name}"
    assert stored and terms


# -- (c) logs, the audit log, the registry cache, the ingest reports -----------------------------


def files_text(*paths: Path) -> str:
    """Every byte of these files (SQLite with its journal files), as text."""
    out = []
    for path in paths:
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")):
            if p.exists():
                out.append(p.read_bytes().decode("latin-1"))
    return "\n".join(out)


def sweep(client: FlaskClient, citing: dict[str, str], base: str) -> None:
    """The pages, RDF, search, OAI and SPARQL answers a reader may ask about cited citizens."""
    for iri, person in citing.items():
        for route in (local(iri, base), local(iri, base) + ".ttl", local(person, base)):
            client.get(route)
    client.get("/records?q=CCCD")
    client.get("/registries")
    client.get("/oai?verb=ListRecords&metadataPrefix=oai_dc")


def test_no_number_in_logs_reports_or_caches(
    caplog: pytest.LogCaptureFixture,
    verified: Store,
    numbers: set[str],
    citing: dict[str, str],
    clients: dict[str, FlaskClient],
    demo_settings: Settings,
    sim: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    batches = sorted((Path(demo_settings.data_dir) / "demo-batches").iterdir())
    for folder in batches:  # the whole pipeline again (nothing changes: same batches)
        ingest_batch(folder, verified, demo_settings, jobs=1)
    report = run_verify(verified, checked_settings(demo_settings, sim), status="all")
    for client in clients.values():
        sweep(client, citing, demo_settings.base_iri)
    markers = numbers | {MALFORMED_CITIZEN}
    logged = (
        "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
        + caplog.text
    )
    assert caplog.records, "ingest, verify and the web app log something"
    assert not leaks(logged, markers)
    assert not leaks(repr(report.to_json()) + report.text(), markers)  # type: ignore[attr-defined]
    cache = files_text(Path(demo_settings.registry_cache_path))  # type: ignore[arg-type]
    assert cache and not leaks(cache, markers)
    reports = [f / name for f in batches for name in (REPORT_JSON, REPORT_TEXT)]
    body = "\n".join(p.read_text(encoding="utf-8") for p in reports)
    assert not leaks(body, markers)
    assert MALFORMED_CITIZEN[:3] + "*****" + MALFORMED_CITIZEN[-3:] in body  # rejected, masked
    assert not leaks(repr(audit_rows(demo_settings)), markers)


def audit_rows(settings: Settings) -> list[tuple[object, ...]]:
    """Every row of the users database: users, sign-in attempts, the audit log."""
    with sqlite3.connect(settings.users_path) as db:  # type: ignore[arg-type]
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [row for t in tables for row in db.execute(f"SELECT * FROM {t}")]  # noqa: S608


def forget_audit_after(settings: Settings, last: int) -> None:
    """Remove the audit entries after id `last` (a test's own), so no other test sees them."""
    with sqlite3.connect(settings.users_path) as db:  # type: ignore[arg-type]
        db.execute("DELETE FROM audit WHERE id > ?", (last,))


def test_queries_naming_a_number_are_audited_without_it(
    clients: dict[str, FlaskClient], numbers: set[str], demo_settings: Settings
) -> None:
    number = sorted(numbers)[0]
    query = f'SELECT ?n WHERE {{ ?l ?p ?n FILTER(CONTAINS(STR(?n), "{number}")) }}'
    cleared = clients["cleared"]
    last = max((int(r[0]) for r in audit_rows_of(demo_settings)), default=0)
    try:
        answer = cleared.get(f"/sparql?format=json&query={quote(query)}").get_data(True)
        assert number in answer
        cleared.get(f"/api/records?q={number}")
        assert not leaks(repr(audit_rows(demo_settings)), {number})
    finally:
        forget_audit_after(demo_settings, last)


def audit_rows_of(settings: Settings) -> list[tuple[object, ...]]:
    with sqlite3.connect(settings.users_path) as db:  # type: ignore[arg-type]
        return db.execute("SELECT * FROM audit").fetchall()


# -- (d) OAI-PMH ---------------------------------------------------------------------------------


def harvest(client: FlaskClient) -> Iterator[str]:
    """Every ListRecords page in every metadata format the provider offers."""
    formats = ET.fromstring(client.get("/oai?verb=ListMetadataFormats").data)
    prefixes = [e.text for e in formats.iter(f"{OAI}metadataPrefix")]
    assert {"oai_dc", "rdf"} <= set(prefixes)
    for prefix in prefixes:
        url = f"/oai?verb=ListRecords&metadataPrefix={prefix}"
        while url:
            body = client.get(url).get_data(as_text=True)
            yield body
            token = ET.fromstring(body).find(f".//{OAI}resumptionToken")
            more = token is not None and bool(token.text)
            url = f"/oai?verb=ListRecords&resumptionToken={quote(token.text)}" if more else ""


@pytest.mark.parametrize("name", list(READERS))
def test_no_number_in_any_oai_record(
    name: str, clients: dict[str, FlaskClient], numbers: set[str]
) -> None:
    pages = 0
    for body in harvest(clients[name]):
        pages += 1
        assert not leaks(body, numbers), f"{name}: OAI-PMH page {pages}"
    assert pages >= 2


# -- (e) pages, RDF, SPARQL, API, search, downloads for readers without the grant ----------------


def pdf_text(data: bytes, tmp: Path) -> str:
    path = tmp / "download.pdf"
    path.write_bytes(data)
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=False)
    return done.stdout.decode("utf-8", "replace")


@pytest.mark.parametrize("name", UNCLEARED)
def test_no_number_on_any_surface_without_the_grant(
    name: str,
    clients: dict[str, FlaskClient],
    numbers: set[str],
    citing: dict[str, str],
    demo_settings: Settings,
    tmp_path: Path,
) -> None:
    client, base = clients[name], demo_settings.base_iri
    cleared = clients["cleared"]
    checked: list[str] = []

    def check(url: str, accept: str = "text/html", asked: str = "") -> str:
        response = client.get(url, headers={"Accept": accept})
        body = response.get_data()
        text = (
            pdf_text(body, tmp_path)
            if response.mimetype == "application/pdf"
            else body.decode("utf-8", "replace")
        )
        if asked:  # the reader's own query echoed (the language switch's next=): not a leak
            text = text.replace(asked, "<asked>")
        assert not leaks(text, numbers), f"{name} GET {url}"
        checked.append(url)
        return text

    for iri, person in citing.items():
        path = local(iri, base)
        for suffix in ("", ".ttl", ".jsonld", ".nt"):
            check(path + suffix)
        check(path, "application/ld+json")
        check(local(person, base))
        page = cleared.get(path).get_data(as_text=True)
        for link in sorted(set(re.findall(r'(?:href|data|src)="(/files/[^"]+)"', page))):
            check(link)
    for number in sorted(numbers):  # not indexed: nothing is found by it
        check(f"/records?q={number}", asked=number)
        check(f"/records?q={number}&format=json", "application/json", asked=number)
        found = client.get(
            f"/records?q={number}&format=json", headers={"Accept": "application/json"}
        ).get_json()
        assert found["total"] == 0, f"{name} finds a record by a citizen's number"
    check("/records?q=CCCD")
    check("/registries")
    # SPARQL over every graph the reader may see: no value holds a number (the answer is not
    # just masked: it has no row)
    where = f'?s ?p ?o FILTER(REGEX(STR(?o), "{"|".join(sorted(numbers))}"))'
    for query in (
        f"SELECT ?s ?p ?o WHERE {{ GRAPH ?g {{ {where} }} }}",
        f"SELECT ?s ?p ?o WHERE {{ {where} }}",
    ):
        response = client.get(f"/sparql?format=json&query={quote(query)}")
        assert response.status_code == 200, f"{name} SPARQL {response.status_code}"
        answer = json.loads(response.get_data())
        assert answer["results"]["bindings"] == [], f"{name} SPARQL"
    url = "/api/records?per_page=500"
    while url:
        response = client.get(url, headers={"Accept": "application/ld+json"})
        assert not leaks(response.get_data(as_text=True), numbers), f"{name} {url}"
        following = urlsplit((response.get_json() or {}).get("next") or "")
        url = following.path + ("?" + following.query if following.query else "")
    assert any(u.startswith("/files/") for u in checked), "downloads were checked"


# -- (f) the cleared reader ----------------------------------------------------------------------


def test_the_cleared_reader_sees_the_number_and_it_is_audited(
    clients: dict[str, FlaskClient],
    verified: Store,
    citing: dict[str, str],
    demo_settings: Settings,
) -> None:
    minter = Minter(demo_settings.base_iri)
    record = next(iri for iri in sorted(citing) if "/id/record/" in iri)
    number = str(
        verified.select(
            "SELECT ?n WHERE { GRAPH ?g { ?r dct:references ?l . ?l kho:registryId ?n ; "
            'kho:refKind "citizen" } }',
            substitutions={"r": ox.NamedNode(record)},
        )[0]["n"]
    )
    users = Users(demo_settings.users_path)  # type: ignore[arg-type]
    before = {e.id for e in users.audit_log(limit=10_000, actor="cleared")}
    page = clients["cleared"].get(local(record, minter.base)).get_data(as_text=True)
    assert number in page
    for name in UNCLEARED:
        assert number not in clients[name].get(local(record, minter.base)).get_data(True)
    new = [e for e in users.audit_log(limit=10_000, actor="cleared") if e.id not in before]
    assert any(e.target == record and "personal" in e.detail for e in new), new
    assert not leaks(repr(new), {number})
