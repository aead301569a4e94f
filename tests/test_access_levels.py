"""Where ingest files a record decides who may see it: a document is at least as restricted as
its hồ sơ, whatever its own row says, in the store and in the search index alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from harvesters.demo_batch import write_demo
from repository import record_index
from repository.access import PUBLIC, Reader
from repository.config import Settings
from repository.ingest import ingest_batch
from repository.namespaces import Minter
from repository.store import Store, open_store


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    """The demo's TT 05 batch with one secret hồ sơ whose document rows all say 01 (public)."""
    folder = write_demo(tmp_path_factory.mktemp("levels"), documents=14, seed=7)[0]
    book = load_workbook(folder / "bang-ke.xlsx")
    hoso, docs = book["Hồ sơ"], book["Tài liệu"]
    hoso_mode = [c.value for c in hoso[1]].index("mode")
    doc_mode = [c.value for c in docs[1]].index("mode")
    code = hoso.cell(row=2, column=1).value
    hoso.cell(row=2, column=hoso_mode + 1).value = "03"
    codes = []
    for row in docs.iter_rows(min_row=2):
        if str(row[0].value).startswith(f"{code}."):
            row[doc_mode].value = "01"
            codes.append(str(row[0].value))
    book.save(folder / "bang-ke.xlsx")
    assert codes
    return folder, str(code), codes


@pytest.fixture(scope="module")
def landed(batch: tuple[Path, str, list[str]], records_settings: Settings) -> Store:
    store = open_store(records_settings)
    report = ingest_batch(batch[0], store, records_settings, ocr=False)
    assert report.docs_committed > 0, report.text()
    return store


def test_documents_of_a_secret_hoso_are_filed_as_secret(
    batch: tuple[Path, str, list[str]], landed: Store, records_settings: Settings
) -> None:
    minter = Minter(records_settings.base_iri)
    for code in batch[2]:
        rows = landed.select(
            f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ <{minter.record(code)}> ?p ?o }} }}"
        )
        graphs = {str(r["g"]) for r in rows}
        assert minter.records_graph("secret") in graphs, code
        assert not graphs & {minter.records_graph("public"), minter.records_graph("conditional")}


def test_the_index_files_them_as_secret_too(
    batch: tuple[Path, str, list[str]], landed: Store, records_settings: Settings
) -> None:
    for code in batch[2]:
        anonymous = record_index.search(records_settings, code, access=set(PUBLIC.levels))
        assert not any(code in h.iri for h in anonymous.hits), code
        cleared = Reader("c", "researcher", frozenset({"secret"}))
        found = record_index.search(records_settings, code, access=set(cleared.levels))
        assert any(h.iri.endswith(code) and h.access == "03" for h in found.hits), code
