"""End-to-end ingest of generated batches into a real store: rejection report, atomic units,
idempotent re-ingest, OCR of scans, flags, retention decisions, the records index."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest

from harvesters.demo_batch import write_demo
from repository import record_index
from repository.batch import REPORT_JSON, REPORT_TEXT
from repository.cli import main
from repository.config import Settings
from repository.ingest import ingest_batch
from repository.store import Store, open_store


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_demo(tmp_path_factory.mktemp("demo"), documents=14, seed=7, scanned_ratio=0.15)


@pytest.fixture(scope="module")
def rstore(records_settings: Settings) -> Store:
    return open_store(records_settings)


@pytest.fixture(scope="module")
def first_run(demo: list[Path], rstore: Store, records_settings: Settings) -> list:
    return [ingest_batch(folder, rstore, records_settings, jobs=2) for folder in demo]


def test_batches_land_with_a_report_beside_them(first_run: list, demo: list[Path]) -> None:
    tt05, tt02 = first_run
    assert tt05.hoso_added > 0 and tt05.docs_committed > 0
    assert not tt05.rejected, tt05.text()
    assert tt02.hoso_added > 0
    for folder in demo:
        data = json.loads((folder / REPORT_JSON).read_text(encoding="utf-8"))
        assert data["batch_id"] == folder.name
        assert (folder / REPORT_TEXT).read_text(encoding="utf-8").startswith("Lô / batch")


def test_bad_rows_are_rejected_with_row_and_column(first_run: list) -> None:
    tt02 = first_run[1]
    problems = tt02.rejected
    dates = [p for p in problems if p.value and p.value.startswith("31/02/")]
    assert dates and dates[0].column == "Ngày, tháng, năm văn bản" and dates[0].row
    missing = [p for p in problems if "thieu.pdf" in (p.value or "") or "thieu.pdf" in p.message_en]
    assert missing and missing[0].row


def test_reingest_adds_nothing(
    first_run: list, demo: list[Path], rstore: Store, records_settings: Settings
) -> None:
    before = len(rstore)
    again = ingest_batch(demo[0], rstore, records_settings, jobs=2)
    assert again.hoso_added == 0 and again.hoso_replaced == 0
    assert again.hoso_unchanged == first_run[0].hoso_added
    assert len(rstore) == before


def test_duplicate_document_is_flagged_not_dropped(first_run: list, rstore: Store) -> None:
    kinds = {f["kind"] for r in first_run for f in r.flags}
    assert {"duplicate-file", "duplicate-document"} <= kinds
    assert rstore.ask(
        "ASK WHERE { ?f a kho:QualityFlag ; kho:flagKind khoc:flag-duplicate-file ; "
        "kho:reviewStatus khoc:review-xem-xet-huy ; kho:flagOf ?r . ?r a rico:Record }"
    )


def test_records_carry_creator_on_their_date_and_files(first_run: list, rstore: Store) -> None:
    rows = rstore.select(
        "SELECT ?r ?a ?d ?end WHERE { ?r a rico:Record ; rico:hasCreator ?a ; dct:issued ?d . "
        "OPTIONAL { ?a rico:endDate ?end } }"
    )
    assert rows
    for row in rows:
        if row["end"] is not None:
            assert str(row["d"]) <= str(row["end"])  # the creator existed on the document's date
    assert rstore.ask(
        "ASK WHERE { ?r rico:hasOrHadInstantiation ?f . ?f kho:sha256 ?h ; kho:byteSize ?n . "
        "?e a kho:PreservationEvent ; prov:used ?f ; kho:eventType khoc:premis-ingestion }"
    )


def test_scans_are_ocrd_to_pdfa(first_run: list, rstore: Store) -> None:
    assert sum(r.ocr_files for r in first_run) >= 1
    assert rstore.ask(
        "ASK WHERE { ?p rico:isDerivedFromInstantiation ?o ; dct:conformsTo ?std . "
        "?e prov:used ?p ; kho:eventType khoc:premis-ocr }"
    )


def test_retention_decisions_confirmed_or_suggested(first_run: list, rstore: Store) -> None:
    rows = rstore.select(
        "SELECT ?s (COUNT(?d) AS ?n) WHERE { ?d a kho:RetentionDecision ; kho:decisionStatus ?s } "
        "GROUP BY ?s"
    )
    statuses = {str(r["s"]).rsplit("/", 1)[-1] for r in rows}
    assert "decision-confirmed" in statuses and "decision-suggested" in statuses


def test_every_hoso_has_a_priority_group(first_run: list, rstore: Store) -> None:
    assert not rstore.ask(
        "ASK WHERE { ?h a rico:RecordSet ; rico:hasRecordSetType ric-rst:File "
        "FILTER NOT EXISTS { ?h kho:priorityGroup ?g } }"
    )


def test_what_landed_is_searchable_and_rejected_is_not(
    first_run: list, records_settings: Settings, rstore: Store
) -> None:
    indexed = record_index.indexed_iris(records_settings)
    stored = {str(r["r"]) for r in rstore.select("SELECT ?r WHERE { ?r a rico:Record }")}
    assert stored and stored <= indexed
    rejected = {p.resource for r in first_run for p in r.rejected if p.resource}
    assert not (rejected & indexed)
    word = rstore.select(
        "SELECT ?t WHERE { ?h a rico:RecordSet ; kho:batch ?b ; rico:title ?t } LIMIT 1"
    )
    title = str(word[0]["t"])
    from repository.text import fold

    hits = record_index.search(records_settings, fold(title))
    assert hits.total >= 1 and hits.facets["block"]


def test_cli_ingest_exit_code_and_report(
    demo: list[Path],
    records_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KHO_DATA_DIR", str(records_settings.data_dir))
    monkeypatch.setenv("KHO_TODAY", records_settings.today or "")
    code = main(["ingest", str(demo[1]), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 3  # the legacy batch has rejected rows
    assert out["hoso_added"] == 0
    assert any(p["severity"] == "rejected" for p in out["problems"])


def test_priority_group_counts_cover_every_hoso(
    first_run: list,
    rstore: Store,
    records_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KHO_DATA_DIR", str(records_settings.data_dir))
    assert main(["retention", "groups", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    hoso = rstore.select(
        "SELECT (COUNT(?h) AS ?n) WHERE { ?h rico:hasRecordSetType ric-rst:File }"
    )[0]["n"]
    assert sum(c["hoso"] for c in counts.values()) == hoso


def test_archivist_confirms_a_duplicate_flag(
    first_run: list,
    rstore: Store,
    records_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KHO_DATA_DIR", str(records_settings.data_dir))
    assert main(["flags", "list", "--kind", "duplicate-file", "--json"]) == 0
    flags = json.loads(capsys.readouterr().out)
    assert flags and flags[0]["status"] == "xem-xet-huy"
    assert main(["flags", "confirm", flags[0]["flag"], "--by", "Lưu trữ viên A"]) == 0
    capsys.readouterr()
    assert main(["flags", "list", "--status", "confirmed", "--json"]) == 0
    confirmed = json.loads(capsys.readouterr().out)
    assert [f["flag"] for f in confirmed] == [flags[0]["flag"]]
    assert rstore.ask(
        "ASK WHERE { ?r prov:used ?f ; prov:wasAssociatedWith ?who ; prov:endedAtTime ?t }",
        substitutions={"f": ox.NamedNode(flags[0]["flag"])},
    )


def test_reindex_rebuilds_the_same_records_index(
    first_run: list, records_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = record_index.indexed_iris(records_settings)
    monkeypatch.setenv("KHO_DATA_DIR", str(records_settings.data_dir))
    assert main(["reindex"]) == 0
    assert record_index.indexed_iris(records_settings) == before
