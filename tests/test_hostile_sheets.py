"""Hostile and broken sheets (issue 7, point 3): legacy Vietnamese encodings, wrong dates, codes
that did not exist on the date, empty and duplicated keys, formula cells, broken files and an
XLSX bomb. Each is answered in the report with what, where and what to do; the good rows of the
same batch land; nothing of a rejected row is stored. Cases: tests/hostile/sheets/."""

from __future__ import annotations

import importlib.util
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from repository import sheet_read, sheet_xlsx
from repository.batch import IngestReport
from repository.config import Settings
from repository.ingest import ingest_batch
from repository.legacy_text import (
    convert_cell,
    detect_cells,
    from_tcvn3,
    from_vni,
    is_syllable,
)
from repository.resolve import explain_issuer
from repository.sheets import REFUSED_VI, SheetError, read_batch
from repository.store import Store, open_store
from repository.text import fold

_SPEC = importlib.util.spec_from_file_location(
    "hostile_sheet_cases", Path(__file__).parent / "hostile" / "sheets" / "cases.py"
)
cases = importlib.util.module_from_spec(_SPEC)  # type: ignore[arg-type]
_SPEC.loader.exec_module(cases)  # type: ignore[union-attr]
BASE = "https://kho.example.org/id/"


def folder(tmp_path: Path, name: str = "lo") -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


# -- legacy encodings, without a store ---------------------------------------------------------


def test_tables_convert_known_words_and_keep_tone_placement() -> None:
    assert from_tcvn3("Uû ban nh©n d©n thµnh phè Hµ Néi") == "Uỷ ban nhân dân thành phố Hà Nội"
    assert from_tcvn3("ñY BAN NH©N D©N") == "ỦY BAN NHÂN DÂN"  # .VnTimeH capitals
    assert (
        from_vni("UÛy ban nhaân daân, Hoaø Bình, Ñoáng Ña") == "Ủy ban nhân dân, Hoà Bình, Đống Đa"
    )
    assert from_vni(cases.VNI_TITLE) == from_tcvn3(cases.TCVN3_TITLE) == cases.UNICODE_TITLE
    assert all(is_syllable(w) for w in ("Uỷ", "Ủy", "hoà", "hòa", "nghiêng", "khuya", "thuở"))
    assert not any(is_syllable(w) for w in ("nh©n", "Hoaø", "uû", "Привет"))
    assert detect_cells(["Hà Nội", "Phường Trúc Bạch"]).encoding is None  # Unicode stays


@pytest.mark.parametrize(
    ("write", "encoding"),
    [
        (
            lambda f: cases.legacy_csv(
                f, "tcvn3.csv", "L.01", cases.TCVN3_TITLE, cases.TCVN3_ORGAN
            ),
            "TCVN3",
        ),  # noqa: E501
        (
            lambda f: cases.legacy_csv(f, "vni.csv", "L.01", cases.VNI_TITLE, cases.VNI_ORGAN),
            "VNI",
        ),  # noqa: E501
        (lambda f: cases.cp1258_csv(f, "cp1258.csv", "L.01"), "Windows-1258"),
        (lambda f: cases.legacy_xlsx(f, "tcvn3.xlsx", "L.01"), "TCVN3"),
    ],
)
def test_legacy_sheet_is_converted_with_a_warning(tmp_path: Path, write, encoding: str) -> None:
    batch = folder(tmp_path)
    write(batch)
    read = read_batch(batch)
    hoso = read.rows[0]
    assert hoso.values["title"] == cases.UNICODE_TITLE
    assert unicodedata.is_normalized("NFC", hoso.values["title"])
    warned = [w for w in read.warnings if encoding in w.message_en]
    assert warned and "save the sheet as UTF-8" in warned[0].message_en
    assert fold(read.rows[1].values["organName"]) == fold(cases.ORGAN_NEW)


def test_undecidable_encoding_refuses_that_sheet_only(tmp_path: Path) -> None:
    batch = folder(tmp_path)
    cases.undecidable_csv(batch, "nga.csv", "R.01")
    cases.write_csv(batch, "tot.csv", [cases.HEADERS, cases.hoso("G.01"), cases.doc("G.01", 1)])
    read = read_batch(batch)
    assert [r.values.get("fileCode") for r in read.rows] == ["G.01", "G.01"]
    (refused,) = [w for w in read.warnings if w.message_vi.startswith(REFUSED_VI)]
    assert refused.sheet == "nga.csv" and "Cannot tell the encoding" in refused.message_en
    assert "save it as CSV UTF-8" in refused.message_en
    (batch / "tot.csv").unlink()
    with pytest.raises(SheetError, match="Không xác định được bảng mã"):
        read_batch(batch)  # nothing readable left: the batch itself is refused


