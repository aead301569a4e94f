"""The embedded store as Kho's processes share it (repository.store_oxigraph.SharedEngine):
`kho serve` and the command line read and write one directory at the same time, each write
under the store's write lock, and a reader tells writes that only added new ingest units from
any other (kept pages may lag behind the first, never the second)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from repository.store import CommitUnit, Store
from repository.store_directory import CHANGES_FILE, LOCK_FILE, VIEWS_DIR, StoreBusy
from repository.store_oxigraph import FollowerEngine, SharedEngine
from tests.bench.bench_ingest import write_sheet
from tests.bench.bench_load import KHO, kho_env, serving

ROOT = Path(__file__).resolve().parent.parent
G = "https://kho.example.org/graph/public"
P = ox.NamedNode("https://kho.example.org/p")


def quad(name: str, value: str = "x") -> ox.Quad:
    return ox.Quad(
        ox.NamedNode(f"https://kho.example.org/id/{name}"), P, ox.Literal(value), ox.NamedNode(G)
    )


def unit(name: str, digest: str = "d1") -> CommitUnit:
    return CommitUnit(f"https://kho.example.org/id/{name}", digest, [quad(name, digest)], [], set())


def shared(path: Path) -> Store:
    return Store(path, engine=SharedEngine(path))


def in_another_process(path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """Run `body` in a new Python process with `store`, this store opened as Kho opens it."""
    script = textwrap.dedent(
        f"""
        import pyoxigraph as ox
        from repository.store import CommitUnit, open_store
        from tests.test_store_shared import quad, unit
        store = open_store({str(path)!r})
        """
    ) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def values(store: Store) -> set[str]:
    return {q.subject.value.rsplit("/", 1)[1] for q in store.quads(None, P, None, None)}


def test_processes_write_the_same_store_at_once(tmp_path: Path) -> None:
    path = tmp_path / "store"
    store = shared(path)
    store.add_quads([quad("first")])
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from repository.store import open_store\n"
            "from tests.test_store_shared import quad\n"
            f"s = open_store({str(path)!r})\n"
            "for i in range(40): s.add_quads([quad(f'other{i}')])\n",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    for i in range(40):  # interleaved with the other process's writes, each under the lock
        store.add_quads([quad(f"mine{i}")])
    _, err = other.communicate(timeout=120)
    assert other.returncode == 0, err
    store.follow()
    got = values(store)
    assert {f"other{i}" for i in range(40)} <= got and {f"mine{i}" for i in range(40)} <= got
    assert len(got) == 81


def test_readers_read_while_another_thread_writes(tmp_path: Path) -> None:
    path = tmp_path / "store"
    store = shared(path)
    store.add_quads([quad(f"r{i}") for i in range(200)])
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                store.follow()
                assert len(values(store)) >= 200
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    for i in range(30):
        store.update_quads([quad(f"r{i}")], [quad(f"w{i}")])
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors[:1]
    assert len(values(store)) == 200


def test_a_write_inside_a_write_reads_its_own_changes(tmp_path: Path) -> None:
    store = shared(tmp_path / "store")
    stats = store.commit_units([unit("a"), unit("b")])
    assert stats.added == [unit("a").key, unit("b").key]
    # commit_units reads the digests under the lock with the read-write handle
    assert store.commit_units([unit("a"), unit("b", "d2")]).replaced == [unit("b").key]
    assert values(store) == {"a", "b"}


def test_a_write_waits_for_another_processs_write_then_says_who_holds_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store"
    store = shared(path)
    engine = store._engine  # noqa: SLF001
    assert isinstance(engine, SharedEngine)
    with open(path / LOCK_FILE, "a+", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.seek(0)
        held.truncate()
        held.write("pid 4242: kho ingest lo-01")
        held.flush()
        engine.write_wait = 0.3
        with pytest.raises(StoreBusy) as busy:
            store.add_quads([quad("late")])
        assert "pid 4242: kho ingest lo-01" in busy.value.message
        assert "try again" in busy.value.message and busy.value.status == 503
        release = threading.Timer(0.3, fcntl.flock, (held, fcntl.LOCK_UN))
        engine.write_wait = 30
        release.start()
        store.add_quads([quad("late")])  # waits for the holder, then writes
    assert "late" in values(store)
    assert (path / LOCK_FILE).read_text().startswith(f"pid {os.getpid()}:")


def test_a_reader_tells_additions_from_changes_made_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "store"
    store = shared(path)
    store.add_quads([quad("seed")])
    readers = [store, Store(path, engine=FollowerEngine(path))]

    def states() -> list[tuple[int, int]]:
        for r in readers:
            r.follow()
        return [(r.generation, r.change_generation) for r in readers]

    seen = states()
    done = in_another_process(path, "store.commit_units([unit('n1'), unit('n2')])")
    assert done.returncode == 0, done.stderr
    now = states()
    for (gen, changes), (gen0, changes0) in zip(now, seen, strict=True):
        assert gen > gen0 and changes == changes0  # new units only: an addition
    done = in_another_process(path, "store.commit_units([unit('n1', 'd2')])")
    assert done.returncode == 0, done.stderr
    later = states()
    for (_, changes), (_, changes0) in zip(later, now, strict=True):
        assert changes > changes0  # a replaced unit: a change
    done = in_another_process(path, "store.add_quads([quad('restricted')])")
    assert done.returncode == 0, done.stderr
    for (_, changes), (_, changes0) in zip(states(), later, strict=True):
        assert changes > changes0  # any other write: a change
    assert int((path / CHANGES_FILE).read_text()) % 2 == 0  # no change under way


def test_a_change_left_half_way_counts_every_view_as_a_change(tmp_path: Path) -> None:
    # A writer killed between its two bumps leaves the counter odd: until the next write mends
    # it, a reader cannot know what a new view holds, so each one is a change.
    path = tmp_path / "store"
    store = shared(path)
    store.add_quads([quad("seed")])
    (path / CHANGES_FILE).write_text("7")
    reader = Store(path, engine=FollowerEngine(path))
    before = reader.change_generation
    done = in_another_process(path, "store.commit_units([unit('n1')])")  # an addition...
    assert done.returncode == 0, done.stderr
    reader.follow()
    assert reader.change_generation > before  # ...seen as a change: the counter was odd
    assert int((path / CHANGES_FILE).read_text()) == 8  # the write mended it
    steady = reader.change_generation
    done = in_another_process(path, "store.commit_units([unit('n2')])")
    assert done.returncode == 0, done.stderr
    reader.follow()
    assert reader.change_generation == steady  # now an addition is an addition again


def test_kho_ingest_runs_beside_kho_serve(served_copy: Path, tmp_path: Path) -> None:
    """The user's story: a batch is ingested while the repository is served from the same
    embedded store; pages keep answering, and the new records are found once committed."""
    data = served_copy
    batch = tmp_path / "batch"
    write_sheet(batch, 300, seed=41)
    env = os.environ | kho_env(data) | {"KHO_INGEST_CHUNK": "20"}
    with serving(data, {"KHO_PAGE_CACHE_LAG_SECONDS": "0"}) as (url, _pid):
        before = requests.get(url + "/api/records", timeout=60).json()["totalItems"]
        ingest = subprocess.Popen(
            [KHO, "ingest", "--metadata-only", "--no-ocr", "--json", str(batch)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        statuses = []
        while ingest.poll() is None:  # pages answer while the ingest writes
            statuses.append(requests.get(url + "/browse", timeout=60).status_code)
            time.sleep(0.05)
        out, err = ingest.communicate()
        assert ingest.returncode in (0, 3), err[-2000:]
        report = json.loads(out)
        assert report["hoso_added"] > 0 and report["docs_committed"] > 0, report
        assert statuses and set(statuses) == {200}
        after = requests.get(url + "/api/records", timeout=60).json()["totalItems"]
        assert after > before  # what the ingest committed is served, without a restart


def test_a_view_outlives_the_compaction_that_deletes_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read-only store opens its table files lazily; a writer's compaction deletes the files it
    # replaced. A view reads a private copy (hard links), so what it opened stays readable.
    path = tmp_path / "store"
    store = shared(path)
    for i in range(20):  # many small table files
        store.add_quads([quad(f"c{i}-{j}") for j in range(50)])
    view = Store(path, engine=FollowerEngine(path))
    with open(path / LOCK_FILE, "a+", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        writer = ox.Store(str(path))
        writer.optimize()  # compacts: the old table files go
        del writer
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert len(values(view)) == 1000  # the view, not followed, still reads every quad
    # copies of replaced views go after the grace period; those of dead processes at once
    monkeypatch.setattr("repository.store_directory.VIEW_GRACE_SECONDS", 0.0)
    views = path / VIEWS_DIR
    dead = views / "999999999-1-0"
    dead.mkdir()
    first = view._engine.copy  # noqa: SLF001
    store.add_quads([quad("later")])
    view.follow()
    store.add_quads([quad("later2")])
    view.follow()
    assert not dead.exists() and first is not None and not first.exists()
    assert len(values(view)) == 1002


def test_a_follower_may_lag_behind_additions_never_behind_a_change(tmp_path: Path) -> None:
    path = tmp_path / "store"
    shared(path).add_quads([quad("seed")])
    reader = Store(path, engine=FollowerEngine(path))
    reader.lag_behind_additions(30)
    done = in_another_process(path, "store.commit_units([unit('n1')])")  # an addition
    assert done.returncode == 0, done.stderr
    reader.follow()
    assert "n1" not in values(reader)  # left unread for now: the view keeps its warm cache
    done = in_another_process(path, "store.add_quads([quad('edit')])")  # a change
    assert done.returncode == 0, done.stderr
    reader.follow()
    assert {"n1", "edit"} <= values(reader)  # read at once, with the addition before it


def test_sparql_workers_lag_behind_additions_as_pages_do(tmp_path: Path) -> None:
    from repository.query_pool import QueryJob, QueryPool

    path = tmp_path / "store"
    shared(path).add_quads([quad("seed")])
    pool = QueryPool(path, workers=1, timeout=30, addition_lag=30)
    job = QueryJob(f"SELECT ?s WHERE {{ ?s <{P.value}> ?o }}", (G,), (), "json", 100)

    def found() -> set[str]:
        rows = json.loads(pool.run(job).body)["results"]["bindings"]
        return {r["s"]["value"].rsplit("/", 1)[1] for r in rows}

    try:
        assert found() == {"seed"}  # the worker's view opens here
        done = in_another_process(path, "store.commit_units([unit('n1')])")  # an addition
        assert done.returncode == 0, done.stderr
        assert found() == {"seed"}  # left unread for now, as a page worker leaves it
        done = in_another_process(path, "store.add_quads([quad('edit')])")  # a change
        assert done.returncode == 0, done.stderr
        assert found() == {"seed", "n1", "edit"}  # read at once, with the addition before it
    finally:
        pool.close()
