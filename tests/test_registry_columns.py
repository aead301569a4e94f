"""Registry columns of metadata sheets (issue 5 §3): enterprise codes, land parcels, citizens'
numbers and officials' codes become registry links with refSource "sheet"; a bad value rejects its
row with sheet, row, column and what to do — a citizen's number never quoted; `sourceIdentifier`
becomes dct:source. Both sheet formats, Vietnamese and English headers; real ingest into a real
store."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pyoxigraph as ox
import pytest

from repository import sheet_refs, sheets
from repository.batch import REPORT_JSON, REPORT_TEXT, IngestReport
from repository.config import Settings
from repository.ingest import ingest_batch
from repository.namespaces import Minter
from repository.store import Store, open_store

TODAY = date(2026, 11, 26)
CITIZEN = "001085012345"  # docs/registries.md's example number
BAD_CITIZEN = "00108501234"  # one digit short
BAD_ENTERPRISE = "0100109107"  # Viettel's code with a wrong check digit
TRUC_BACH = "Ủy ban nhân dân phường Trúc Bạch"  # code 00004 until 2025-06-30
BA_DINH = "Ủy ban nhân dân phường Ba Đình"  # code 00004 from 2025-07-01

TT05_HEADERS = [
    "fileCode", "title", "mode", "maintenance", "startDate", "docOrdinal", "typeName",
    "codeNumber", "codeNotation", "issuedDate", "organName", "subject",
    "maSoDoanhNghiep", "thuaDat", "soDinhDanh", "maCanBo", "sourceIdentifier",
    "language", "numberOfPage", "endDate",
]  # fmt: skip
VI_HEADERS = [
    "Mã hồ sơ", "Tiêu đề hồ sơ", "Chế độ sử dụng", "Thời hạn bảo quản", "Thời gian bắt đầu",
    "Số thứ tự văn bản trong hồ sơ", "Tên loại văn bản", "Số của văn bản", "Ký hiệu của văn bản",
    "Ngày, tháng, năm văn bản", "Tên cơ quan, tổ chức ban hành văn bản", "Trích yếu nội dung",
    "Mã số doanh nghiệp", "Thửa đất", "Số định danh cá nhân", "Mã cán bộ", "Mã nguồn",
    "Ngôn ngữ", "Số lượng trang", "Thời gian kết thúc",
]  # fmt: skip
EN_HEADERS = ["fileCode", "docOrdinal", "issuedDate", "enterpriseCode", "landParcel",
              "citizenId", "officialCode", "identifier (OAI)"]  # fmt: skip
TT02_HEADERS = ["FileCode", "DocOrdinal", "IssuedDate", "EnterpriseCode", "LandParcel", "CCCD",
                "OfficialCode", "SourceIdentifier"]  # fmt: skip


def write_csv(folder: Path, name: str, rows: list[list[object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def rows_of(tmp_path: Path, rows: list[list[object]]) -> list[sheets.SourceRow]:
    folder = tmp_path / "sheet"
    write_csv(folder, "bang-ke.csv", rows)
    return sheets.read_batch(folder).rows


# -- reading the columns ------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [EN_HEADERS, TT02_HEADERS], ids=["english", "tt02"])
def test_headers_of_every_format_name_the_registry_columns(
    tmp_path: Path, headers: list[str]
) -> None:
    row = ["H01.1", 1, "05/03/2019", "0100109106", "10369/8/434", CITIZEN, "CB01-004512", "oai:x:1"]
    (doc,) = rows_of(tmp_path, [headers, row])
    assert doc.kind == "doc"
    fields = ("enterpriseCode", "landParcel", "citizenId", "officialCode", "sourceIdentifier")
    assert [doc.values.get(f) for f in fields] == row[3:]


def test_vietnamese_and_tt05_headers_are_matched(tmp_path: Path) -> None:
    for headers in (TT05_HEADERS, VI_HEADERS):
        hoso = ["H01.1", "Hồ sơ", "01", "01", "05/03/2019"] + [""] * 12
        doc = ["H01.1", "", "", "", "", 1, "02", "5", "QĐ-UBND", "05/03/2019", TRUC_BACH, "Về"]
        doc += ["0100109106", "10369/8/434", CITIZEN, "CB01-004512", "oai:x:1"]
        rows = rows_of(tmp_path / headers[0], [headers, hoso, doc])
        assert rows[1].values["citizenId"] == CITIZEN
        assert rows[1].columns["landParcel"] == headers[13]


def test_several_values_per_cell_each_checked(tmp_path: Path) -> None:
    header = ["fileCode", "docOrdinal", "issuedDate", "maSoDoanhNghiep", "thuaDat", "maCanBo"]
    cells = ("0100109106; 0101248141;0100109106", "10369/8/434 ; w7er8u0g3k2m", "cb01-004512")
    row = ["H01.1", 1, "05/03/2019", *cells]
    (doc,) = rows_of(tmp_path, [header, row])
    refs, problems = sheet_refs.read_refs(doc, TODAY)
    assert not problems
    assert refs == [
        {"kind": "enterprise", "id": "0100109106"},
        {"kind": "enterprise", "id": "0101248141"},  # the repeat is dropped
        {"kind": "land", "commune": "10369", "sheet": "8", "parcel": "434", "on": "2019-03-05"},
        {"kind": "land", "id": "w7er8u0g3k2m", "parcel_id": "w7er8u0g3k2m"},
        {"kind": "official", "id": "CB01-004512"},
    ]


def test_a_parcel_on_a_hoso_row_is_keyed_by_its_start_date(tmp_path: Path) -> None:
    header = ["fileCode", "title", "startDate", "thuaDat"]
    (hoso,) = rows_of(tmp_path, [header, ["H01.1", "Hồ sơ giao đất", "2019-03-05", "10369/8/434"]])
    assert hoso.kind == "hoso"
    refs, problems = sheet_refs.read_refs(hoso, TODAY)
    assert not problems and refs[0]["on"] == "2019-03-05"


def test_bad_values_say_where_and_what_to_do(tmp_path: Path) -> None:
    header = ["fileCode", "docOrdinal", "issuedDate", "maSoDoanhNghiep", "thuaDat", "maCanBo"]
    row = ["H01.1", 1, "2019", BAD_ENTERPRISE, "10369/8", "CB1-4512"]  # a year only: no key date
    (doc,) = rows_of(tmp_path, [header, row])
    refs, problems = sheet_refs.read_refs(doc, TODAY)
    assert not refs
    by_column = {p.column: p for p in problems}
    assert set(by_column) == {"maSoDoanhNghiep", "thuaDat", "maCanBo"}
    enterprise = by_column["maSoDoanhNghiep"]
    assert enterprise.message_en.startswith("bang-ke.csv, row 2, column «maSoDoanhNghiep»")
    assert BAD_ENTERPRISE in enterprise.message_en and "check digit" in enterprise.message_en
    assert "dòng 2" in enterprise.message_vi and "giấy chứng nhận" in enterprise.message_vi
    land = by_column["thuaDat"]
    assert "three parts" in land.message_en and "10369/8/434" in land.message_en
    assert "CB01-004512" in by_column["maCanBo"].message_en  # the expected form


def test_a_bad_citizen_number_is_never_quoted(tmp_path: Path) -> None:
    header = ["fileCode", "title", "docOrdinal", "issuedDate", "soDinhDanh"]
    rows = rows_of(
        tmp_path,
        [header, ["H01.1", "Hồ sơ", "", "", CITIZEN], ["H01.1", "", 1, "05/03/2019", BAD_CITIZEN]],
    )
    hoso_refs, hoso_problems = sheet_refs.read_refs(rows[0], TODAY)
    doc_refs, doc_problems = sheet_refs.read_refs(rows[1], TODAY)
    assert not hoso_refs and not doc_refs
    (on_hoso,) = hoso_problems  # a number on a hồ sơ row: it belongs to a document
    (bad,) = doc_problems
    assert "document" in on_hoso.message_en and on_hoso.value == "001******345"
    assert bad.value == "001*****234" and "12 digits" in bad.message_en
    for p in (on_hoso, bad):
        assert CITIZEN not in p.message_vi + p.message_en
        assert BAD_CITIZEN not in p.message_vi + p.message_en


def test_report_masks_numbers_wherever_they_come_from(tmp_path: Path) -> None:
    report = IngestReport("b", str(tmp_path), "2026-11-26T09:00:00")
    report.reject("Số 001085012345 sai", "Number 001085012345 is wrong", value=CITIZEN)
    report.flags.append({"resource": "r", "kind": "k", "note": f"CCCD {CITIZEN}"})
    js, tx = report.write(tmp_path)
    for path in (js, tx):
        body = path.read_text(encoding="utf-8")
        assert CITIZEN not in body and "001******345" in body


# -- ingest -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rstore(records_settings: Settings) -> Store:
    return open_store(records_settings)


@pytest.fixture(scope="module")
def batches(
    tmp_path_factory: pytest.TempPathFactory, rstore: Store, records_settings: Settings
) -> dict[str, IngestReport]:
    """A TT 05/2025 batch (element names) and a legacy one (Vietnamese headers), metadata only."""
    root = tmp_path_factory.mktemp("registry-columns")
    hoso = ["H01.00004.UBND.2019.91", "Hồ sơ giao đất năm 2019", "01", "01", "05/03/2019"]
    tt05 = [
        TT05_HEADERS,
        hoso + ["", "", "", "", "", "", "", "0300588569", "10369/8/434", "", "", "oai:nguon:91",
                "01", 3, "07/03/2019"],
        ["H01.00004.UBND.2019.91", "", "", "", "", 1, "02", "15", "QĐ-UBND", "05/03/2019",
         TRUC_BACH, "Về việc giao đất", "0100109106; 0101248141", "10369/8/434", CITIZEN,
         "CB01-004512", "oai:nguon:91.1", "01", 1],
        ["H01.00004.UBND.2019.91", "", "", "", "", 2, "22", "16", "UBND-VP", "06/03/2019",
         TRUC_BACH, "V/v xác minh doanh nghiệp", BAD_ENTERPRISE, "", "", "", "", "01", 1],
        ["H01.00004.UBND.2019.91", "", "", "", "", 3, "22", "17", "UBND-VP", "07/03/2019",
         TRUC_BACH, "V/v xác minh nhân thân", "", "", BAD_CITIZEN, "", "", "01", 1],
    ]  # fmt: skip
    legacy = [
        VI_HEADERS,
        ["H01.00004.UBND.2026.92", "Hồ sơ năm 2026", "Công khai", "Vĩnh viễn", "10/01/2026"]
        + [""] * 11 + ["oai:nguon:92", "Tiếng Việt", 1, "10/01/2026"],
        ["H01.00004.UBND.2026.92", "", "", "", "", 1, "Quyết định", "3", "QĐ-UBND", "10/01/2026",
         BA_DINH, "Về việc hỗ trợ", "0100109106", "00004/12/87", "079203004567", "CB01-000077",
         "", "Tiếng Việt", 1],
    ]  # fmt: skip
    out = {}
    for name, rows in (("tt05", tt05), ("legacy", legacy)):
        folder = root / name
        write_csv(folder, "bang-ke.csv", rows)
        out[name] = ingest_batch(folder, rstore, records_settings, ocr=False, metadata_only=True)
    return out


def links(store: Store, subject: str) -> dict[str, dict[str, str]]:
    rows = store.select(
        "SELECT ?l ?p ?o ?g WHERE { GRAPH ?g { ?s dct:references ?l . ?l ?p ?o } }",
        substitutions={"s": ox.NamedNode(subject)},
    )
    out: dict[str, dict[str, str]] = {}
    for r in rows:
        link = out.setdefault(str(r["l"]), {})
        link[str(r["p"]).rsplit("#", 1)[-1]] = str(r["o"])
        link.setdefault("graphs", "")
        link["graphs"] += " " + str(r["g"])
    return out


def test_sheet_columns_become_sheet_links(
    batches: dict[str, IngestReport], rstore: Store, records_settings: Settings
) -> None:
    minter = Minter(records_settings.base_iri)
    doc = minter.record("H01.00004.UBND.2019.91.0000001")
    found = links(rstore, doc)
    sheet = {iri: v for iri, v in found.items() if v.get("refSource") == "sheet"}
    suffixes = sorted(iri.rsplit("/", 1)[-1] for iri in sheet)
    assert suffixes == [
        "citizen-s4",
        "enterprise-s1",
        "enterprise-s2",
        "land-s3",
        "official-s5",
    ]
    land = sheet[f"{doc}/ref/land-s3"]
    assert (land["communeCode"], land["mapSheet"], land["parcel"]) == ("10369", "8", "434")
    assert land["keyDate"] == "2019-03-05"  # the document's issued date
    assert sheet[f"{doc}/ref/enterprise-s1"]["registryId"] == "0100109106"
    assert sheet[f"{doc}/ref/official-s5"]["refKind"] == "official"
    citizen = sheet[f"{doc}/ref/citizen-s4"]
    assert citizen["linkTarget"].startswith(records_settings.base_iri + "id/person/")
    assert CITIZEN not in citizen["linkTarget"]
    assert all(v["verificationStatus"].endswith("/unchecked") for v in sheet.values())
    hoso = links(rstore, minter.hoso("H01.00004.UBND.2019.91"))
    kinds = sorted(v["refKind"] for v in hoso.values())
    assert kinds == ["enterprise", "land"]
    assert {v["keyDate"] for v in hoso.values() if "keyDate" in v} == {"2019-03-05"}


def test_citizen_number_lands_only_in_the_personal_graph(
    batches: dict[str, IngestReport], rstore: Store, records_settings: Settings
) -> None:
    for number in (CITIZEN, "079203004567"):
        rows = rstore.select(
            "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(CONTAINS(STR(?o), ?n)) }",
            substitutions={"n": ox.Literal(number)},
        )
        graphs = {str(r["g"]) for r in rows}
        assert graphs == {Minter(records_settings.base_iri).records_graph("public", "personal")}


def test_bad_values_reject_their_rows_and_the_report_masks_numbers(
    batches: dict[str, IngestReport], tmp_path_factory: pytest.TempPathFactory
) -> None:
    report = batches["tt05"]
    rejected = report.rejected
    assert report.docs_committed == 1 and report.hoso_added == 1
    enterprise = next(p for p in rejected if p.field == "enterpriseCode")
    assert (enterprise.row, enterprise.column) == (4, "maSoDoanhNghiep")
    assert enterprise.value == BAD_ENTERPRISE
    citizen = next(p for p in rejected if p.field == "citizenId")
    assert (citizen.row, citizen.column, citizen.value) == (5, "soDinhDanh", "001*****234")
    folder = Path(report.batch_dir)
    for name in (REPORT_JSON, REPORT_TEXT):
        body = (folder / name).read_text(encoding="utf-8")
        assert BAD_CITIZEN not in body and CITIZEN not in body
        assert "001*****234" in body
    data = json.loads((folder / REPORT_JSON).read_text(encoding="utf-8"))
    assert any(p["column"] == "soDinhDanh" and p["row"] == 5 for p in data["problems"])


def test_legacy_sheet_links_and_source_identifier(
    batches: dict[str, IngestReport], rstore: Store, records_settings: Settings
) -> None:
    assert not batches["legacy"].rejected, batches["legacy"].text()
    minter = Minter(records_settings.base_iri)
    doc = minter.record("H01.00004.UBND.2026.92.0000001")
    found = links(rstore, doc)
    land = found[f"{doc}/ref/land-s2"]
    assert (land["communeCode"], land["keyDate"]) == ("00004", "2026-01-10")  # Ba Đình's code
    assert {v["refKind"] for v in found.values()} == {"enterprise", "land", "citizen", "official"}
    query = "SELECT ?s ?o WHERE { ?s dct:source ?o FILTER(STRSTARTS(?o, 'oai:')) }"
    sources = {(str(r["s"]), str(r["o"])) for r in rstore.select(query)}
    assert sources == {
        (minter.hoso("H01.00004.UBND.2019.91"), "oai:nguon:91"),
        (minter.record("H01.00004.UBND.2019.91.0000001"), "oai:nguon:91.1"),
        (minter.hoso("H01.00004.UBND.2026.92"), "oai:nguon:92"),
    }
