"""OCR throughput: raw Tesseract vs ocrmypdf's defaults vs Kho's tuned ocr_to_pdfa/ocr_many.

The same scanned pages (image-only PDFs of official documents, ND 30/2020 layout, drawn here with
Pillow at 200 and 300 dpi, slightly skewed and speckled) go through each path. `write_scan` is also
what tests/test_ocr.py uses for its scans.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from repository.ocr import (
    TUNED,
    OcrFailure,
    OcrResult,
    captured_log,
    ocr_many,
    ocr_to_pdfa,
    stage_times,
)

SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
SERIF_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"
BODY = (
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Căn cứ Luật Lưu trữ "
    "ngày 21 tháng 6 năm 2024; Xét đề nghị của Trưởng phòng Văn hóa và Thông tin về việc chỉnh "
    "lý tài liệu lưu trữ của Ủy ban nhân dân phường. Điều 1. Phê duyệt danh mục hồ sơ, tài liệu "
    "hết giá trị cần tiêu hủy gồm 12 hồ sơ với tổng số 58 trang. Điều 2. Giao Văn phòng chủ trì, "
    "phối hợp với các đơn vị liên quan tổ chức thực hiện việc số hóa tài liệu theo đúng quy định. "
    "Điều 3. Quyết định này có hiệu lực kể từ ngày ký. Chánh Văn phòng, Trưởng các phòng, ban, "
    "đơn vị và các cá nhân có liên quan chịu trách nhiệm thi hành Quyết định này."
)


# --- scanned-looking pages ------------------------------------------------------------------


def render_page(number: int, dpi: int, rng: random.Random) -> Image.Image:
    """One A4 page of a Quyết định as a grey scan: header block, title, body, signature."""
    w, h = round(8.27 * dpi), round(11.69 * dpi)
    img = Image.new("L", (w, h), 248)
    d = ImageDraw.Draw(img)
    pt = dpi / 72
    regular, bold, title = (
        ImageFont.truetype(p, round(s * pt))
        for p, s in ((SERIF, 13), (SERIF_BOLD, 12), (SERIF_BOLD, 14))
    )
    left, right = round(1.2 * dpi), w - round(0.8 * dpi)
    lx, rx = left + dpi, right - round(1.95 * dpi)

    def center(text: str, font: ImageFont.FreeTypeFont, cx: int, y: int) -> None:
        d.text((cx - d.textlength(text, font=font) / 2, y), text, font=font, fill=20)

    y = round(0.8 * dpi)
    center("ỦY BAN NHÂN DÂN", bold, lx, y)
    center("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold, rx, y)
    y += round(18 * pt)
    center("PHƯỜNG HOÀN KIẾM", bold, lx, y)
    center("Độc lập - Tự do - Hạnh phúc", bold, rx, y)
    y += round(30 * pt)
    center(f"Số: {1600 + number}/QĐ-UBND", regular, lx, y)
    center(f"Hà Nội, ngày {number % 28 + 1} tháng 5 năm 2021", regular, rx, y)
    y += round(40 * pt)
    center("QUYẾT ĐỊNH", title, w // 2, y)
    y += round(20 * pt)
    center("Về việc phê duyệt danh mục tài liệu hết giá trị", title, w // 2, y)
    y += round(36 * pt)
    words = BODY.split()
    body = " ".join(words[:20] + rng.sample(words[20:], len(words) - 20))  # known opening
    for _ in range(2):
        for line in _wrap(d, body, regular, right - left):
            d.text((left, y), line, font=regular, fill=25)
            y += round(20 * pt)
        y += round(10 * pt)
    center("CHỦ TỊCH", bold, rx, y + round(10 * pt))
    center("Nguyễn Văn An", bold, rx, y + round(90 * pt))
    img = img.rotate(rng.uniform(-0.8, 0.8), resample=Image.BILINEAR, fillcolor=248)
    speckle = Image.effect_noise((w, h), 24)
    return Image.composite(img, speckle, Image.new("L", (w, h), 225))


def _wrap(d: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and d.textlength(trial, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line] if line else lines


def write_scan(path: Path, pages: int, dpi: int = 200, seed: int = 0) -> Path:
    """An image-only PDF of `pages` scanned pages (JPEG, as scanning contractors deliver)."""
    rng = random.Random(seed)
    images = [render_page(seed * 100 + i, dpi, rng) for i in range(pages)]
    images[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=images[1:], quality=80)
    return path


# --- the benchmark --------------------------------------------------------------------------

Corpus = list[tuple[Path, int, int]]  # (pdf, pages, dpi)


def make_corpus(folder: Path, quick: bool) -> Corpus:
    """Files of 1-4 pages (most hồ sơ documents are short) at 200 dpi, and some at 300 dpi."""
    sizes = {200: [1, 2, 1], 300: [2]} if quick else {200: [1, 2, 4] * 4, 300: [1, 2, 3] * 2}
    corpus = []
    for dpi, counts in sizes.items():
        for i, pages in enumerate(counts):
            path = write_scan(folder / f"scan-{dpi}-{i:02d}.pdf", pages, dpi, seed=dpi + i)
            corpus.append((path, pages, dpi))
    return corpus


def _raw_page(pdf: Path, page: int, dpi: int, folder: Path, omp: str | None = "1") -> str:
    """The baseline: `pdftoppm -gray` (PGM, no compression) then `tesseract -l vie` to stdout."""
    prefix = folder / f"{pdf.stem}-{page}"
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-f", str(page), "-l", str(page), "-singlefile"]
        + [str(pdf), str(prefix)],
        check=True,
    )
    env = dict(os.environ)
    env.pop("OMP_THREAD_LIMIT", None)
    if omp:
        env["OMP_THREAD_LIMIT"] = omp
    out = subprocess.run(
        ["tesseract", f"{prefix}.pgm", "-", "-l", "vie"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(f"{prefix}.pgm").unlink()
    return out


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _raw(corpus: Corpus, folder: Path, width: int) -> float:
    pages = [(pdf, p, dpi) for pdf, n, dpi in corpus for p in range(1, n + 1)]
    with ThreadPoolExecutor(width) as pool:
        return _timed(lambda: list(pool.map(lambda a: _raw_page(*a, folder), pages)))


def _ocrmypdf_cli(corpus: Corpus, folder: Path) -> float:
    """ocrmypdf as a user runs it: one command per file, every option at its default."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    exe = str(Path(sys.executable).with_name("ocrmypdf"))

    def all_files() -> None:
        for pdf, _, _ in corpus:
            cmd = [exe, "-q", "-l", "vie", str(pdf), str(folder / f"{pdf.stem}.default.pdf")]
            subprocess.run(cmd, env=env, check=True)

    return _timed(all_files)


