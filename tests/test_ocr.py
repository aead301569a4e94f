"""OCR into two-layer PDF/A-2b with real Tesseract and ocrmypdf, on scans drawn for the test."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pikepdf
import pytest
from bench.bench_ocr import write_scan  # tests/ is on sys.path (rootdir conftest)
from hostile.pdfs import make

from repository.errors import OcrError
from repository.ocr import (
    OcrFailure,
    OcrResult,
    has_text_layer,
    ocr_many,
    ocr_to_pdfa,
    progress_bar,
)
from repository.pdfcheck import PdfLimits
from repository.text import fold, nfc

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def _born_digital(path: Path, text: str) -> Path:
    return make.text_pdf(path, text)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scan(tmp_path_factory.mktemp("scan") / "scan.pdf", pages=2, dpi=200, seed=1)


@pytest.fixture(scope="module")
def ocred(scan: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[OcrResult, str, str]:
    before = _digest(scan)
    result = ocr_to_pdfa(scan, tmp_path_factory.mktemp("out") / "sub" / "scan.pdfa.pdf")
    return result, before, _digest(scan)


def test_scan_has_no_text_layer(scan: Path) -> None:
    assert has_text_layer(scan) is False


def test_born_digital_pdf_has_text_layer(tmp_path: Path) -> None:
    assert has_text_layer(_born_digital(tmp_path / "d.pdf", "Quyết định về việc chỉnh lý tài liệu"))


def test_whitespace_only_text_is_no_text_layer(tmp_path: Path) -> None:
    assert has_text_layer(_born_digital(tmp_path / "blank.pdf", "   \n  ")) is False


def test_ocr_writes_pdfa_2b_and_keeps_the_original(ocred: tuple[OcrResult, str, str]) -> None:
    result, before, after = ocred
    assert before == after  # the scan is never touched
    assert result.pages == 2 and len(result.texts) == 2
    with pikepdf.open(result.dst) as pdf:
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2B"
        assert meta.get("pdfaid:part") == "2" and meta.get("pdfaid:conformance") == "B"
        assert len(pdf.pages) == 2
        for page in pdf.pages:  # image layer: the scan itself, one image per page
            assert len(_images(page.obj)) == 1
    assert has_text_layer(result.dst)
    assert not list(result.dst.parent.glob(".kho-ocr-*"))  # no temporary file left beside dst


def test_ocr_output_passes_pdfa_validation(ocred: tuple[OcrResult, str, str]) -> None:
    from pikepdf.pdfa import validate_written

    report = validate_written(ocred[0].dst, "2b")
    assert report.verdict == "pass", report.summary()


def test_text_layer_is_invisible(ocred: tuple[OcrResult, str, str]) -> None:
    with pikepdf.open(ocred[0].dst) as pdf:
        modes = _text_render_modes(pdf.pages[0])
    assert modes and set(modes) == {3}  # 3 = neither fill nor stroke


def test_ocr_text_has_the_vietnamese_words(ocred: tuple[OcrResult, str, str]) -> None:
    result = ocred[0]
    for text in result.texts:
        assert text == nfc(text)
        folded = fold(text)
        for words in ("uy ban nhan dan", "quyet dinh", "hoan kiem", "luu tru", "tai lieu"):
            assert words in folded
    assert "Hà Nội" in result.texts[0] or "Hà Nội" in result.texts[1]
    assert result.stages.get("tesseract", 0) > 0


def test_ocr_refuses_a_pdf_with_text(tmp_path: Path) -> None:
    digital = _born_digital(tmp_path / "d.pdf", "Quyết định")
    with pytest.raises(OcrError, match="already has a text layer"):
        ocr_to_pdfa(digital, tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()


def test_a_page_over_the_timeout_fails_the_file(scan: Path, tmp_path: Path) -> None:
    with pytest.raises(OcrError, match="took longer than"):
        ocr_to_pdfa(scan, tmp_path / "out.pdf", page_timeout=0.001)
    assert not (tmp_path / "out.pdf").exists()


def test_ocr_many_reports_bad_files_and_carries_on(scan: Path, tmp_path: Path) -> None:
    bad = _bad_inputs(scan, tmp_path)
    pairs = [(scan, tmp_path / "good.pdf")] + [(p, tmp_path / f"{p.stem}.out.pdf") for p in bad]
    calls: list[tuple[int, int]] = []
    results = ocr_many(pairs, jobs=2, progress=lambda done, total: calls.append((done, total)))

    assert isinstance(results[0], OcrResult) and results[0].dst == tmp_path / "good.pdf"
    assert "quyet dinh" in fold(results[0].texts[0])
    reasons = {r.src.stem: r.reason for r in results[1:] if isinstance(r, OcrFailure)}
    assert set(reasons) == {p.stem for p in bad}
    assert "Not a PDF (it does not start with %PDF-)" in reasons["notpdf"]
    # Cut in half, a PDF either opens after qpdf rebuilds it (pages may be missing) or not at all,
    # depending on where the cut falls: damaged either way, with what to do.
    assert "damaged" in reasons["truncated"]
    assert "Re-export" in reasons["truncated"] or "new copy" in reasons["truncated"]
    assert "encrypted" in reasons["encrypted"] and "unprotected copy" in reasons["encrypted"]
    assert "no pages" in reasons["empty"]
    assert "already has a text layer" in reasons["digital"]
    assert not any((tmp_path / f"{p.stem}.out.pdf").exists() for p in bad)
    assert calls[0] == (0, len(pairs)) and calls[-1] == (len(pairs), len(pairs))


def test_an_ocr_worker_over_its_memory_fails_the_file_not_the_host(
    scan: Path, tmp_path: Path
) -> None:
    """The worker (and the Tesseract it starts) runs under limits.tool_memory: a scan that needs
    more fails alone, with the reason, and leaves no output."""
    (result,) = ocr_many([(scan, tmp_path / "out.pdf")], jobs=1, limits=PdfLimits(tool_memory=1))
    assert isinstance(result, OcrFailure)
    assert "memory" in result.reason and "KHO_PDF_TOOL_MEMORY" in result.reason, result.reason
    assert not (tmp_path / "out.pdf").exists()


def test_a_scan_too_large_to_draw_is_refused_before_ocr(tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    doc = pikepdf.new()
    doc.add_blank_page(page_size=(14_000, 14_000))  # 194 in a side: PDF/A allows it
    doc.save(big)
    with pytest.raises(OcrError, match="too large to OCR at 300 dpi"):
        ocr_to_pdfa(big, tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()


def test_progress_bar_writes_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    update = progress_bar("OCR", stream=out, every=2)
    for done in range(5):
        update(done, 4)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("OCR: 2/4") and lines[-1].startswith("OCR: 4/4")


def _bad_inputs(scan: Path, folder: Path) -> list[Path]:
    notpdf = folder / "notpdf.pdf"
    notpdf.write_bytes(b"this is a JPEG renamed to .pdf, not a PDF")
    truncated = folder / "truncated.pdf"
    truncated.write_bytes(scan.read_bytes()[: scan.stat().st_size // 2])
    encrypted, empty = folder / "encrypted.pdf", folder / "empty.pdf"
    with pikepdf.open(scan) as pdf:
        pdf.save(encrypted, encryption=pikepdf.Encryption(owner="chu", user="mat-khau"))
    pikepdf.new().save(empty)
    digital = _born_digital(folder / "digital.pdf", "Quyết định")
    return [notpdf, truncated, encrypted, empty, digital]


def _images(obj: pikepdf.Object) -> list[str]:
    """Names of the images a page draws, looking into its form XObjects too."""
    found = []
    for name, xobj in obj.get("/Resources", {}).get("/XObject", {}).items():
        if xobj.get("/Subtype") == "/Image":
            found.append(name)
        elif xobj.get("/Subtype") == "/Form":
            found += _images(xobj)
    return found


def _text_render_modes(page: pikepdf.Page) -> list[int]:
    modes = [int(op.operands[0]) for op in _operators(page.obj) if str(op.operator) == "Tr"]
    return modes


def _operators(obj: pikepdf.Object) -> list[pikepdf.ContentStreamInstruction]:
    ops = list(pikepdf.parse_content_stream(obj))
    for xobj in obj.get("/Resources", {}).get("/XObject", {}).values():
        if xobj.get("/Subtype") == "/Form":
            ops += _operators(xobj)
    return ops
