"""The scale benchmark's parts on the demo repository: its query set runs on Kho's Store for the
anonymous reader with bound values drawn from the store, and its report states the goals it
misses. (The benchmark itself runs with `make bench` / `make bench-1m`, not here.)"""

from __future__ import annotations

import pytest

from repository import access
from repository.config import Settings
from repository.namespaces import Minter
from repository.store import open_store
from tests.bench.bench_scale import summary, timed
from tests.bench.scale_queries import NAMES, bindings, with_prefixes
from tests.bench.scale_report import report


@pytest.fixture(scope="module")
def texts(demo_settings: Settings) -> tuple[object, list[str], dict[str, list[str]]]:
    store = open_store(demo_settings.store_path)  # type: ignore[arg-type]
    minter = Minter(demo_settings.base_iri)
    graphs = access.visible_graphs(store.named_graphs(), minter, access.PUBLIC)
    return store, graphs, bindings(store, graphs, 6)


def test_every_query_runs_with_varied_values(texts: tuple) -> None:
    store, graphs, bound = texts
    assert set(NAMES) <= set(bound)
    for name in NAMES:
        assert len(bound[name]) == 6
        assert "{" + "id}" not in bound[name][0] and "{code}" not in bound[name][0]
        for sparql in bound[name]:
            store.select(sparql, graphs=graphs)  # valid SPARQL, on the reader's graphs
    assert len(set(bound["Q1"])) > 1, "every run should ask about another record"
    assert '"01"' in bound["Q5"][0], "Q5 starts with Hà Nội"
    assert with_prefixes(bound["Q1"][0]).startswith("PREFIX ")


def test_lookup_by_identifier_finds_one_record(texts: tuple) -> None:
    store, graphs, bound = texts
    rows = [len(store.select(q, graphs=graphs)) for q in bound["Q1"]]
    assert all(n >= 1 for n in rows), rows


def test_predecessors_of_a_new_ward_have_records(texts: tuple) -> None:
    store, graphs, bound = texts
    assert any(store.select(q, graphs=graphs) for q in bound["Q2"])


def test_both_shapes_of_the_retention_count_give_the_same_rows(texts: tuple) -> None:
    """Q3 as Kho sends it to Oxigraph (sub-selects) and to Virtuoso (plain patterns)."""
    store, graphs, bound = texts
    for hashed, plain in zip(bound["Q3"], bound["Q3-plain"], strict=True):
        rows = store.select(hashed, graphs=graphs)
        assert rows == store.select(plain, graphs=graphs)
    assert any(store.select(q, graphs=graphs) for q in bound["Q3"])


def test_timed_keeps_rows_and_percentiles() -> None:
    calls: list[str] = []

    def call(text: str) -> int:
        calls.append(text)
        return len(text)

    got = summary(timed(call, [str(i) * (i + 1) for i in range(40)]))
    assert len(calls) == 33  # 3 warm-ups and 30 measured runs
    assert got["n"] == 30 and got["rows"][0] == 4  # the first measured text is the fourth
    assert got["p50"] <= got["p95"]


def _q(p50: float, p95: float, rows: list[int]) -> dict:
    return {"p50": p50, "p95": p95, "n": 30, "rows": rows, "over_cap": False, "error": None}


def test_report_names_the_goals_missed() -> None:
    facts = {
        "records": 9820,
        "triples": 2_070_193,
        "ingest_s": 58.0,
        "rate": 168.0,
        "store_bytes": 7e8,
        "harvested_bytes": 5.8e8,
        "index_bytes": 2e7,
        "peak_rss": 4.4e8,
    }
    fast = {n: _q(1.0, 2.0, [1, 2]) for n in NAMES}
    slow = {n: _q(1.0, 2.0, [1, 2]) for n in NAMES} | {"Q3": _q(200.0, 300.0, [4, 4])}
    server = {"load": {"seconds": 10.0}, "disk": 3e8, "peak_rss": 1e9, "queries": fast}
    server["embedded"] = slow  # the embedded store in the same rounds as this server
    other = {"load": {"seconds": 10.0}, "disk": 3e8, "peak_rss": 1e9}
    other["queries"] = fast | {"Q1": _q(1.0, 2.0, [1, 3])}
    rdflib = {"triples": 10, "load_s": 1.0, "peak_rss": 1e9, "queries": fast}
    result = {
        "size": 10_000,
        "facts": facts,
        "embedded": {"peak_rss": 1e8, "disk": 7e8, "queries": slow},
        "oxigraph-server": server,
        "virtuoso": other,
        "rdflib": rdflib,
    }
    text = report([result], quick=False)
    assert "### 10,000 records" in text
    assert "**200.00× (oxigraph-server)** (goal ≤ 1.5×)" in text  # Q3: 200 ms against 1 ms
    assert "Q3 (p95 300 ms)" in text  # over 50 ms
    assert "virtuoso differs in 1/2 runs" in text  # Q1's row counts disagree
