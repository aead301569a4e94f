"""Response times of the web surfaces (pages, JSON-LD API, OAI-PMH, SPARQL) for the anonymous
public, a researcher and a cleared researcher, beside in-process baselines measured in the same run.

The store is built here: a backup of the harvested store plus one metadata-only batch of generated
records (10k; 1k with --quick) whose hồ sơ are about 60 % public (01), 30 % conditional (02) and
10 % secret (03). Requests go through Flask's test client, in-process, so a figure is the app's own
time (routing, access rule, store queries, templates), without sockets or a WSGI server.
"""

from __future__ import annotations

import csv
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from flask.testing import FlaskClient

from tests.bench.bench_ingest import harvested_store, write_sheet

TODAY = "2026-11-26"
PASSWORD = "mat-khau-bench-2026"
READERS = {  # name: (role, grants); anonymous is not a user
    "researcher": ("researcher", set()),
    "cleared": ("researcher", {"secret", "personal"}),
}
MODES = (("01", 0.6), ("02", 0.3), ("03", 0.1))
WARM_UP = 2
RUNS = 20  # requests measured per surface and reader
BUDGET_S = 5.0  # ... unless they would take longer: then fewer, at least MIN_RUNS
MIN_RUNS = 3
ONE_SHOT_S = 5.0  # a request slower than this is measured once, without warm-up
SLOW_MS = 200.0