def _tuned_sequential(corpus: Corpus, folder: Path, jobs: int) -> float:
    def all_files() -> None:
        for pdf, _, _ in corpus:
            ocr_to_pdfa(pdf, folder / f"{pdf.stem}.j{jobs}.pdf", jobs=jobs)

    return _timed(all_files)


def _tuned_many(corpus: Corpus, folder: Path, jobs: int) -> float:
    pairs = [(pdf, folder / f"{pdf.stem}.many{jobs}.pdf") for pdf, _, _ in corpus]
    results: list[OcrResult | OcrFailure] = []
    seconds = _timed(lambda: results.extend(ocr_many(pairs, jobs=jobs)))
    failed = [r for r in results if isinstance(r, OcrFailure)]
    assert not failed, failed
    return seconds


def _stages(pdf: Path, folder: Path, options: dict[str, Any], omp: str | None) -> dict[str, float]:
    """One in-process ocrmypdf call with its log captured; best (fastest) of two runs."""
    import ocrmypdf

    best: dict[str, float] = {}
    for attempt in range(2):
        saved = os.environ.pop("OMP_THREAD_LIMIT", None)
        if omp:
            os.environ["OMP_THREAD_LIMIT"] = omp
        try:
            with captured_log() as records:
                start = time.perf_counter()
                ocrmypdf.ocr(pdf, folder / f"stages-{attempt}.pdf", language=["vie"], **options)
                total = time.perf_counter() - start
        finally:
            os.environ.pop("OMP_THREAD_LIMIT", None)
            if saved is not None:
                os.environ["OMP_THREAD_LIMIT"] = saved
        stages = stage_times(records, start)
        stages["total"] = total
        if not best or total < best["total"]:
            best = stages
    return best


