"""The data of the scale benchmark (bench_scale): per size N, under /tmp/scale/<N>/,

    data/      a Kho data directory: a copy of the harvested store (and its units index) plus N
               records ingested by `kho ingest` in a child process (SHACL gate on)
    dump.nq    that store dumped to N-Quads, the common input of the other back-ends
    facts.json what the preparation measured (ingest rate, peak RSS, sizes), so `--reuse` keeps it

and the loads of that dump into the servers (Oxigraph server's `oxigraph load`, Virtuoso's bulk
loader) and into rdflib, each measured in its own process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.bench_ingest import write_sheet
from tests.bench.bench_web import TODAY, set_modes

ROOT = Path(__file__).resolve().parents[2]
SCALE = Path(os.environ.get("KHO_SCALE_DIR", "/tmp/scale"))
SOURCE = Path(os.environ.get("KHO_SCALE_SOURCE", "/tmp/khodata-h3"))  # read-only: copied


def disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_child(
    cmd: list[str],
    env: dict[str, str] | None = None,
    log: Path | None = None,
    stdout: Path | None = None,
) -> dict:
    """Run `cmd`, wait for it with os.wait4: its seconds, exit code and peak RSS (bytes). Its
    output goes to `log` (stdout to `stdout` when given)."""
    err = log.open("ab") if log else subprocess.DEVNULL
    out = stdout.open("wb") if stdout else err
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=err if log else subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    for fh in {id(err): err, id(out): out}.values():
        if fh is not subprocess.DEVNULL:
            fh.close()  # type: ignore[union-attr]
    return {"seconds": seconds, "rc": proc.returncode, "peak_rss": usage.ru_maxrss * 1024}


def settings_for(size: int, search: str = "whoosh") -> object:
    from repository.config import Settings

    return Settings(data_dir=SCALE / str(size) / "data", today=TODAY, search=search)


def tantivy_reindex(size: int) -> dict:
    """`kho reindex` with KHO_SEARCH=tantivy in a child (units and records): seconds, peak RSS and
    the records index on disk. The Whoosh index that `kho ingest` kept stays beside it."""
    home = SCALE / str(size)
    done = home / "tantivy.json"
    if done.exists():
        return json.loads(done.read_text())
    cmd = [str(ROOT / ".venv/bin/kho"), "reindex"]
    got = run_child(cmd, env=kho_env(size, KHO_SEARCH="tantivy"), log=home / "tantivy.log")
    if got["rc"] != 0:
        raise RuntimeError(f"kho reindex (tantivy) failed: {(home / 'tantivy.log').read_text()}")
    got["index_bytes"] = disk_bytes(home / "data" / "records-index-tantivy")
    done.write_text(json.dumps(got))
    return got


def kho_env(size: int, **extra: str) -> dict[str, str]:
    return {"KHO_DATA_DIR": str(SCALE / str(size) / "data"), "KHO_TODAY": TODAY, **extra}


def prepare(size: int, reuse: bool = True) -> dict:
    """The ingested store of `size` records, its dump and what building them measured."""
    from repository.store import open_store_read_only

    home = SCALE / str(size)
    facts_path = home / "facts.json"
    if reuse and facts_path.exists():
        return json.loads(facts_path.read_text())
    if size > CHUNK and size % CHUNK == 0:
        return prepare_chunked(size)
    if home.exists():
        shutil.rmtree(home)
    data = home / "data"
    data.mkdir(parents=True)
    settings = settings_for(size)
    open_store_read_only(SOURCE / "store").backup(Path(settings.store_path))  # type: ignore[arg-type]
    if (SOURCE / "index").is_dir():
        shutil.copytree(SOURCE / "index", settings.index_path)  # type: ignore[arg-type]
    harvested = disk_bytes(Path(settings.store_path))  # type: ignore[arg-type]
    batch = home / "batch"
    rows = write_sheet(batch, size)
    modes = set_modes(batch / "bang-ke.csv")
    cmd = [str(ROOT / ".venv/bin/kho"), "ingest", "--metadata-only", "--no-ocr", "--json"]
    report = home / "ingest.json"
    got_run = run_child(
        [*cmd, "--jobs", "2", str(batch)], env=kho_env(size), log=home / "ingest.log", stdout=report
    )
    seconds, rc = got_run["seconds"], got_run["rc"]
    text = report.read_text(encoding="utf-8")
    if rc not in (0, 3):
        err = (home / "ingest.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"kho ingest of {size} records failed (exit {rc}):\n{err}")
    got = json.loads(text[text.index("{") :])
    records = int(got.get("hoso_added", 0)) + int(got.get("docs_committed", 0))
    facts = {
        "size": size,
        "rows": rows,
        "modes": modes,
        "records": records,
        "rejected": int(got.get("hoso_rejected", 0)) + int(got.get("docs_rejected", 0)),
        "ingest_s": round(seconds, 1),
        "rate": round(records / seconds, 1),
        "timings": got.get("timings", {}),
        "peak_rss": got_run["peak_rss"],
        "harvested_bytes": harvested,
        "index_bytes": disk_bytes(Path(settings.data_dir) / "records-index"),  # type: ignore[arg-type]
    }
    return finish(size, facts)


def finish(size: int, facts: dict) -> dict:
    """The store's size and triples and its N-Quads dump: facts.json complete."""
    from repository.store import open_store_read_only

    home = SCALE / str(size)
    store_path = Path(settings_for(size).store_path)  # type: ignore[attr-defined]
    facts["store_bytes"] = disk_bytes(store_path)
    # read-only: open_store keeps the process's store open (and locked) after `del`, and the
    # next step (`kho reindex`, a child) must open it (the 1M run stopped there once)
    store = open_store_read_only(store_path)
    facts["triples"] = store.count()
    start = time.perf_counter()
    store.dump(home / "dump.nq")
    facts["dump_s"] = round(time.perf_counter() - start, 1)
    facts["dump_bytes"] = disk_bytes(home / "dump.nq")
    del store
    (home / "facts.json").write_text(json.dumps(facts, indent=1))
    return facts