def test_undecidable_tab_is_refused_and_the_other_tab_read(tmp_path: Path) -> None:
    batch = folder(tmp_path)
    cases.two_tab_xlsx(batch, "hai-trang.xlsx", "T.01")
    read = read_batch(batch)
    assert {r.values["fileCode"] for r in read.rows} == {"T.01"}
    (refused,) = [w for w in read.warnings if w.message_vi.startswith(REFUSED_VI)]
    assert (
        refused.sheet == "hai-trang.xlsx#Nga" and "Cannot tell the encoding" in refused.message_en
    )


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda f: (f / "rong.csv").write_bytes(b""), "is empty"),
        (lambda f: cases.html_as_xlsx(f, "trang.xlsx"), "not a readable Excel .xlsx"),
        (lambda f: cases.zip_as_xlsx(f, "nen.xlsx"), "a ZIP file but not an .xlsx"),
        (lambda f: (f / "web.csv").write_text("<!DOCTYPE html><html></html>"), "not a CSV"),
        (lambda f: cases.stray_quote_csv(f, "ngoac.csv"), "opened and never closed"),
    ],
)
def test_broken_files_are_refused_and_the_rest_read(tmp_path: Path, make, expected: str) -> None:
    batch = folder(tmp_path)
    make(batch)
    cases.write_csv(batch, "tot.csv", [cases.HEADERS, cases.hoso("G.01"), cases.doc("G.01", 1)])
    read = read_batch(batch)
    assert len(read.rows) == 2
    refused = [w for w in read.warnings if w.message_vi.startswith(REFUSED_VI)]
    assert len(refused) == 1 and expected in refused[0].message_en, refused


def test_xlsx_bomb_is_refused_before_it_is_inflated(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sheet_xlsx, "MAX_XLSX_UNZIPPED", 4 << 20)  # the real cap is 256 MiB
    batch = folder(tmp_path)
    cases.bomb_xlsx(batch, "bom.xlsx", 8 << 20)
    cases.write_csv(batch, "tot.csv", [cases.HEADERS, cases.hoso("G.01"), cases.doc("G.01", 1)])
    read = read_batch(batch)
    (refused,) = [w for w in read.warnings if w.message_vi.startswith(REFUSED_VI)]
    assert "decompression bomb" in refused.message_en and "bom.xlsx" in refused.message_en


def test_oversized_csv_is_refused_unread(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sheet_read, "MAX_CSV_BYTES", 1 << 20)  # the real cap is 512 MiB
    batch = folder(tmp_path)
    rows = [cases.HEADERS] + [cases.hoso(f"B.{i:05d}") for i in range(20_000)]
    cases.write_csv(batch, "lon.csv", rows)
    cases.write_csv(batch, "tot.csv", [cases.HEADERS, cases.hoso("G.01"), cases.doc("G.01", 1)])
    read = read_batch(batch)
    (refused,) = [w for w in read.warnings if w.message_vi.startswith(REFUSED_VI)]
    assert "over the limit of 1,048,576" in refused.message_en and len(read.rows) == 2


def test_sparse_xlsx_memory_bomb_is_read_narrow(tmp_path: Path) -> None:
    batch = folder(tmp_path)
    cases.sparse_xlsx(batch, "thua.xlsx", "S.01")
    read = read_batch(batch)
    assert [r.values["fileCode"] for r in read.rows] == ["S.01", "S.01"]
    assert any("declares 3,000 columns" in w.message_en for w in read.warnings)


def test_nul_bytes_ragged_rows_bom_semicolons(tmp_path: Path) -> None:
    batch = folder(tmp_path)
    rows = [cases.HEADERS, cases.hoso("G.01", "Hồ\x00 sơ"), cases.doc("G.01", 1) + ["thừa", "x"]]
    (batch / "bk.csv").write_bytes(b"\xef\xbb\xbf" + cases.csv_bytes(rows, ";").encode())
    read = read_batch(batch)
    assert read.rows[0].values["title"] == "Hồ sơ"
    assert any("control characters" in w.message_en for w in read.warnings)
    assert any(w.row == 3 and "more than the 15 header" in w.message_en for w in read.warnings)


