"""Whoosh and tantivy behind one interface: the same words, the same answers, and an engine
switch on an existing data directory that rebuilds (or says to run `kho reindex`)."""

from __future__ import annotations

import dataclasses
import shutil
import unicodedata
from pathlib import Path

import pytest

from repository import record_index, search_index
from repository.config import Settings
from repository.errors import KhoError
from repository.search_tantivy import fold_analyzer
from repository.search_text import words, written_by
from repository.store import Store, open_store
from tests.conftest import TODAY
from tests.search_engines import on_engine

LETTERS = "aăâeêioôơuưyAĂÂEÊIOÔƠUƯYdđĐ"
TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")  # huyền sắc ngã hỏi nặng
QUERIES = (
    "",
    "ủy ban",
    "Uỷ ban",
    "quyet dinh",
    "hoan kiem",
    "đất",
    "cong ty",
    "QĐ-UBND",
    "cccd",
    "Viễn thông – Quân đội",
    '"ủy ban nhân dân"',
    "xa OR phuong",
)


def test_both_engines_see_the_same_words() -> None:
    """tantivy's analyzer (regex words, lower case, ASCII folding) gives Whoosh's words for every
    Vietnamese letter with every tone, both placements, đ, numbers and symbols."""
    text = " ".join(
        unicodedata.normalize("NFC", letter + tone) + "x" for letter in LETTERS for tone in TONES
    )
    text += " Uỷ Ủy hoà hòa ĐỐNG ĐA 123/QĐ-UBND 01.02.2025 10369/8/434 a_b d\u0300 Nguyễn"
    assert fold_analyzer().analyze(text) == words(text)
    assert fold_analyzer().analyze("Uỷ ban hoà") == fold_analyzer().analyze("Ủy ban hòa")


@pytest.fixture(scope="module")
def engines(demo_settings: Settings) -> tuple[Settings, Settings]:
    """Both engines' records indexes rebuilt now from the same store: earlier tests of the
    session change the demo (curation, registry re-checks) and update only one engine's index."""
    pair = on_engine(demo_settings, "whoosh"), on_engine(demo_settings, "tantivy")
    for settings in pair:
        record_index.rebuild(open_store(settings), settings)
    return pair


@pytest.mark.parametrize("access", [None, {"01"}, set()])
def test_both_engines_give_the_same_answers(
    engines: tuple[Settings, Settings], access: set[str] | None
) -> None:
    whoosh, tantivy = engines
    for q in QUERIES:
        a = record_index.search(whoosh, q, access=access, per_page=100, snippets=True)
        b = record_index.search(tantivy, q, access=access, per_page=100, snippets=True)
        assert (a.total, a.facets) == (b.total, b.facets), q
        mine = {h.iri: (h.via_links, h.snippet, h.title, h.units_now) for h in a.hits}
        theirs = {h.iri: (h.via_links, h.snippet, h.title, h.units_now) for h in b.hits}
        assert mine == theirs, q


def test_pages_filters_and_sorting_alike(engines: tuple[Settings, Settings]) -> None:
    whoosh, tantivy = engines
    for kwargs in (
        {"page": 2, "per_page": 5},
        {"page": 99, "per_page": 5},  # past the end: the last page
        {"filters": {"kind": "record", "level": "commune"}},
        {"sortedby": "year", "per_page": 50},
    ):
        a = record_index.search(whoosh, "", access={"01", "02"}, **kwargs)  # type: ignore[arg-type]
        b = record_index.search(tantivy, "", access={"01", "02"}, **kwargs)  # type: ignore[arg-type]
        assert a.total == b.total and len(a.hits) == len(b.hits), kwargs
        if "sortedby" in kwargs:
            assert [h.year for h in a.hits] == [h.year for h in b.hits]
        if "filters" in kwargs:
            assert {h.iri for h in a.hits} == {h.iri for h in b.hits}
    with pytest.raises(KhoError, match="Unknown filter"):
        record_index.search(tantivy, "", filters={"nope": "x"})


def test_units_search_alike(engines: tuple[Settings, Settings]) -> None:
    whoosh, tantivy = engines
    for q, kwargs in (
        ("truc bach", {}),
        ("hoan kiem", {}),
        ("truc ba", {}),  # the prefix fallback
        ("00004", {}),
        ("ba dinh", {"level": "district"}),
        ("ba dinh", {"era": "after"}),
    ):
        a = search_index.search(whoosh, q, limit=20, **kwargs)  # type: ignore[arg-type]
        b = search_index.search(tantivy, q, limit=20, **kwargs)  # type: ignore[arg-type]
        assert {h.iri for h in a} == {h.iri for h in b}, q
        assert a[0].iri == b[0].iri, q


def test_switching_engines_rebuilds_or_says_what_to_do(demo_store: Store, tmp_path: Path) -> None:
    demo_store.backup(tmp_path / "store")
    whoosh = Settings(data_dir=tmp_path, today=TODAY)
    store = open_store(whoosh)  # type: ignore[arg-type]
    count = record_index.rebuild(store, whoosh)
    tantivy = dataclasses.replace(whoosh, search="tantivy")
    with pytest.raises(search_index.IndexMissing, match=r"built by whoosh.*kho reindex"):
        record_index.search(tantivy, "ủy ban")
    assert record_index.ensure_current(store, tantivy)  # the switch builds tantivy's own
    assert written_by(record_index.index_path(tantivy)) == "tantivy"
    assert written_by(record_index.index_path(whoosh)) == "whoosh"
    assert len(record_index.indexed_iris(tantivy)) == count
    assert not record_index.ensure_current(store, tantivy)
    # writes: update by IRI, delete by IRI, one commit each; the generation grows
    some = sorted(record_index.indexed_iris(tantivy))[:2]
    before = record_index.generation(tantivy)
    assert record_index.update(store, tantivy, some[:1], removed=some[1:]) == 1
    assert (record_index.generation(tantivy) or 0) > (before or 0)
    assert record_index.indexed_iris(tantivy) == record_index.indexed_iris(whoosh) - {some[1]}
    with pytest.raises(KhoError, match="Unknown search engine 'lucene'"):
        record_index.search(dataclasses.replace(whoosh, search="lucene"), "x")


def test_a_fresh_directory_gets_an_index_from_the_first_update(
    demo_store: Store, tmp_path: Path
) -> None:
    """As ingest does on a new data directory: update() creates the index it adds to."""
    demo_store.backup(tmp_path / "store")
    settings = Settings(data_dir=tmp_path, today=TODAY, search="tantivy")
    store = open_store(settings)  # type: ignore[arg-type]
    iris = [str(r["r"]) for r in store.select("SELECT ?r WHERE { GRAPH ?g { ?r a rico:Record } }")]
    assert iris and record_index.update(store, settings, iris[:3], new=iris[:3]) == 3
    assert record_index.indexed_iris(settings) == set(iris[:3])
    shutil.rmtree(record_index.index_path(settings))
    assert record_index.generation(settings) is None


@pytest.fixture(scope="module")
def demo_store(demo_settings: Settings) -> Store:
    return open_store(demo_settings)  # type: ignore[arg-type]
