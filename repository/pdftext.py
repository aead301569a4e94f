"""The text of a PDF page by page: its text layer, or OCR with Tesseract when it has none.

Both paths give "layout" text: one line per printed row, the left and right columns of the
NĐ 30 header and signature block separated by a run of at least three spaces.
"""

from __future__ import annotations

import csv
import io
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageOps

from repository.errors import DamagedFile
from repository.text import nfc

COLUMN_GAP = "     "
OCR_DPI = 300
PSM = "3"  # automatic page segmentation finds the two header columns as separate blocks


def _run(args: list[str], pdf: Path) -> subprocess.CompletedProcess:
    # One OpenMP thread: Tesseract is ~3x faster so on a small shared machine.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        return subprocess.run(args, capture_output=True, check=False, text=True, env=env)
    except FileNotFoundError as exc:
        raise DamagedFile(
            f"Cannot read {pdf.name}: the program {args[0]} is missing. Install poppler-utils "
            "and tesseract-ocr (with tesseract-ocr-vie)."
        ) from exc


def page_count(pdf: Path) -> int:
    """Pages of a readable PDF; DamagedFile for an unreadable, encrypted or empty one."""
    if not pdf.is_file():
        raise DamagedFile(f"No file {pdf}. Check the path.")
    info = _run(["pdfinfo", str(pdf)], pdf)
    err = (info.stderr or "").lower()
    if "page count 0" in err or "first page (1) can not be after" in err:
        raise DamagedFile(f"{pdf.name} has no pages. Re-export the document and try again.")
    if info.returncode != 0:
        if "password" in err or "encrypt" in err:
            raise DamagedFile(
                f"{pdf.name} is encrypted with a password. Ask the sender for an unprotected "
                "copy (or remove the password with qpdf --decrypt) and try again."
            )
        reason = ((info.stderr or "").strip().splitlines() or ["unknown error"])[-1]
        raise DamagedFile(
            f"{pdf.name} is not a readable PDF ({reason}). "
            "Re-scan or re-export the document, or ask the sender for a new copy."
        )
    pages = next(
        (int(line.split()[-1]) for line in info.stdout.splitlines() if line.startswith("Pages:")),
        0,
    )
    if pages == 0:
        raise DamagedFile(f"{pdf.name} has no pages. Re-export the document and try again.")
    return pages


def _layer(pdf: Path) -> list[str]:
    out = _run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"], pdf)
    if out.returncode != 0:
        raise DamagedFile(f"Cannot read the text of {pdf.name}: {out.stderr.strip()}.")
    return [nfc(page) for page in out.stdout.split("\f")]


def has_text_layer(pdf: Path) -> bool:
    """True if the PDF carries real text (not just a scan)."""
    page_count(pdf)
    return sum(len("".join(p.split())) for p in _layer(pdf)) >= 20


def page_texts(pdf: Path, *, language: str = "vie") -> tuple[list[str], bool]:
    """(text of each page, whether OCR made it): the text layer if any, else Tesseract."""
    pages = page_count(pdf)
    layer = _layer(pdf)[:pages]
    if sum(len("".join(p.split())) for p in layer) >= 20:
        return layer, False
    return [ocr_page(pdf, n, language) for n in range(1, pages + 1)], True


def ocr_page(pdf: Path, page: int, language: str = "vie") -> str:
    """OCR one page: colour inks (red seals, blue signatures) dropped, deskewed, as layout text."""
    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(tmp) / "p"
        out = _run(
            [
                "pdftoppm",
                "-r",
                str(OCR_DPI),
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
