"""Field extraction from born-digital and scanned specimens, registry references, `kho extract`."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pikepdf
import pytest

from harvesters.specimens import make_spec, render_pdf, render_scan
from repository.cli import main
from repository.config import Settings
from repository.errors import DamagedFile
from repository.extraction import extract_fields, extract_pdf
from repository.extraction_text import registry_refs
from repository.store import Store

CASES = [(old, block) for old in (True, False) for block in ("chinh-quyen", "dang", "doan-the")]


@pytest.mark.parametrize(("old", "block"), CASES)
@pytest.mark.parametrize("seed", [1, 2])
def test_born_digital_fields_are_exact(
    store: Store, tmp_path: Path, old: bool, block: str, seed: int
) -> None:
    spec = make_spec(random.Random(seed * 10 + len(block)), old, block)
    pdf = tmp_path / "doc.pdf"
    render_pdf(spec, pdf)
    got = extract_pdf(pdf, store).to_json()
    assert (got["ocr"], got["pages"]) == (False, 1)
    assert {k: got[k] for k in spec.truth()} == spec.truth()


def test_without_a_store_the_text_alone_gives_the_issuer(tmp_path: Path) -> None:
    spec = make_spec(random.Random(5), True, "dang")
    pdf = tmp_path / "doc.pdf"
    render_pdf(spec, pdf)
    got = extract_pdf(pdf).to_json()
    assert got["issuer"] == spec.issuer and got["block"] == "dang"
    assert got["admin_unit"] is None


def test_layout_text_of_a_party_document() -> None:
    page = "\n".join(
        [
            "ĐẢNG BỘ HUYỆN ĐAN PHƯỢNG          ĐẢNG CỘNG SẢN VIỆT NAM",
            "ĐẢNG ỦY XÃ SONG PHƯỢNG",
            "*",
            "Số 15-NQ/ĐU          Song Phượng, ngày 24 tháng 5 năm 2021",
            "",
            "NGHỊ QUYẾT",
            "về lãnh đạo công tác quản lý đất đai",
            "",
            "Thực hiện chương trình công tác năm 2021, xét thửa đất số 592, tờ bản đồ số 6,",
            "Nơi nhận:          T/M ĐẢNG ỦY",
            "- Lưu VP.          BÍ THƯ",
            "                   Đặng Hữu Hương",
        ]
    )
    got = extract_fields([page], ocr=False).to_json()
    assert got["document_type"] == "Nghị quyết" and got["number_symbol"] == "15-NQ/ĐU"
    assert got["issued_on"] == "2021-05-24" and got["issuer"] == "Đảng ủy xã Song Phượng"
    assert got["subject"] == "về lãnh đạo công tác quản lý đất đai"
    assert (got["signer"], got["signer_title"]) == ("Đặng Hữu Hương", "Bí thư")
    assert got["registry_refs"] == [{"kind": "land", "sheet": "6", "parcel": "592"}]


def test_registry_refs_are_checked() -> None:
    text = (
        "tờ bản đồ số 6, thửa số 592; mã số doanh nghiệp 0100109106; mã số thuế 0100109107; "
        "mã số doanh nghiệp 0154515269; CCCD số 001188834292; căn cước số 999188834292."
    )
    assert registry_refs(text) == [
        {"kind": "land", "sheet": "6", "parcel": "592"},
        {"kind": "enterprise", "id": "0100109106"},  # the others fail the check digit
        {"kind": "citizen", "id": "001188834292"},  # 999 is no province
    ]


@pytest.mark.parametrize(("seed", "dpi"), [(11, 200), (12, 300), (13, 200), (14, 300)])
def test_scans_are_mostly_right(store: Store, tmp_path: Path, seed: int, dpi: int) -> None:
    rng = random.Random(seed)
    spec = make_spec(rng, seed % 2 == 0, ("chinh-quyen", "dang", "doan-the")[seed % 3])
    pdf = tmp_path / "scan.pdf"
    render_scan(spec, pdf, dpi=dpi, rng=rng)
    got = extract_pdf(pdf, store).to_json()
    assert got["ocr"] is True
    right = [k for k, v in spec.truth().items() if got[k] == v]
    assert len(right) >= 8, {k: (got[k], v) for k, v in spec.truth().items() if got[k] != v}
    assert {"number_symbol", "issued_on", "issuer", "admin_unit"} <= set(right)


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_json_shape(
    harvested_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tmp_path: Path,
) -> None:
    spec = make_spec(random.Random(21), True, "chinh-quyen")
    pdf = tmp_path / "doc.pdf"
    render_pdf(spec, pdf)
    monkeypatch.setenv("KHO_DATA_DIR", str(harvested_settings.data_dir))
    code, out, _ = _run(capsys, "extract", str(pdf), "--json")
    got = json.loads(out)
    assert code == 0
    assert list(got) == [*spec.truth(), "ocr", "pages"]
    assert {k: got[k] for k in spec.truth()} == spec.truth()
    assert set(got["admin_unit"]) == {"code", "name"}


def test_cli_without_a_store(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    spec = make_spec(random.Random(22), False, "doan-the")
    pdf = tmp_path / "doc.pdf"
    render_pdf(spec, pdf)
    monkeypatch.setenv("KHO_DATA_DIR", str(tmp_path / "empty"))
    code, out, _ = _run(capsys, "extract", str(pdf))
    assert code == 0 and spec.number_symbol in out
    assert not (tmp_path / "empty").exists()  # extract never creates a store


def _damaged(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.pdf"
    if kind == "garbage":
        path.write_bytes(b"%PDF-1.7\nnot really a pdf")
    elif kind == "zero":
        pikepdf.new().save(path)
    else:
        born = tmp_path / "born.pdf"
        render_pdf(make_spec(random.Random(1), True, "dang"), born)
        with pikepdf.open(born) as pdf:
            pdf.save(path, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    return path


@pytest.mark.parametrize(
    ("kind", "words"),
    [("garbage", "not a readable PDF"), ("zero", "no pages"), ("encrypted", "password")],
)
def test_damaged_files_give_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tmp_path: Path,
    kind: str,
    words: str,
) -> None:
    path = _damaged(tmp_path, kind)
    with pytest.raises(DamagedFile, match=words):
        extract_pdf(path)
    monkeypatch.setenv("KHO_DATA_DIR", str(tmp_path / "empty"))
    code, out, err = _run(capsys, "extract", str(path), "--json")
    assert code == 1 and out == "" and words in err and err.startswith("kho extract: ")