@dataclass
class Timing:
    """Milliseconds of the measured requests of one surface for one reader."""

    ms: list[float]
    statuses: list[int] = field(default_factory=list)
    warmed: bool = True

    @property
    def p50(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    def cell(self) -> str:
        text = f"{_ms(self.p50)} / {_ms(self.p95)}"
        if len(self.ms) < RUNS:
            text += f" (n={len(self.ms)}{'' if self.warmed else ', no warm-up'})"
        failed = [s for s in self.statuses if s != 200]
        if failed:
            text += f" **{len(failed)}× HTTP {failed[0]}**"
        return text


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def timed(call: Callable[[], object], runs: int = RUNS, budget: float = BUDGET_S) -> Timing:
    """Time `call` `runs` times after WARM_UP calls, fewer (at least MIN_RUNS) when that would take
    longer than `budget` seconds, and just once when one call takes longer than ONE_SHOT_S. A
    call that returns a response has its status kept."""
    statuses: list[int] = []

    def once() -> float:
        start = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - start
        statuses.append(getattr(result, "status_code", 200))
        return seconds

    first = once()
    if first > ONE_SHOT_S:
        return Timing([first * 1000], statuses, warmed=False)
    warm = first
    for _ in range(WARM_UP - 1):
        warm = once()  # the first call may fill caches: the last warm-up sets the pace
    n = runs if warm * runs <= budget else max(MIN_RUNS, int(budget / warm))
    return Timing([once() * 1000 for _ in range(n)], statuses)


# -- the store ----------------------------------------------------------------------------------


def set_modes(sheet: Path, seed: int = 7) -> dict[str, int]:
    """Rewrite the hồ sơ rows' mode column (documents inherit it) to about 60/30/10 % 01/02/03."""
    rng = random.Random(seed)
    with sheet.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    counts = {code: 0 for code, _ in MODES}
    for row in rows[1:]:
        if row[0]:  # a hồ sơ row has its fileCode; document rows leave it empty
            row[3] = rng.choices([c for c, _ in MODES], [w for _, w in MODES])[0]
            counts[row[3]] += 1
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return counts


def build(work: Path, records: int) -> tuple[object, dict[str, object]]:
    """Settings of a data directory holding the harvested store and one ingested batch."""
    from repository.config import Settings
    from repository.ingest import ingest_batch
    from repository.store import open_store, open_store_read_only
    from repository.users import Users

    settings = Settings(data_dir=work / "data", today=TODAY)
    source = harvested_store(work)
    open_store_read_only(source).backup(Path(settings.store_path))  # type: ignore[arg-type]
    units_index = source.parent / "index"
    if units_index.is_dir():  # the units' search index of the harvested data directory
        shutil.copytree(units_index, settings.index_path)  # type: ignore[arg-type]
    batch = work / "batch"
    made = write_sheet(batch, records)
    modes = set_modes(batch / "bang-ke.csv")
    start = time.perf_counter()
    report = ingest_batch(
        batch,
        open_store(settings.store_path),  # type: ignore[arg-type]
        settings,
        jobs=2,
        ocr=False,
        metadata_only=True,
    )
    facts = {
        "rows": made,
        "hoso_modes": modes,
        "records": report.hoso_added + report.docs_committed,
        "rejected": len(report.rejected),
        "ingest_s": time.perf_counter() - start,
    }
    users = Users(settings.users_path)  # type: ignore[arg-type]
    for name, (role, grants) in READERS.items():
        users.add(name, PASSWORD, role, grants)
    return settings, facts


def sign_in(client: FlaskClient, name: str) -> FlaskClient:
    """Sign in through the real /login form (the CSRF token read from the form itself)."""
    if name == "anonymous":
        return client
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {name} failed: HTTP {response.status_code}")
    return client


# -- the baselines ------------------------------------------------------------------------------

REFERENCE = {  # what the SPARQL query reads outside the records graphs, copied into rdflib
    "gazetteer": "skos:notation rico:beginningDate kho:toUnit kho:fromUnit kho:portion "
    "skos:prefLabel",
}


def rdflib_dataset(store_path: Path, graphs: list[str], base: str) -> tuple[object, int, float]:
    """An rdflib Dataset (default graph = union) of the records graphs among `graphs`, the
    gazetteer triples the query reads and the labels of the records' creators; its size and
    load time (seconds)."""
    import pyoxigraph as ox
    import rdflib

    from repository.namespaces import PREFIXES

    start = time.perf_counter()
    source = ox.Store.read_only(str(store_path))
    dataset = rdflib.Dataset(default_union=True)
    heads = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
    records = [g for g in graphs if g.startswith(base + "graph/records/")]
    parts: list[tuple[str, bytes]] = []
    for g in records:
        parts.append((g, source.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(g))))
    gazetteer = base + "graph/gazetteer"
    wanted = " ".join(REFERENCE["gazetteer"].split())
    reference = source.query(
        heads + f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{gazetteer}> {{ ?s ?p ?o }} "
        f"VALUES ?p {{ {wanted} }} }}"
    )
    parts.append((gazetteer, ox.serialize(reference, format=ox.RdfFormat.N_TRIPLES)))
    creators = source.query(
        heads
        + "CONSTRUCT { ?c skos:prefLabel ?l } WHERE { "
        + " UNION ".join(f"{{ GRAPH <{g}> {{ ?r rico:hasCreator ?c }} }}" for g in records)
        + f" GRAPH <{base}graph/agencies> {{ ?c skos:prefLabel ?l }} }}"
    )
    parts.append((base + "graph/agencies", ox.serialize(creators, format=ox.RdfFormat.N_TRIPLES)))
    for name, data in parts:
        dataset.graph(rdflib.URIRef(name)).parse(data=data, format="nt")
    return dataset, len(dataset), time.perf_counter() - start


# -- the run ------------------------------------------------------------------------------------

WARD = "00004"  # Phường Ba Đình (2025-07-01): many old wards merged into it
WORD = "công tác"  # in about half of the generated titles and subjects


def sparql_query() -> str:
    """The workbench's example: records created by the predecessors of the new Phường Ba Đình."""
    from webapp.examples import example

    return example("records-of-predecessors").query.replace('"09988"', f'"{WARD}"')


