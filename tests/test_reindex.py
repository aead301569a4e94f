"""`kho reindex` (repository.reindex): full rebuilds of the units and records indexes from the
store, read a page of records at a time, with progress; on a copy of the demo repository."""

from __future__ import annotations

import io
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest

from repository import record_documents, record_index
from repository.config import Settings
from repository.reindex import ReindexReport, progress_bar, reindex
from repository.store import Store, open_store
from tests.conftest import TODAY

QUERIES = ("", "khen thưởng", "ba dinh", "quyết định", "viettel", "đất đai", "0100109106")


@pytest.fixture(scope="module")
def own_settings(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the demo repository (the tests remove a record from it), with the demo's
    indexes as ingest left them."""
    data = tmp_path_factory.mktemp("kho-reindex")
    open_store(demo_settings).backup(data / "store")
    for index in ("index", "records-index"):  # units, records
        shutil.copytree(Path(demo_settings.data_dir) / index, data / index)
    return Settings(data_dir=data, files_path=demo_settings.files_path, today=TODAY)


def _answers(settings: Settings) -> dict[str, object]:
    """Each query's hits (IRI, kind, title, access, units now) and facet counts."""
    out: dict[str, object] = {}
    for q in QUERIES:
        found = record_index.search(settings, q, per_page=100)
        hits = sorted(
            (h.iri, h.kind, h.title, h.access, tuple(h.units_now), tuple(h.via_links))
            for h in found.hits
        )
        out[q] = (found.total, hits, found.facets)
    return out


def _docs(store: Store, settings: Settings, **kwargs: object) -> list[dict[str, object]]:
    docs = list(record_documents.record_documents(store, settings, **kwargs))  # type: ignore[arg-type]
    return sorted(docs, key=lambda d: str(d["iri"]))


def test_reindex_reports_progress_and_keeps_search_answers(own_settings: Settings) -> None:
    store = open_store(own_settings)
    before = _answers(own_settings)
    assert before[""][0] > 0  # type: ignore[index]
    seen: list[tuple[str, int, int]] = []
    report = reindex(store, own_settings, progress=lambda *call: seen.append(call))
    assert isinstance(report, ReindexReport)
    total = record_documents.count_documents(store)
    assert report.records == total == before[""][0]  # type: ignore[index]
    assert report.units and report.units > 10_000  # all of Vietnam's unit versions
    for stage, count in (("units", report.units), ("records", report.records)):
        calls = [(done, of) for s, done, of in seen if s == stage]
        assert calls[0] == (0, count)  # the total is known from the start
        assert calls[-1] == (count, count)  # and reached
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert _answers(own_settings) == before  # a rebuild finds exactly what ingest indexed
    assert "records index" in report.text() and f"{report.records:,}" in report.text()


@pytest.mark.parametrize("engine", ["whoosh", "tantivy"])
def test_reindex_is_idempotent(own_settings: Settings, engine: str) -> None:
    settings = replace(own_settings, search=engine)
    store = open_store(settings)
    first = reindex(store, settings, units=False)
    answers = _answers(settings)
    iris = record_index.indexed_iris(settings)
    second = reindex(store, settings, units=False)
    assert first.units is None and first.records == second.records == len(iris)
    assert record_index.indexed_iris(settings) == iris
    assert _answers(settings) == answers
    assert answers["khen thưởng"][0] > 0  # type: ignore[index]


def test_documents_do_not_depend_on_the_page_size(
    own_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read a page of records at a time (bounded memory), the documents are those of one pass,
    and of the same records named one by one (the path ingest uses)."""
    store = open_store(own_settings)
    whole = _docs(store, own_settings)
    assert len(whole) == record_documents.count_documents(store)
    monkeypatch.setattr(record_documents, "PAGE", 7)
    assert _docs(store, own_settings) == whole
    named = [str(d["iri"]) for d in whole][::-1]
    assert _docs(store, own_settings, iris=named + named[:5]) == whole  # each IRI once
    pages = list(record_documents.pages(store, None))
    assert all(len(p) == 7 for p in pages[:-1]) and sum(map(len, pages)) == len(whole)
    early = record_documents.record_documents(store, own_settings)  # read ahead by a thread
    assert next(early)["iri"]
    early.close()  # a caller that stops early leaves no reader behind
    assert not [t for t in threading.enumerate() if t.name == "kho-records-reader"]


def test_a_removed_record_leaves_the_index(own_settings: Settings) -> None:
    store = open_store(own_settings)
    found = record_index.search(own_settings, "khen thưởng", filters={"kind": "record"})
    gone = found.hits[0]
    quads = list(store.quads(gone.iri))  # the record's own description, in every graph
    assert quads
    store.update_quads(remove=quads, add=[])
    report = reindex(store, own_settings, units=False)
    assert gone.iri not in record_index.indexed_iris(own_settings)
    assert report.records == record_documents.count_documents(store)
    after = record_index.search(own_settings, "khen thưởng", filters={"kind": "record"})
    assert gone.iri not in {h.iri for h in after.hits} and after.total == found.total - 1


def test_progress_bar_in_a_log() -> None:
    out = io.StringIO()  # not a terminal: lines, not a redrawn bar
    bar = progress_bar(out, every=3600)
    bar("records", 0, 2_000)
    bar("records", 1_000, 2_000)  # within `every`: not shown
    bar("records", 2_000, 2_000)
    bar("records", 2_000, 2_000)  # the end once
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Chỉ mục tài liệu / records index: 0/2,000")
    assert "2,000/2,000" in lines[1] and "(100%)" in lines[1] and "/s" in lines[1]


def test_the_same_documents_from_a_server(
    own_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a SPARQL server (Oxigraph server) the documents are those of the embedded store holding
    the same quads: the records' graphs and what they name, two hops out."""
    from tests.servers import oxigraph_server

    demo = open_store(own_settings)
    keep = ("vocabulary", "gazetteer", "agencies", "registries")
    quads = [q for g in demo.named_graphs() if "/graph/records/" in g for q in demo.graph_quads(g)]
    frontier = {q.object.value for q in quads if isinstance(q.object, ox.NamedNode)}
    seen: set[str] = set()
    for _hop in range(3):
        found: set[str] = set()
        for iri in frontier - seen:
            seen.add(iri)
            for quad in demo.quads(iri):
                if quad.graph_name.value.rsplit("/", 1)[-1] in keep:  # type: ignore[union-attr]
                    quads.append(quad)
                    if isinstance(quad.object, ox.NamedNode):
                        found.add(quad.object.value)
        frontier = found
    dump = tmp_path / "slice.nq"
    dump.write_bytes(ox.serialize(quads, format=ox.RdfFormat.N_QUADS))
    embedded = Store(tmp_path / "embedded")
    embedded.load_dump(dump)
    monkeypatch.setattr(record_documents, "PAGE", 11)
    expected = _docs(embedded, own_settings)
    assert len(expected) == record_documents.count_documents(demo)
    with oxigraph_server(tmp_path / "server") as server:
        settings = replace(own_settings, store=server.spec, **server.settings())
        remote = open_store(settings)
        remote.load_dump(dump)
        assert record_documents.count_documents(remote) == len(expected)
        assert _docs(remote, settings) == expected