def test_utf16_tab_sheet_and_eth_for_d(tmp_path: Path) -> None:
    """Excel's "Unicode text" (UTF-16, tabs) is read; "Ð" (Icelandic eth) becomes "Đ"."""
    batch = folder(tmp_path)
    rows = [cases.HEADERS, cases.hoso("G.01", "Phường Ðống Ða"), cases.doc("G.01", 1)]
    (batch / "unicode.csv").write_bytes(cases.csv_bytes(rows, "\t").encode("utf-16"))
    read = read_batch(batch)
    assert read.rows[0].values["title"] == "Phường Đống Đa"
    assert any("Icelandic eth" in w.message_en for w in read.warnings)
    assert not any("encoding" in w.message_en for w in read.warnings)


def test_xlsx_formula_without_a_value_is_kept_as_its_text(tmp_path: Path) -> None:
    batch = folder(tmp_path)
    cases.formula_xlsx(batch, "cong-thuc.xlsx", "F.01")
    read = read_batch(batch)
    assert read.rows[0].values["title"] == "=1+1"  # was silently empty before
    assert read.rows[1].values["subject"] == '=HYPERLINK("http://x.invalid")'
    assert any("never run" in w.message_en for w in read.warnings)


# -- through ingest, into a real store -----------------------------------------------------------


@pytest.fixture(scope="module")
def rstore(records_settings: Settings) -> Store:
    return open_store(records_settings)


def has(store: Store, code: str) -> bool:
    return store.ask(f"ASK {{ GRAPH ?g {{ <{BASE}hoso/{code}> ?p ?o }} }}") or store.ask(
        f"ASK {{ GRAPH ?g {{ <{BASE}record/{code}.0000001> ?p ?o }} }}"
    )


def problems(report: IngestReport, code: str) -> list[str]:
    rows = {
        p.row
        for p in report.problems
        if p.value == code or code in (p.resource or "") or f" {code} " in p.message_en
    }
    return [p.message_en for p in report.problems if p.row in rows or code in (p.resource or "")]


@pytest.fixture(scope="module")
def bad_rows(tmp_path_factory, rstore: Store, records_settings: Settings) -> IngestReport:
    batch = tmp_path_factory.mktemp("hostile") / "lo-xau"
    batch.mkdir()
    rows = [cases.HEADERS]
    for code, day, organ, subject in [
        ("H.GOOD", "05/03/2026", cases.ORGAN_NEW, "Về việc cấp phép"),
        ("H.WARD2019", "05/03/2019", cases.ORGAN_NEW, "x"),  # a 2025 ward on a 2019 document
        ("H.DISTRICT2026", "05/03/2026", cases.ORGAN_OLD, "x"),  # an abolished district in 2026
        ("H.YY", "12/3/19", cases.ORGAN_NEW, "x"),
        ("H.FEB31", "31/02/2019", cases.ORGAN_NEW, "x"),
        ("H.FEB29", "29/02/2023", cases.ORGAN_NEW, "x"),
        ("H.DAY0", "00/01/2020", cases.ORGAN_NEW, "x"),
        ("H.FUTURE", "01/01/2030", cases.ORGAN_NEW, "x"),
        ("H.SERIAL", "43831", cases.ORGAN_NEW, "x"),
        ("H.FORMULA", "06/03/2026", cases.ORGAN_NEW, '=HYPERLINK("http://x.invalid","y")'),
    ]:
        rows += [cases.hoso(code), cases.doc(code, 1, day, organ, subject)]
    rows += [cases.hoso("H.ENDFIRST", start="05/03/2026", end="01/01/2026")]
    rows += [cases.doc("H.ENDFIRST", 1, "05/03/2026")]
    rows += [cases.hoso("H.HUGE", "x" * 1_000_000), cases.doc("H.HUGE", 1, "07/03/2026")]
    rows += [cases.hoso("H.TWICE", "A"), cases.doc("H.TWICE", 1, "08/03/2026")]
    rows += [cases.hoso("H.TWICE", "B")]  # same code, contradicting title
    rows += [cases.hoso("H.SAME"), cases.doc("H.SAME", 1, "09/03/2026", subject="@SUM(1+1)")]
    rows += [cases.hoso("H.SAME")]  # an identical repeat
    rows += [
        cases.hoso("H.NOKEY"),
        cases.doc("H.NOKEY", 1, "11/03/2026", subject="+cmd|' /C calc'!A0"),
    ]
    nokey = cases.doc("H.NOKEY", 2, "12/03/2026")
    nokey[7] = ""  # a document row without its number
    rows += [nokey]
    rows += [cases.hoso("H.DOC2"), cases.doc("H.DOC2", 1, "10/03/2026")]
    rows += [cases.doc("H.DOC2", 1, "10/03/2026", subject="khác")]  # same document, other text
    rows += [cases.hoso("")]  # no file code
    cases.write_csv(batch, "bang-ke.csv", rows)
    cases.write_csv(batch, "bang-ke-2.csv", [cases.HEADERS, cases.hoso("H.GOOD", "Khác")])
    return ingest_batch(batch, rstore, records_settings, ocr=False, metadata_only=True, index=False)


