"""One contract for every store back-end: the embedded on-disk Oxigraph store, Oxigraph server and
Virtuoso 7 (real servers on 127.0.0.1, started once per session by tests/servers.py)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from repository.config import Settings
from repository.errors import KhoError
from repository.store import CommitUnit, Store, open_store
from repository.store_oxigraph import FollowerEngine, SharedEngine
from repository.store_sparql import STORE_GRAPH, SparqlEngine
from repository.store_wire import PartialAnswer, StoreTimeout, parse_answer
from tests.servers import Server, oxigraph_server, virtuoso_server

BACKENDS = ["embedded", "oxigraph-server", "virtuoso"]
BASE = "https://kho.example.org/"
PUBLIC, SECRET, GAZ = (
    f"{BASE}graph/records/public",
    f"{BASE}graph/records/secret",
    f"{BASE}graph/gazetteer",
)
XSD = "http://www.w3.org/2001/XMLSchema#"
P = ox.NamedNode(f"{BASE}p")
TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
JSON = "application/sparql-results+json"


@pytest.fixture(scope="session")
def oxigraph_srv() -> Iterator[Server]:
    # Closing the connection does not stop a query in Oxigraph server: its own limit does.
    with oxigraph_server(timeout_s=10) as server:
        yield server


@pytest.fixture(scope="session")
def virtuoso_srv() -> Iterator[Server]:
    with virtuoso_server(buffers=20_000) as server:
        yield server


def server_store(server: Server) -> Store:
    """A new Store object on `server` (not the process's shared one)."""
    engine = SparqlEngine(
        server.query_url,
        server.update_url,
        server.gsp_url,
        user=server.user or "",
        password=server.password or "",
        auth=server.auth or "basic",
        dialect=server.dialect,
    )
    return Store(None, engine=engine)


def wipe(store: Store) -> None:
    """Drop every graph Kho wrote (never a server's own graphs)."""
    for graph in [*store.named_graphs(), STORE_GRAPH.value]:
        store._engine.update(f"DROP SILENT GRAPH <{graph}>")  # noqa: SLF001
    store._engine._graphs = None  # noqa: SLF001


def make(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if kind == "embedded":  # as open_store opens it: shared with other processes
        path = tmp_path / f"store-{len(list(tmp_path.iterdir()))}"
        return Store(path, engine=SharedEngine(path))
    server = request.getfixturevalue(
        "oxigraph_srv" if kind == "oxigraph-server" else "virtuoso_srv"
    )
    store = server_store(server)
    wipe(store)
    return store


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return make(request.param, request, tmp_path)


def q(s: str, o: ox.NamedNode | ox.Literal, g: str, p: ox.NamedNode = P) -> ox.Quad:
    return ox.Quad(ox.NamedNode(f"{BASE}id/{s}"), p, o, ox.NamedNode(g))


def lit(value: str, dt: str | None = None, lang: str | None = None) -> ox.Literal:
    if lang:
        return ox.Literal(value, language=lang)
    return ox.Literal(value, datatype=ox.NamedNode(XSD + dt)) if dt else ox.Literal(value)


def seed(store: Store) -> None:
    store.add_quads(
        [
            q("a", lit("công khai"), PUBLIC),
            q("b", lit("mật"), SECRET),
            q("u", lit("Phường Hàng Bạc"), GAZ),
        ]
    )


def values(store: Store, graphs: list[str] | None) -> set[str]:
    rows = store.select("SELECT ?o WHERE { ?s <https://kho.example.org/p> ?o }", graphs=graphs)
    return {str(r["o"]) for r in rows}


# -- reading ---------------------------------------------------------------------------------------


def test_select_ask_construct_see_only_the_given_graphs(any_store: Store) -> None:
    store = any_store
    seed(store)
    assert values(store, None) == {"công khai", "mật", "Phường Hàng Bạc"}
    assert values(store, [PUBLIC, GAZ]) == {"công khai", "Phường Hàng Bạc"}
    assert values(store, []) == set()
    secret = "ASK WHERE { ?s ?p 'mật' }"
    assert store.ask(secret) and store.ask(secret, graphs=[SECRET])
    assert not store.ask(secret, graphs=[PUBLIC])
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(?p = <https://kho.example.org/p>) }"
    assert len(store.triples(construct)) == 3
    assert {t.object.value for t in store.triples(construct, graphs=[PUBLIC])} == {"công khai"}
    bound = store.select(
        "SELECT ?s WHERE { ?s <https://kho.example.org/p> ?o }",
        substitutions={"o": lit("mật")},
        graphs=[PUBLIC],
    )
    assert bound == []


def test_graph_variable_ranges_only_over_the_given_graphs(any_store: Store) -> None:
    store = any_store
    seed(store)
    sparql = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert {r["g"] for r in store.select(sparql, graphs=[PUBLIC, GAZ])} == {PUBLIC, GAZ}
    assert {r["g"] for r in store.select(sparql)} >= {PUBLIC, SECRET, GAZ}
    outside = f"SELECT ?o WHERE {{ GRAPH <{SECRET}> {{ ?s ?p ?o }} }}"
    assert store.select(outside, graphs=[PUBLIC]) == []
    assert store.select(outside, graphs=[SECRET]) == [{"o": "mật"}]


def test_bound_values_start_a_property_path(any_store: Store) -> None:
    """Kho binds values (substitutions) that start property paths, as record_documents does
    with `?me kho:defaultSuccessor+ ?d`; Virtuoso refuses a path started only by VALUES."""
    store = any_store
    nxt = ox.NamedNode(f"{BASE}next")
    store.add_quads([q("u1", ox.NamedNode(f"{BASE}id/u2"), GAZ, nxt)])
    store.add_quads([q("u2", ox.NamedNode(f"{BASE}id/u3"), GAZ, nxt)])
    rows = store.select(
        f"SELECT ?me ?d WHERE {{ ?me <{nxt.value}>+ ?d }} ORDER BY ?d",
        substitutions={"me": ox.NamedNode(f"{BASE}id/u1")},
    )
    assert rows == [
        {"me": f"{BASE}id/u1", "d": f"{BASE}id/u2"},
        {"me": f"{BASE}id/u1", "d": f"{BASE}id/u3"},
    ]
    counted = store.select(
        f"SELECT (COUNT(?d) AS ?n) WHERE {{ ?me <{nxt.value}>+ ?d }} GROUP BY ?me ORDER BY ?me",
        substitutions={"me": ox.NamedNode(f"{BASE}id/u1")},
    )
    assert counted == [{"n": 2}]
    # Several starts at once (repository/registry_links.py): the first step a plain pattern, so
    # the path starts from a variable a pattern binds, which Virtuoso accepts.
    several = store.select(
        f"SELECT DISTINCT ?me ?d WHERE {{ VALUES ?me {{ <{BASE}id/u1> <{BASE}id/u2> }} "
        f"?me <{nxt.value}> ?x . ?x <{nxt.value}>* ?d }} ORDER BY ?me ?d"
    )
    assert [(r["me"][-2:], r["d"][-2:]) for r in several] == [
        ("u1", "u2"),
        ("u1", "u3"),
        ("u2", "u3"),
    ]


def test_booleans_a_query_computes_are_booleans(any_store: Store) -> None:
    """Virtuoso answers them as xsd:integer 1/0 unless cast (store_wire.booleans_cast)."""
    store = any_store
    seed(store)
    rows = store.select(
        "SELECT ?o (!BOUND(?x) AS ?none) (?o = 'mật' AS ?secret) (true AS ?t) "
        "(CONTAINS(?o, 'khai') AS ?open) (STRLEN(?o) AS ?n) ?shown "
        "WHERE { ?s <https://kho.example.org/p> ?o OPTIONAL { ?s <https://kho.example.org/q> ?x } "
        "BIND((?o != 'mật') AS ?shown) }"
    )
    assert {r["n"]: (r["none"], r["secret"], r["t"], r["open"], r["shown"]) for r in rows} == {
        9: (True, False, True, True, True),
        3: (True, True, True, False, False),
        15: (True, False, True, False, True),
    }


def test_only_boolean_expressions_are_cast_for_virtuoso() -> None:
    from repository.store_wire import booleans_cast

    b = "<http://www.w3.org/2001/XMLSchema#boolean>"
    kept = (
        "SELECT (COUNT(*) AS ?n) (STR(?a) AS ?s) (?in AS ?w) (-?a AS ?m) "
        "(IF(?a > 1, 'x', 'y') AS ?i) (MAX(COALESCE(IF(?o = 1, ?t, 0), 0)) AS ?x) "
        "WHERE { ?a ?p 'BIND(?a = 1 AS ?b)' } GROUP BY ?a"
    )
    assert booleans_cast(kept) == kept
    assert booleans_cast("SELECT * WHERE { BIND(!BOUND(?to) AS ?now) }") == (
        f"SELECT * WHERE {{ BIND({b}(!BOUND(?to)) AS ?now) }}"
    )
    assert booleans_cast("SELECT ((?a < 3) AS ?x) (NOT EXISTS { ?a ?p ?o } AS ?e) WHERE {}") == (
        f"SELECT (({b}(?a < 3)) AS ?x) ({b}(NOT EXISTS {{ ?a ?p ?o }}) AS ?e) WHERE {{}}"
    )


def test_graphs_a_bulk_loader_brought_in_are_adopted(any_store: Store) -> None:
    store = any_store
    seed(store)
    adopted = store.adopt_graphs(BASE)
    assert {PUBLIC, SECRET, GAZ} <= set(adopted)
    assert not [g for g in adopted if not g.startswith(BASE)]


def test_named_graphs_and_counts(any_store: Store) -> None:
    store = any_store
    seed(store)
    store.add_quads([q("c", lit("thêm"), PUBLIC)])
    assert {PUBLIC, SECRET, GAZ} <= set(store.named_graphs())
    assert STORE_GRAPH.value not in store.named_graphs()
    assert store.count(PUBLIC) == 2 and store.count(SECRET) == 1
    assert store.count() == len(store) == 4
    assert len(list(store.quads(f"{BASE}id/a"))) == 1
    assert len(list(store.quads(None, P, None, PUBLIC))) == 2


LITERALS = [
    lit(unicodedata.normalize("NFC", "Ủy ban nhân dân quận Hoàn Kiếm")),
    lit("Hà Nội", lang="vi"),
    lit("Hanoi", lang="en"),
    lit("2020-01-31", "date"),
    lit("42", "integer"),
    lit("3.5", "decimal"),
    lit("true", "boolean"),
    lit("false", "boolean"),
    lit("2020-01-31T10:00:00Z", "dateTime"),
    lit('dòng 1\ndòng 2 "trích" \\ \t'),
    lit("đ" * 100_000 + "x" * 100_000),  # OCR text, 300 KB in UTF-8
    lit("😀 ngoài BMP"),
    lit("P10Y", "duration"),  # Virtuoso 7 would keep "120" (months)
]


def test_literals_round_trip(any_store: Store) -> None:
    store = any_store
    quads = [q("lit", o, PUBLIC, ox.NamedNode(f"{BASE}p{i}")) for i, o in enumerate(LITERALS)]
    store.add_quads(quads)
    assert set(store.graph_quads(PUBLIC)) == set(quads)
    rows = store.select(f"SELECT ?o WHERE {{ <{BASE}id/lit> <{BASE}p4> ?o }}")
    assert rows == [{"o": 42}]
    for i, value in ((6, True), (7, False)):  # Virtuoso's JSON says "1"/"0"
        rows = store.select(f"SELECT ?o WHERE {{ <{BASE}id/lit> <{BASE}p{i}> ?o }}")
        assert rows == [{"o": value}]
    found = store.select("SELECT ?s WHERE { ?s ?p 'Hà Nội'@vi }")
    assert found == [{"s": f"{BASE}id/lit"}]
    period = store.select(
        "SELECT ?p WHERE { ?s ?p 'P10Y'^^xsd:duration FILTER(isLiteral('P10Y'^^xsd:duration)) }"
    )
    assert period == [{"p": f"{BASE}p{len(LITERALS) - 1}"}]


# -- writing ---------------------------------------------------------------------------------------


def test_replace_graph_writes_only_the_difference(any_store: Store) -> None:
    store = any_store
    first = [q(f"u{i}", lit(f"Phường {i}"), GAZ) for i in range(50)]
    assert store.replace_graph(GAZ, first) == (50, 0)
    stamp = store._engine.stamp()  # noqa: SLF001
    assert store.replace_graph(GAZ, first) == (0, 0)
    assert store._engine.stamp() == stamp  # unchanged: nothing written  # noqa: SLF001
    changed = first[1:] + [q("u99", lit("Xã mới"), GAZ)]
    assert store.replace_graph(GAZ, changed) == (1, 1)
    assert set(store.graph_quads(GAZ)) == set(changed)
    assert store.replace_graph(GAZ, first) == (1, 1)


def test_a_failing_request_leaves_nothing(any_store: Store) -> None:
    store = any_store
    seed(store)
    before = set(store.quads())
    bad = ox.Literal("không phải số", datatype=ox.NamedNode(XSD + "integer"))
    # Oxigraph keeps an ill-typed literal as it is; Virtuoso refuses it. 2,000 quads: more than
    # one request to Virtuoso, whose chunks already applied are undone.
    many = [q(f"n{i}", lit(f"số {i}"), PUBLIC) for i in range(2000)]
    for add in ([q("n", lit("1"), PUBLIC), q("n", bad, PUBLIC)], [*many, q("n", bad, PUBLIC)]):
        try:
            store.update_quads([q("a", lit("công khai"), PUBLIC)], add)
        except KhoError:
            assert set(store.quads()) == before
        else:
            assert "virtuoso" not in store.backend
            assert set(store.quads()) >= set(add)
            store.update_quads(add, [q("a", lit("công khai"), PUBLIC)])
            assert set(store.quads()) == before
    store.update_quads([q("b", lit("mật"), SECRET)], [q("b", lit("mật mới"), SECRET)])
    assert values(store, [SECRET]) == {"mật mới"}


def test_commit_units_added_replaced_unchanged_keep_history(any_store: Store) -> None:
    store = any_store

    def unit(digest: str, title: str, flag: str) -> CommitUnit:
        return CommitUnit(
            key=f"{BASE}id/hs1",
            digest=digest,
            quads=[
                q("hs1", lit(title), PUBLIC, TITLE),
                q("flag1", lit(flag), PUBLIC),
            ],
            history=[q("ev1", lit(f"event {digest}"), PUBLIC)],
            keep={f"{BASE}id/flag1"},
        )

    stats = store.commit_units([unit("d1", "Hồ sơ 1", "cờ gốc")])
    assert stats.added == [f"{BASE}id/hs1"] and store.unit_digest(f"{BASE}id/hs1") == "d1"
    assert store.commit_units([unit("d1", "Hồ sơ 1", "cờ gốc")]).unchanged == [f"{BASE}id/hs1"]
    stats = store.commit_units([unit("d2", "Hồ sơ 1 (sửa)", "cờ mới")])
    assert stats.replaced == [f"{BASE}id/hs1"]
    titles = store.select("SELECT ?t WHERE { ?s <http://purl.org/dc/terms/title> ?t }")
    assert titles == [{"t": "Hồ sơ 1 (sửa)"}]
    assert values(store, [PUBLIC]) == {"cờ gốc", "event d1", "event d2"}  # kept; history grows
    assert store.unit_subjects(f"{BASE}id/hs1") == {f"{BASE}id/hs1", f"{BASE}id/flag1"}


@pytest.mark.parametrize("source,target", [(0, 1), (1, 2), (2, 0)])
def test_dump_loads_into_another_backend_identically(
    source: int, target: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    one = make(BACKENDS[source], request, tmp_path)
    seed(one)
    one.replace_graph(GAZ, [q(f"u{i}", lit(f"Phường {i}"), GAZ) for i in range(20)])
    one.add_quads(
        [q("lit", o, PUBLIC, ox.NamedNode(f"{BASE}p{i}")) for i, o in enumerate(LITERALS)]
    )
    first = tmp_path / "one.nq"
    n = one.dump(first)
    other = make(BACKENDS[target], request, tmp_path)
    assert other.load_dump(first) == n
    second = tmp_path / "two.nq"
    assert other.dump(second) == n
    read = lambda p: set(ox.parse(path=str(p), format=ox.RdfFormat.N_QUADS))  # noqa: E731
    assert read(first) == read(second) and len(read(first)) == n


def test_generation_sees_writes_of_another_store_object(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import repository.store as store_module

    monkeypatch.setattr(store_module, "STAMP_INTERVAL", 0.0)
    for kind in BACKENDS[1:]:
        writer = make(kind, request, tmp_path)
        reader = server_store(
            request.getfixturevalue("oxigraph_srv" if kind == "oxigraph-server" else "virtuoso_srv")
        )
        before = reader.generation
        assert reader.generation == before  # no write: no change
        writer.add_quads([q("g", lit("mới"), PUBLIC)])
        assert reader.generation > before
        monkeypatch.setattr("repository.store_sparql_writes.STAMPS_KEPT", 1)
        writer.add_quads([q("g2", lit("mới"), PUBLIC)])  # two stamps: folded into one
        seen = reader.generation
        assert writer._engine.stamp().startswith("1 ")  # type: ignore[union-attr]  # noqa: SLF001
        writer.add_quads([q("g3", lit("mới"), PUBLIC)])
        assert reader.generation > seen


def test_only_new_ingest_units_leave_the_change_generation(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kept pages may lag behind additions, never behind a change (webapp.page_cache): the store
    # says which writes only added new units, in this process and (servers) to another.
    import repository.store as store_module

    monkeypatch.setattr(store_module, "STAMP_INTERVAL", 0.0)

    def unit(n: int, digest: str = "d1") -> CommitUnit:
        quads = [q(f"hs{n}", lit(f"Hồ sơ {n} {digest}"), PUBLIC, TITLE)]
        return CommitUnit(f"{BASE}id/hs{n}", digest, quads, [], set())

    for kind in BACKENDS:
        writer = make(kind, request, tmp_path)
        readers = [writer]
        if kind == "embedded":  # a page worker's view of it
            readers.append(Store(writer.path, engine=FollowerEngine(writer.path)))  # type: ignore[arg-type]
        else:
            readers.append(
                server_store(
                    request.getfixturevalue(
                        "oxigraph_srv" if kind == "oxigraph-server" else "virtuoso_srv"
                    )
                )
            )

        def states(readers: list[Store] = readers) -> list[tuple[int, int]]:
            for r in readers:
                r.follow()
            return [(r.generation, r.change_generation) for r in readers]

        seen = states()
        assert writer.commit_units([unit(1), unit(2)]).added  # new units: only added
        now = states()
        for (gen, changes), (gen0, changes0) in zip(now, seen, strict=True):
            assert gen > gen0 and changes == changes0, kind
        writer.commit_units([unit(3), unit(1, "d2")])  # one new, one replaced: a change
        for (_, changes), (_, changes0) in zip(states(), now, strict=True):
            assert changes > changes0, kind
        now = states()
        writer.add_quads([q("other", lit("x"), PUBLIC)])  # any other write is a change
        for (_, changes), (_, changes0) in zip(states(), now, strict=True):
            assert changes > changes0, kind


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
