"""The load test's figures and its section of docs/benchmarks.md (tests/bench/bench_load.py)."""

from __future__ import annotations

from dataclasses import dataclass

from tests.bench.load_client import DATA as DATA_WEIGHTS
from tests.bench.load_client import PAGES

CLIENTS = 20
GOAL_MS = 200.0


# -- the figures ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


@dataclass
class Summary:
    n: int
    rate: float  # requests/s
    errors: int
    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, rows: list[list], seconds: float) -> Summary:
        ms = [r[2] for r in rows]
        bad = sum(1 for r in rows if not 200 <= r[1] < 299 and r[1] not in (301, 302, 303, 304))
        return cls(len(rows), len(rows) / seconds, bad, pct(ms, 0.5), pct(ms, 0.95), pct(ms, 0.99))


def summarise(result: dict) -> dict[str, Summary]:
    """Per kind, page views together ("pages") and everything ("all")."""
    rows, seconds = result["requests"], result["seconds"]
    out = {"all": Summary.of(rows, seconds)}
    out["pages"] = Summary.of([r for r in rows if r[0] in PAGES], seconds)
    for kind in sorted({r[0] for r in rows}):
        out[kind] = Summary.of([r for r in rows if r[0] == kind], seconds)
    return out


def statuses(result: dict) -> str:
    """The failed requests by kind and status (0: connection error or timeout)."""
    failed: dict[tuple[str, int], int] = {}
    for kind, status, *_ in result["requests"]:
        if not 200 <= status < 299 and status not in (301, 302, 303, 304):
            failed[(kind, status)] = failed.get((kind, status), 0) + 1
    return ", ".join(f"{k} HTTP {s} ×{n}" for (k, s), n in sorted(failed.items())) or "none"