# -- sizes past CHUNK: batches of CHUNK records, one `kho ingest` each, resumable -----------------

CHUNK = 100_000


def prepare_chunked(size: int) -> dict:
    """`size` records as size/CHUNK batches ingested one after another into one store (tantivy
    search, as recommended past 100k), each batch's ingest measured apart: the rate as the store
    grows. Batch 0 is the CHUNK store itself (same seed, same rows), copied with its tantivy index.
    A stopped run goes on from the first batch without chunks/<i>/facts.json; a batch cut short
    is ingested again (its committed units come back unchanged) and marked `resumed`."""
    from repository.store import open_store_read_only

    home, chunks = SCALE / str(size), SCALE / str(size) / "chunks"
    settings = settings_for(size, search="tantivy")
    first = chunks / "0" / "facts.json"
    if not first.exists():
        base = prepare(CHUNK, reuse=True)
        tantivy_reindex(CHUNK)
        if home.exists():
            shutil.rmtree(home)
        (chunks / "0").mkdir(parents=True)
        src = SCALE / str(CHUNK) / "data"
        open_store_read_only(src / "store").backup(Path(settings.store_path))  # type: ignore[arg-type]
        for name in ("index", "index-tantivy", "records-index-tantivy"):
            if (src / name).is_dir():
                shutil.copytree(src / name, home / "data" / name)
        keep = ("rows", "modes", "records", "rejected", "ingest_s", "rate", "timings", "peak_rss")
        copied = {k: base[k] for k in keep} | {"copied_from": CHUNK, "search": "whoosh"}
        first.write_text(json.dumps(copied, indent=1))
    done: list[dict] = []
    for i in range(size // CHUNK):
        got_path = chunks / str(i) / "facts.json"
        if got_path.exists():
            done.append(json.loads(got_path.read_text()))
            continue
        done.append(ingest_chunk(size, i))
    records = sum(c["records"] for c in done)
    seconds = sum(c["ingest_s"] for c in done)
    facts = {
        "size": size,
        "rows": sum(c["rows"] for c in done),
        "modes": {m: sum(c["modes"].get(m, 0) for c in done) for m in done[0]["modes"]},
        "records": records,
        "rejected": sum(c["rejected"] for c in done),
        "ingest_s": round(seconds, 1),
        "rate": round(records / seconds, 1),
        "timings": {
            k: round(sum(c["timings"].get(k, 0) for c in done), 1) for k in done[-1]["timings"]
        },
        "peak_rss": max(c["peak_rss"] for c in done),
        "harvested_bytes": prepare(CHUNK, reuse=True)["harvested_bytes"],
        "index_bytes": disk_bytes(home / "data" / "records-index-tantivy"),
        "chunks": done,
    }
    return finish(size, facts)


def ingest_chunk(size: int, i: int) -> dict:
    """Batch i (seed 11 + i) of a chunked size: written, ingested by `kho ingest` in a child."""
    here = SCALE / str(size) / "chunks" / str(i)
    batch, report, log = here / "batch", here / "ingest.json", here / "ingest.log"
    resumed = report.exists()
    if not (batch / "bang-ke.csv").exists():
        shutil.rmtree(batch, ignore_errors=True)
        write_sheet(batch, CHUNK, seed=11 + i)
        set_modes(batch / "bang-ke.csv")
    rows = sum(1 for _ in (batch / "bang-ke.csv").open(encoding="utf-8")) - 1
    modes = count_modes(batch / "bang-ke.csv")
    cmd = [str(ROOT / ".venv/bin/kho"), "ingest", "--metadata-only", "--no-ocr", "--json"]
    env = kho_env(size, KHO_SEARCH="tantivy")
    got_run = run_child([*cmd, "--jobs", "2", str(batch)], env=env, log=log, stdout=report)
    text = report.read_text(encoding="utf-8")
    if got_run["rc"] not in (0, 3):
        err = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"kho ingest of batch {i} of {size} failed:\n{err}")
    got = json.loads(text[text.index("{") :])
    records = int(got.get("hoso_added", 0)) + int(got.get("docs_committed", 0))
    records += int(got.get("hoso_unchanged", 0)) if resumed else 0
    facts = {
        "batch": i,
        "before": i * CHUNK,
        "rows": rows,
        "modes": modes,
        "records": records,
        "rejected": int(got.get("hoso_rejected", 0)) + int(got.get("docs_rejected", 0)),
        "ingest_s": round(got_run["seconds"], 1),
        "rate": round(records / got_run["seconds"], 1),
        "timings": got.get("timings", {}),
        "peak_rss": got_run["peak_rss"],
        "search": "tantivy",
        "resumed": resumed,
        "store_bytes": disk_bytes(SCALE / str(size) / "data" / "store"),
    }
    (here / "facts.json").write_text(json.dumps(facts, indent=1))
    return facts


