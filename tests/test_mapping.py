"""repository/mapping.py: sheet rows of all three formats become the RDF of docs/model.md."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pyoxigraph as ox
import pytest
from openpyxl import Workbook

from repository.mapping import column_for, load_records, parse_date, row_to_rdf
from repository.namespaces import DCT, KHO, RICO, XSD, code
from repository.sheets import SourceRow, load_formats, read_batch

DATA = Path(__file__).resolve().parent / "data" / "sheets"
H = "https://kho.example.org/id/hoso/H1"


def fmt(name: str):  # noqa: ANN201
    return next(f for f in load_formats() if f.name == name)


def row(name: str, kind: str, **values: str) -> SourceRow:
    f = fmt(name)
    columns = {k: f.fields[k].headers[0] for k in values}
    return SourceRow("s.csv", 7, kind, dict(values), columns, f)


def objects(triples: list[ox.Triple], predicate: str) -> list[ox.NamedNode | ox.Literal]:
    return [t.object for t in triples if t.predicate.value == predicate]


def typed(value: str, dt: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(XSD + dt))


def test_records_toml_covers_every_field_of_every_format() -> None:
    records = load_records()
    for f in load_formats():
        assert set(f.fields) <= set(records), f.name


@pytest.mark.parametrize(
    "text, expected",
    [
        ("24/05/2021", ("2021-05-24", "date")),
        ("4/1/2021", ("2021-01-04", "date")),
        ("24-05-2021", ("2021-05-24", "date")),
        ("2021-05-24", ("2021-05-24", "date")),
        ("2021-05-24T00:00:00", ("2021-05-24", "date")),
        ("05/2021", ("2021-05", "gYearMonth")),
        ("2021", ("2021", "gYear")),
    ],
)
def test_dates(text: str, expected: tuple[str, str]) -> None:
    assert parse_date(text) == expected


def test_tt05_hoso_and_document_from_the_csv_sample(tmp_path: Path) -> None:
    shutil.copy(DATA / "tt05-one-sheet.csv", tmp_path / "tt05-one-sheet.csv")
    hoso_row, doc_row, second = read_batch(tmp_path).rows
    triples, errors = row_to_rdf(hoso_row, H, hoso_row.format)
    assert errors == []
    assert objects(triples, RICO + "title") == [ox.Literal("Hồ sơ về việc giao đất", language="vi")]
    assert objects(triples, KHO + "maintenance") == [ox.NamedNode(code("maintenance-01"))]
    assert objects(triples, KHO + "confidenceLevel") == [ox.NamedNode(code("confidence-02"))]
    assert objects(triples, RICO + "beginningDate") == [typed("2021-01-04", "date")]
    assert objects(triples, KHO + "totalDoc") == [typed("2", "integer")]
    doc = "https://kho.example.org/id/record/D1"
    triples, errors = row_to_rdf(doc_row, doc, doc_row.format)
    assert errors == []
    assert objects(triples, KHO + "typeName") == [ox.NamedNode(code("typename-02"))]
    assert objects(triples, DCT + "issued") == [typed("2021-05-24", "date")]
    assert objects(triples, RICO + "identifier") == [ox.Literal("H01.151.2021.01.TH.0000001")]
    assert not objects(triples, KHO + "fileName")  # the PDF's name goes on the instantiation
    triples, _ = row_to_rdf(second, doc, second.format)
    assert objects(triples, KHO + "typeName") == [ox.NamedNode(code("typename-22"))]  # by label


def test_tt02_legacy_values_map_onto_tt05_codes(tmp_path: Path) -> None:
    shutil.copy(DATA / "tt02-hoso-cp1258.csv", tmp_path / "x.csv")
    (r,) = read_batch(tmp_path).rows
    triples, errors = row_to_rdf(r, H, r.format)
    assert errors == []
    assert objects(triples, KHO + "maintenance") == [
        ox.NamedNode(code("maintenance-02"))
    ]  # Lâu dài
    assert objects(triples, KHO + "accessLevel") == [ox.NamedNode(code("mode-02"))]  # Hạn chế
    assert set(objects(triples, DCT + "language")) == {
        ox.NamedNode(code("language-01")),
        ox.NamedNode(code("language-02")),
    }
    assert objects(triples, RICO + "endDate") == [typed("2015", "gYear")]


def test_vietnamese_headers_in_xlsx(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Tài liệu"
    sheet.append(
        [
            "Mã lưu trữ của tài liệu",
            "Tên loại tài liệu",
            "Ngày tháng năm tài liệu",
            "Mức độ tiếp cận",
            "Từ khóa",
            "Số lượng trang",
            "Chức vụ người ký",
        ]
    )
    sheet.append(["H1.0000001", "QĐ", datetime(2021, 5, 24), 1, "đất đai; giải tỏa", 2, "Chủ tịch"])
    book.save(tmp_path / "b.xlsx")
    (r,) = read_batch(tmp_path).rows
    assert r.format.name == "vi-headers" and r.kind == "doc"
    triples, errors = row_to_rdf(r, H, r.format)
    assert errors == []
    assert objects(triples, KHO + "typeName") == [ox.NamedNode(code("typename-02"))]  # QĐ
    assert objects(triples, KHO + "accessLevel") == [ox.NamedNode(code("mode-01"))]  # 1 -> 01
    assert len(objects(triples, KHO + "keyword")) == 2
    assert objects(triples, KHO + "signerTitle") == [ox.Literal("Chủ tịch")]


def test_future_is_judged_against_the_given_today() -> None:
    r = row("tt05-2025", "doc", docCode="H1.0000001", issuedDate="24/05/2021")
    _, errors = row_to_rdf(r, H, r.format, today=date(2021, 5, 23))
    assert len(errors) == 1 and "is in the future (today is 23/05/2021)" in errors[0].message_en
    assert not row_to_rdf(r, H, r.format, today=date(2021, 5, 24))[1]
    assert parse_date("24/05/2099") == ("2099-05-24", "date")  # no clock unless asked (OAI)


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("issuedDate", "31/02/2021", "not a real calendar date"),
        ("issuedDate", "24.05.21", "has a two-digit year"),
        ("issuedDate", "24/05/2099", "is in the future"),
        ("issuedDate", "44927", "Excel serial day number"),
        ("numberOfPage", "abc", "not a whole number"),
        ("typeName", "Nghị định thư", "not in the code list type-name"),
        ("maintenance", "Tạm thời", "not in the code list maintenance"),
    ],
)
def test_unreadable_values_are_field_errors(field: str, value: str, says: str) -> None:
    r = row("tt05-2025", "doc", docCode="H1.0000001", **{field: value})
    triples, errors = row_to_rdf(r, H, r.format)
    (error,) = errors
    assert (error.sheet, error.row, error.column, error.field, error.value) == (
        "s.csv",
        7,
        field,
        field,
        value,
    )
    assert says in error.message_en and "dòng 7" in error.message_vi
    assert objects(triples, RICO + "identifier")  # the rest of the row still maps


def test_level_keeps_the_hoso_code_off_the_document() -> None:
    r = row("tt05-2025", "doc", fileCode="H1", docCode="H1.0000001", title="x")
    triples, _ = row_to_rdf(r, H, r.format)
    assert objects(triples, RICO + "identifier") == [ox.Literal("H1.0000001")]
    assert not objects(triples, RICO + "title")


def test_column_for_turns_a_violation_path_back_into_a_column() -> None:
    r = row("vi-headers", "hoso", fileCode="H1", title="T")
    assert column_for(r, RICO + "title") == "Tiêu đề hồ sơ"
    assert column_for(r, RICO + "identifier") == "Mã hồ sơ"
    assert column_for(r, KHO + "paperFileCode") == "Mã hồ sơ gốc giấy"  # the column to add
    assert column_for(r, RICO + "hasCreator") is None
    d = row("tt05-2025", "doc", docCode="H1.0000001")
    assert column_for(d, RICO + "identifier") == "docCode"
