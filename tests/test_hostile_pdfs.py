"""Hostile and broken PDFs (issue 7, point 3; corpus in tests/hostile/pdfs/): each one through a
real ingest beside good documents, and through `kho extract`. Each is answered with the reason
and what to do; the good documents of the same batch land; the bad one lands quarantined (a
"quarantine" PREMIS event and a damaged flag carrying the reason), its original kept as sent; no
temporary file, half output or stray process is left behind. No tool ever reads a bomb: the
checks of repository.pdfcheck refuse it first, and the tools run under memory and time limits.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from hostile.pdfs import make  # tests/ is on sys.path: the corpus generator

from repository.batch import REPORT_TEXT, IngestReport
from repository.cli import main
from repository.config import Settings
from repository.digitised import load_facts
from repository.errors import DamagedFile
from repository.files import FileStore
from repository.ingest import ingest_batch
from repository.namespaces import Minter
from repository.pdfcheck import PdfLimits, preflight, run_tool
from repository.store import Store, open_store

TRUC_BACH = "Ủy ban nhân dân phường Trúc Bạch"  # code 00004 until 2025-06-30
MIXED, GOOD = "H01.00004.UBND.2019.78", "H01.00004.UBND.2019.79"
HEADERS = ["fileCode", "title", "mode", "maintenance", "startDate", "docOrdinal", "typeName",
           "codeNumber", "codeNotation", "issuedDate", "organName", "subject",
           "fileName", "language", "numberOfPage", "endDate"]  # fmt: skip
# Good documents, far apart (near-duplicates would be flagged, which is not what is tested here).
GOOD_TEXTS = [
    "BÁO CÁO\nTình hình thu ngân sách quý I năm 2019 trên địa bàn phường Trúc Bạch.",
    "KẾ HOẠCH\nTổ chức hội nghị tuyên truyền phòng cháy chữa cháy cho các hộ kinh doanh.",
    "THÔNG BÁO\nLịch tiếp công dân của Chủ tịch Ủy ban nhân dân tháng 3 năm 2019.",
]
# What the reason must say for each case (Vietnamese, English), checked wherever it appears.
SAYS: dict[str, tuple[str, str]] = {
    "not-pdf-jpeg": ("Không phải tệp PDF mà là ảnh JPEG", "Not a PDF but a JPEG image"),
    "not-pdf-zip": ("tệp nén ZIP", "a ZIP archive"),
    "not-pdf-html": ("trang HTML", "an HTML/XML page"),
    "truncated": ("bị hỏng", "pages may be missing. Re-export"),
    "garbage-xref": ("bị hỏng", "xref not found"),
    "broken-objects": ("bị hỏng", "not a readable PDF"),
    "empty": ("Tệp rỗng", "empty (0 bytes)"),
    "zero-pages": ("không có trang nào", "no pages"),
    "encrypted-user": ("mật khẩu", "unprotected copy"),
    "encrypted-owner": ("PDF/A cấm mã hóa", "qpdf --decrypt"),
    "pages-5000": ("5,000 trang", "KHO_PDF_MAX_PAGES"),
    "huge-mediabox": ("20,000 × 20,000 inch", "beyond the 200 inches PDF/A allows"),
    "flate-bomb-content": ("bom giải nén", "decompression bomb"),
    "flate-bomb-image": ("bom giải nén", "decompression bomb"),
    "image-100k": ("100,000 × 100,000", "KHO_PDF_MAX_PIXELS"),
    "huge-file": ("Tệp quá lớn", "KHO_PDF_MAX_BYTES"),
    "bad-image-size": ("bị hỏng", "not a readable PDF (TypeError"),
}
QUARANTINED = [name for name, (_, what) in make.CASES.items() if what == "quarantine"]
BAD = [name for name, (_, what) in make.CASES.items() if what != "accept"]


def _children() -> set[int]:
    """Processes whose parent is this one (the tools Kho ran must all be gone)."""
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{os.getpid()}\n" in text:
            found.add(int(status.parent.name))
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-corpus")
    for name in [*make.CASES, *make.BIG]:
        make.write(name, folder)
    return folder


@pytest.fixture(scope="module")
def batch(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """Hồ sơ 78: a good document, every hostile case, the truncated file twice (two names, same
    bytes); hồ sơ 79: good documents only. Returns the folder and each file's ordinal in 78."""
    folder = tmp_path_factory.mktemp("hostile-batch")
    rows: list[list[object]] = [HEADERS]
    hoso = ["", "", "", "", "", "", "", "", "01", "", "07/03/2019"]
    rows.append([MIXED, "Hồ sơ tệp hỏng và độc hại", "01", "01", "05/03/2019", *hoso])
    names = ["good-1", *make.CASES, "truncated-again"]
    ordinals = {}
    for n, name in enumerate(names, start=1):
        if name.startswith("good"):
            make.text_pdf(folder / f"{name}.pdf", GOOD_TEXTS[0])
        elif name == "truncated-again":
            shutil.copy(folder / "truncated.pdf", folder / f"{name}.pdf")
        else:
            shutil.copy(corpus / f"{name}.pdf", folder / f"{name}.pdf")
        ordinals[name] = n
        rows.append(_doc(MIXED, n, f"{name}.pdf"))
    rows.append([GOOD, "Hồ sơ văn bản tốt", "01", "01", "05/03/2019", *hoso])
    for n in (1, 2):
        make.text_pdf(folder / f"good-{n + 10}.pdf", GOOD_TEXTS[n])
        rows.append(_doc(GOOD, n, f"good-{n + 10}.pdf"))
    with (folder / "bang-ke.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return folder, ordinals


def _doc(code: str, n: int, file_name: str) -> list[object]:
    number = f"{n + (100 if code == GOOD else 0)}"
    return [code, "", "", "", "", n, "02", number, "QĐ-UBND", "05/03/2019", TRUC_BACH,
            f"Về việc chỉnh lý tài liệu, văn bản {number}", file_name, "01", 1, ""]  # fmt: skip


@pytest.fixture(scope="module")
def rstore(records_settings: Settings) -> Store:
    return open_store(records_settings)


@pytest.fixture(scope="module")
def ingested(
    batch: tuple[Path, dict[str, int]], rstore: Store, records_settings: Settings
) -> tuple[IngestReport, set[int]]:
    before = _children()
    report = ingest_batch(batch[0], rstore, records_settings, jobs=1)
    return report, _children() - before


def _record(settings: Settings, code: str, n: int) -> str:
    return Minter(settings.base_iri).record(f"{code}.{n:07d}")


# -- each case alone, without a store ----------------------------------------------------------


@pytest.mark.parametrize("name", [*BAD, *make.BIG])
def test_preflight_refuses_with_the_reason_in_both_languages(corpus: Path, name: str) -> None:
    with pytest.raises(DamagedFile) as caught:
        preflight(corpus / f"{name}.pdf")
    vi, en = SAYS[name]
    message = caught.value.message
    assert vi in message and en in message, message
    assert " / " in message and str(corpus) not in message  # no path of ours in the reason


def test_active_content_is_readable_and_kept_as_is(corpus: Path) -> None:
    assert preflight(corpus / "active-content.pdf") == 1


@pytest.mark.parametrize("name", [*BAD, *make.BIG])
def test_kho_extract_says_one_line_and_exits_1(
    corpus: Path, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("KHO_DATA_DIR", str(tmp_path / "no-data"))  # no store: fields only
    assert main(["extract", str(corpus / f"{name}.pdf")]) == 1
    out, err = capsys.readouterr()
    assert not out and len(err.strip().splitlines()) == 1
    assert err.startswith("kho extract: ") and SAYS[name][1] in err


def test_a_tool_over_its_time_is_stopped_and_reaped(corpus: Path) -> None:
    before = _children()
    with pytest.raises(DamagedFile, match="took over 1 s"):
        run_tool(["sleep", "30"], corpus / "empty.pdf", PdfLimits(tool_seconds=1))
    assert _children() - before == set()


def test_a_tool_over_its_memory_fails_the_file_not_the_host(corpus: Path) -> None:
    tight = PdfLimits(tool_memory=64 << 20)
    with pytest.raises(DamagedFile, match="memory limit of 64 MiB"):
        run_tool([sys.executable, "-c", "b = bytearray(256 << 20)"], corpus / "empty.pdf", tight)


# -- through a real ingest ---------------------------------------------------------------------


def test_good_documents_land_beside_the_bad_ones(
    ingested: tuple[IngestReport, set[int]], rstore: Store, records_settings: Settings
) -> None:
    report, _ = ingested
    assert report.hoso_added == 2
    assert report.docs_committed == len(make.CASES) - 1 + 2 + 2  # all but the empty file
    for code, n in ((MIXED, 1), (GOOD, 1), (GOOD, 2)):
        iri = _record(records_settings, code, n)
        assert rstore.ask(
            "ASK WHERE { ?r rico:hasOrHadInstantiation ?f . ?f kho:sha256 ?h }",
            substitutions={"r": ox.NamedNode(iri)},
        )
        assert not _quarantine_notes(rstore, iri)


def test_each_bad_file_is_quarantined_with_the_reason(
    ingested: tuple[IngestReport, set[int]],
    batch: tuple[Path, dict[str, int]],
    rstore: Store,
    records_settings: Settings,
) -> None:
    report, _ = ingested
    flags = {f["resource"]: f for f in report.flags if f["kind"] == "damaged"}
    text = (batch[0] / REPORT_TEXT).read_text(encoding="utf-8")
    files = FileStore(records_settings.files_path)  # type: ignore[arg-type]
    for name in [*QUARANTINED, "truncated-again"]:
        iri = _record(records_settings, MIXED, batch[1][name])
        vi, en = SAYS[name.removesuffix("-again")]
        notes = _quarantine_notes(rstore, iri)
        assert len(notes) == 1 and vi in notes[0] and en in notes[0], (name, notes)
        note = flags[iri]["note"] or ""
        assert vi in note and en in note
        assert f"{iri}: damaged — {note}" in text  # the readable report names the record
        sha = _sha(rstore, iri)  # the original is kept, byte for byte, as sent
        assert files.path_for(sha).read_bytes() == (batch[0] / f"{name}.pdf").read_bytes()
        facts = load_facts(files, sha)
        assert facts is not None and facts.damaged == notes[0] and facts.pdfa_sha256 is None


def test_the_same_broken_file_twice_lands_twice(
    ingested: tuple[IngestReport, set[int]], batch: tuple[Path, dict[str, int]], records_settings
) -> None:
    report, _ = ingested
    again = _record(records_settings, MIXED, batch[1]["truncated-again"])
    kinds = {f["kind"] for f in report.flags if f["resource"] == again}
    assert kinds == {"damaged", "duplicate-file"}


def test_an_empty_file_rejects_its_row_only(
    ingested: tuple[IngestReport, set[int]], batch: tuple[Path, dict[str, int]], records_settings
) -> None:
    report, _ = ingested
    iri = _record(records_settings, MIXED, batch[1]["empty"])
    (problem,) = report.rejected  # the only rejection of the batch
    assert problem.row == batch[1]["empty"] + 2 and problem.sheet == "bang-ke.csv"
    assert "kho:byteSize" in problem.message_en and "kích thước" in problem.message_vi
    assert problem.resource is not None and problem.resource.startswith(iri)


def test_active_content_is_stored_as_sent(
    ingested: tuple[IngestReport, set[int]],
    batch: tuple[Path, dict[str, int]],
    rstore: Store,
    records_settings: Settings,
) -> None:
    iri = _record(records_settings, MIXED, batch[1]["active-content"])
    assert not _quarantine_notes(rstore, iri)
    files = FileStore(records_settings.files_path)  # type: ignore[arg-type]
    data = files.path_for(_sha(rstore, iri)).read_bytes()
    assert data == (batch[0] / "active-content.pdf").read_bytes()
    assert b"/JavaScript" in data and b"/Launch" in data and b"/EmbeddedFile" in data


def test_nothing_half_written_and_no_process_left(
    ingested: tuple[IngestReport, set[int]], records_settings: Settings
) -> None:
    _, children = ingested
    assert children == set()
    root = Path(records_settings.files_path)  # type: ignore[arg-type]
    names = [p.name for p in root.rglob("*") if p.is_file()]
    assert not [n for n in names if n.startswith((".part-", ".kho-ocr-")) or n.endswith(".tmp")]
    pdfs = {n.removesuffix(".pdf") for n in names if n.endswith(".pdf")}
    facts = {n.removesuffix(".json") for n in names if n.endswith(".json")}
    assert pdfs == facts  # every stored PDF has its facts; no PDF/A was made from a bad file


@pytest.fixture(scope="module")
def reingested(
    ingested: tuple[IngestReport, set[int]],
    batch: tuple[Path, dict[str, int]],
    rstore: Store,
    records_settings: Settings,
) -> tuple[IngestReport, int, int]:
    records = "SELECT ?r WHERE { ?r a rico:Record }"
    before = len(rstore.select(records))
    again = ingest_batch(batch[0], rstore, records_settings, jobs=1)
    return again, before, len(rstore.select(records))


def test_reingest_loses_nothing_and_adds_no_record(
    reingested: tuple[IngestReport, int, int],
    batch: tuple[Path, dict[str, int]],
    rstore: Store,
    records_settings: Settings,
) -> None:
    again, before, after = reingested
    assert again.hoso_added == 0 and after == before
    assert [p.row for p in again.rejected] == [batch[1]["empty"] + 2]  # the same one row
    for name in QUARANTINED:
        iri = _record(records_settings, MIXED, batch[1][name])
        assert _quarantine_notes(rstore, iri)  # still quarantined, from the cached facts


def test_reingest_of_quarantined_files_changes_nothing(
    reingested: tuple[IngestReport, int, int],
    batch: tuple[Path, dict[str, int]],
    rstore: Store,
    records_settings: Settings,
) -> None:
    """A quarantine event is made once, with the file's first copy; the duplicate-file flag of
    the second copy stays on it: a re-run replaces nothing."""
    again, _, _ = reingested
    iri = _record(records_settings, MIXED, batch[1]["not-pdf-jpeg"])
    assert len(_quarantine_notes(rstore, iri)) == 1
    assert again.hoso_unchanged == 2 and again.hoso_replaced == 0


def test_the_download_of_active_content_cannot_run_in_the_page(
    ingested: tuple[IngestReport, set[int]],
    batch: tuple[Path, dict[str, int]],
    records_settings: Settings,
) -> None:
    from webapp import create_app

    key = f"{MIXED}.{batch[1]['active-content']:07d}"
    response = create_app(records_settings).test_client().get(f"/files/{key}/original.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"  # never sniffed as HTML or run as a page
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    response.close()


def _quarantine_notes(store: Store, iri: str) -> list[str]:
    rows = store.select(
        "SELECT ?note WHERE { ?r rico:hasOrHadInstantiation ?f . ?e prov:used ?f ; "
        "kho:eventType khoc:premis-quarantine ; kho:outcome khoc:outcome-failure ; "
        "rico:descriptiveNote ?note }",
        substitutions={"r": ox.NamedNode(iri)},
    )
    return [str(r["note"]) for r in rows]


def _sha(store: Store, iri: str) -> str:
    rows = store.select(
        "SELECT ?h WHERE { ?r rico:hasOrHadInstantiation ?f . ?f kho:sha256 ?h }",
        substitutions={"r": ox.NamedNode(iri)},
    )
    return str(rows[0]["h"])


def test_a_quarantined_file_goes_only_as_an_opaque_attachment(
    ingested: tuple[IngestReport, set[int]],
    batch: tuple[Path, dict[str, int]],
    records_settings: Settings,
) -> None:
    """An HTML page renamed .pdf (or a bomb) is kept as sent, but the reader's browser is never
    asked to open it: no viewer on the page, the download is an octet-stream attachment."""
    from webapp import create_app

    key = f"{MIXED}.{batch[1]['not-pdf-html']:07d}"
    client = create_app(records_settings).test_client()
    response = client.get(f"/files/{key}/original.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()
    page = client.get(f"/id/record/{key}").get_data(as_text=True)
    assert "pdf-viewer" not in page
