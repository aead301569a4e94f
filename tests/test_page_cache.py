"""Kept pages (webapp.page_cache): a second reader of the same audience gets the first one's
answer from memory, but with their own account links and CSRF token, their own audit entries,
and never an answer of another audience; a write to the store makes every kept page unreachable.
The access matrix (tests/test_access_matrix.py) runs every role over one app, so it crosses the
cache too."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pyoxigraph as ox
import pytest
from flask import Flask

from repository.config import Settings
from repository.namespaces import Minter
from repository.store import CommitUnit, open_store
from repository.users import Users
from tests.conftest import PASSWORD
from tests.web import client_as
from webapp import create_app
from webapp.page_cache import SLOT, Kept, PageCache

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def app(demo_settings: Settings) -> Flask:
    return create_app(demo_settings)


@pytest.fixture(scope="module")
def restricted(demo_settings: Settings) -> str:
    """The path of a conditional-access record (level 02: researchers see it, the public not)."""
    minter = Minter(demo_settings.base_iri)
    rows = open_store(demo_settings).select(
        f"SELECT ?s WHERE {{ GRAPH <{minter.records_graph('conditional')}> "
        "{ ?s a rico:Record } } ORDER BY ?s LIMIT 1"
    )
    return "/" + str(minter.local_path(str(rows[0]["s"])))


def cache(app: Flask) -> PageCache:
    return app.extensions["kho-pages"]  # type: ignore[no-any-return]


def test_a_second_reader_gets_the_kept_page(app: Flask) -> None:
    first = client_as(app, "anonymous").get("/browse")
    hits = cache(app).hits
    second = client_as(app, "anonymous").get("/browse")
    assert second.status_code == first.status_code == 200
    assert cache(app).hits == hits + 1
    assert second.get_data() == first.get_data()
    assert SLOT not in second.get_data(as_text=True)
    assert "Set-Cookie" not in second.headers or "kho_lang" not in second.headers["Set-Cookie"]
    assert second.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]


def test_each_reader_gets_their_own_account_links(app: Flask, demo_settings: Settings) -> None:
    users = Users(demo_settings.users_path)  # type: ignore[arg-type]
    known = {u.name for u in users.list()}
    for name in ("kept-a", "kept-b"):
        if name not in known:
            users.add(name, PASSWORD, "researcher", set())
    a, b = client_as(app, "kept-a"), client_as(app, "kept-b")
    page_a = a.get("/browse").get_data(as_text=True)
    hits = cache(app).hits
    page_b = b.get("/browse").get_data(as_text=True)
    assert cache(app).hits == hits + 1  # the same audience: researchers without grants
    assert "kept-a" in page_a and "kept-a" not in page_b and "kept-b" in page_b
    with a.session_transaction() as sa, b.session_transaction() as sb:
        assert TOKEN.findall(page_a) == [sa["csrf"]]
        assert TOKEN.findall(page_b) == [sb["csrf"]] != [sa["csrf"]]
    # the sign-out form of the kept page works for its reader
    out = b.post("/logout", data={"csrf_token": TOKEN.findall(page_b)[0]})
    assert out.status_code == 302


def test_audiences_never_share_an_answer(app: Flask, restricted: str) -> None:
    seen = client_as(app, "researcher").get(restricted)
    assert seen.status_code == 200
    for _ in range(2):  # after the researcher's page was kept, and after a kept 404
        assert client_as(app, "anonymous").get(restricted).status_code == 404
    assert client_as(app, "researcher").get(restricted).status_code == 200


def test_kept_pages_are_audited_each_time(
    app: Flask, restricted: str, demo_settings: Settings
) -> None:
    users = Users(demo_settings.users_path)  # type: ignore[arg-type]

    def reads() -> int:
        log = users.audit_log(limit=10_000, actor="researcher", action="read-restricted")
        return sum(1 for e in log if e.target.endswith(restricted.rsplit("/", 1)[1]))

    before = reads()
    client = client_as(app, "researcher")
    hits = cache(app).hits
    for _ in range(3):
        assert client.get(restricted).status_code == 200
    assert cache(app).hits >= hits + 2
    assert reads() == before + 3


def test_curators_pages_are_never_kept(app: Flask, restricted: str) -> None:
    client = client_as(app, "archivist")
    client.get(restricted)
    hits, misses = cache(app).hits, cache(app).misses
    page = client.get(restricted).get_data(as_text=True)
    assert (cache(app).hits, cache(app).misses) == (hits, misses)
    assert "archivist" in page


def test_a_write_makes_kept_pages_unreachable(app: Flask, demo_settings: Settings) -> None:
    minter = Minter(demo_settings.base_iri)
    store = open_store(demo_settings)
    row = store.select(
        f"SELECT ?s ?t ?g WHERE {{ GRAPH <{minter.records_graph('public')}> {{ ?s a rico:Record }} "
        "GRAPH ?g { ?s rico:scopeAndContent ?t } } ORDER BY ?s LIMIT 1"
    )[0]
    path, title = "/" + str(minter.local_path(str(row["s"]))), str(row["t"])
    client = client_as(app, "anonymous")
    assert title in client.get(path).get_data(as_text=True)
    assert title in client.get(path).get_data(as_text=True)  # kept
    new = title + " (đã sửa)"
    graph = ox.NamedNode(str(row["g"]))
    subject, predicate = (
        ox.NamedNode(str(row["s"])),
        ox.NamedNode("https://www.ica.org/standards/RiC/ontology#scopeAndContent"),
    )
    old_quad = ox.Quad(subject, predicate, ox.Literal(title), graph)
    new_quad = ox.Quad(subject, predicate, ox.Literal(new), graph)
    store.update_quads([old_quad], [new_quad])
    try:
        assert new in client.get(path).get_data(as_text=True)
    finally:
        store.update_quads([new_quad], [old_quad])
    assert new not in client.get(path).get_data(as_text=True)


def test_conditional_requests_are_answered_by_the_view(app: Flask) -> None:
    client = client_as(app, "anonymous")
    first = client.get("/api/records?per_page=5")
    etag = first.headers["ETag"]
    again = client.get("/api/records?per_page=5", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_answers_lag_behind_additions_only_within_the_window() -> None:
    one, added, changed = ((1, None), (1, 1)), ((1, None), (2, 2)), ((2, None), (3, 3))
    lagging, strict = PageCache(1 << 20, lag_s=10), PageCache(1 << 20)
    for cache in (lagging, strict):
        cache.get("x", one)  # the state the answers were kept in, seen
        cache.put("a", Kept(200, (), b"a", (), state=one))
        assert cache.get("a", one) is not None
    assert lagging.get("a", added) is not None  # records added since: within the window
    assert strict.get("a", added) is None  # no window: every addition makes it unreachable
    lagging._seen[one] = time.monotonic() - 11  # the first addition after it is 11 s old
    assert lagging.get("a", added) is None
    lagging._seen[one] = time.monotonic()
    assert lagging.get("a", changed) is None  # a change: unreachable at once, window or not
    assert lagging.get("a", one) is not None  # (its own state still answers it)


def test_an_ingest_commit_leaves_kept_pages_a_change_does_not(demo_settings: Settings) -> None:
    store = open_store(demo_settings)
    apps = {lag: create_app(replace(demo_settings, page_cache_lag_seconds=lag)) for lag in (0, 30)}
    clients = {lag: client_as(app, "anonymous") for lag, app in apps.items()}

    def kept(lag: int) -> str:
        return clients[lag].get("/browse").headers["X-Kho-Cache"]

    # In the public records graph: a new graph would change the graphs anonymous readers see
    # (part of the key), and the store would keep it, empty, after the test.
    graph = ox.NamedNode(Minter(demo_settings.base_iri).records_graph("public"))
    key = "https://kho.example.org/id/hoso/TEST-PAGE-CACHE"
    quad = ox.Quad(ox.NamedNode(key), ox.NamedNode(f"{key}#p"), ox.Literal("mới"), graph)
    for lag in apps:
        kept(lag)
        assert kept(lag) == "hit"
    try:
        assert store.commit_units([CommitUnit(key, "d1", [quad], [], set())]).added
        assert kept(30) == "hit"  # a new hồ sơ only added: the kept page may lag 30 s
        assert kept(0) == "miss"
        other = ox.Quad(ox.NamedNode(key), ox.NamedNode(f"{key}#q"), ox.Literal("x"), graph)
        store.add_quads([other])  # not an ingest unit: a change, whatever it writes
        assert kept(30) == "miss"
    finally:
        store.update_quads(list(store.quads(ox.NamedNode(key))), [])  # its quads, bookkeeping


def test_the_kept_size_stays_under_its_bound() -> None:
    cache = PageCache(1000)
    for i in range(20):
        cache.put(i, Kept(200, (), bytes(300), ()))
    assert cache.size <= 1000 and len(cache) == 3
    cache.put("huge", Kept(200, (), bytes(5000), ()))
    assert cache.get("huge", None) is None
