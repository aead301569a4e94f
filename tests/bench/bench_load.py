"""Load: 20 concurrent user sessions against `kho serve` (waitress, the production server) on
127.0.0.1 — browsing, searching, JSON-LD, SPARQL, OAI-PMH — on the embedded store and on an
Oxigraph server, each alone and while `kho ingest` runs beside it (issue 7, point 4); on the
embedded store also with nothing kept (KHO_PAGE_CACHE_MB=0) and as one process with nothing kept
(session 8's server, before page workers and kept pages).

The server and the ingest are `kho` subprocesses; the clients are a process of their own
(tests/bench/load_client.py). The data directory is bench_web's: the harvested store plus one
metadata-only batch of generated records (5k; 1k with --quick), and researchers to sign in.
Each store is measured twice in the same run: one client alone (the baseline: the same mix, one
request at a time) and 20 clients, closed loop, no think time.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.bench.bench_ingest import write_sheet
from tests.bench.bench_web import PASSWORD, TODAY, build
from tests.bench.load_client import tree_cpu
from tests.bench.load_report import CLIENTS, report
from tests.servers import stop_process

ROOT = Path(__file__).resolve().parents[2]
KHO = str(Path(sys.executable).with_name("kho"))
SIGNED_IN = 10  # researchers, one account each (half the sessions)


@dataclass
class Sizes:
    records: int
    seconds: float  # measured window of the 20-client run
    warm_up: float
    baseline_s: float  # measured window of the one-client run
    ingest_rows: int  # the metadata batch `kho ingest` works through in (c)
    ingest_pdfs: int  # documents with a text PDF (two demo batches) before it


FULL = Sizes(
    records=5000, seconds=45, warm_up=10, baseline_s=20, ingest_rows=20_000, ingest_pdfs=24
)
QUICK = Sizes(records=1000, seconds=10, warm_up=3, baseline_s=6, ingest_rows=2000, ingest_pdfs=6)


def researchers(settings: object, n: int) -> list[str]:
    """`n` researcher accounts (load-01 …), all with bench_web's password."""
    from repository.users import Users

    users = Users(settings.users_path)  # type: ignore[attr-defined]
    names = [f"load-{i:02d}" for i in range(1, n + 1)]
    for name in names:
        users.add(name, PASSWORD, "researcher", set())
    return names


def free_port() -> int:
    from tests.servers import free_port as port

    return port()


@contextmanager
def serving(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """`kho serve` on a free port of 127.0.0.1 over `data_dir`: its URL and process id."""
    port = free_port()
    log = data_dir.parent / f"serve-{port}.log"
    full = os.environ | kho_env(data_dir) | (env or {})
    with log.open("ab") as out:
        process = subprocess.Popen(
            [KHO, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=full,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log)
        yield url, process.pid
    finally:
        stop_process(process)


def kho_env(data_dir: Path) -> dict[str, str]:
    # Plain HTTP on loopback: the session cookie may not be Secure, or no browser sends it back.
    return {"KHO_DATA_DIR": str(data_dir), "KHO_TODAY": TODAY, "KHO_COOKIE_SECURE": "no"}


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url + "/", timeout=30).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_process(process)
    raise RuntimeError(f"kho serve did not come up on {url}: {log.read_text()[-1500:]}")


def load(
    url: str,
    clients: int,
    seconds: float,
    warm_up: float,
    users: list[str],
    watch: dict,
    password: str = PASSWORD,
) -> dict:
    """One run of the client process; its JSON result."""
    out = Path(tempfile.mkstemp(prefix="kho-load-", suffix=".json")[1])
    cmd = [sys.executable, "-m", "tests.bench.load_client", url, "--clients", str(clients)]
    cmd += ["--seconds", str(seconds), "--warm-up", str(warm_up), "--out", str(out)]
    cmd += [f"--user={u}:{password}" for u in users]
    cmd += [f"--watch={name}={pid}" for name, pid in watch.items()]
    try:
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=seconds + 600)
        result = json.loads(out.read_text(encoding="utf-8"))
        result["loadavg"] = os.getloadavg()[0]  # the machine is shared: how busy it was
        return result
    finally:
        out.unlink(missing_ok=True)


# -- the run -------------------------------------------------------------------------------------


