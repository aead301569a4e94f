"""Opening a store (settings, unreachable and slow servers), the SPARQL endpoint's pool on a
server, and one demo batch ingested end to end on Oxigraph server and on Virtuoso 7, compared
quad for quad with the embedded store (real servers on 127.0.0.1: tests/conftest.py). The store
contract itself: tests/test_store_backends.py."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from repository.config import Settings
from repository.errors import KhoError
from repository.store import Store, open_store
from repository.store_sparql import SparqlEngine
from repository.store_wire import PartialAnswer, StoreTimeout, parse_answer
from tests.servers import Server, oxigraph_server
from tests.stores import BACKENDS, BASE, PUBLIC, SECRET, lit, make, q, seed, server_store, wipe

JSON = "application/sparql-results+json"


# -- opening ---------------------------------------------------------------------------------------


def test_bad_store_setting_says_the_accepted_forms(tmp_path: Path) -> None:
    with pytest.raises(KhoError, match="oxigraph:PATH.*sparql:QUERY_URL,UPDATE_URL,GSP_URL"):
        open_store(Settings(data_dir=tmp_path, store="mysql://localhost"))
    with pytest.raises(KhoError, match="sparql:QUERY_URL"):
        open_store(Settings(data_dir=tmp_path, store="sparql:http://127.0.0.1:1/query"))


def test_unreachable_server_names_the_url(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/sparql"
    spec = f"sparql:{url},http://127.0.0.1:9/update,http://127.0.0.1:9/store"
    with pytest.raises(
        KhoError,
        match=r"Cannot reach the triple store at http://127\.0\.0\.1:9/sparql.*server runs",
    ):
        open_store(Settings(data_dir=tmp_path, store=spec, store_timeout=5))


def test_a_query_the_server_stops_midway_is_a_clear_503() -> None:
    # Oxigraph server writes the results' head, evaluates, and at its --timeout-s appends "The
    # SPARQL operation has been cancelled" to what it sent (CI once showed this as a 500).
    with oxigraph_server(timeout_s=1) as server:
        engine = SparqlEngine(server.query_url, server.update_url, server.gsp_url)
        store = Store(None, engine=engine)
        triples = "".join(f'<{BASE}s{i}> <{BASE}p{i % 7}> "{i}" .\n' for i in range(20_000))
        store.load_ntriples(triples, PUBLIC)
        heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d FILTER(STR(?b) = STR(?d)) }"
        with pytest.raises(StoreTimeout, match="time limit.*cancelled") as stopped:
            store.select(heavy)
        assert stopped.value.status == 503
    with pytest.raises(PartialAnswer, match="cut short.*Oops"):
        parse_answer(b'{"head":{"vars":["n"]},"results":{"bindings":[Oops', JSON, "SELECT")
    parse_answer(b'{"head":{"vars":["n"]},"results":{"bindings":[]}}\n', JSON, "SELECT")


def test_a_server_too_slow_to_answer_a_query_is_a_clear_503() -> None:
    # A real HTTP server on 127.0.0.1 that answers at once, but sleeps on a query saying SLOW.
    import http.server
    import threading
    import time
    from urllib.parse import parse_qs

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            query = form["query"][0]
            if "SLOW" in query:
                time.sleep(3)
            body = b'{"head": {}, "boolean": true}'
            if "SELECT" in query:  # the graphs Kho wrote: none
                body = b'{"head": {"vars": ["g"]}, "results": {"bindings": []}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        engine = SparqlEngine(f"{base}/query", f"{base}/update", f"{base}/store", timeout=1)
        with pytest.raises(StoreTimeout, match=r"did not answer within 1 s.*KHO_STORE_TIMEOUT"):
            Store(None, engine=engine).ask('ASK { ?s ?p "SLOW" }')
    finally:
        server.shutdown()
        server.server_close()


def test_open_store_picks_the_backend_from_settings(
    oxigraph_srv: Server, virtuoso_srv: Server, tmp_path: Path
) -> None:
    embedded = open_store(Settings(data_dir=tmp_path))
    assert (
        embedded.backend == f"oxigraph:{(tmp_path / 'store').resolve()}"
        or "oxigraph:" in embedded.backend
    )
    for server, dialect in ((oxigraph_srv, "oxigraph"), (virtuoso_srv, "virtuoso")):
        settings = Settings(
            data_dir=tmp_path, store=server.spec, **server.settings() | {"store_dialect": "auto"}
        )  # type: ignore[arg-type]
        store = open_store(settings)
        assert store is open_store(settings)
        assert store.backend == f"sparql:{server.query_url} ({dialect})"


# -- the SPARQL endpoint's pool on a server --------------------------------------------------------


@pytest.mark.parametrize("kind", BACKENDS[1:])
def test_remote_pool_caps_masks_and_stops(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from repository.query_pool import QueryJob, QueryTimeout, RemoteQueryPool

    store = make(kind, request, tmp_path)
    store.add_quads([q(f"r{i}", lit(f"CCCD 001098012345 số {i}"), PUBLIC) for i in range(2000)])
    pool = RemoteQueryPool(store._engine, workers=1, timeout=3)  # type: ignore[arg-type]  # noqa: SLF001
    select = "SELECT ?s ?o WHERE { ?s <https://kho.example.org/p> ?o }"
    answer = pool.run(QueryJob(select, (PUBLIC,), (PUBLIC,), "json", 50))
    assert answer.form == "SELECT" and answer.rows == 50 and answer.truncated
    assert b"001098012345" not in answer.body and "Đ".encode() not in answer.body
    graph = pool.run(QueryJob("CONSTRUCT WHERE { ?s ?p ?o }", (PUBLIC,), (), "ntriples", 10))
    assert graph.form == "GRAPH" and graph.rows == 10 and graph.truncated
    hidden = pool.run(QueryJob(select, (SECRET,), (SECRET,), "json", 50))
    assert hidden.rows == 0
    ask = pool.run(QueryJob("ASK { ?s ?p ?o }", (SECRET,), (), "json", 1))
    assert b"false" in ask.body
    named = f"SELECT ?s FROM <{SECRET}> WHERE {{ ?s ?p ?o }}"
    # The protocol's dataset (the reader's graphs) replaces the query's FROM; Virtuoso would
    # read the FROM instead, so the clause is left out of what it is sent.
    answered = pool.run(QueryJob(named, (PUBLIC,), (PUBLIC,), "json", 10))
    assert answered.form == "SELECT" and answered.rows == 10
    assert pool.run(QueryJob(named, (), (), "json", 10)).rows == 0
    endless = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    with pytest.raises(QueryTimeout):
        pool.run(QueryJob(endless, (PUBLIC,), (), "json", 10))


# -- end to end: a real slice of Hà Nội, one demo batch ingested on each server ------------------

NOW = "2026-11-26T09:00:00+07:00"


@pytest.fixture(scope="session")
def hanoi(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vocabulary and everything within two hops of the demo records, from the demo store:
    enough of the harvested units and agencies for one demo batch to ingest."""
    demo = open_store(demo_settings.store_path)  # type: ignore[arg-type]
    keep = {f"{BASE}graph/{g}" for g in ("agencies", "gazetteer", "registries")}
    rows = demo.select(
        "SELECT DISTINCT ?x WHERE { GRAPH ?g { ?r ?p ?x FILTER(isIRI(?x)) } "
        f'FILTER(STRSTARTS(STR(?g), "{BASE}graph/records/")) }}'
    )
    frontier, seen, quads = (
        {str(r["x"]) for r in rows},
        set(),
        list(demo.graph_quads(f"{BASE}graph/vocabulary")),
    )
    for _hop in range(2):
        found: set[str] = set()
        for iri in frontier - seen:
            seen.add(iri)
            for quad in demo.quads(iri):
                if quad.graph_name.value in keep:  # type: ignore[union-attr]
                    quads.append(quad)
                    if isinstance(quad.object, ox.NamedNode):
                        found.add(quad.object.value)
        frontier = found
    path = tmp_path_factory.mktemp("hanoi") / "hanoi.nq"
    path.write_bytes(ox.serialize(quads, format=ox.RdfFormat.N_QUADS))
    return path