def surfaces(record_path: str, query: str) -> list[tuple[str, str]]:
    """(label, request path) of every surface measured."""
    return [
        ("home page `/`", "/"),
        ("`/dashboard`", "/dashboard"),
        ("`/browse`", "/browse"),
        (f"`/records?q={WORD}` (search, facets)", f"/records?q={quote(WORD)}"),
        ("record page `/id/record/…`", record_path),
        ("record JSON-LD `/id/record/….jsonld`", record_path + ".jsonld"),
        ("`/api/records?per_page=100`", "/api/records?per_page=100"),
        ("`/api/records?per_page=100&page=5`", "/api/records?per_page=100&page=5"),
        ("OAI-PMH `ListRecords` oai_dc, first page", "/oai?verb=ListRecords&metadataPrefix=oai_dc"),
        ("SPARQL SELECT `/sparql?format=json`", f"/sparql?query={quote(query)}&format=json"),
    ]


@dataclass
class Results:
    """Everything one run measured."""

    facts: dict[str, object]
    built_s: float
    table: dict[str, dict[str, Timing]]
    direct: dict[str, Timing]  # the SPARQL query in-process on pyoxigraph, per reader
    rows: dict[str, int]  # its rows per reader
    naive: Timing  # the SPARQL query on rdflib
    naive_rows: int
    naive_triples: int
    naive_load_s: float


