"""repository/sheets.py: batch folders of CSV and XLSX sheets in the three declared formats."""

from __future__ import annotations

import shutil
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from repository.sheets import SheetError, header_key, load_formats, read_batch

DATA = Path(__file__).resolve().parent / "data" / "sheets"


def batch(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "lo-01"
    folder.mkdir()
    for name in names:
        shutil.copy(DATA / name, folder / name)
    return folder


def xlsx(path: Path, tabs: dict[str, list[list[object]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in tabs.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_formats_are_declared_in_mappings() -> None:
    assert [f.name for f in load_formats()] == ["tt05-2025", "tt02-2019", "vi-headers"]
    assert header_key("Ngày, tháng, năm văn bản") == header_key("ngay thang nam VAN BAN")


def test_one_sheet_csv_with_bom_title_line_and_semicolons(tmp_path: Path) -> None:
    read = read_batch(batch(tmp_path, "tt05-one-sheet.csv"))
    assert read.formats["tt05-one-sheet.csv"].name == "tt05-2025"
    assert [(r.row, r.kind) for r in read.rows] == [(3, "hoso"), (4, "doc"), (5, "doc")]
    hoso, doc = read.rows[0], read.rows[1]
    assert hoso.values["title"] == "Hồ sơ về việc giao đất"
    assert hoso.columns["fileCode"] == "fileCode"
    assert doc.values["docCode"] == "H01.151.2021.01.TH.0000001"
    assert doc.values["fileName"] == "0000001.pdf"
    assert "title" not in doc.values  # empty cells are left out
    unknown = [w for w in read.warnings if w.column == "ghiChuRieng"]
    assert unknown and unknown[0].row == 2 and "ignored" in unknown[0].message_en


def test_windows_1258_csv_is_read_with_a_warning_and_nfc(tmp_path: Path) -> None:
    read = read_batch(batch(tmp_path, "tt02-hoso-cp1258.csv"))
    assert read.formats["tt02-hoso-cp1258.csv"].name == "tt02-2019"
    assert any("Windows-1258" in w.message_en for w in read.warnings)
    title = read.rows[0].values["title"]
    assert title == "Hồ sơ hội nghị tổng kết năm 2015"
    assert unicodedata.is_normalized("NFC", title)


def test_xlsx_with_two_tabs_and_excel_types(tmp_path: Path) -> None:
    folder = tmp_path / "lo"
    folder.mkdir()
    xlsx(
        folder / "bang-ke.xlsx",
        {
            "Hồ sơ": [
                [
                    "Mã hồ sơ",
                    "Tiêu đề hồ sơ",
                    "Thời hạn bảo quản",
                    "Chế độ sử dụng",
                    "Ngôn ngữ",
                    "Thời gian bắt đầu",
                    "Thời gian kết thúc",
                    "Tổng số văn bản trong hồ sơ",
                    "Số lượng trang",
                ],
                [
                    "H01.1.2020.07.TH",
                    "Hồ sơ xây dựng trường học",
                    "Vĩnh viễn",
                    "Công khai",
                    "Tiếng Việt",
                    datetime(2020, 1, 6),
                    datetime(2020, 12, 30),
                    1,
                    3.0,
                ],
            ],
            "Văn bản": [
                [
                    "Mã hồ sơ",
                    "Số thứ tự văn bản trong hồ sơ",
                    "Tên loại văn bản",
                    "Ngày, tháng, năm văn bản",
                    "Tên cơ quan, tổ chức ban hành văn bản",
                    "Trích yếu nội dung",
                    "Số lượng trang",
                    "Tệp tin",
                    "Người ký",
                ],
                [
                    "H01.1.2020.07.TH",
                    1,
                    "Quyết định",
                    datetime(2020, 3, 2),
                    "UBND xã Đông Xuân",
                    "Về việc xây trường",
                    3,
                    "a.pdf",
                    "Lê Văn B",
                ],
                [None, None, None, None, None, None, None, None, None],
            ],
        },
    )
    read = read_batch(folder)
    assert set(read.formats) == {"bang-ke.xlsx#Hồ sơ", "bang-ke.xlsx#Văn bản"}
    assert {f.name for f in read.formats.values()} == {"vi-headers"}
    hoso, doc = read.rows
    assert (hoso.kind, doc.kind, doc.row, doc.sheet) == ("hoso", "doc", 2, "bang-ke.xlsx#Văn bản")
    assert hoso.values["startDate"] == "2020-01-06" and hoso.values["numberOfPage"] == "3"
    assert doc.values["docOrdinal"] == "1" and doc.values["signer"] == "Lê Văn B"
    assert doc.columns["issuedDate"] == "Ngày, tháng, năm văn bản"


def test_xlsx_extra_tab_is_skipped_with_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "lo"
    folder.mkdir()
    xlsx(
        folder / "metadata.xlsx",
        {
            "Hướng dẫn": [["Điền mỗi hồ sơ một dòng"]],
            "Sheet1": [
                ["fileCode", "title", "maintenance", "docCode"],
                ["H1", "T", "01", None],
                ["H1", None, "01", "H1.0000001"],
            ],
        },
    )
    read = read_batch(folder)
    assert [r.kind for r in read.rows] == ["hoso", "doc"]
    assert any(w.sheet == "metadata.xlsx#Hướng dẫn" for w in read.warnings)


def test_unrecognised_sheet_names_the_expected_headers(tmp_path: Path) -> None:
    folder = tmp_path / "lo"
    folder.mkdir()
    (folder / "ban-ke.csv").write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(SheetError) as error:
        read_batch(folder)
    assert "ban-ke.csv" in error.value.message and "fileCode" in error.value.message
    assert error.value.status == 400


def test_folder_without_a_sheet(tmp_path: Path) -> None:
    with pytest.raises(SheetError, match="không có bảng kê"):
        read_batch(tmp_path)
