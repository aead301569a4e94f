"""The Markdown of the scale benchmark (bench_scale) from its results.json per size."""

from __future__ import annotations

from tests.bench.scale_queries import NAMES

BACKENDS = (
    ("embedded", "Kho embedded (pyoxigraph, `Store.select`)"),
    ("oxigraph-server", "Oxigraph server (HTTP)"),
    ("virtuoso", "Virtuoso 7 (HTTP)"),
    ("rdflib", "rdflib `Dataset` (in memory)"),
)
SERVERS = ("oxigraph-server", "virtuoso")
GOAL_MS = 50.0


def _ms(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if v >= 10 else f"{v:.1f}" if v >= 1 else f"{v:.2f}"


def _mb(b: float | None) -> str:
    return "–" if not b else f"{b / 1e6:,.0f} MB"


def _cell(q: dict | None, cap: float = 60.0) -> str:
    if not q:
        return "–"
    if q.get("error"):
        return f"error: {q['error'][:80]}"
    if q.get("over_cap") and q["n"] <= 1:
        return f"> {cap:.0f} s"
    text = f"{_ms(q['p50'])} / {_ms(q['p95'])}"
    if q["n"] < 30:
        text += f" (n={q['n']}{', then > 60 s' if q.get('over_cap') else ''})"
    return text


def _rows(q: dict | None) -> list[int]:
    return list(q.get("rows") or []) if q else []


def _check(r: dict, name: str) -> str:
    """Do the back-ends agree on the rows of each measured run? (the same texts, in order)"""
    base = _rows(r["embedded"]["queries"].get(name))
    bad = []
    for key, _ in BACKENDS[1:]:
        other = _rows((r.get(key) or {}).get("queries", {}).get(name))
        n = min(len(base), len(other))
        if n and base[:n] != other[:n]:
            diff = sum(1 for a, b in zip(base[:n], other[:n], strict=True) if a != b)
            bad.append(f"{key} differs in {diff}/{n} runs")
    return "; ".join(bad) if bad else "same"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    return f"{b / a:,.1f}×"


def section(r: dict) -> list[str]:
    f = r["facts"]
    size = r["size"]
    emb = r["embedded"]
    lines = [
        f"### {size:,} records ({f['records']:,} committed, {f['triples']:,} triples in the store)",
        "",
        "| back-end | load / ingest | rate | on disk | peak RSS |",
        "|---|---:|---:|---:|---:|",
        f"| Kho embedded: `kho ingest` (SHACL gate, search index) | {f['ingest_s']:,.0f} s "
        f"| **{f['rate']:,.0f} records/s** | store {_mb(f['store_bytes'])} "
        f"(harvested {_mb(f['harvested_bytes'])}) + {'tantivy' if f.get('chunks') else 'Whoosh'} "
        f"index {_mb(f['index_bytes'])} "
        f"| {_mb(f['peak_rss'])} |",
    ]
    t = emb.get("tantivy")
    if t:
        lines.append(
            f"| `kho reindex` with KHO_SEARCH=tantivy (units + records, from the store) "
            f"| {t['seconds']:,.0f} s | {f['records'] / t['seconds']:,.0f} records/s "
            f"| index {_mb(t['index_bytes'])} | {_mb(t['peak_rss'])} |"
        )
    for key in SERVERS:
        s = r.get(key) or {}
        if "error" in s:
            lines.append(f"| {key} | failed: {' '.join(s['error'].split())[:200]} | | | |")
            continue
        if not s:
            continue
        secs = s["load"]["seconds"]
        how = "`oxigraph load`" if key == "oxigraph-server" else "bulk loader (`rdf_loader_run`)"
        disk = _mb(s["disk"])
        loaded = s["load"].get("disk")
        if loaded and abs(loaded - s["disk"]) > 0.1 * loaded:  # RocksDB compacts once served
            disk = f"{_mb(loaded)} loaded, {disk} after serving the queries"
        lines.append(
            f"| {dict(BACKENDS)[key]}: {how} of the dump | {secs:,.0f} s "
            f"| {f['triples'] / secs:,.0f} triples/s | {disk} | {_mb(s['peak_rss'])} |"
        )
    n = r.get("rdflib") or {}
    if "load_s" in n:
        lines.append(
            f"| rdflib: parse the visible graphs of the dump ({n['triples']:,} triples) "
            f"| {n['load_s']:,.0f} s | {n['triples'] / n['load_s']:,.0f} triples/s | (memory) "
            f"| {_mb(n['peak_rss'])} |"
        )
    elif n.get("skipped"):
        lines.append(
            f"| rdflib: not run — the visible graphs ({n['triples']:,} triples) would take "
            f"about {_mb(n['estimate_rss'])} (2.95 KB per triple, measured at 10k), more than "
            "the shared machine had free | | | | (estimate) |"
        )
    elif n.get("error"):
        lines.append(f"| rdflib | failed: {n['error'][-160:]} | | | |")
    for key in SERVERS:
        ing = (r.get(key) or {}).get("ingest")
        if not ing:
            continue
        if ing.get("error"):
            said = " ".join(ing["error"].split())[:240]
            lines.append(f"| `kho ingest` into {key} | failed: {said} | | | |")
            continue
        lines.append(
            f"| `kho ingest` of the same batch into {dict(BACKENDS)[key]} holding the harvested "
            f"data (KHO_STORE=sparql:…) | {ing['seconds']:,.0f} s | **{ing['rate']:,.0f} "
            f"records/s** | {_mb(ing['server_disk'])} | kho {_mb(ing['kho_peak_rss'])}, server "
            f"{_mb(ing['server_peak_rss'])} |"
        )
    lines += [
        "",
        "p50 / p95 ms (30 runs after 3 warm-ups, a different record, ward, hồ sơ, year, "
        "province or word each run). Ratios are of the medians: on the shared machine one slow "
        "run in 30 decides a p95, so the 50 ms goal is read on p95 and the ratio goals on p50. "
        "'Embedded ÷ fastest server' pairs the server with the embedded store queried in the "
        "same rounds (run by run, side by side), not with the embedded column, which ran in "
        "its own process at another moment. rdflib ran in its own process (its load takes "
        "minutes; a reused run keeps its figures), so 'rdflib ÷ embedded' compares moments "
        "of the busy machine too: read it as an order of magnitude.",
        "",
        "| query | embedded | Oxigraph server | Virtuoso | rdflib | embedded ÷ fastest server "
        "| rdflib ÷ embedded | rows agree |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in NAMES:
        e = emb["queries"].get(name)
        cells = [_cell(e)]
        servers = []
        for key in SERVERS:
            q = (r.get(key) or {}).get("queries", {}).get(name)
            cells.append(_cell(q))
            if q and q.get("p50") and not q.get("error"):
                servers.append(q["p50"])
        nq = (n.get("queries") or {}).get(name)
        cells.append(_cell(nq))
        paired = _paired(r, name)
        vs_server = f"{paired[0]:.2f}× ({paired[1]})" if paired else "–"
        if paired and paired[0] > 1.5:
            vs_server = f"**{vs_server}** (goal ≤ 1.5×)"
        naive = "–"
        if nq and e:
            over = nq.get("over_cap") and nq["n"] <= 1
            naive = f"> {60_000 / e['p50']:,.0f}×" if over else _ratio(e["p50"], nq["p50"])
        label = f"{name} {NAMES[name]}"
        if name == "Q6":
            label += " — SPARQL `CONTAINS` over titles"
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {vs_server} | {naive} | {_check(r, name)} |"
        )
    for engine in ("whoosh", "tantivy"):
        idx = emb["queries"].get(f"Q6-{engine}")
        if idx:
            lines.append(
                f"| Q6 on Kho's search index, {engine} (total + first 20 hits + facets, "
                f"accent-blind) | {_cell(idx)} | | | | | | totals vs `CONTAINS` rows: "
                f"{_agree_words(idx, emb['queries'].get('Q6'))} |"
            )
    own = [k for k in SERVERS if (r.get(k) or {}).get("kho")]
    if own:
        lines += [
            "",
            "Kho's own overhead on a server: the same texts through Kho's `Store.select` on "
            "KHO_STORE=sparql:… (parsing the JSON answer into pyoxigraph terms and Python "
            "values) against plain `requests` (p50 ms; ratio of the p50s):",
            "",
            "| query | " + " | ".join(f"{k}: Kho / requests / ratio" for k in own) + " |",
            "|---|" + "---:|" * len(own),
        ]
        for name in NAMES:
            cells = []
            for k in own:
                via, raw = r[k]["kho"].get(name), r[k]["queries"].get(name)
                if not via or via.get("error") or not raw or not raw.get("p50"):
                    cells.append(_cell(via))
                    continue
                agree = "" if _rows(via) == _rows(raw) else " (rows differ)"
                cells.append(
                    f"{_ms(via['p50'])} / {_ms(raw['p50'])} / {via['p50'] / raw['p50']:.2f}×{agree}"
                )
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    slow = [
        f"{q} (p95 {_ms(emb['queries'][q]['p95'])} ms)"
        for q in NAMES
        if emb["queries"].get(q) and (emb["queries"][q]["p95"] or 0) > GOAL_MS
    ]
    for note in r.get("notes", []):  # what was measured apart from the run, and how
        lines += ["", note]
    lines += [
        "",
        f"Embedded p95 over {GOAL_MS:.0f} ms: {', '.join(slow) if slow else 'none'}. "
        f"Embedded child peak RSS {_mb(emb['peak_rss'])} (Kho's Store + the search index).",
    ]
    missed = _missed(r)
    if missed:
        lines += ["", "Goals missed at this size, and why:", "", *missed]
    return lines


# Why a query misses a goal, from trials on the 10k store (tests/bench/scale_queries.py shapes).
WHY = {
    "Q3": "Oxigraph joins by looking up each hồ sơ's other triples one binding at a time (an "
    "index seek per binding and pattern) in every graph of the reader's dataset — four graphs for "
    "the anonymous reader, one of them the agencies' 1.5 M triples — so the count costs "
    "(hồ sơ × patterns × graphs) seeks and grows with the archive; Virtuoso hash-joins its "
    "column-wise indexes. Kho therefore writes whole-archive counts as sub-selects Oxigraph "
    "reads once and hash-joins (repository/record_counts.py; Q3 here has that shape), and "
    "sends Virtuoso the plain patterns (Q3 on Virtuoso is that shape: the sub-selects took it "
    "17 s at 10k). Still linear in the hồ sơ: the home counts and the dashboard are served "
    "stale-while-revalidate once counting takes seconds (repository/memo.py).",
    "Q2": "it returns every record of the ward's predecessors with its title and date (800 to "
    "3,800 rows at 1M, ten times those at 100k), each row looked up in every graph of the "
    "reader's dataset (Oxigraph's DatasetView: one index seek per graph, docs/scaling.md): it "
    "grows with the answer, and its ORDER BY sorts all of it: at 1M the first 100 rows without "
    "the ORDER BY took 46 ms p50 (64 max), with it 945 ms.",
    "Q5": "a property path (`rico:isOrWasContainedBy+`) from every unit that ended on "
    "2025-06-30 nationwide, then lookups per row in each of the dataset's four graphs: in a "
    "trial at 10k, the gazetteer alone as the dataset answered Hà Nội's 794 rows 3.8× faster "
    "(381 ms against 1,458 ms on the busy machine).",
    "Q6": "`CONTAINS` over every title is a scan of all records' text: what the search index "
    "is for (the two rows below); the SPARQL form is only what a user would type.",
}


def _missed(r: dict) -> list[str]:
    emb = r["embedded"]["queries"]
    out = []
    for name in NAMES:
        e = emb.get(name)
        if not e or not e.get("p95"):
            continue
        why = []
        if e["p95"] > GOAL_MS:
            why.append(f"p95 {_ms(e['p95'])} ms > {GOAL_MS:.0f} ms")
        paired = _paired(r, name)
        if paired and paired[0] > 1.5:
            why.append(f"{paired[0]:.1f}× the fastest server, {paired[1]}")
        nq = ((r.get("rdflib") or {}).get("queries") or {}).get(name)
        if nq and nq.get("p50") and not nq.get("over_cap") and nq["p50"] < 10 * e["p50"]:
            why.append(f"only {nq['p50'] / e['p50']:.1f}× faster than rdflib")
        if why:
            out.append(f"- {name} ({'; '.join(why)}): {WHY.get(name, 'not profiled.')}")
    return out


def _paired(r: dict, name: str) -> tuple[float, str] | None:
    """Embedded p50 ÷ the fastest server's p50, both from the runs interleaved with that server
    (the embedded store queried side by side with it); the server's name."""
    best: tuple[float, float, str] | None = None
    for key in SERVERS:
        s = r.get(key) or {}
        q, e = s.get("queries", {}).get(name), s.get("embedded", {}).get(name)
        if not q or not e or q.get("error") or e.get("error") or not q.get("p50"):
            continue
        if best is None or q["p50"] < best[0]:
            best = (q["p50"], e["p50"] / q["p50"], key)
    return (best[1], best[2]) if best else None


def _agree_words(idx: dict, sparql: dict | None) -> str:
    a, b = _rows(idx), _rows(sparql)
    n = min(len(a), len(b))
    if not n:
        return "–"
    same = sum(1 for x, y in zip(a[:n], b[:n], strict=True) if x == y)
    return f"{same}/{n} equal (the index folds accents and matches words, `CONTAINS` substrings)"


def report(results: list[dict], quick: bool) -> str:
    lines = [
        "## Scale: 10k / 100k / 1M records across back-ends",
        "",
        "Each size is a copy of the harvested store (all Vietnam's units, agencies, custody) "
        "plus N records ingested by `kho ingest --metadata-only` in a child process (a TT 05/2025 "
        "sheet of generated documents from real Hanoi agencies; about 60/30/10 % hồ sơ public, "
        "conditional, secret). The store is dumped to N-Quads and loaded into Oxigraph server "
        "(`oxigraph load` before serving) and Virtuoso 7 (bulk loader), and the graphs the "
        "anonymous reader sees into an rdflib `Dataset` in its own process. Every back-end "
        "answers the same query texts over the same dataset (the anonymous reader's graphs: "
        "Kho's `graphs=`, `default-graph-uri` on the servers, only those graphs in rdflib). "
        "Queries: the workbench's shapes (webapp/examples.py) — Q2 is 'records of "
        "predecessors', Q4 'provenance', Q5 'ended' per province. Goals (issue 6): embedded "
        "SPARQL p95 < 50 ms at 1M, ≥ 10× rdflib, ≤ 1.5× the fastest server on every query.",
        "",
    ]
    for r in results:
        if r.get("pending"):
            lines += [
                f"### {r['size']:,} records: not measured yet",
                "",
                f"Its run in /tmp/scale/{r['size']}/ had not finished when this section was "
                f"written; `python -m tests.bench.bench_scale --size {r['size']} --reuse` "
                "measures it, then `python -m tests.bench.run --only bench_scale`.",
                "",
            ]
            continue
        lines += section(r) + [""]
    if quick:
        lines.append("(Quick sizes: 1k records.)")
    return "\n".join(lines).rstrip()