def _import_seconds() -> float:
    cmd = [sys.executable, "-c", "import ocrmypdf"]
    return min(_timed(lambda: subprocess.run(cmd, check=True)) for _ in range(2))


CUTS: list[tuple[str, dict[str, Any], str | None, int, str]] = [
    # (label, ocrmypdf options put back, OMP_THREAD_LIMIT, pages of the file, why it was cut)
    (
        "Tesseract OpenMP threads (ocrmypdf: jobs ÷ pages, up to 3)",
        {},
        None,
        1,
        "threads spin on a small shared machine; parallelism comes from pages/files instead",
    ),
    (
        "page PNG at zlib level 6",
        {"plugins": []},
        "1",
        1,
        "a temporary image read once by Tesseract; level 1 writes it several times faster",
    ),
    (
        "image optimisation (optimize=1)",
        {"optimize": 1},
        "1",
        1,
        "re-encodes the scan; the archive keeps the contractor's image as it is",
    ),
    (
        "fast web view (linearise files > 1 MB)",
        {"fast_web_view": 1.0},
        "1",
        4,
        "rewrites the whole file for byte-range serving, which the archive does not need",
    ),
    (
        "PDF/A through Ghostscript",
        {"pdfa_backend": "ghostscript"},
        "1",
        1,
        "rewrites and may re-encode the scan; pikepdf's backend validates what it writes",
    ),
    (
        "sandwich renderer instead of fpdf2",
        {"pdf_renderer": "sandwich"},
        "1",
        1,
        "not cut: no faster here, and fpdf2 is ocrmypdf's default",
    ),
]


def run(quick: bool = False) -> str:
    folder = Path(tempfile.mkdtemp(prefix="kho-bench-ocr-"))
    try:
        return _run(folder, quick)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(folder: Path, quick: bool) -> str:
    import ocrmypdf  # noqa: F401 - the in-process rows are measured warm; import is its own row

    corpus = make_corpus(folder, quick)
    pages = sum(n for _, n, _ in corpus)
    # The one-at-a-time rows take turns file by file, so that a burst of load from other jobs on
    # the shared machine falls on all of them alike.
    timings = dict.fromkeys(("raw", "default", "tuned1", "tuned_pages2"), 0.0)
    for pdf, n, dpi in corpus:
        one = [(pdf, n, dpi)]
        timings["raw"] += _raw(one, folder, 1)
        timings["default"] += _ocrmypdf_cli(one, folder)
        timings["tuned1"] += _tuned_sequential(one, folder, 1)
        timings["tuned_pages2"] += _tuned_sequential(one, folder, 2)
    timings["raw2"] = _raw(corpus, folder, 2)
    timings["many2"] = _tuned_many(corpus, folder, 2)
    ppm = {k: pages * 60 / v for k, v in timings.items()}
    rows = [
        ("raw `pdftoppm -gray` + `tesseract -l vie`, one at a time", "raw", "raw"),
        ("raw, two pages at a time", "raw2", "raw2"),
        ("`ocrmypdf -l vie` (defaults; one command per file)", "default", "raw"),
        ("Kho `ocr_to_pdfa(jobs=1)`, file after file", "tuned1", "raw"),
        ("Kho `ocr_to_pdfa(jobs=2)`, pages of a file in parallel", "tuned_pages2", "raw2"),
        ("Kho `ocr_many(jobs=2)`, files in parallel (warm workers)", "many2", "raw2"),
    ]
    lines = [
        "## OCR into two-layer PDF/A-2b (bench_ocr)",
        "",
        f"{len(corpus)} image-only PDFs, {pages} pages (A4, 1-4 pages per file, 200 and 300 dpi, "
        "grey JPEG with skew and speckle), Vietnamese (`-l vie`). Pages per minute; the ratio is "
        "to raw Tesseract at the same parallelism (goal ≥ 0.8×).",
        "",
        "| path | seconds | pages/min | ratio to raw |",
        "|---|---:|---:|---:|",
    ]
    for label, key, base in rows:
        lines.append(
            f"| {label} | {timings[key]:.1f} | {ppm[key]:.1f} | {ppm[key] / ppm[base]:.2f}× |"
        )
    lines += _stage_section(corpus, folder)
    return "\n".join(lines) + "\n"