def prepare(work: Path, sizes: Sizes) -> dict:
    """In a child process (the store's lock goes with it): bench_web's data directory, the
    researchers, the store as N-Quads for the Oxigraph server, and the batches of (c)."""
    from harvesters.demo_batch import write_demo
    from repository.store import open_store_read_only

    settings, facts = build(work, sizes.records)
    users = researchers(settings, SIGNED_IN)
    dump = work / "store.nq"
    open_store_read_only(settings.store_path).dump(dump)  # type: ignore[arg-type]
    pdfs = write_demo(work / "pdfs", documents=sizes.ingest_pdfs, seed=5, scanned_ratio=0.0)
    rows = write_sheet(work / "ingest-batch", sizes.ingest_rows, seed=12)
    return {
        "data_dir": str(settings.data_dir),  # type: ignore[attr-defined]
        "facts": facts,
        "users": users,
        "dump": str(dump),
        "batches": [str(p) for p in pdfs] + [str(work / "ingest-batch")],
        "ingest_rows": rows,
    }


RECORDS_QUERY = (
    "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?r a ?t } VALUES ?t { "
    "<https://www.ica.org/standards/RiC/ontology#Record> "
    "<https://www.ica.org/standards/RiC/ontology#RecordSet> } }"
)


def records_on(server: object) -> int:
    """hồ sơ and documents in the Oxigraph server, asked directly."""
    got = requests.get(
        server.query_url,  # type: ignore[attr-defined]
        params={"query": RECORDS_QUERY},
        headers={"Accept": "application/sparql-results+json"},
        timeout=120,
    )
    got.raise_for_status()
    return int(got.json()["results"]["bindings"][0]["n"]["value"])


def records_in(store_dir: Path) -> Callable[[], int]:
    """hồ sơ and documents in an embedded store another process writes, each count from a view
    opened between two of its writes (a follower keeps its old view while one is under way)."""
    from repository.store import Store
    from repository.store_oxigraph import FollowerEngine

    def count() -> int:
        store = Store(store_dir, engine=FollowerEngine(store_dir))
        return int(store.select(RECORDS_QUERY)[0]["n"])

    return count


def measure(work: Path, sizes: Sizes) -> dict:
    from repository.config import Settings
    from repository.store import open_store
    from tests.servers import OXIGRAPH, oxigraph_server

    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_load", "--prepare", str(work)]
        + (["--quick"] if sizes is QUICK else []),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    prep = json.loads(out.stdout.strip().splitlines()[-1])
    prep["prepare_s"] = time.perf_counter() - started
    data, users = Path(prep["data_dir"]), prep["users"]
    one = (1, sizes.baseline_s, sizes.warm_up / 2, users)
    many = (CLIENTS, sizes.seconds, sizes.warm_up, users)
    results: dict = {"prep": prep, "sizes": sizes.__dict__}
    # Each 20-client run starts on a server of its own, nothing kept yet, after the same warm-up
    # (the baseline's requests would otherwise have filled the first run's kept answers).
    with serving(data) as (url, pid):
        results["a"] = {"base": load(url, *one, {"server": pid})}
    with serving(data) as (url, pid):
        results["a"]["load"] = load(url, *many, {"server": pid})
    # (g) the page workers with nothing kept: every answer built from the store and the index
    with serving(data, {"KHO_PAGE_CACHE_MB": "0"}) as (url, pid):
        results["g"] = {"load": load(url, *many, {"server": pid})}
    # (f) session 8's server, the ratio's baseline: one process, nothing kept
    with serving(data, {"KHO_SERVE_PROCESSES": "1", "KHO_PAGE_CACHE_MB": "0"}) as (url, pid):
        results["f"] = {"load": load(url, *many, {"server": pid})}
    # (d) the same with the tantivy search engine (its indexes built from the store first)
    reindex = [KHO, "reindex"]
    env = os.environ | kho_env(data) | {"KHO_SEARCH": "tantivy"}
    subprocess.run(reindex, cwd=ROOT, env=env, check=True, capture_output=True)
    with serving(data, {"KHO_SEARCH": "tantivy"}) as (url, pid):
        results["d"] = {"load": load(url, *many, {"server": pid})}
    # (e) `kho ingest` beside `kho serve` on the same embedded store (a copy: the server runs
    # read this data directory's index and files with the store they were built from)
    shared = work / "data-ingest"
    shutil.copytree(data, shared)
    with serving(shared) as (url, pid):
        count = records_in(shared / "store")
        results["e"] = ingesting(url, count, shared, prep, many, {"server": pid}, {})
    oxi = work / "oxigraph"
    oxi.mkdir()
    started = time.perf_counter()
    subprocess.run(
        [str(OXIGRAPH), "load", "--location", str(oxi / "store"), "--file", prep["dump"]],
        check=True,
        capture_output=True,
    )
    prep["oxigraph_load_s"] = time.perf_counter() - started
    with oxigraph_server(directory=oxi) as server:
        remote = Settings(data_dir=data, today=TODAY, store=server.spec, **server.settings())
        open_store(remote).adopt_graphs(remote.base_iri)
        with serving(data, server.env()) as (url, pid):
            watch = {"server": pid, "oxigraph": server.process.pid}
            results["b"] = {"base": load(url, *one, watch)}
        with serving(data, server.env()) as (url, pid):
            watch = {"server": pid, "oxigraph": server.process.pid}
            results["b"]["load"] = load(url, *many, watch)
        with serving(data, server.env()) as (url, pid):
            watch = {"server": pid, "oxigraph": server.process.pid}
            count = functools.partial(records_on, server)
            results["c"] = ingesting(url, count, data, prep, many, watch, server.env())
        # (h) the same with kept pages never lagging behind an addition: every commit makes them
        # unreachable (the ingest goes on with the rest of its batch: what (c) committed is
        # unchanged and skipped)
        strict = server.env() | {"KHO_PAGE_CACHE_LAG_SECONDS": "0"}
        with serving(data, strict) as (url, pid):
            watch = {"server": pid, "oxigraph": server.process.pid}
            results["h"] = ingesting(url, count, data, prep, many, watch, server.env())
    return results