def ingest_on(
    store_spec: dict[str, object], hanoi: Path, demo_settings: Settings, data_dir: Path
) -> tuple[Settings, Store, object]:
    import shutil
    from datetime import datetime

    from repository.ingest import ingest_batch

    # The same key, so that citizens' pseudonymous IRIs are the same in every store.
    shutil.copy(Path(demo_settings.data_dir) / "pseudonym-key", data_dir / "pseudonym-key")
    settings = Settings(data_dir=data_dir, today=demo_settings.today, **store_spec)  # type: ignore[arg-type]
    store = open_store(settings)
    if store.path is None:
        wipe(store)
    store.load_dump(hanoi)
    shutil.copytree(demo_settings.index_path, settings.index_path)  # type: ignore[arg-type]
    batch = Path(demo_settings.data_dir) / "demo-batches" / "lo-01-tt05"
    report = ingest_batch(
        batch, store, settings, jobs=2, ocr=False, now=datetime.fromisoformat(NOW)
    )
    return settings, store, report


@pytest.fixture(scope="session")
def embedded_reference(
    hanoi: Path, demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The same batch on the embedded store: its dump is what every server must hold."""
    data_dir = tmp_path_factory.mktemp("e2e-embedded")
    _settings, store, report = ingest_on({}, hanoi, demo_settings, data_dir)
    assert report.hoso_added > 0 and not report.rejected  # type: ignore[attr-defined]
    store.dump(data_dir / "dump.nq")
    return data_dir / "dump.nq"


@pytest.mark.parametrize("kind", ["oxigraph-server", "virtuoso"])
def test_end_to_end_on_a_server(
    kind: str,
    hanoi: Path,
    demo_settings: Settings,
    embedded_reference: Path,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    from repository import record_detail
    from repository.access import visible_graphs
    from repository.namespaces import Minter
    from webapp import create_app
    from webapp.sparql import query_pool

    server: Server = request.getfixturevalue(
        "oxigraph_srv" if kind == "oxigraph-server" else "virtuoso_srv"
    )
    spec = {"store": server.spec, **server.settings()}
    settings, store, report = ingest_on(spec, hanoi, demo_settings, tmp_path)
    assert report.hoso_added > 0 and not report.rejected  # type: ignore[attr-defined]
    assert kind.split("-")[0] in store.backend

    # a record's page data
    minter = Minter(settings.base_iri)
    public = store.select(
        "SELECT ?r WHERE { ?r a rico:Record ; kho:accessLevel khoc:mode-01 } ORDER BY ?r LIMIT 1",
        graphs=[f"{BASE}graph/records/public"],
    )[0]["r"]
    detail = record_detail.detail(store, minter, str(public), store.named_graphs())
    assert detail.kind == "record" and detail.graph.endswith("records/public") and detail.props

    # the SPARQL endpoint, for an anonymous reader: public graphs only
    app = create_app(settings)
    try:
        client = app.test_client()
        seen = client.get(
            "/sparql",
            query_string={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert seen.status_code == 200, seen.get_data(as_text=True)
        graphs = {b["g"]["value"] for b in seen.get_json()["results"]["bindings"]}
        anonymous = set(visible_graphs(store.named_graphs(), minter))
        assert graphs and graphs <= anonymous
        assert not any("secret" in g or "conditional" in g or "personal" in g for g in graphs)
        page = client.get(
            f"/sparql?query=ASK%7B%3C{public}%3E%3Fp%3Fo%7D",
            headers={"Accept": "application/sparql-results+json"},
        )
        assert page.get_json()["boolean"] is True
    finally:
        query_pool(app).close()

    # the same quads as the embedded store holding the same content
    store.dump(tmp_path / "dump.nq")
    read = lambda p: set(ox.parse(path=str(p), format=ox.RdfFormat.N_QUADS))  # noqa: E731
    assert read(tmp_path / "dump.nq") == read(embedded_reference)


def test_kho_store_says_which_backend(
    virtuoso_srv: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from repository.cli import main

    store = server_store(virtuoso_srv)
    wipe(store)
    seed(store)
    monkeypatch.setenv("KHO_DATA_DIR", str(tmp_path))
    for key, value in virtuoso_srv.env().items():
        monkeypatch.setenv(key, value)
    assert main(["store"]) == 0
    out = capsys.readouterr().out
    assert f"sparql:{virtuoso_srv.query_url} (virtuoso)" in out and f"1  {PUBLIC}" in out
    monkeypatch.setenv("KHO_STORE", "sparql:http://127.0.0.1:9/q")
    assert main(["store"]) == 1
    assert "oxigraph:PATH" in capsys.readouterr().err
