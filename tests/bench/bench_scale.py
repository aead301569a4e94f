"""Kho at scale: 10k and 100k records (1M: `make bench-1m`) on the embedded Oxigraph store, Oxigraph
server, Virtuoso 7 and rdflib's in-memory Dataset (the naive baseline), measured in the same run:
ingest / load rate, p50 / p95 of a fixed query set, store size on disk and peak memory.

    python -m tests.bench.bench_scale --size 100000 [--reuse]   # measure one size -> results.json
    python -m tests.bench.run --only bench_scale                # the section from what is measured

Data lives in /tmp/scale/<N>/ (tests/bench/scale_data.py); queries in scale_queries.py; the
Markdown in scale_report.py. Each back-end answers the same query texts: the embedded store through
Kho's Store.select (in a child process, for its own peak RSS), the servers over HTTP with requests
(SPARQL 1.1 protocol, the visible graphs as default-graph-uri), rdflib in a child with a cap per
query.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.bench.scale_data import (
    ROOT,
    SCALE,
    disk_bytes,
    oxigraph_load,
    prepare,
    run_child,
    settings_for,
    tantivy_reindex,
    virtuoso_load,
)
from tests.bench.scale_queries import bindings, with_prefixes
from tests.bench.scale_remote import ingest_into, kho_caller

WARM_UP = 3
RUNS = 30
CAP_S = 60.0  # one query slower than this on rdflib is stopped and reported as "> 60 s"
KHO_SERIES_UP_TO = 10_000  # Kho's own overhead on a server is per request: measured at 10k
QUERIES = ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6")


def timed_many(
    calls: dict[str, Callable[[str], int]], texts: list[str], cap: float = CAP_S
) -> dict:
    """WARM_UP rounds, then one round per remaining text, each round calling every caller in turn
    (interleaved, so a busy moment of the shared machine hits them alike): milliseconds and rows
    of each measured call per caller. A call over `cap` seconds ends the series."""
    for text in texts[:WARM_UP]:
        for call in calls.values():
            call(text)
    out: dict[str, dict] = {k: {"ms": [], "rows": []} for k in calls}
    for text in texts[WARM_UP : WARM_UP + RUNS]:
        slow = False
        for key, call in calls.items():
            start = time.perf_counter()
            out[key]["rows"].append(call(text))
            out[key]["ms"].append((time.perf_counter() - start) * 1000)
            slow = slow or out[key]["ms"][-1] > cap * 1000
        if slow:
            break
    return out


def timed(call: Callable[[str], int], texts: list[str], cap: float = CAP_S) -> dict:
    """timed_many of one caller."""
    return timed_many({"one": call}, texts, cap)["one"]


def p(ms: list[float], q: float) -> float:
    ordered = sorted(ms)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(series: dict) -> dict:
    ms = series["ms"]
    return {
        "p50": statistics.median(ms) if ms else None,
        "p95": p(ms, 0.95) if ms else None,
        "n": len(ms),
        "rows": series["rows"],
        "over_cap": series.get("over_cap", False),
        "error": series.get("error"),
    }


# -- the back-ends ------------------------------------------------------------------------------


def embedded_child(size: int) -> dict:
    """In a fresh process: Kho's Store.select on the ingested store, and Kho's search index."""
    from repository import access, record_index
    from repository.namespaces import Minter
    from repository.store import open_store_read_only

    settings = settings_for(size)
    store = open_store_read_only(settings.store_path)  # type: ignore[attr-defined]
    graphs = access.visible_graphs(
        store.named_graphs(),
        Minter(settings.base_iri),
        access.PUBLIC,  # type: ignore[attr-defined]
    )
    home = SCALE / str(size)
    texts = bindings(store, graphs, WARM_UP + RUNS)
    (home / "queries.json").write_text(json.dumps(texts, ensure_ascii=False))
    (home / "graphs.json").write_text(json.dumps(graphs))
    counts = {g: store.count(g) for g in graphs}
    (home / "graph-counts.json").write_text(json.dumps(counts))
    out = {}
    for name in QUERIES:
        out[name] = timed(lambda t: len(store.select(t, graphs=graphs)), texts[name])
    levels = set(access.PUBLIC.levels)
    for engine in ("whoosh", "tantivy"):
        where = settings_for(size, engine)
        try:
            out[f"Q6-{engine}"] = timed(
                lambda w, s=where: record_index.search(s, w, access=levels).total,  # type: ignore[misc]
                texts["words"],
            )
        except Exception as exc:  # no index of that engine (KHO_SEARCH=tantivy at ingest)
            out[f"Q6-{engine}"] = {"ms": [], "rows": [], "error": f"{type(exc).__name__}: {exc}"}
    return out


def http_series(
    server: object, graphs: list[str], texts: dict, plain_counts: bool = False
) -> dict[str, dict]:
    """The query set over plain HTTP ("queries"), on the embedded store ("embedded", Kho's
    Store.select on the same data, so the ratio to the server is of runs side by side) and
    through Kho's Store on KHO_STORE=sparql:… ("kho"), interleaved run by run. With
    `plain_counts` the server gets Q3 in the plain shape Kho sends such a server (Virtuoso)."""
    from repository.store import open_store_read_only

    size = int(texts.get("size", [0])[0])
    embedded = open_store_read_only(settings_for(size).store_path)  # type: ignore[attr-defined]
    session = requests.Session()
    url = server.query_url  # type: ignore[attr-defined]

    def call(sparql: str) -> int:
        r = session.post(
            url,
            data={"query": with_prefixes(sparql), "default-graph-uri": graphs},
            headers={"Accept": "application/sparql-results+json"},
            timeout=CAP_S * 5,
        )
        if r.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {r.status_code}: {r.text[:600]}")
        return len(r.json()["results"]["bindings"])

    plain = dict(zip(texts["Q3"], texts["Q3-plain"], strict=True)) if plain_counts else {}

    def shaped(caller: Callable[[str], int]) -> Callable[[str], int]:
        return lambda t: caller(plain.get(t, t))

    callers: dict[str, Callable[[str], int]] = {
        "queries": shaped(call),
        "embedded": lambda t: len(embedded.select(t, graphs=graphs)),
    }
    if size <= KHO_SERIES_UP_TO:
        callers["kho"] = shaped(kho_caller(server, graphs))
    out: dict[str, dict] = {k: {} for k in callers}
    for name in QUERIES:
        try:
            both = timed_many(callers, texts[name])
        except Exception:  # find which one fails, and measure the other alone
            both = {}
            for key, one in callers.items():
                try:
                    both[key] = timed(one, texts[name])
                except Exception as exc:  # reported in the table
                    both[key] = {"ms": [], "rows": [], "error": f"{type(exc).__name__}: {exc}"}
        for key in callers:
            out[key][name] = both[key]
    return out


def embedded_counts(size: int) -> dict[str, int]:
    return json.loads((SCALE / str(size) / "graph-counts.json").read_text())


def measure_oxigraph(size: int, graphs: list[str], texts: dict) -> dict:
    from tests.servers import oxigraph_server

    home, load = oxigraph_load(size)
    with oxigraph_server(directory=home) as server:
        series = http_series(server, graphs, texts)
        return {
            "kho": series.get("kho", {}),
            "embedded": series["embedded"],
            "load": load,
            "disk": disk_bytes(home / "store"),
            "peak_rss": server.peak_rss_bytes(),
            "queries": series["queries"],
        }


def virtuoso_buffers(size: int) -> int:
    return 680_000 if size >= 1_000_000 else 170_000  # 8 KiB pages: 5.4 GB / 1.4 GB


def measure_virtuoso(size: int, graphs: list[str], texts: dict) -> dict:
    from tests.servers import virtuoso_server

    home = SCALE / str(size) / "virtuoso"
    done = home / "load.json"
    with virtuoso_server(directory=home, buffers=virtuoso_buffers(size)) as server:
        if done.exists():
            load = json.loads(done.read_text())
        else:
            load = virtuoso_load(server, size)
            load["peak_rss"] = server.peak_rss_bytes()
            done.write_text(json.dumps(load))
        series = http_series(server, graphs, texts, plain_counts=True)
        return {
            "kho": series.get("kho", {}),
            "embedded": series["embedded"],
            "load": load,
            "disk": sum(disk_bytes(f) for f in home.glob("virtuoso*.db")),
            "peak_rss": max(server.peak_rss_bytes(), int(load.get("peak_rss", 0))),
            "queries": series["queries"],
        }


RDFLIB_BYTES_PER_TRIPLE = 2_950  # measured at 10k: 5.8 GB peak for 1.98 M triples


def mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def measure_rdflib(size: int, triples: int, reuse: bool = True) -> dict:
    """rdflib in a child: its load and the query set, the first WARM_UP runs of each query not
    counted (so rows line up with the other back-ends' runs). Skipped, with an estimate, when
    the machine has not got the memory it would take."""
    home = SCALE / str(size)
    out = home / "rdflib.json"
    need = triples * RDFLIB_BYTES_PER_TRIPLE
    if not (reuse and out.exists()):
        if need * 1.3 > mem_available():
            return {"skipped": True, "triples": triples, "estimate_rss": need}
        cmd = [sys.executable, "-m", "tests.bench.scale_data", "rdflib", str(size)]
        cmd += [str(home / "graphs.json"), str(home / "queries.json"), str(CAP_S), str(out)]
        got = run_child(cmd, log=home / "rdflib.log")
        if got["rc"] != 0:
            return {"error": (home / "rdflib.log").read_text(errors="replace")[-800:]}
    result = json.loads(out.read_text())
    queries = {}
    for name, (ms, rows) in result["queries"].items():
        over = bool(rows) and rows[-1] is None
        if len(ms) > WARM_UP:
            ms, rows = ms[WARM_UP:], rows[WARM_UP:]
        else:
            rows = []  # no measured run lines up with the others' runs
        queries[name] = {"ms": ms, "rows": [r for r in rows if r is not None], "over_cap": over}
    result["queries"] = queries
    return result


def measure(
    size: int,
    reuse: bool = True,
    servers: bool = True,
    naive: bool = True,
    remote_ingest: bool = True,
) -> dict:
    """Every back-end at one size; results.json in /tmp/scale/<N>/."""
    home = SCALE / str(size)
    facts = prepare(size, reuse=reuse)
    results: dict = {"size": size, "facts": facts, "when": time.strftime("%Y-%m-%d %H:%M")}
    tantivy = tantivy_reindex(size)
    emb_out = home / "embedded.json"
    cmd = [sys.executable, "-m", "tests.bench.bench_scale", "--child", "--size", str(size)]
    got = run_child(cmd, log=home / "embedded.log")
    if got["rc"] != 0:
        raise RuntimeError((home / "embedded.log").read_text(errors="replace")[-2000:])
    embedded = json.loads(emb_out.read_text())
    results["embedded"] = {
        "peak_rss": got["peak_rss"],
        "disk": facts["store_bytes"],
        "tantivy": tantivy,
        "queries": {k: summary(v) for k, v in embedded.items()},
    }
    graphs = json.loads((home / "graphs.json").read_text())
    texts = json.loads((home / "queries.json").read_text()) | {"size": [size]}
    for name, fn in (("oxigraph-server", measure_oxigraph), ("virtuoso", measure_virtuoso)):
        if not servers:
            continue
        try:
            r = fn(size, graphs, texts)
            for part in ("queries", "kho", "embedded"):
                r[part] = {k: summary(v) | {"error": v.get("error")} for k, v in r[part].items()}
            if remote_ingest or (SCALE / str(size) / f"ingest-{name}" / "ingest.json").exists():
                try:
                    r["ingest"] = ingest_into(name, size)
                except Exception as exc:  # reported beside the other figures
                    r["ingest"] = {"error": f"{type(exc).__name__}: {str(exc)[:400]}"}
        except Exception as exc:  # a server that fails is reported, not fatal
            r = {"error": f"{type(exc).__name__}: {str(exc)[:400]}"}
        results[name] = r
        (home / "results.json").write_text(json.dumps(results, indent=1))
    if naive:
        r = measure_rdflib(size, sum(embedded_counts(size).values()), reuse=reuse)
        if "queries" in r:
            r["queries"] = {
                k: summary(v) | {"over_cap": v["over_cap"]} for k, v in r["queries"].items()
            }
        results["rdflib"] = r
    (home / "results.json").write_text(json.dumps(results, indent=1))
    return results


def run(quick: bool = False) -> str:
    """The section: each size's results.json; a size with no /tmp/scale/<N>/ yet is measured now
    (KHO_SCALE_FRESH=1 measures every size again). A size whose directory exists without results
    (another run preparing or measuring it) is shown as pending."""
    from tests.bench.scale_report import report

    sizes = [1_000] if quick else [10_000, 100_000]
    fresh = os.environ.get("KHO_SCALE_FRESH") == "1"
    measured: list[dict] = []
    for size in sizes:
        home = SCALE / str(size)
        done = home / "results.json"
        if done.exists() and not fresh:
            measured.append(json.loads(done.read_text()))
        elif home.exists() and not fresh:  # being prepared or measured by another run
            measured.append({"size": size, "pending": True})
        else:
            measured.append(measure(size, reuse=not fresh))
    big = SCALE / "1000000" / "results.json"
    if not quick and big.exists():
        measured.append(json.loads(big.read_text()))
    return report(measured, quick)


def main() -> None:
    a = argparse.ArgumentParser(description=__doc__)
    a.add_argument("--size", type=int, required=True)
    a.add_argument("--reuse", action="store_true", help="keep /tmp/scale/<N>/ data if present")
    a.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a.add_argument("--no-servers", action="store_true")
    a.add_argument("--no-rdflib", action="store_true")
    a.add_argument("--no-remote-ingest", action="store_true", help="skip kho ingest into servers")
    args = a.parse_args()
    if args.child:
        out = embedded_child(args.size)
        (SCALE / str(args.size) / "embedded.json").write_text(json.dumps(out))
        return
    os.chdir(ROOT)
    r = measure(
        args.size,
        reuse=args.reuse,
        servers=not args.no_servers,
        naive=not args.no_rdflib,
        remote_ingest=not args.no_remote_ingest,
    )
    print(json.dumps({k: v for k, v in r.items() if k != "facts"}, indent=1)[:4000])


if __name__ == "__main__":
    main()
