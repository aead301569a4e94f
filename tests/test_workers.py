"""Page workers (webapp.workers): GET pages rendered in processes of their own, over a view of
the store that follows the serving process's writes, served over real HTTP (waitress on
127.0.0.1). The access rule holds there as in the serving process, a write is read at once, a
killed worker is replaced without a failed request, and forms, files and SPARQL stay home."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pyoxigraph as ox
import pytest
import requests
import waitress

from repository.config import Settings
from repository.namespaces import Minter
from repository.store import open_store
from tests.conftest import PASSWORD
from webapp import create_app
from webapp.workers import PageWorkers, _Pool, dispatched, for_programs, init_app

SCOPE = "https://www.ica.org/standards/RiC/ontology#scopeAndContent"


@pytest.fixture(scope="module")
def served(demo_settings: Settings) -> Iterator[tuple[str, PageWorkers]]:
    # plain HTTP on loopback: the session cookie may not be Secure, or requests never sends it
    settings = replace(demo_settings, cookie_secure="no")
    app = create_app(settings)
    workers = init_app(app, settings, 2, 1)  # 2 for pages, 1 for programs
    assert workers.wait_ready() == 3
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}", workers  # type: ignore[union-attr]
    finally:
        server.close()
        workers.close()


def _path(settings: Settings, family: str, kind: str = "rico:Record") -> tuple[str, str, str]:
    """(page path, scopeAndContent, its graph) of the first record of an access family."""
    minter = Minter(settings.base_iri)
    row = open_store(settings).select(
        f"SELECT ?s ?t ?g WHERE {{ GRAPH <{minter.records_graph(family)}> {{ ?s a {kind} }} "
        f"GRAPH ?g {{ ?s <{SCOPE}> ?t }} }} ORDER BY ?s LIMIT 1"
    )[0]
    return "/" + str(minter.local_path(str(row["s"]))), str(row["t"]), str(row["g"])


def sign_in(url: str, name: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{url}/login", timeout=60).text
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    got = session.post(
        f"{url}/login",
        data={"name": name, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=60,
    )
    assert got.status_code == 302
    return session


def test_pages_are_rendered_by_the_workers(served: tuple[str, PageWorkers]) -> None:
    url, workers = served
    before, programs = workers.answered, workers.programs.answered
    for path in ("/", "/browse", "/records?q=ha+noi", "/api/records?per_page=5", "/dashboard"):
        got = requests.get(url + path, timeout=60)
        assert got.status_code == 200, path
        assert got.headers.get("X-Kho-Cache") in (None, "miss")
    assert workers.answered == before + 5
    assert workers.programs.answered == programs + 1  # the JSON API's answer
    again = requests.get(url + "/browse", timeout=60)  # kept by the serving process
    assert again.headers["X-Kho-Cache"] == "hit" and "Kho" in again.text
    assert workers.answered == before + 5


def test_answers_for_programs_run_at_a_lower_priority(
    served: tuple[str, PageWorkers], demo_settings: Settings
) -> None:
    _, workers = served
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    for pid in workers.pages.pids():
        assert os.getpriority(os.PRIO_PROCESS, pid) == mine
    for pid in workers.programs.pids():
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, mine + demo_settings.data_nice)


def test_the_access_rule_holds_in_the_workers(
    served: tuple[str, PageWorkers], demo_settings: Settings
) -> None:
    url, _ = served
    path, scope, _ = _path(demo_settings, "conditional")
    for suffix in ("", ".jsonld"):
        assert requests.get(url + path + suffix, timeout=60).status_code == 404
    researcher = sign_in(url, "researcher")
    page = researcher.get(url + path, timeout=60)
    assert page.status_code == 200 and scope in page.text
    assert "researcher" in page.text  # the reader's own account links
    assert researcher.get(url + path + ".jsonld", timeout=60).status_code == 200
    archivist = sign_in(url, "archivist")  # pages never kept: rendered whole by a worker
    for _ in range(2):
        page = archivist.get(url + path, timeout=60)
        assert page.status_code == 200 and "archivist" in page.text
        assert "X-Kho-Cache" not in page.headers
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    out = archivist.post(url + "/logout", data={"csrf_token": token}, allow_redirects=False)
    assert out.status_code == 302  # the worker's session cookie reached the browser
    assert requests.get(url + path, timeout=60).status_code == 404  # still, after the reader


def test_a_write_is_read_at_once(served: tuple[str, PageWorkers], demo_settings: Settings) -> None:
    url, _ = served
    path, scope, graph = _path(demo_settings, "public")
    assert scope in requests.get(url + path, timeout=60).text
    store = open_store(demo_settings)  # the serving process's store, as a form's write uses it
    subject = ox.NamedNode(demo_settings.base_iri + path[1:])
    old = ox.Quad(subject, ox.NamedNode(SCOPE), ox.Literal(scope), ox.NamedNode(graph))
    new = ox.Quad(subject, ox.NamedNode(SCOPE), ox.Literal(scope + " (đã sửa)"), old.graph_name)
    store.update_quads([old], [new])
    try:
        for _ in range(3):  # whichever worker answers
            assert scope + " (đã sửa)" in requests.get(url + path, timeout=60).text
    finally:
        store.update_quads([new], [old])
    assert scope + " (đã sửa)" not in requests.get(url + path, timeout=60).text


def test_a_killed_worker_is_replaced(served: tuple[str, PageWorkers]) -> None:
    url, workers = served
    victim = workers.pids()[0]
    os.kill(victim, signal.SIGKILL)
    for i in range(6):  # pages not kept yet: each goes to a worker
        assert requests.get(f"{url}/records?q=ha+noi+{i}", timeout=120).status_code == 200
    assert victim not in workers.pids()
    assert workers.wait_ready() == 3


def test_forms_files_and_sparql_stay_in_the_serving_process() -> None:
    def env(method: str, path: str, length: str = "") -> dict[str, object]:
        return {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": length}

    assert dispatched(env("GET", "/browse")) and dispatched(env("HEAD", "/id/record/x"))
    assert not dispatched(env("POST", "/curation/retention", "20"))
    assert not dispatched(env("GET", "/files/abc/original.pdf"))
    assert not dispatched(env("GET", "/sparql"))
    assert not dispatched(env("GET", "/login"))
    assert not dispatched(env("GET", "/browse", "12"))  # a GET with a body


def test_pages_and_answers_for_programs_are_told_apart() -> None:
    def env(path: str, accept: str = "") -> dict[str, object]:
        return {"PATH_INFO": path, "HTTP_ACCEPT": accept}

    for page in ("/", "/records", "/id/record/X", "/units"):
        assert not for_programs(env(page, "text/html,application/xhtml+xml,*/*;q=0.8"))
    assert not for_programs(env("/records"))  # no Accept: a page
    for data in ("/id/record/X.jsonld", "/api/records", "/oai", "/id/unit/Y.ttl"):
        assert for_programs(env(data))
    assert for_programs(env("/id/record/X", "application/ld+json"))
    assert for_programs(env("/browse/units-new", "application/json"))


def test_a_free_worker_goes_to_the_request_that_came_first(demo_settings: Settings) -> None:
    # The queue alone: no worker process, idle "workers" given by hand as they free.
    pool = _Pool(demo_settings, 0)
    got: list[str] = []

    def wait(name: str) -> threading.Thread:
        """A request waiting for a worker (once this returns)."""
        before = len(pool._waiting)

        def take() -> None:
            got.append(f"{name}:{pool._take()}")

        thread = threading.Thread(target=take, daemon=True)
        thread.start()
        while len(pool._waiting) <= before:
            time.sleep(0.005)
        return thread

    first, second, third = wait("first"), wait("second"), wait("third")
    pool._add("w1")  # type: ignore[arg-type]
    first.join(5)
    pool._add("w2")  # type: ignore[arg-type]
    second.join(5)
    pool._add("w3")  # type: ignore[arg-type]
    third.join(5)
    assert got == ["first:w1", "second:w2", "third:w3"]
    assert not pool._waiting