def run(quick: bool = False) -> str:
    work = Path(tempfile.mkdtemp(prefix="kho-bench-web-"))
    try:
        return report(measure(work, 1000 if quick else 10_000), quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(work: Path, size: int) -> Results:
    import pyoxigraph as ox
    import rdflib

    from repository import access
    from repository.namespaces import PREFIXES, Minter
    from repository.sparql_answer import QueryJob, answer
    from repository.store import open_store
    from webapp import create_app
    from webapp.sparql import query_pool

    started = time.perf_counter()
    settings, facts = build(work, size)
    built_s = time.perf_counter() - started
    store = open_store(settings.store_path)  # type: ignore[arg-type]
    base = settings.base_iri
    query = sparql_query()
    readers = {"anonymous": access.PUBLIC}
    readers |= {n: access.Reader(n, role, frozenset(g)) for n, (role, g) in READERS.items()}
    graphs = {
        n: access.visible_graphs(store.named_graphs(), Minter(base), r) for n, r in readers.items()
    }
    rows = {n: len(store.select(query, graphs=g)) for n, g in graphs.items()}
    public = store.select(query, graphs=graphs["anonymous"])
    record = next(str(r["record"]) for r in public if "/id/record/" in str(r["record"]))

    # Nothing kept: each figure is what the page costs to build (kept answers: the Load section)
    app = create_app(replace(settings, page_cache_mb=0))
    clients = {n: sign_in(app.test_client(), n) for n in readers}
    table: dict[str, dict[str, Timing]] = {}
    for label, path in surfaces("/" + record[len(base) :], query):
        table[label] = {n: timed(lambda c=c, p=path: c.get(p)) for n, c in clients.items()}
    query_pool(app).close()

    # Baseline 1: the same query and JSON serialisation in-process: no pool, no protocol.
    own = ox.Store.read_only(str(settings.store_path))
    limit = settings.sparql_max_rows

    def direct(g: list[str], mask: bool) -> object:
        return answer(own, QueryJob(query, tuple(g), tuple(g), "json", limit, mask))

    baseline = {
        n: timed(lambda g=g, r=r: direct(g, not r.sees_personal))
        for (n, g), r in zip(graphs.items(), readers.values(), strict=True)
    }

    # Baseline 2: the naive way, rdflib over an in-memory copy of what the query reads.
    dataset, triples, load_s = rdflib_dataset(
        Path(settings.store_path),  # type: ignore[arg-type]
        graphs["cleared"],
        base,
    )
    namespaces = {k: rdflib.Namespace(v) for k, v in PREFIXES.items()}
    answers: list[int] = []

    def naive() -> None:
        result = dataset.query(query, initNs=namespaces)  # type: ignore[attr-defined]
        result.serialize(format="json")
        answers.append(len(result))

    slow = timed(naive, budget=30)
    return Results(facts, built_s, table, baseline, rows, slow, answers[-1], triples, load_s)


# Why a surface is slow, from profiles of this benchmark's store (cProfile, and timing each store
# query of a request); shown when the surface is over SLOW_MS at the median in the run.
WHY = {
    "home": "the home page's holdings counts (repository/holdings.py `_COUNTS`) aggregate every "
    "hồ sơ and document the reader may see on every request, uncached, so the time grows with "
    "the records and with the reader's graphs (cleared sees three levels). A cache keyed by the "
    "visible graphs and the store's signature (as `Site.counts` does for the gazetteer) would "
    "make it constant.",
    "`/dashboard`": "the progress query (repository/progress.py `_PROGRESS`) joins its "
    "per-document subquery to the hồ sơ with `OPTIONAL { { SELECT … GROUP BY ?r ?hs } "
    "FILTER(?hs = ?h) }`, which Oxigraph re-evaluates for every hồ sơ: quadratic in the "
    "records (anonymous: 0.2–0.4 s at 1k, 18–20 s at 10k). Grouping by `?r ?h` in the "
    "subquery and dropping the FILTER (join on `?h`) gave the same 597 rows in 0.98 s "
    "instead of 18.1 s at 10k (tried on this benchmark's store); caching the result per "
    "visible graphs and store signature would make the page constant.",
    "`/browse`": "Whoosh builds every facet (block, level, unit, year, type…) from the "
    "postings of each term on every search: `FieldFacet` over fields that are not stored as "
    "columns. Declaring the facet fields `sortable=True` (columns) or caching the facet "
    "counts per reader's access levels would remove most of it; the tantivy back-end "
    "(issue 6) too.",
    "`/records": "the same Whoosh facet counting as `/browse` (about 60 % of the time in a "
    "profile), the rest scoring the half of the records that match the word.",
    "record page": "the provenance chain's fonds lookup (repository/provenance.py `_FONDS`): "
    "a `UNION` joined with a pattern, with the record's IRIs bound by a `VALUES` block, "
    "which Oxigraph evaluates over every record's `rico:isOrWasIncludedIn` before binding — "
    "150–680 ms per page at 10k (0.1–0.3 s at 1k; more graphs, more time) while the same "
    "query with the IRIs written into each branch takes 0.3 ms.",
    "`/api/records": "every page counts all the records the reader may see (`SELECT "
    "(COUNT(*) …) { SELECT DISTINCT ?r … }`) and sorts all of them (`ORDER BY ?r LIMIT … "
    "OFFSET …`) to cut one page (repository/api_records.py `list_records`): 145 + 557 ms of "
    "a 750 ms page for the cleared reader at 10k in a trial, so page 5 costs what page 1 "
    "does and the time grows with the records and the reader's graphs. Keyset paging "
    "(`FILTER(?r > last)` in the next link) and a count cached per visible graphs and store "
    "signature would make pages constant.",
    "OAI-PMH": "a first page carries 100 items with their datestamps and oai_dc metadata "
    "(labels, the units' lineage for sets and coverage), read over every graph the reader "
    "may see, and a signed-in reader's page writes its audit entries (one transaction since "
    "the audit fix: before it, one SQLite commit per restricted item made this 0.85–0.94 s); "
    "signed-in pages cost 1.3–1.5× the anonymous one. A harvester pages through the whole "
    "set at this rate: roughly 25,000 items a minute.",
}


def report(r: Results, quick: bool) -> str:
    names = ("anonymous", "researcher", "cleared")
    modes = r.facts["hoso_modes"]
    lines = [
        "## Web surfaces",
        "",
        f"Response times in milliseconds, p50 / p95 of {RUNS} requests after {WARM_UP} warm-up "
        f"requests (fewer, at least {MIN_RUNS}, where {RUNS} would take over {BUDGET_S:.0f} s; "
        f"one cold request where one takes over {ONE_SHOT_S:.0f} s: then p95 is the slowest "
        "of few), through Flask's test client in-process: the app's own time (routing, the "
        "access rule, store queries, templates, serialisation), no sockets or WSGI server, "
        "and nothing kept (`KHO_PAGE_CACHE_MB=0`: every answer built; what kept answers "
        "change is in the Load section). "
        f"The store: a copy of the harvested store plus one metadata-only batch of "
        f"{r.facts['records']:,} records ({r.facts['rejected']} rows rejected by the gate; hồ sơ "
        f"modes 01/02/03 = {modes['01']}/{modes['02']}/{modes['03']}, documents inherit "  # type: ignore[index]
        f"their hồ sơ's), built in {r.built_s:.0f} s. Readers signed in through the real "
        "`/login` form: a researcher (levels 01, 02) and a cleared researcher (grants secret + "
        "personal: 01, 02, 03 and unmasked numbers). The record page is a public document "
        "of an old ward merged into the new Phường Ba Đình. The SPARQL query is the "
        "workbench's example 'records created by the predecessors of a new ward' for Phường "
        f"Ba Đình ({WARD}); it returns {r.rows['anonymous']} / {r.rows['researcher']} / "
        f"{r.rows['cleared']} rows to the three readers.",
        "",
        "| surface | anonymous p50 / p95 | researcher p50 / p95 | cleared p50 / p95 "
        "| baseline | ratio |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for label, timings in r.table.items():
        cells = " | ".join(timings[n].cell() for n in names)
        base, ratio = "", ""
        if label.startswith("`/api/records"):
            anon, cleared = timings["anonymous"].p50, timings["cleared"].p50
            base = f"the anonymous reader: {_ms(anon)}"
            ratio = f"cleared ÷ anonymous **{cleared / anon:.2f}×**"
        if label.startswith("SPARQL"):
            base = "the next two rows"
        lines.append(f"| {label} | {cells} | {base} | {ratio} |")
    sparql = next(t for label, t in r.table.items() if label.startswith("SPARQL"))
    direct = " | ".join(r.direct[n].cell() for n in names)
    over = " / ".join(f"{sparql[n].p50 / r.direct[n].p50:.1f}×" for n in names)
    lines.append(
        f"| ↳ the same query in-process on pyoxigraph (no pool, no protocol) | {direct} "
        f"| same graphs, same JSON | endpoint ÷ direct **{over}** |"
    )
    naive = r.naive.p50 / sparql["cleared"].p50
    lines.append(
        f"| ↳ the same query on an rdflib in-memory `Dataset` | | | {r.naive.cell()} "
        f"| {r.naive_rows} rows | rdflib ÷ endpoint **{naive:,.0f}×** |"
    )
    lines += [
        "",
        "The rdflib baseline holds the records graphs the cleared reader sees, the gazetteer "
        "triples the query reads (unit codes, dates, labels, transfers) and the labels of the "
        f"records' creators: {r.naive_triples:,} triples, loaded in {r.naive_load_s:.0f} s — a "
        "subset that favours rdflib (the store behind the endpoint holds 1.85 M more triples).",
    ]
    slow = {
        label: [n for n in names if timings[n].p50 > SLOW_MS] for label, timings in r.table.items()
    }
    slow = {label: who for label, who in slow.items() if who}
    if slow:
        lines += ["", f"Over {SLOW_MS:.0f} ms at the median, and why:", ""]
        told: dict[str, str] = {}
        for label, who in slow.items():
            why = next((text for key, text in WHY.items() if key in label), "not profiled.")
            if why in told:
                why = f"as for {told[why]}."
            else:
                told[why] = label
            lines.append(f"- {label} ({', '.join(who)}): {why}")
    if quick:
        lines += ["", "(Quick sizes: 1k records; `make bench` without --quick measures 10k.)"]
    return "\n".join(lines)
