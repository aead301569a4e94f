"""The OAI-PMH harvester (issue 5 §5), over real HTTP on 127.0.0.1: against Kho's own provider
(the demo repository's web app, anonymous, small pages so that resumption tokens are followed)
and against a static server of tests/data/oai/ (a Static Repository file, and recorded dynamic
answers with a deleted record, a bad record, a 503 with Retry-After and protocol errors)."""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from werkzeug.serving import make_server

from harvesters.oai_harvest import REPORT, HarvestOptions, harvest
from repository import oai
from repository.config import Settings
from repository.ingest import ingest_batch
from repository.namespaces import Minter
from repository.store import Store, open_store
from tests.conftest import TODAY

DATA = Path(__file__).parent / "data" / "oai"
PAGE = 7  # Kho's provider page size here: the demo's public items take several pages


# -- servers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kho_oai(demo_settings: Settings) -> Iterator[str]:
    """Kho's web app on 127.0.0.1 (its /oai endpoint), with pages of PAGE items."""
    import webapp

    patch = pytest.MonkeyPatch()
    patch.setattr(oai, "PAGE_SIZE", PAGE)
    server = make_server("127.0.0.1", 0, webapp.create_app(demo_settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/oai"
    server.shutdown()
    patch.undo()


class _Recorded(SimpleHTTPRequestHandler):
    """Files of tests/data/oai/ as they are (the static repository), and /oai answering from
    recorded responses by verb and resumptionToken."""

    mode = "normal"  # "bad-token" | "malformed": page 2 goes wrong that way
    busy_once = True  # the first request for page 2 gets 503 + Retry-After
    queries: list[dict[str, list[str]]] = []  # noqa: RUF012

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, directory=str(DATA), **kwargs)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        if parts.path != "/oai":
            super().do_GET()
            return
        q = parse_qs(parts.query)
        type(self).queries.append(q)
        verb = q.get("verb", [""])[0]
        token = q.get("resumptionToken", [""])[0]
        if verb == "Identify":
            name = "identify.xml"
        elif verb == "ListMetadataFormats":
            name = "formats.xml"
        elif verb == "ListRecords" and token == "page-2":
            if type(self).busy_once:
                type(self).busy_once = False
                self.send_response(503)
                self.send_header("Retry-After", "1")
                self.end_headers()
                return
            name = {"bad-token": "bad-token.xml", "malformed": "malformed.xml"}.get(
                self.mode, "records-2.xml"
            )
        elif verb == "ListRecords" and "from" in q:
            name = "no-records.xml"
        else:
            name = "records-1.xml"
        body = (DATA / "dynamic" / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def recorded() -> Iterator[str]:
    _Recorded.mode, _Recorded.busy_once, _Recorded.queries = "normal", True, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# -- helpers ------------------------------------------------------------------------------------


def _rows(batch: Path, tab: str) -> list[dict[str, str]]:
    book = load_workbook(batch / "bang-ke-oai.xlsx", read_only=True)
    rows = [[c if c is not None else "" for c in r] for r in book[tab].iter_rows(values_only=True)]
    book.close()
    return [dict(zip(rows[0], map(str, r), strict=True)) for r in rows[1:]]


def _items(store: Store, graphs: list[str] | None = None) -> dict[str, dict[str, str]]:
    """Documents and hồ sơ: title or subject, date and creator."""
    rows = store.select(
        """SELECT ?i ?text ?day ?creator WHERE {
             { ?i a rico:Record ; rico:scopeAndContent ?text ; dct:issued ?day ;
                  rico:hasCreator ?creator }
             UNION
             { ?i a rico:RecordSet ; rico:hasRecordSetType ric-rst:File ; rico:title ?text ;
                  rico:beginningDate ?day ; rico:hasCreator ?creator } }""",
        graphs=graphs,
    )
    return {str(r["i"]): {"text": str(r["text"]), "day": str(r["day"])[:10],
                          "creator": str(r["creator"])} for r in rows}  # fmt: skip


def _graph(settings: Settings, level: str) -> list[str]:
    return [Minter(settings.base_iri).records_graph(level)]


# -- against Kho's own provider -----------------------------------------------------------------


def test_harvest_from_kho_lands_the_same_public_records(
    kho_oai: str, demo_settings: Settings, store: Store, tmp_path: Path
) -> None:
    demo = open_store(demo_settings)
    public = _items(demo, _graph(demo_settings, "public"))
    hidden = set(_items(demo, _graph(demo_settings, "conditional")))
    hidden |= set(_items(demo, _graph(demo_settings, "secret")))
    assert public and hidden

    batch = tmp_path / "batch"
    report = harvest(HarvestOptions(kho_oai, batch, state_dir=tmp_path / "state"), store)
    assert report.error is None and report.prefix == "rdf"  # Kho's richer format
    assert report.pages > 1  # resumption tokens followed to the end
    assert report.records == len(public) and not report.skipped and not report.deleted
    saved = json.loads((batch / REPORT).read_text(encoding="utf-8"))
    assert saved["records"] == len(public) and saved["response_date"] == report.response_date

    docs = _rows(batch, "Tài liệu")
    assert all(r["sourceIdentifier"].startswith("oai:kho.example.org:id/record/") for r in docs)
    harvested = {Minter(demo_settings.base_iri).record(r["docCode"]) for r in docs}
    assert not harvested & hidden  # no conditional or secret record left the provider

    target = tmp_path / "kho"
    store.backup(target / "store")
    settings = Settings(data_dir=target, today=TODAY)
    result = ingest_batch(batch, open_store(settings), settings, metadata_only=True)
    assert not result.rejected, [p.message_en for p in result.rejected]
    landed = _items(open_store(settings))
    assert landed == public  # titles, dates and creating agencies, item for item


def test_a_second_incremental_harvest_fetches_nothing_new(
    kho_oai: str, store: Store, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    first = harvest(HarvestOptions(kho_oai, tmp_path / "one", state_dir=state, incremental=True))
    assert first.records > 0 and first.sheet
    kept = json.loads(next(state.glob("*.json")).read_text(encoding="utf-8"))
    assert kept["response_date"] == first.response_date

    second = harvest(HarvestOptions(kho_oai, tmp_path / "two", state_dir=state, incremental=True))
    assert second.error is None
    assert second.incremental_from == first.response_date == second.from_
    assert second.records == 0 and second.sheet is None
    assert not (tmp_path / "two" / "bang-ke-oai.xlsx").exists()


def test_a_set_restricts_the_harvest(kho_oai: str, store: Store, tmp_path: Path) -> None:
    every = harvest(HarvestOptions(kho_oai, tmp_path / "all"))
    party = harvest(HarvestOptions(kho_oai, tmp_path / "dang", sets=["block:dang"]))
    assert 0 < party.records < every.records
    assert party.sets == ["block:dang"]
    organs = {r["organName"] for r in _rows(tmp_path / "dang", "Tài liệu")}
    assert organs and all(
        o.startswith(("Huyện ủy", "Quận ủy", "Đảng ủy", "Thành ủy")) for o in organs
    )


def test_oai_dc_records_without_a_page_count_are_reported_not_written(
    kho_oai: str, tmp_path: Path
) -> None:
    report = harvest(HarvestOptions(kho_oai, tmp_path / "dc", prefix="oai_dc"))
    assert report.prefix == "oai_dc" and report.records > 0
    assert report.doc_rows == 0 and report.skipped
    assert all("page count" in s["why_en"] for s in report.skipped if "/record/" in s["identifier"])
    assert all(s["where"].startswith("record ") for s in report.skipped)


# -- against a static server --------------------------------------------------------------------


def test_static_repository_file(recorded: str, store: Store, tmp_path: Path) -> None:
    url = f"{recorded}/static/repository.xml"
    batch = tmp_path / "static"
    report = harvest(HarvestOptions(url, batch, state_dir=tmp_path / "state"), store)
    assert report.error is None and report.prefix == "oai_dc" and report.records == 6
    why = {s["identifier"].rsplit(":", 1)[-1]: s["why_en"] for s in report.skipped}
    assert set(why) == {"vb-2019-nam", "vb-2025-hk"}
    assert "no full date" in why["vb-2019-nam"] and "2019" in why["vb-2019-nam"]
    assert "Unknown creator" in why["vb-2025-hk"]

    hoso = {r["fileCode"]: r for r in _rows(batch, "Hồ sơ")}
    docs = _rows(batch, "Tài liệu")
    assert len(hoso) == 2 and len(docs) == 3
    land = hoso["oai-luutru.example.vn-hs-2020-01"]  # the hồ sơ and its two documents
    assert land["title"] == "Hồ sơ về công tác quản lý đất đai năm 2020"
    assert (land["startDate"], land["endDate"], land["mode"]) == ("2020-03-18", "2020-05-18", "01")
    mine = [d for d in docs if d["fileCode"] == land["fileCode"]]
    assert [d["docOrdinal"] for d in mine] == ["1", "2"]
    nfd = next(d for d in docs if d["sourceIdentifier"].endswith("vb-2020-12"))
    assert nfd["subject"] == unicodedata.normalize("NFC", nfd["subject"])
    assert nfd["organName"] == "Ủy ban nhân dân quận Nam Từ Liêm" and nfd["typeName"] == "07"
    assert nfd["issuedDate"] == "2020-05-18" and nfd["numberOfPage"] == "1"

    target = tmp_path / "kho"
    store.backup(target / "store")
    settings = Settings(data_dir=target, today=TODAY)
    result = ingest_batch(batch, open_store(settings), settings, metadata_only=True)
    assert not result.rejected, [p.message_en for p in result.rejected]
    assert result.docs_committed == 3 and result.hoso_added == 2

    refused = harvest(HarvestOptions(url, tmp_path / "sets", sets=["dang"]))
    assert refused.error and "static repositor" in refused.error and refused.sheet is None


def test_recorded_provider_tokens_retry_deleted_and_bad_records(
    recorded: str, tmp_path: Path
) -> None:
    batch = tmp_path / "dyn"
    options = HarvestOptions(
        f"{recorded}/oai", batch, sets=["dang"], end="2026-11-30", state_dir=tmp_path / "state"
    )
    report = harvest(options)
    assert report.error is None
    assert report.pages == 2 and report.retries == 1  # the 503 + Retry-After, then page 2
    assert report.response_date == "2026-11-20T08:00:00Z"
    assert report.deleted == ["oai:thuvien.example.vn:1003"]
    assert report.records == 5
    [bad] = report.skipped
    assert bad["identifier"] == "oai:thuvien.example.vn:1004" and "no title" in bad["why_en"]
    assert bad["where"] == f"record 2 of {recorded}/oai?verb=ListRecords&resumptionToken=page-2"
    first = _Recorded.queries[2]
    assert first["set"] == ["dang"] and first["until"] == ["2026-11-30"]
    docs = {d["sourceIdentifier"].rsplit(":", 1)[-1]: d for d in _rows(batch, "Tài liệu")}
    assert set(docs) == {"1001", "1002", "1005"}  # the deleted one is not ingested
    assert docs["1002"]["issuedDate"] == "2021-04-05" and docs["1002"]["mode"] == "02"
    assert docs["1001"]["mode"] == "01"

    # incremental: `from` is the last responseDate; noRecordsMatch is an empty, fine harvest
    again = harvest(
        HarvestOptions(
            f"{recorded}/oai",
            tmp_path / "again",
            sets=["dang"],
            state_dir=tmp_path / "state",
            incremental=True,
        )  # fmt: skip
    )
    assert again.error is None and again.records == 0 and again.from_ == report.response_date
    assert _Recorded.queries[-1]["from"] == ["2026-11-20T08:00:00Z"]


@pytest.mark.parametrize(
    ("mode", "says"),
    [("bad-token", "badResumptionToken"), ("malformed", "Malformed XML")],
)
def test_a_failing_page_stops_the_harvest_and_writes_nothing(
    recorded: str, tmp_path: Path, mode: str, says: str
) -> None:
    _Recorded.mode, _Recorded.busy_once = mode, False
    state = tmp_path / "state"
    report = harvest(HarvestOptions(f"{recorded}/oai", tmp_path / "b", state_dir=state))
    assert report.error and says in report.error
    assert "resumptionToken=page-2" in report.error  # which request
    assert report.sheet is None and not (tmp_path / "b" / "bang-ke-oai.xlsx").exists()
    assert not state.exists()  # the next incremental harvest starts where the last good one did
    assert json.loads((tmp_path / "b" / REPORT).read_text(encoding="utf-8"))["error"]


def test_unreachable_provider_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    options = HarvestOptions(f"http://127.0.0.1:{port}/oai", tmp_path / "x", retries=1)
    options_report = harvest(options)
    assert options_report.error and "after 2 attempts" in options_report.error


def test_cli_oai_harvest(
    recorded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from repository.cli import main

    monkeypatch.setenv("KHO_DATA_DIR", str(tmp_path / "data"))
    status = main(["oai-harvest", f"{recorded}/static/repository.xml", "--out",
                   str(tmp_path / "cli"), "--json"])  # fmt: skip
    assert status == 3  # records were skipped (the rest is in the batch)
    out = json.loads(capsys.readouterr().out)
    assert out["harvest"]["doc_rows"] == 4 and len(out["harvest"]["skipped"]) == 1
    assert list((tmp_path / "data" / "oai-harvest").glob("*.json"))
    assert main(["oai-harvest", f"{recorded}/oai", "--out", str(tmp_path / "e"),
                 "--prefix", "rdf"]) == 1  # fmt: skip
    assert "does not offer 'rdf'" in capsys.readouterr().err


def test_pdfs_are_downloaded_into_the_batch(kho_oai: str, tmp_path: Path) -> None:
    report = harvest(HarvestOptions(kho_oai, tmp_path / "f", sets=["block:dang"], files=True))
    assert report.error is None and report.files > 0
    named = [d["fileName"] for d in _rows(tmp_path / "f", "Tài liệu") if d["fileName"]]
    assert len(named) == report.files
    assert all((tmp_path / "f" / n).read_bytes().startswith(b"%PDF") for n in named)
