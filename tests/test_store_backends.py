"""One contract for every store back-end: the embedded on-disk Oxigraph store, Oxigraph server and
Virtuoso 7 (real servers on 127.0.0.1, started once per session: tests/conftest.py), reading and
writing. Opening a store, the SPARQL endpoint's pool on a server and an ingest end to end on each
server: tests/test_store_servers.py."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pyoxigraph as ox
import pytest

from repository.errors import KhoError
from repository.store import CommitUnit, Store
from repository.store_oxigraph import FollowerEngine
from repository.store_sparql import STORE_GRAPH
from tests.stores import (
    BACKENDS,
    BASE,
    GAZ,
    PUBLIC,
    SECRET,
    XSD,
    P,
    lit,
    make,
    q,
    seed,
    server_store,
    values,
)

TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
JSON = "application/sparql-results+json"


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return make(request.param, request, tmp_path)


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