def count_modes(sheet: Path) -> dict[str, int]:
    import csv

    counts: dict[str, int] = {}
    with sheet.open(newline="", encoding="utf-8") as fh:
        for row in list(csv.reader(fh))[1:]:
            if row[0]:
                counts[row[3]] = counts.get(row[3], 0) + 1
    return counts


# -- the servers: fast-path loads of the dump -----------------------------------------------------


def oxigraph_load(size: int) -> tuple[Path, dict]:
    """`oxigraph load` of the dump into /tmp/scale/<N>/oxigraph/store (before serving)."""
    home = SCALE / str(size) / "oxigraph"
    facts_path = home / "load.json"
    if facts_path.exists():
        return home, json.loads(facts_path.read_text())
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    binary = Path(sys.executable).with_name("oxigraph")
    dump = SCALE / str(size) / "dump.nq"
    got = run_child(
        [str(binary), "load", "--location", str(home / "store"), "--file", str(dump)],
        log=home / "load.log",
    )
    if got["rc"] != 0:
        raise RuntimeError(f"oxigraph load failed: {(home / 'load.log').read_text()[-2000:]}")
    got["disk"] = disk_bytes(home / "store")
    facts_path.write_text(json.dumps(got))
    return home, got


def virtuoso_load(server: object, size: int) -> dict:
    """Virtuoso's bulk loader of the dump (tests/servers.py Server.bulk_load: ld_dir +
    rdf_loader_run + checkpoint, durations aliased as Kho keeps them there)."""
    dump = SCALE / str(size) / "dump.nq"
    start = time.perf_counter()
    server.bulk_load(dump)  # type: ignore[attr-defined]
    return {"seconds": time.perf_counter() - start, "state": "loaded"}


def rdflib_child(size: int, graphs: list[str], queries_path: str, cap: float) -> dict:
    """Run in a fresh process: load the visible graphs of the dump into an rdflib Dataset, then
    time each query of queries_path (JSON list of [name, sparql] per run), each under `cap`."""
    import rdflib

    start = time.perf_counter()
    dataset = rdflib.Dataset(default_union=True)
    wanted = set(graphs)
    dump = SCALE / str(size) / "dump.nq"
    # Keep only the visible graphs' quads: parse each graph's lines as N-Triples.
    by_graph: dict[str, list[str]] = {}
    with dump.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip()
            if not line.endswith("> ."):
                continue
            head, _, _ = line.rpartition(" .")
            body, _, g = head.rpartition(" <")
            g = g[:-1]
            if g in wanted:
                by_graph.setdefault(g, []).append(body + " .")
    for g, lines in by_graph.items():
        dataset.graph(rdflib.URIRef(g)).parse(data="\n".join(lines), format="nt")
    del by_graph
    load_s = time.perf_counter() - start
    import resource

    loaded_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    from repository.namespaces import PREFIXES

    ns = {k: rdflib.Namespace(v) for k, v in PREFIXES.items()}
    import signal

    def too_slow(*_: object) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, too_slow)
    runs = json.loads(Path(queries_path).read_text())
    out: dict[str, list] = {}
    for name, sparqls in runs.items():
        if not name.startswith("Q"):
            continue
        times: list[float] = []
        rows: list[int | None] = []
        budget = time.perf_counter()
        for sparql in sparqls:
            t = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, cap)
            try:
                rows.append(len(list(dataset.query(sparql, initNs=ns))))
            except TimeoutError:
                rows.append(None)  # over the cap: reported as "> cap"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            times.append((time.perf_counter() - t) * 1000)
            if rows[-1] is None or time.perf_counter() - budget > cap:
                break  # slow: keep what was measured (the report says n)
        out[name] = [times, rows]
    return {
        "triples": len(dataset),
        "load_s": load_s,
        "loaded_rss": loaded_rss,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "queries": out,
    }


if __name__ == "__main__":  # python -m tests.bench.scale_data rdflib SIZE GRAPHS.json QUERIES CAP
    if sys.argv[1] == "prepare":
        print(json.dumps(prepare(int(sys.argv[2]), reuse="--reuse" in sys.argv)))
    else:
        graphs = json.loads(Path(sys.argv[3]).read_text())
        got = rdflib_child(int(sys.argv[2]), graphs, sys.argv[4], float(sys.argv[5]))
        Path(sys.argv[6]).write_text(json.dumps(got))
