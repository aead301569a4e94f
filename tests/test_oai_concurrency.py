"""OAI-PMH under concurrency, as waitress serves it (8 threads through one app): list and
GetRecord requests from readers of every kind, while the store takes writes, all answer 200 with
well-formed OAI-PMH; and a signed-in page's audit entries land together, one per restricted
item."""

from __future__ import annotations

import threading
import uuid

import pyoxigraph as ox
import pytest
from flask import Flask, got_request_exception
from lxml import etree

from repository.config import Settings
from repository.namespaces import Minter
from repository.store import open_store
from repository.users import Users
from tests.web import client_as
from webapp import create_app

OAI = "{http://www.openarchives.org/OAI/2.0/}"
M = Minter("https://kho.example.org/")
THREADS = 8
REQUESTS = 4  # per thread
# At most this many records written while the harvesters run: an unbounded writer made the test
# feed itself on a loaded machine (slower pages -> more records -> slower pages: 9 minutes once).
WRITES = 60


@pytest.fixture(scope="module")
def app(demo_settings: Settings) -> Flask:
    return create_app(demo_settings)


def _identifiers(app: Flask) -> list[str]:
    root = etree.fromstring(
        client_as(app, "cleared").get("/oai?verb=ListIdentifiers&metadataPrefix=oai_dc").data
    )
    return [e.text or "" for e in root.iter(f"{OAI}identifier")]


def test_threads_harvest_while_the_store_takes_writes(app: Flask, demo_settings: Settings) -> None:
    identifiers = _identifiers(app)
    assert identifiers
    store = open_store(demo_settings)
    source = store.select(
        f"SELECT ?r WHERE {{ GRAPH <{M.records_graph('public')}> {{ ?r a rico:Record }} }} LIMIT 1"
    )[0]["r"]
    graph = ox.NamedNode(M.records_graph("public"))
    template = list(store.quads(ox.NamedNode(str(source)), None, None, graph))
    crashes: list[str] = []
    failures: list[str] = []
    added: list[ox.Quad] = []
    stop = threading.Event()

    def crashed(sender: Flask, exception: BaseException, **extra: object) -> None:
        crashes.append(repr(exception))

    def harvester(k: int) -> None:
        client = client_as(app, ("anonymous", "researcher", "cleared", "archivist")[k % 4])
        for i in range(REQUESTS):
            pick = (k + i) % 4
            if pick == 3:
                args = {
                    "verb": "GetRecord",
                    "metadataPrefix": ("oai_dc", "rdf")[i % 2],
                    "identifier": identifiers[(k * REQUESTS + i) % len(identifiers)],
                }
            else:
                verb = "ListIdentifiers" if pick == 0 else "ListRecords"
                args = {"verb": verb, "metadataPrefix": ("oai_dc", "rdf")[pick % 2]}
            response = client.get("/oai", query_string=args)
            if response.status_code != 200:
                failures.append(f"{args}: {response.status_code}")
                continue
            root = etree.fromstring(response.data)  # well-formed, or the test fails here
            codes = [e.get("code") for e in root.iter(f"{OAI}error")]
            if root.tag != f"{OAI}OAI-PMH" or set(codes) - {"idDoesNotExist"}:
                failures.append(f"{args}: {root.tag} {codes}")

    def writer() -> None:
        for _ in range(WRITES):
            if stop.is_set():
                break
            new = ox.NamedNode(f"{source}-concurrency-{uuid.uuid4().hex[:8]}")
            quads = [ox.Quad(new, q.predicate, q.object, graph) for q in template]
            store.add_quads(quads)
            added.extend(quads)
            stop.wait(0.02)

    got_request_exception.connect(crashed, app)
    threads = [threading.Thread(target=harvester, args=(k,)) for k in range(THREADS)]
    writing = threading.Thread(target=writer)
    try:
        writing.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
    finally:
        stop.set()
        writing.join(timeout=60)
        got_request_exception.disconnect(crashed, app)
        store.update_quads(added, [])  # the demo store is reused between runs
    assert not any(t.is_alive() for t in threads)
    assert not crashes and not failures, (crashes, failures)
    assert added, "the writer never wrote"


def test_a_page_of_restricted_items_is_audited_item_by_item(
    app: Flask, demo_settings: Settings
) -> None:
    name = f"oai-audit-{uuid.uuid4().hex[:8]}"
    users = Users(demo_settings.users_path)  # type: ignore[arg-type]
    from tests.conftest import PASSWORD

    users.add(name, PASSWORD, "researcher")
    client = client_as(app, name)
    root = etree.fromstring(client.get("/oai?verb=ListRecords&metadataPrefix=oai_dc").data)
    shown = {e.text for e in root.iter(f"{OAI}identifier")}
    conditional = {
        i
        for i in shown
        if any(
            M.records_graph("conditional") == str(r["g"])
            for r in open_store(demo_settings).select(
                "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?i a ?c } }",
                substitutions={"i": ox.NamedNode(M.from_path(str(i).split(":", 2)[2]))},
            )
        )
    }
    assert conditional, "the demo's first page holds conditional items"
    log = users.audit_log(limit=500, actor=name, action="read-restricted")
    audited = {"oai:kho.example.org:" + M.local_path(e.target) for e in log}  # type: ignore[operator]
    assert audited == conditional
    assert all("OAI-PMH ListRecords (mode 02)" == e.detail for e in log)
