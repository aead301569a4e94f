"""Stores for the store tests (tests/test_store_backends.py, tests/test_store_servers.py): a new
Store on each back-end — the embedded on-disk Oxigraph store, Oxigraph server and Virtuoso 7 (real
servers on 127.0.0.1, started once per session: tests/conftest.py's oxigraph_srv and
virtuoso_srv) — and a few quads to read back."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from repository.store import Store
from repository.store_oxigraph import SharedEngine
from repository.store_sparql import STORE_GRAPH, SparqlEngine
from tests.servers import Server

BACKENDS = ["embedded", "oxigraph-server", "virtuoso"]
BASE = "https://kho.example.org/"
PUBLIC, SECRET, GAZ = (
    f"{BASE}graph/records/public",
    f"{BASE}graph/records/secret",
    f"{BASE}graph/gazetteer",
)
XSD = "http://www.w3.org/2001/XMLSchema#"
P = ox.NamedNode(f"{BASE}p")


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
