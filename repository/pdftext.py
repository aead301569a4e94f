"""The text of a PDF page by page: its text layer, or OCR with Tesseract when it has none.

Both paths give "layout" text: one line per printed row, the left and right columns of the
NĐ 30 header and signature block separated by a run of at least three spaces.
"""

from __future__ import annotations

import csv
import io
import statistics
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageOps

from repository.errors import DamagedFile
from repository.pdfcheck import (
    OCR_DPI,
    PdfLimits,
    check_raster,
    page_inches,
    preflight,
    raster_dpi,
    run_tool,
)
from repository.text import nfc

COLUMN_GAP = "     "
PSM = "3"  # automatic page segmentation finds the two header columns as separate blocks


def _run(args: list[str], pdf: Path) -> subprocess.CompletedProcess:
    # Each program under the memory and time limits of pdfcheck (a hostile PDF fails the file).
    return run_tool(args, pdf)


def page_count(pdf: Path, limits: PdfLimits | None = None) -> int:
    """Pages of a readable PDF; DamagedFile (why, what to do) for a broken, encrypted, empty or
    hostile one (repository.pdfcheck)."""
    return preflight(pdf, limits)


def _layer(pdf: Path) -> list[str]:
    out = _run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"], pdf)
    if out.returncode != 0:
        raise DamagedFile(f"Cannot read the text of {pdf.name}: {out.stderr.strip()}.")
    return [nfc(page) for page in out.stdout.split("\f")]


def has_text_layer(pdf: Path, *, checked: bool = False) -> bool:
    """True if the PDF carries real text (not just a scan); `checked`: preflight already passed."""
    if not checked:
        page_count(pdf)
    return sum(len("".join(p.split())) for p in _layer(pdf)) >= 20


def page_texts(
    pdf: Path, *, language: str = "vie", limits: PdfLimits | None = None
) -> tuple[list[str], bool]:
    """(text of each page, whether OCR made it): the text layer if any, else Tesseract."""
    limits = limits or PdfLimits()
    pages = page_count(pdf, limits)
    layer = _layer(pdf)[:pages]
    if sum(len("".join(p.split())) for p in layer) >= 20:
        return layer, False
    check_raster(pdf, limits)
    sizes = _page_sizes(pdf)
    # Pillow refuses images over twice MAX_IMAGE_PIXELS: a very large page is drawn at less dpi.
    most = min(limits.max_pixels, Image.MAX_IMAGE_PIXELS or limits.max_pixels)
    return [
        ocr_page(pdf, n, language, dpi=raster_dpi(*sizes[n - 1], most)) for n in range(1, pages + 1)
    ], True


def _page_sizes(pdf: Path) -> list[tuple[float, float]]:
    import pikepdf

    with pikepdf.open(pdf) as doc:
        return [page_inches(page) for page in doc.pages]


def ocr_page(pdf: Path, page: int, language: str = "vie", *, dpi: int = OCR_DPI) -> str:
    """OCR one page: colour inks (red seals, blue signatures) dropped, deskewed, as layout text."""
    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(tmp) / "p"
        out = _run(
            [
                "pdftoppm",
                "-r",
                str(dpi),
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                str(pdf),
                str(stem),
            ],
            pdf,
        )
        if out.returncode != 0:
            raise DamagedFile(f"Cannot rasterise page {page} of {pdf.name}: {out.stderr.strip()}.")
        img = clean_image(Image.open(f"{stem}.ppm"))
        pgm = Path(tmp) / "clean.pgm"  # uncompressed: PNG compression costs seconds a page
        img.save(pgm)
        tsv = _run(["tesseract", str(pgm), "stdout", "-l", language, "--psm", PSM, "tsv"], pdf)
        if tsv.returncode != 0:
            raise DamagedFile(f"Tesseract failed on page {page} of {pdf.name}: {tsv.stderr[-300:]}")
    return nfc(layout_from_tsv(tsv.stdout))


def clean_image(img: Image.Image) -> Image.Image:
    """Grey image where coloured ink is paper: the brightest channel drops red and blue."""
    r, g, b = img.convert("RGB").split()
    grey = ImageChops.lighter(r, ImageChops.lighter(g, b))
    grey = ImageOps.autocontrast(grey, cutoff=1)
    return grey.rotate(skew_angle(grey), resample=Image.BICUBIC, fillcolor=255)


def skew_angle(grey: Image.Image) -> float:
    """The rotation (degrees) that makes text rows horizontal: sharpest row profile wins."""
    small = grey.resize((grey.width // 4, grey.height // 4))
    small = small.point(lambda v: 255 if v < 160 else 0)  # ink -> white on black

    def score(angle: float) -> float:
        rows = small.rotate(angle, resample=Image.NEAREST).resize((1, small.height), Image.BOX)
        values = rows.tobytes()  # one grey byte per row
        return sum((a - b) ** 2 for a, b in zip(values, values[1:], strict=False))

    best = max((a / 4 for a in range(-10, 11)), key=score)
    return max((best + a / 20 for a in range(-5, 6)), key=score)


def layout_from_tsv(tsv: str) -> str:
    """Rows of text from Tesseract's word boxes; columns on one row apart by COLUMN_GAP."""
    lines: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for w in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if w.get("level") == "5" and (w.get("text") or "").strip():
            lines.setdefault((w["block_num"], w["par_num"], w["line_num"]), []).append(w)
    boxes = []
    for words in lines.values():
        top = min(int(w["top"]) for w in words)
        bottom = max(int(w["top"]) + int(w["height"]) for w in words)
        boxes.append((top, bottom, words))
    if not boxes:
        return ""
    height = statistics.median(b - t for t, b, _ in boxes)
    rows: list[list[tuple[int, int, list[dict[str, str]]]]] = []
    for box in sorted(boxes, key=lambda b: (b[0] + b[1]) / 2):
        centre = (box[0] + box[1]) / 2
        if rows and abs(centre - sum((t + b) / 2 for t, b, _ in rows[-1]) / len(rows[-1])) < (
            0.45 * height
        ):
            rows[-1].append(box)
        else:
            rows.append([box])
    out = []
    previous_bottom = None
    for row in rows:
        top = min(t for t, _, _ in row)
        if previous_bottom is not None and top - previous_bottom > 0.9 * height:
            out.append("")  # a blank line, as in the text layer: ends a title, a paragraph
        previous_bottom = max(b for _, b, _ in row)
        words = sorted((w for _, _, ws in row for w in ws), key=lambda w: int(w["left"]))
        text, right = "", None
        for w in words:
            left = int(w["left"])
            if right is not None:
                text += COLUMN_GAP if left - right > 2.2 * height else " "
            text += w["text"]
            right = left + int(w["width"])
        out.append(text)
    return "\n".join(out)
