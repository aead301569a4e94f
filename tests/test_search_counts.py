"""Counting the records search at scale (repository.search_counts): past a threshold the tantivy
engine estimates the total and the facets on a sample slice of the index, says so, and counts
exactly on request; Whoosh stays exact; counts are kept per index state, and the access limits
apply to sampled counts as to exact ones.

The demo holds a few dozen documents, so these tests lower the threshold (the setting
search_exact_up_to, or the `exact_up_to` parameter) instead of building a huge index."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask import Flask

from repository import record_index, search_counts
from repository.config import Settings
from repository.search_counts import SAMPLED, SAMPLES, about, sample_of
from repository.search_index import IndexMissing
from repository.search_text import mark
from repository.store import open_store
from tests.search_engines import ENGINES, on_engine, stored
from tests.web import client_as
from webapp import create_app


@pytest.fixture(scope="module", params=ENGINES)
def settings(request: pytest.FixtureRequest, demo_settings: Settings) -> Settings:
    chosen = on_engine(demo_settings, str(request.param))
    record_index.ensure_current(open_store(chosen), chosen)  # built before the sample field
    return chosen


def _docs(settings: Settings) -> list[dict[str, object]]:
    return stored(settings)


def _sampled(settings: Settings, levels: set[str] | None) -> list[dict[str, object]]:
    """The documents of the counted slice the reader may see (by their IRIs' stable hash)."""
    return [
        d
        for d in _docs(settings)
        if sample_of(str(d["iri"])) == SAMPLED and (levels is None or d.get("access") in levels)
    ]


def test_sample_slices_are_stable_and_spread() -> None:
    iris = [f"https://kho.example.org/id/record/r{i:07d}" for i in range(16_000)]
    slices = [sample_of(i) for i in iris]
    assert slices == [sample_of(i) for i in iris]  # no salted hash(): same in every process
    assert all(900 < slices.count(str(k)) < 1100 for k in range(SAMPLES))
    assert about(812_345, 3) == 812_000 and about(48) == 48 and about(1_234) == 1_200


def test_counts_are_exact_below_the_threshold(settings: Settings) -> None:
    every = len(_docs(settings))
    found = record_index.search(settings, "", exact_up_to=every * SAMPLES + 1)
    assert not found.approximate and found.total == every
    assert found.to_json()["approximate"] is False


def test_past_the_threshold_tantivy_estimates_on_the_sample(settings: Settings) -> None:
    every = len(_docs(settings))
    slice0 = _sampled(settings, None)
    assert slice0, "the demo has no document in the counted slice"
    found = record_index.search(settings, "", exact_up_to=1, per_page=100)
    if settings.search == "whoosh":  # the small-archive engine: always exact
        assert not found.approximate and found.total == every
        return
    assert found.approximate and found.to_json()["approximate"] is True
    assert found.total == about(len(slice0) * SAMPLES, 3)
    kinds = {str(d["kind"]) for d in slice0}
    assert {v for v, _ in found.facets["kind"]} == kinds
    # The hits are the true ones, whatever the counts: every document, the same as exact.
    exact = record_index.search(settings, "", exact_up_to=1, per_page=100, exact=True)
    assert not exact.approximate and exact.total == every
    assert {h.iri for h in found.hits} == {h.iri for h in exact.hits}


def test_sampled_counts_stay_within_the_readers_access_levels(settings: Settings) -> None:
    public = _sampled(settings, {"01"})
    found = record_index.search(settings, "", access={"01"}, exact_up_to=1, per_page=100)
    assert {v for v, _ in found.facets["access"]} <= {"01"}
    assert all(h.access == "01" for h in found.hits)
    if settings.search == "tantivy" and public:
        assert found.approximate and found.total == about(len(public) * SAMPLES, 3)
    # A reader of no level sees nothing, sampled or not.
    none = record_index.search(settings, "", access=set(), exact_up_to=1)
    assert none.total == 0 and not none.hits and not any(none.facets.values())


def test_next_page_reuses_the_counts_and_a_write_counts_again(settings: Settings) -> None:
    search_counts.forget()
    first = record_index.search(settings, "", per_page=5)
    second = record_index.search(settings, "", per_page=5, page=2)
    assert second.facets is first.facets and second.total == first.total  # kept, not recounted
    assert {h.iri for h in first.hits}.isdisjoint(h.iri for h in second.hits)
    store = open_store(settings)
    gone = first.hits[0].iri
    try:
        record_index.update(store, settings, [], removed=[gone])
        after = record_index.search(settings, "", per_page=5)
        assert after.total == first.total - 1 and after.facets is not first.facets
    finally:
        record_index.update(store, settings, [gone])
    assert record_index.search(settings, "", per_page=5).total == first.total


@pytest.fixture(scope="module")
def app(settings: Settings) -> Flask:
    app = create_app(settings)
    app.testing = True
    return app


def test_records_page_says_about_and_links_exact_counts(settings: Settings) -> None:
    settings = dataclasses.replace(settings, search_exact_up_to=1)  # KHO_SEARCH_EXACT_UP_TO=1
    app = create_app(settings)
    app.testing = True
    search_counts.forget()
    client = client_as(app, "anonymous")
    page = client.get("/records", headers={"Accept": "text/html"}).get_data(as_text=True)
    body = client.get("/records", headers={"Accept": "application/json"}).get_json()
    exact = client.get("/records?exact=1", headers={"Accept": "application/json"}).get_json()
    assert exact["approximate"] is False and exact["exact"] is True
    assert {f["value"] for f in body["facets"]["access"]} <= {"01"}
    if settings.search == "whoosh" or not _sampled(settings, {"01"}):
        assert body["approximate"] is False and "Đếm chính xác" not in page
        return
    assert body["approximate"] is True and body["total"] != exact["total"]
    assert "khoảng" in page and "about" in page and "≈" in page
    assert "Đếm chính xác" in page and "exact=1" in page
    exact_page = client.get("/records?exact=1&page=1", headers={"Accept": "text/html"})
    html = exact_page.get_data(as_text=True)
    assert "Đếm chính xác" not in html and f"{exact['total']} kết quả" in html


def test_an_index_of_the_older_format_says_to_reindex(tmp_path: Path) -> None:
    """The sample field is new: a tantivy index written before it is not searched (its fields
    would not be today's) but named, with what to run; ensure_current would rebuild it."""
    from repository.records_tantivy import layout
    from repository.search_tantivy import build
    from tests.bench.bench_search import documents

    settings = Settings(data_dir=tmp_path, search="tantivy")
    path = record_index.index_path(settings)
    path.mkdir(parents=True)
    build(path, layout(), documents(40), record_index.FORMAT)
    assert record_index.search(settings, "").total == 40
    mark(path, "tantivy", "2026-11-stored-link-keys")  # as the Kho before sampling left it
    assert not record_index.is_current(settings)
    with pytest.raises(IndexMissing, match="older Kho.*kho reindex"):
        record_index.search(settings, "")


def test_the_threshold_setting_defaults_to_the_measured_one() -> None:
    assert Settings().search_exact_up_to == search_counts.EXACT_UP_TO


@pytest.mark.parametrize("q", ["quyết định", "ủy ban", ""])
def test_a_restricted_readers_totals_count_only_what_he_may_see(settings: Settings, q: str) -> None:
    """Whoosh's own total skipped the filter when it skipped blocks of postings: without facets,
    or on the next page (counts kept), the anonymous reader was told the number of hits of every
    level. The total is the number of hits he may see, however it is asked."""
    public = {"01"}
    first = record_index.search(settings, q, access=public, per_page=100)
    assert first.total == len(first.hits) and all(h.access in public for h in first.hits)
    bare = record_index.search(settings, q, access=public, facets=(), per_page=5)
    later = record_index.search(settings, q, access=public, per_page=5, page=2)  # counts kept
    assert bare.total == later.total == first.total
    assert record_index.search(settings, q, access=None, per_page=5).total > first.total