def _stage_section(corpus: Corpus, folder: Path) -> list[str]:
    page1 = next(pdf for pdf, n, dpi in corpus if n == 1 and dpi == 200)
    default = _stages(page1, folder, {"progress_bar": False}, None)
    tuned_opts = dict(TUNED, plugins=["repository.ocr"])
    tuned = _stages(page1, folder, tuned_opts, "1")
    raw1 = min(_timed(lambda: _raw_page(page1, 1, 200, folder)) for _ in range(2))
    raw_omp = min(_timed(lambda: _raw_page(page1, 1, 200, folder, None)) for _ in range(2))
    names = sorted(set(default) | set(tuned) - {"total"}, key=lambda s: -default.get(s, 0))
    names = [n for n in names if n != "total"]
    lines = [
        "",
        "### Where ocrmypdf's time goes (one 200-dpi page, in-process, best of two)",
        "",
        "| stage | ocrmypdf defaults (s) | Kho tuned (s) |",
        "|---|---:|---:|",
        f"| process start + `import ocrmypdf` (per command; paid once per worker in Kho) "
        f"| {_import_seconds():.2f} | 0 |",
    ]
    for name in names:
        lines.append(f"| {name} | {default.get(name, 0):.2f} | {tuned.get(name, 0):.2f} |")
    lines += [
        f"| **total in-process** | **{default['total']:.2f}** | **{tuned['total']:.2f}** |",
        "",
        f"Raw `pdftoppm` + `tesseract` on the same page: {raw1:.2f} s with OMP_THREAD_LIMIT=1, "
        f"{raw_omp:.2f} s with Tesseract's default OpenMP threads.",
        "",
        "### What was cut, and what each cut is worth",
        "",
        "Kho tuned with one cut put back, measured next to Kho tuned (best of two each). The "
        "figure is the time outside Tesseract (Tesseract's own time for the threads row), which "
        "keeps the noise of the shared machine out of the comparison.",
        "",
        "| put back | pages | with it (s) | Kho tuned (s) | why it was cut |",
        "|---|---:|---:|---:|---|",
    ]
    for label, options, omp, want, why in CUTS:
        pdf, n = max(((p, n) for p, n, d in corpus if d == 200 and n <= want), key=lambda x: x[1])
        part = _tesseract if omp is None else _outside_tesseract
        put_back = part(_stages(pdf, folder, {**tuned_opts, **options}, omp))
        tuned_part = part(_stages(pdf, folder, tuned_opts, "1"))
        lines.append(f"| {label} | {n} | {put_back:.2f} | {tuned_part:.2f} | {why} |")
    return lines


def _tesseract(stages: dict[str, float]) -> float:
    return stages.get("tesseract", 0.0)


def _outside_tesseract(stages: dict[str, float]) -> float:
    return stages["total"] - stages.get("tesseract", 0.0)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