def _ms(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 else f"{v:.1f}"


def _three(s: Summary) -> str:
    return f"{_ms(s.p50)} / {_ms(s.p95)} / {_ms(s.p99)}"


def _cores(result: dict, own: bool = False, prefix: str = "server") -> float:
    """Cores used over the window by the watched processes whose name starts with `prefix`."""
    got = result["own_cpu_s" if own else "cpu_s"]
    return sum(v for k, v in got.items() if k.startswith(prefix)) / result["seconds"]


RUNS = (  # (scenario, run, label)
    ("a", "base", "embedded store, 1 client (baseline)"),
    ("a", "load", "embedded store, 20 clients"),
    ("g", "load", "embedded store, 20 clients, nothing kept"),
    ("f", "load", "embedded store, 20 clients, one process, nothing kept (session 8's server)"),
    ("d", "load", "embedded store, tantivy search, 20 clients"),
    ("e", "load", "embedded store, 20 clients, `kho ingest` beside"),
    ("b", "base", "Oxigraph server, 1 client (baseline)"),
    ("b", "load", "Oxigraph server, 20 clients"),
    ("c", "load", "Oxigraph server, 20 clients, `kho ingest` beside"),
    ("h", "load", "Oxigraph server, 20 clients, `kho ingest` beside, no lag behind additions"),
)
# per-kind table: (scenario, run, heading, ratio against (scenario, run) or None)
COLUMNS = (
    ("a", "base", "embedded, 1 client", None),
    ("a", "load", "embedded, 20", ("a", "base")),
    ("g", "load", "embedded, 20, nothing kept", ("a", "load")),
    ("f", "load", "embedded, 20, one process, nothing kept", ("a", "load")),
    ("d", "load", "embedded, tantivy, 20", ("a", "load")),
    ("e", "load", "embedded, 20, ingest", ("a", "load")),
    ("b", "base", "server, 1 client", None),
    ("b", "load", "server, 20", ("b", "base")),
    ("c", "load", "server, 20, ingest", ("b", "load")),
    ("h", "load", "server, 20, ingest, no lag", ("c", "load")),
)


def kept(result: dict) -> str:
    """The share of page views answered from kept pages (X-Kho-Cache: hit)."""
    pages = [r for r in result["requests"] if r[0] in PAGES and len(r) > 4 and r[4]]
    if not pages:
        return "–"
    return f"{100 * sum(1 for r in pages if r[4] == 'hit') / len(pages):.0f} %"


def report(r: dict, quick: bool) -> str:
    prep, sizes, facts = r["prep"], r["sizes"], r["prep"]["facts"]
    sums = {(sc, run): summarise(r[sc][run]) for sc, run, _ in RUNS}
    first = r["a"]["load"]
    t = first["targets"]
    lines = [
        "## Load: 20 concurrent users against `kho serve`",
        "",
        "`kho serve` (waitress, the production server, with its defaults: 24 threads, pages "
        "rendered by one worker process per core — two on the Oxigraph server, which pages wait "
        "on — data for programs by workers of its own, one per core, at nice 5, and answers "
        "kept per audience) "
        "on 127.0.0.1 "
        "over bench_web's "
        f"data directory: the harvested store plus {facts['records']:,} generated records "
        f"(metadata only; hồ sơ 60/30/10 % levels 01/02/03), built in {prep['prepare_s']:.0f} s. "
        "The clients are a process of their own (`tests/bench/load_client.py`): "
        f"{CLIENTS} sessions, closed loop, no think time, {first['signed_in']} signed in as "
        "researchers through `/login` (one account each) and the rest anonymous. Each session "
        "draws from the same mix: page views (home, `/browse` and its lists, record and hồ sơ "
        "pages, unit pages with their lineage, agency pages, `/records` searches with "
        "words from the titles with and without accents, and with unit/agency/year/type "
        "filters) and data (record JSON-LD `/id/….jsonld`, `/api/records` pages, the "
        "workbench's SPARQL examples, OAI-PMH `ListRecords`, and deliberate 404s: a missing "
        "record, or a restricted one asked anonymously). The kinds' weights: "
        + ", ".join(f"{k} {w}" for k, w in (PAGES | DATA_WEIGHTS).items())
        + ". What to ask for is discovered from the server before the window "
        f"({t['public']} public and {t['restricted']} restricted records and hồ sơ, "
        f"{t['units']} units, {t['agencies']} agencies, {t['queries']} queries). "
        f"Each run starts on a `kho serve` of its own (nothing kept yet): warm-up "
        f"{sizes['warm_up']:.0f} s (not counted), then {sizes['seconds']:.0f} s "
        "measured; the baseline is the same mix from one client (one anonymous and one "
        f"signed-in session taking turns) for {sizes['baseline_s']:.0f} s in the same run, so "
        "a ratio is the cost of concurrency. An error is any status other than 2xx/3xx (a "
        "deliberate 404 that came is a success; a page that should have been 404 is an "
        "error), a connection error or a timeout (60 s). Latencies in milliseconds, p50 / p95 "
        "/ p99; CPU in cores (CPU seconds per second of the window; the machine has 2, shared "
        "by clients and servers); `kho serve`'s CPU includes its page workers and SPARQL "
        "workers, the serving process's beside it. Page views kept: the share answered from "
        "kept pages (the `X-Kho-Cache: hit` header). The Oxigraph server holds the same store "
        "(bulk-loaded in "
        f"{prep.get('oxigraph_load_s', 0):.0f} s); the tantivy run reads indexes rebuilt by "
        "`kho reindex` with `KHO_SEARCH=tantivy`; 'nothing kept' runs with "
        "`KHO_PAGE_CACHE_MB=0`, every answer built from the store and the index; 'one "
        "process, nothing kept' adds `KHO_SERVE_PROCESSES=1`: the server as session 8 "
        "measured it. "
        "Machine load is the 1-minute load average at the end of the window (runnable "
        "processes, everyone's: above 2 the two cores were shared with other work).",
        "",
        "| run | requests | req/s | errors | page views p50 / p95 / p99 | all p50 / p95 / p99 "
        "| page views kept | kho serve CPU (serving process) | other CPU | client CPU "
        "| machine load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for sc, run, label in RUNS:
        res, s = r[sc][run], sums[(sc, run)]
        others = [
            f"{name} {_cores(res, prefix=name):.2f}"
            for name in res["cpu_s"]
            if not name.startswith("server")
        ]
        lines.append(
            f"| {label} | {s['all'].n:,} | **{s['all'].rate:.1f}** | "
            f"{s['all'].errors} ({100 * s['all'].errors / max(1, s['all'].n):.2f} %) | "
            f"{_three(s['pages'])} | {_three(s['all'])} | {kept(res)} | "
            f"{_cores(res):.2f} ({_cores(res, own=True):.2f}) | "
            f"{', '.join(others) or '–'} | {res['client_cpu_s'] / res['seconds']:.2f} | "
            f"{res.get('loadavg', 0):.1f} |"
        )
    kinds = [k for k in list(PAGES) + list(DATA_WEIGHTS) if k in sums[("a", "load")]]
    lines += [
        "",
        "Per kind, p50 / p95 / p99 in ms, and the ratio of p95 to the p95 of the run named "
        "under it:",
        "",
        "| kind | " + " | ".join(_heading(c) for c in COLUMNS) + " |",
        "|---|" + "---:|" * len(COLUMNS),
    ]
    for kind in ["pages", "all", *kinds]:
        row = []
        for sc, run, _, against in COLUMNS:
            got = sums[(sc, run)].get(kind)
            cell = _three(got) if got else "–"
            if got and against and sums[against].get(kind):
                cell += f" ({got.p95 / sums[against][kind].p95:.1f}×)"
            row.append(cell)
        name = {"pages": "**page views**", "all": "**all requests**"}.get(kind, kind)
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    ing, emb = r["c"]["ingest"], r["e"]["ingest"]
    lines += [
        "",
        "The ingest beside: `kho ingest --metadata-only` (commits of 50 hồ sơ; at its default "
        "lower CPU priority, `KHO_BACKGROUND_NICE=10`) of two batches "
        f"of text PDFs ({sizes['ingest_pdfs']} documents) and a sheet of {ing['rows']:,} "
        "generated records. Into the embedded store `kho serve` serves (a copy of the data "
        "directory; each commit under the store's write lock, repository/store_oxigraph.py) it "
        f"committed {_ingested(emb)} in the measured window; into the Oxigraph server, "
        f"{_ingested(ing)}; with kept answers never lagging behind an addition "
        "(`KHO_PAGE_CACHE_LAG_SECONDS=0`, a second `kho ingest` of the same batches going on "
        f"where the first stopped), {_ingested(r['h']['ingest'])}. "
        "Errors by kind: "
        + "; ".join(f"{label}: {statuses(r[sc][run])}" for sc, run, label in RUNS if run == "load")
        + ".",
        "",
    ]
    for trace in r.get("tracebacks", []):
        lines += ["A traceback the servers or the ingest logged:", "", "```", trace, "```", ""]
    lines += goal(r, sums)
    lines += ["", why(r, sums)]
    if quick:
        lines += ["", "(Quick sizes: 1k records, 10 s windows; `make bench` measures 5k, 45 s.)"]
    return "\n".join(lines)


def _ingested(ing: dict) -> str:
    return (
        f"{ing['records']:,} records ({ing['rate']:.1f} records/s"
        + (f", {ing['cpu_s'] / ing['seconds']:.2f} cores" if ing["cpu_s"] is not None else "")
        + ("" if ing["still_running"] else "; it had finished before the window ended")
        + ")"
    )


def _heading(column: tuple) -> str:
    sc, run, heading, against = column
    if not against:
        return heading
    return f"{heading} (÷ {next(h for s, r, h, _ in COLUMNS if (s, r) == against)})"


def goal(r: dict, sums: dict) -> list[str]:
    """The goal, met or not, per 20-client run, with what bounds the throughput."""
    out = []
    for sc, run, label in RUNS:
        if run != "load":
            continue
        s, res = sums[(sc, run)], r[sc][run]
        met = s["all"].errors == 0 and s["pages"].p95 < GOAL_MS
        service = 1000 * _cores(res) * res["seconds"] / max(1, s["all"].n)
        out.append(
            f"- Goal (zero errors, p95 of page views < {GOAL_MS:.0f} ms at {CLIENTS} clients), "
            f"{label}: **{'met' if met else 'missed'}** — {s['all'].errors} errors, page views "
            f"p95 {_ms(s['pages'].p95)} ms; {service:.0f} ms of `kho serve` CPU per request, "
            f"its own process{'es' if res.get('servers', 1) > 1 else ''} at "
            f"{_cores(res, own=True):.2f} cores; {CLIENTS} clients ÷ {s['all'].rate:.1f} req/s "
            f"= {1000 * CLIENTS / max(s['all'].rate, 0.01):,.0f} ms, the mean time a request "
            "waits and runs (Little's law)."
        )
    return out


def ingest_note(sums: dict) -> str:
    """What the ingest's commits cost the kept pages and the cached browse lists."""
    b, c = sums[("b", "load")], sums[("h", "load")]
    if "browse" not in b or "browse" not in c:
        return ""
    return (
        "- **The ingest beside** costs more than its CPU when every commit (50 hồ sơ) makes kept "
        "answers unreachable (`KHO_PAGE_CACHE_LAG_SECONDS=0`): kept pages, browse lists and home "
        "counts are built again after each, `/browse` p50 "
        f"{_ms(c['browse'].p50)} ms against {_ms(b['browse'].p50)} without the ingest, home "
        f"{_ms(c['home'].p50 if 'home' in c else 0)} against "
        f"{_ms(b['home'].p50 if 'home' in b else 0)}.\n"
    )


def why(r: dict, sums: dict) -> str:
    """What the figures say: the page workers and the kept pages against session 8's server,
    and what a page costs when nothing is kept."""

    def rate(key: tuple[str, str]) -> float:
        return sums[key]["all"].rate

    a, g, f = ("a", "load"), ("g", "load"), ("f", "load")
    return (
        "How to read these runs:\n\n"
        "- **Session 8's server** (one process, nothing kept) is GIL-bound: waitress's threads "
        "run Python one at a time, so with 20 closed-loop clients the mean latency is 20 ÷ "
        f"throughput (Little's law): {rate(f):.0f} req/s, page views p95 "
        f"{_ms(sums[f]['pages'].p95)} ms.\n"
        "- **Page workers** (webapp/workers.py: GET pages rendered in one process per core, "
        "over a view of the store that follows the serving process's writes) use both cores: "
        f"{rate(g):.0f} req/s with nothing kept, {rate(g) / rate(f):.2f}× session 8's server, "
        f"page views p95 {_ms(sums[g]['pages'].p95)} ms. This is the floor: every answer "
        "built from the store and the index.\n"
        "- **Kept pages** (webapp/page_cache.py: an answer kept per URL, representation and "
        "audience — role, grants, visible graphs — until the store or the index changes; the "
        "reader's own account links, CSRF token and audit entries are never shared) add "
        f"the rest: {rate(a):.0f} req/s, {rate(a) / rate(f):.2f}× session 8's server, with "
        f"{kept(r['a']['load'])} of page views kept. The hit share is this benchmark's: 20 "
        "sessions draw from a few hundred records, units and agencies and a few dozen words, "
        "so pages repeat within the window; an archive read across a long tail of records "
        "keeps less, and its figure lies between the two runs.\n"
        + ingest_note(sums)
        + "- **Lagging behind additions** (`KHO_PAGE_CACHE_LAG_SECONDS`, 30 s by default): the "
        "ingest's commits only add new hồ sơ, which the store and the index tell from changes, "
        "so kept answers stay for up to 30 s after the first addition they do not show: page "
        f"views p95 {_ms(sums[('c', 'load')]['pages'].p95)} ms, {kept(r['c']['load'])} kept, "
        f"against {_ms(sums[('h', 'load')]['pages'].p95)} ms and {kept(r['h']['load'])} with "
        "every commit making them unreachable (`KHO_PAGE_CACHE_LAG_SECONDS=0`, session 9's "
        "behaviour). A lagging answer shows less, never more: access is by named graph and an "
        "addition takes nothing out of one; an edit, a restriction or a deletion still makes "
        "kept answers unreachable at once.\n"
        + readers_first(sums)
        + "- **The client process** used at most "
        f"{max(_client(r[sc][run]) for sc, run, _ in RUNS):.2f} cores of the two."
    )


def _client(res: dict) -> float:
    return float(res["client_cpu_s"]) / float(res["seconds"])


def readers_first(sums: dict) -> str:
    """What putting readers first costs the data requests in the default run."""
    a = sums[("a", "load")]
    data = [k for k in ("jsonld", "api", "oai") if k in a]
    if not data:
        return ""
    return (
        "- **Readers first** (webapp/workers.py): data for programs has workers of its own at a "
        "lower CPU priority (`KHO_DATA_NICE`, 5), so a page never waits behind it and gets the "
        "CPU first — "
        + ", ".join(f"{k} p95 {_ms(a[k].p95)} ms" for k in data)
        + " against page views' "
        f"{_ms(a['pages'].p95)} ms in the default run; data requests take the CPU pages leave, "
        "all of it on an idle machine.\n"
    )