def test_real_names_are_told_apart(rstore: Store) -> None:
    """Agency names of the gazetteer: as Unicode never converted nor refused; typed in TCVN3 or
    VNI, detected and converted back letter for letter (ignoring case: .VnTime has no capitals
    with tone marks)."""
    rows = rstore.select(
        "SELECT DISTINCT ?n WHERE { ?a a rico:CorporateBody ; skos:prefLabel ?n "
        "FILTER(lang(?n) = 'vi') } LIMIT 600"
    )
    names = [str(r["n"]) for r in rows]
    for start in range(0, len(names), 20):
        sheet = names[start : start + 20]
        assert detect_cells(sheet).encoding is None, sheet
        for encoding, encode in (("TCVN3", cases.to_tcvn3), ("VNI", cases.to_vni)):
            typed = [encode(n) for n in sheet]
            found = detect_cells(typed)
            assert (found.encoding, found.decided) == (encoding, True), (encoding, found)
            back = [convert_cell(t, encoding) for t in typed]
            assert [b.lower() for b in back] == [n.lower() for n in sheet]


def test_good_rows_land_beside_the_bad_ones(bad_rows: IngestReport, rstore: Store) -> None:
    for code in ("H.SAME", "H.DOC2", "H.FORMULA", "H.NOKEY"):
        assert has(rstore, code), code
    assert not has(rstore, "H.GOOD")  # its code repeats in bang-ke-2.csv with another title
    for code in ("H.WARD2019", "H.DISTRICT2026", "H.YY", "H.FEB31", "H.FEB29", "H.DAY0",
                 "H.FUTURE", "H.SERIAL", "H.ENDFIRST", "H.HUGE", "H.TWICE", "H.GOOD"):  # fmt: skip
        assert not has(rstore, code), code  # nothing half-written
    assert (Path(bad_rows.batch_dir) / "kho-report.json").exists()


@pytest.mark.parametrize(
    ("code", "says"),
    [
        # the generic words today; resolve.explain_issuer's once ingest.py calls it
        ("H.WARD2019", "no agency of that name existed on that day|did not exist on 05/03/2019"),
        ("H.DISTRICT2026", "no agency of that name existed|did not exist on 05/03/2026"),
        ("H.YY", "two-digit year"),
        ("H.FEB31", "not a real calendar date"),
        ("H.FEB29", "not a real calendar date"),
        ("H.DAY0", "not a real calendar date"),
        ("H.FUTURE", "is in the future"),
        ("H.SERIAL", "Excel serial day number"),
        ("H.ENDFIRST", "end date is before its start date"),
        ("H.HUGE", "over the limit of 10,000"),
        ("H.TWICE", "differing in «title»"),
        ("H.GOOD", "bang-ke-2.csv"),
        ("H.DOC2", "differs in «subject»"),
        ("H.NOKEY", "no document number (docOrdinal)"),
    ],
)
def test_each_bad_row_says_what_where_and_what_to_do(
    bad_rows: IngestReport, code: str, says: str
) -> None:
    found = problems(bad_rows, code)
    assert any(alt in m for alt in says.split("|") for m in found), (code, found)
    rejected = [p for p in bad_rows.rejected if p.message_en in found]
    assert rejected and all(p.sheet and p.row for p in rejected)