def ingesting(
    url: str,
    records: Callable[[], int],
    data: Path,
    prep: dict,
    many: tuple,
    watch: dict,
    store_env: dict[str, str],
) -> dict:
    """(c), (e), (h): `kho ingest` of the batches into the store `kho serve` at `url` serves,
    while the clients run; `records` counts the store's records."""
    before = records()
    cmd = [KHO, "ingest", "--metadata-only", "--no-ocr", "--jobs", "1", *prep["batches"]]
    # Commits of 50 hồ sơ (about 200 records) instead of 500: writes land all through the window.
    log = data.parent / "ingest.log"
    env = os.environ | kho_env(data) | store_env
    env["KHO_INGEST_CHUNK"] = "50"
    with log.open("ab") as fh:
        ingest = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300  # until the first hồ sơ lands (sheets read, PDFs hashed)
        while records() == before and ingest.poll() is None:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"kho ingest committed nothing in 300 s: {log.read_text()[-800:]}"
                )
            time.sleep(1)
        start, at_start, cpu0 = time.perf_counter(), records(), tree_cpu(ingest.pid)
        result = {"load": load(url, *many, watch | {"ingest": ingest.pid})}
        seconds = time.perf_counter() - start
        running = ingest.poll() is None
        cpu = tree_cpu(ingest.pid) - cpu0 if running else None
        landed = records() - at_start
    finally:
        stop_process(ingest)
    result["ingest"] = {
        "records": landed,
        "seconds": seconds,
        "rate": landed / seconds,
        "still_running": running,
        "cpu_s": cpu,
        "rows": prep["ingest_rows"],
    }
    return result


def tracebacks(work: Path, most: int = 3) -> list[str]:
    """The last lines of the first tracebacks the servers and the ingest logged (an error's
    cause: the logs go with the work directory)."""
    found: list[str] = []
    for log in sorted(work.glob("*.log")):
        text = log.read_text(encoding="utf-8", errors="replace")
        for block in text.split("Traceback (most recent call last):")[1:]:
            lines = [x for x in block.splitlines() if x.strip()][-12:]
            found.append(f"{log.name}: …\n" + "\n".join(lines))
    return found[:most]


def run(quick: bool = False) -> str:
    work = Path(tempfile.mkdtemp(prefix="kho-bench-load-"))
    try:
        results = measure(work, QUICK if quick else FULL)
        results["tracebacks"] = tracebacks(work)
        # kept for a second look (the report re-rendered without measuring again)
        Path(tempfile.gettempdir(), "kho-bench-load.json").write_text(json.dumps(results))
        return report(results, quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--prepare", required=True, help="work directory (child step of run)")
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    print(json.dumps(prepare(Path(a.prepare), QUICK if a.quick else FULL)))


if __name__ == "__main__":
    main()
