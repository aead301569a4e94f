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
    for kind, status, _ms, _t in result["requests"]:
        if not 200 <= status < 299 and status not in (301, 302, 303, 304):
            failed[(kind, status)] = failed.get((kind, status), 0) + 1
    return ", ".join(f"{k} HTTP {s} ×{n}" for (k, s), n in sorted(failed.items())) or "none"


def _ms(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 else f"{v:.1f}"


def _three(s: Summary) -> str:
    return f"{_ms(s.p50)} / {_ms(s.p95)} / {_ms(s.p99)}"


def _cores(result: dict, name: str, own: bool = False) -> float:
    return result["own_cpu_s" if own else "cpu_s"].get(name, 0.0) / result["seconds"]


RUNS = (  # (scenario, run, label)
    ("a", "base", "embedded store, 1 client (baseline)"),
    ("a", "load", "embedded store, 20 clients"),
    ("b", "base", "Oxigraph server, 1 client (baseline)"),
    ("b", "load", "Oxigraph server, 20 clients"),
    ("c", "load", "Oxigraph server, 20 clients, `kho ingest` beside"),
)


def report(r: dict, quick: bool) -> str:
    prep, sizes, facts = r["prep"], r["sizes"], r["prep"]["facts"]
    sums = {(sc, run): summarise(r[sc][run]) for sc, run, _ in RUNS}
    first = r["a"]["load"]
    t = first["targets"]
    lines = [
        "## Load: 20 concurrent users against `kho serve`",
        "",
        f"`kho serve` (waitress, 8 threads, the production server) on 127.0.0.1 over bench_web's "
        f"data directory: the harvested store plus {facts['records']:,} generated records "
        f"(metadata only; hồ sơ 60/30/10 % levels 01/02/03), built in {prep['prepare_s']:.0f} s. "
        f"The clients are a process of their own (`tests/bench/load_client.py`): "
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
        f"Warm-up {sizes['warm_up']:.0f} s (not counted), then {sizes['seconds']:.0f} s "
        "measured; the baseline is the same mix from "
        f"one client (one anonymous and one signed-in session taking turns) for "
        f"{sizes['baseline_s']:.0f} s in the same run, so a ratio is the cost of concurrency. "
        "An error is any status other than 2xx/3xx (a deliberate 404 that came is a success; "
        "a page that should have been 404 is an error), a connection error or a timeout "
        "(60 s). Latencies in milliseconds, p50 / p95 / p99; CPU in cores (CPU seconds per "
        "second of the window; the machine has 2); the server's CPU includes its SPARQL "
        "worker processes.",
        "",
        "| run | requests | req/s | errors | page views p50 / p95 / p99 | all p50 / p95 / p99 "
        "| kho serve CPU (its own process) | other CPU | client CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for sc, run, label in RUNS:
        res, s = r[sc][run], sums[(sc, run)]
        others = [f"{name} {_cores(res, name):.2f}" for name in res["cpu_s"] if name != "server"]
        lines.append(
            f"| {label} | {s['all'].n:,} | **{s['all'].rate:.1f}** | "
            f"{s['all'].errors} ({100 * s['all'].errors / max(1, s['all'].n):.2f} %) | "
            f"{_three(s['pages'])} | {_three(s['all'])} | "
            f"{_cores(res, 'server'):.2f} ({_cores(res, 'server', own=True):.2f}) | "
            f"{', '.join(others) or '–'} | {res['client_cpu_s'] / res['seconds']:.2f} |"
        )
    kinds = [k for k in list(PAGES) + list(DATA_WEIGHTS) if k in sums[("a", "load")]]
    lines += [
        "",
        "Per kind, p50 / p95 / p99 in ms; ratios are p95 ÷ p95 of the baseline beside it:",
        "",
        "| kind | embedded, 1 client | embedded, 20 | ratio | server, 1 client | "
        "server, 20 | ratio | server, 20, ingest | ÷ server, 20 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in ["pages", "all", *kinds]:
        cells, row = [], []
        for sc, run, _label in RUNS:
            got = sums[(sc, run)].get(kind)
            cells.append(got)
            row.append(_three(got) if got else "–")
        ratio = [_ratio(cells[1], cells[0]), _ratio(cells[3], cells[2]), _ratio(cells[4], cells[3])]
        name = {"pages": "**page views**", "all": "**all requests**"}.get(kind, kind)
        lines.append(
            f"| {name} | {row[0]} | {row[1]} | {ratio[0]} | {row[2]} | {row[3]} | {ratio[1]} "
            f"| {row[4]} | {ratio[2]} |"
        )
    ing = r["c"]["ingest"]
    lines += [
        "",
        f"The ingest beside (c): `kho ingest --metadata-only` of two batches of text PDFs "
        f"({sizes['ingest_pdfs']} documents) and a sheet of {ing['rows']:,} generated records "
        f"into the same Oxigraph server; in the measured window it committed "
        f"{ing['records']:,} records ({ing['rate']:.1f} records/s"
        + (f", {ing['cpu_s'] / ing['seconds']:.2f} cores" if ing["cpu_s"] is not None else "")
        + ("" if ing["still_running"] else "; it had finished before the window ended")
        + "). Errors by kind: "
        + "; ".join(f"{label}: {statuses(r[sc][run])}" for sc, run, label in RUNS if run == "load")
        + ".",
        "",
    ]
    lines += goal(r, sums)
    if quick:
        lines += ["", "(Quick sizes: 1k records, 10 s windows; `make bench` measures 5k, 60 s.)"]
    return "\n".join(lines)


def _ratio(a: Summary | None, b: Summary | None) -> str:
    return f"{a.p95 / b.p95:.1f}×" if a and b and b.p95 else "–"


def goal(r: dict, sums: dict) -> list[str]:
    """The goal, met or not, per 20-client run, and what limits throughput."""
    out = []
    for sc, run, label in RUNS:
        if run != "load":
            continue
        s, res = sums[(sc, run)], r[sc][run]
        met = s["all"].errors == 0 and s["pages"].p95 < GOAL_MS
        busy = _cores(res, "server", own=True)
        service = 1000 * res["cpu_s"]["server"] / max(1, s["all"].n)
        out.append(
            f"- Goal (zero errors, p95 of page views < {GOAL_MS:.0f} ms at {CLIENTS} clients), "
            f"{label}: **{'met' if met else 'missed'}** — {s['all'].errors} errors, page views "
            f"p95 {_ms(s['pages'].p95)} ms. The server's own process used {busy:.2f} cores "
            f"(one Python process: its 8 waitress threads share one GIL, so ~1 core is its "
            f"ceiling), {service:.1f} ms of server CPU per request; {CLIENTS} clients ÷ "
            f"{s['all'].rate:.1f} req/s = {1000 * CLIENTS / max(s['all'].rate, 0.01):.0f} ms, "
            f"the mean time a request waits and runs (Little's law)."
        )
    return out