def test_what_existed_then_is_named(rstore: Store) -> None:
    """The words for the two rejections above (ingest.py shows them once it calls this)."""
    vi, en = explain_issuer(rstore, cases.ORGAN_NEW, date(2019, 3, 5))
    assert "did not exist on 05/03/2019" in en and "2025-07-01" in en
    assert "Ủy ban nhân dân phường Trúc Bạch" in en and "Trúc Bạch" in vi  # merged into Ba Đình
    vi, en = explain_issuer(rstore, cases.ORGAN_OLD, date(2026, 3, 5))
    assert "2025-06-30" in en and "Ủy ban nhân dân phường Ba Đình" in en
    assert explain_issuer(rstore, "Ủy ban nhân dân phường Trúc Bạch", date(2019, 3, 5)) is None


def test_empty_key_and_identical_repeats(bad_rows: IngestReport) -> None:
    assert any("no file code" in p.message_en and p.row for p in bad_rows.rejected)
    same = [p for p in bad_rows.problems if p.value == "H.SAME"]
    assert same and all(p.severity == "warning" for p in same)


@pytest.mark.parametrize(
    ("code", "start"), [("H.FORMULA", "=HYPERLINK("), ("H.SAME", "@SUM("), ("H.NOKEY", "+cmd|")]
)
def test_formula_cells_are_stored_as_text(
    bad_rows: IngestReport, rstore: Store, code: str, start: str
) -> None:
    assert rstore.ask(
        f"ASK {{ GRAPH ?g {{ <{BASE}record/{code}.0000001> ?p ?o "
        f"FILTER(isLiteral(?o) && STRSTARTS(STR(?o), '{start}')) }} }}"
    )


def test_parcel_commune_code_must_exist_on_the_document_date(
    tmp_path: Path, rstore: Store, records_settings: Settings
) -> None:
    batch = folder(tmp_path, "lo-thua-dat")
    truc_bach = "Ủy ban nhân dân phường Trúc Bạch"  # code 00004 until 2025-06-30
    rows = [cases.HEADERS + ["landParcel"]]
    for code, day, organ, parcel in [
        ("C.OK", "05/03/2019", truc_bach, "00004/8/434"),  # Trúc Bạch's code in 2019
        ("C.NEW", "05/03/2019", truc_bach, "20333/1/1"),  # Đặc khu Hoàng Sa, from 2025-07-01
        ("C.OLD", "05/03/2026", cases.ORGAN_NEW, "00007/1/1"),  # Cống Vị, until 2025-06-30
        ("C.NONE", "05/03/2026", cases.ORGAN_NEW, "00010/1/1"),  # never a commune's code
    ]:
        rows += [cases.hoso(code) + [""], cases.doc(code, 1, day, organ) + [parcel]]
    cases.write_csv(batch, "bang-ke.csv", rows)
    report = ingest_batch(batch, rstore, records_settings, ocr=False, metadata_only=True)
    assert has(rstore, "C.OK") and report.hoso_added == 1, report.text()
    said = {p.value: p.message_en for p in report.rejected if p.field == "landParcel"}
    assert "did not exist on 05/03/2019" in said["20333"] and "Đặc khu Hoàng Sa" in said["20333"]
    assert "did not exist on 05/03/2026" in said["00007"] and "Phường Cống Vị" in said["00007"]
    assert "is no commune's code" in said["00010"]
    assert all(p.column == "landParcel" and p.row for p in report.rejected if p.field)
    for code in ("C.NEW", "C.OLD", "C.NONE"):
        assert not has(rstore, code)


def test_legacy_batch_lands_converted_and_refused_sheet_reported(
    tmp_path: Path, rstore: Store, records_settings: Settings
) -> None:
    batch = folder(tmp_path, "lo-cu")
    cases.legacy_csv(batch, "tcvn3.csv", "L.TCVN3", cases.TCVN3_TITLE, cases.TCVN3_ORGAN)
    cases.undecidable_csv(batch, "nga.csv", "L.RU")
    report = ingest_batch(batch, rstore, records_settings, ocr=False, metadata_only=True)
    assert report.hoso_added == 1
    assert rstore.ask(
        f"ASK {{ GRAPH ?g {{ <{BASE}hoso/L.TCVN3> ?p '{cases.UNICODE_TITLE}'@vi }} }}"
    ), report.text()
    assert not has(rstore, "L.RU")
    refused = [p for p in report.rejected if p.sheet == "nga.csv"]
    assert refused and "Cannot tell the encoding" in refused[0].message_en
    assert any("TCVN3" in p.message_en for p in report.problems if p.severity == "warning")
