"""OCR of scanned PDFs into two-layer PDF/A-2b (image plus invisible text), with ocrmypdf.

TT 05/2025 asks for a searchable PDF/A beside each scanned original. ocrmypdf's defaults spend
about as long around Tesseract as in it; the cuts below are measured in tests/bench/bench_ocr.py:

- Tesseract runs single-threaded (OMP_THREAD_LIMIT=1) and parallelism comes from pages or files:
  OpenMP threads on a small shared machine spin instead of working (2-7x slower per page).
- Pages are rasterised for Tesseract as PNG at zlib level 1 instead of 6 (``rasterize_pdf_page``
  below): the PNG is a temporary file read once, and level 6 cost as much as a third of the OCR.
- No image optimisation (the scan's own JPEG is kept as the image layer, as archives want) and no
  linearisation (fast web view): neither is needed for preservation.
- PDF/A-2b comes from ocrmypdf's in-process pikepdf backend, which validates what it writes, not
  from Ghostscript, which would re-encode the scan.
- ``ocr_many`` keeps warm worker processes, so the ocrmypdf import (~1 s) is paid once per worker.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pluggy

from repository.errors import DamagedFile, OcrError
from repository.pdfcheck import PdfLimits, check_raster, limit_process, preflight
from repository.text import nfc

log = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("ocrmypdf")  # ocrmypdf.hookimpl, without importing ocrmypdf

PNG_LEVEL = 1  # zlib level of the temporary page images Tesseract reads

# Options that differ from ocrmypdf's defaults, each for a reason given in the module docstring.
TUNED: dict[str, Any] = {
    "output_type": "pdfa-2",
    "pdfa_backend": "auto",  # pikepdf first; Ghostscript only if its PDF/A would not validate
    "optimize": 0,
    "fast_web_view": 1e6,  # MB: never linearise
    "progress_bar": False,
}


@dataclass
class OcrResult:
    """One PDF OCR'd: where it went, its per-page text (NFC) and where the time went."""

    src: Path
    dst: Path
    pages: int
    seconds: float
    texts: list[str]
    stages: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class OcrFailure:
    """One PDF that could not be OCR'd, and why, in words for the archivist."""

    src: Path
    reason: str


def has_text_layer(pdf: Path) -> bool:
    """True when some page shows text other than whitespace (born-digital, or OCR'd already).

    Raises OcrError for a file that is not a readable PDF.
    """
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar, LTContainer

    def chars(item: object) -> Iterator[str]:
        if isinstance(item, LTChar):
            yield item.get_text()
        elif isinstance(item, LTContainer):  # pages, and form XObjects (ocrmypdf's text layer)
            for child in item:
                yield from chars(child)

    check_input(Path(pdf))
    return any(any(c.strip() for c in chars(page)) for page in extract_pages(pdf, laparams=None))


def check_input(src: Path, limits: PdfLimits | None = None) -> int:
    """Page count of a PDF that can be OCR'd; OcrError saying what is wrong otherwise: the
    checks of `pdfcheck.preflight` (not a PDF, encrypted, damaged, no pages, too many pages,
    bombs) and pages small enough to draw at 300 dpi (`check_raster`)."""
    if not src.is_file():
        raise OcrError(f"{src}: no such file. Check the path in the batch sheet.")
    try:
        pages = preflight(src, limits)
        check_raster(src, limits)
    except DamagedFile as e:
        raise OcrError(f"{src}: {e.message}") from None
    return pages


def ocr_to_pdfa(
    src: Path,
    dst: Path,
    *,
    language: str = "vie",
    jobs: int = 1,
    page_timeout: float = 300.0,
    limits: PdfLimits | None = None,
) -> OcrResult:
    """OCR ``src`` into a PDF/A-2b at ``dst`` (written atomically); ``src`` is never modified.

    ``jobs`` pages run in parallel. A page whose OCR takes longer than ``page_timeout`` seconds
    fails the file (OcrError), so a half-searchable PDF/A is never written.
    """
    import ocrmypdf
    from ocrmypdf import exceptions as ox

    src, dst = Path(src), Path(dst)
    start = time.perf_counter()
    pages = check_input(src, limits)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".kho-ocr-", dir=dst.parent) as tmp:
        out, sidecar = Path(tmp) / "out.pdf", Path(tmp) / "text.txt"
        with captured_log() as records, _single_threaded_tesseract():
            try:
                ocrmypdf.ocr(
                    src,
                    out,
                    language=language.split("+"),
                    sidecar=sidecar,
                    jobs=max(1, jobs),
                    tesseract_timeout=page_timeout,
                    plugins=[__name__],
                    **TUNED,
                )
            except ox.MissingDependencyError as e:
                raise OcrError(
                    f"{src}: OCR needs a program that is missing ({e}). Run `make system`, "
                    f"and check that the Tesseract language '{language}' is installed."
                ) from None
            except ox.PriorOcrFoundError:
                raise OcrError(
                    f"{src}: the PDF already has a text layer, so it needs no OCR; "
                    "keep it as it is (has_text_layer tells these apart before OCR)."
                ) from None
            except ox.EncryptedPdfError:
                raise OcrError(
                    f"{src}: the PDF is encrypted; ask for an unprotected copy."
                ) from None
            except ox.ExitCodeException as e:
                raise OcrError(
                    f"{src}: OCR failed ({type(e).__name__}: {e}).",
                    details=_messages(records, logging.WARNING),
                ) from None
        warnings = _messages(records, logging.WARNING)
        timed_out = [w for w in warnings if "took too long" in w]
        if timed_out:
            raise OcrError(
                f"{src}: OCR of {len(timed_out)} page(s) took longer than {page_timeout:g} s, "
                "so no PDF/A was written. Retry with a longer page timeout or fewer jobs at once.",
                details=warnings,
            )
        texts = _split_pages(sidecar.read_text(encoding="utf-8"), pages)
        os.replace(out, dst)
    return OcrResult(
        src=src,
        dst=dst,
        pages=pages,
        seconds=time.perf_counter() - start,
        texts=texts,
        stages=stage_times(records, start),
        warnings=warnings,
    )


def _split_pages(sidecar: str, pages: int) -> list[str]:
    texts = [nfc(t).strip() for t in sidecar.split("\f")]
    return (texts + [""] * pages)[:pages]


# --- many files in parallel -----------------------------------------------------------------


def ocr_many(
    jobs_list: list[tuple[Path, Path]],
    *,
    language: str = "vie",
    jobs: int | None = None,
    page_timeout: float = 300.0,
    progress: Callable[[int, int], None] | None = None,
    limits: PdfLimits | None = None,
) -> list[OcrResult | OcrFailure]:
    """OCR many (src, dst) pairs, ``jobs`` files at a time; results in the order given.

    A file that fails (corrupt, encrypted, no pages, hostile, timed out, over the memory limit)
    becomes an OcrFailure and the others carry on. Each worker process, and every program it
    starts (Tesseract, Ghostscript), has its address space capped at ``limits.tool_memory``.
    ``progress(done, total)`` is called after each file.
    """
    limits = limits or PdfLimits()
    total = len(jobs_list)
    if total == 0:
        return []
    cores = jobs or os.cpu_count() or 1
    workers = max(1, min(cores, total))
    page_jobs = max(1, cores // total)  # fewer files than cores: their pages share the rest
    results: list[OcrResult | OcrFailure | None] = [None] * total
    done = 0
    if progress:
        progress(0, total)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_warm_worker,
        initargs=(limits,),
    ) as pool:
        futures: dict[Future, int] = {
            pool.submit(_ocr_one, Path(s), Path(d), language, page_jobs, page_timeout, limits): i
            for i, (s, d) in enumerate(jobs_list)
        }
        for future in as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as e:  # a worker that died (e.g. killed for memory)
                src = Path(jobs_list[i][0])
                results[i] = OcrFailure(
                    src,
                    f"{src}: the OCR worker stopped unexpectedly ({e!r}), perhaps over its "
                    f"memory limit ({limits.tool_memory >> 20:,} MiB, KHO_PDF_TOOL_MEMORY); "
                    "retry this file alone, with fewer jobs if memory is short.",
                )
            done += 1
            if progress:
                progress(done, total)
    return [r for r in results if r is not None]


def _warm_worker(limits: PdfLimits | None = None) -> None:
    """Pay the ocrmypdf import once per worker, keep Tesseract to one thread per file, and cap
    the worker's memory (and so its children's): a hostile page fails its file, not the host."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import ocrmypdf  # noqa: F401

    limit_process(limits)()


def _ocr_one(
    src: Path,
    dst: Path,
    language: str,
    jobs: int,
    page_timeout: float,
    limits: PdfLimits | None = None,
) -> OcrResult | OcrFailure:
    try:
        return ocr_to_pdfa(
            src, dst, language=language, jobs=jobs, page_timeout=page_timeout, limits=limits
        )
    except OcrError as e:
        return OcrFailure(src, e.message)
    except (MemoryError, OSError) as e:
        if isinstance(e, OSError) and e.errno != errno.ENOMEM:
            return OcrFailure(src, f"{src}: OCR failed unexpectedly ({type(e).__name__}: {e}).")
        # Under the address-space limit an allocation fails as MemoryError in Python, or as
        # ENOMEM where the C library or the kernel is asked (a thread, a temp folder, a pipe).
        memory = (limits or PdfLimits()).tool_memory >> 20
        return OcrFailure(
            src,
            f"{src}: OCR needed more than the memory limit ({memory:,} MiB, "
            "KHO_PDF_TOOL_MEMORY) and was stopped; the file may be hostile, or too large a scan.",
        )
    except Exception as e:  # anything ocrmypdf did not classify: report it, keep the batch going
        return OcrFailure(src, f"{src}: OCR failed unexpectedly ({type(e).__name__}: {e}).")


def progress_bar(label: str, *, stream: Any = None, every: int = 10) -> Callable[[int, int], None]:
    """A progress callback: a bar on a terminal, otherwise a line every ``every`` files."""
    out = stream or sys.stderr
    tty = hasattr(out, "isatty") and out.isatty()
    start = time.monotonic()

    def update(done: int, total: int) -> None:
        elapsed = time.monotonic() - start
        rate = f"{done / elapsed * 60:.0f}/min" if elapsed > 0 and done else "…"
        if tty:
            width = 30
            filled = width * done // max(total, 1)
            bar = "█" * filled + "·" * (width - filled)
            out.write(f"\r{label} {bar} {done}/{total} {rate}")
            if done >= total:
                out.write("\n")
            out.flush()
        elif done == total or (done and done % every == 0):
            out.write(f"{label}: {done}/{total} ({rate})\n")
            out.flush()

    return update


# --- ocrmypdf's log: quiet, but kept ------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_log() -> Iterator[list[logging.LogRecord]]:
    """Collect ocrmypdf's log for this call; its warnings still reach any handler the app set.

    A handler on the "ocrmypdf" logger also stops Python's last-resort handler from printing
    ocrmypdf's warnings to stderr when the app configured no logging (the CLI stays quiet).
    """
    logger = logging.getLogger("ocrmypdf")
    handler = _Collect()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)  # stage timings come from debug records
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _messages(records: list[logging.LogRecord], level: int) -> list[str]:
    return [r.getMessage() for r in records if r.levelno >= level]


@contextmanager
def _single_threaded_tesseract() -> Iterator[None]:
    previous = os.environ.get("OMP_THREAD_LIMIT")
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("OMP_THREAD_LIMIT", None)
        else:
            os.environ["OMP_THREAD_LIMIT"] = previous


# Which stage a debug message starts (first match wins); time runs until the next message.
_STAGE_MARKS: list[tuple[str, str]] = [
    ("Rasterize", "rasterise"),
    ("Running: ['tesseract', '-l'", "tesseract"),
    ("Running: ['gs', '-", "Ghostscript"),
    ("Running: [", "tool checks"),  # --version, --list-langs: every call, before any page
    ("resolution (", "preprocess"),
    ("OCR image needs no changes", "preprocess"),
    ("Parsing", "render text layer"),
    ("Grafting", "render text layer"),
    ("Postprocessing", "PDF/A"),
    ("Speculative PDF/A conversion succeeded", "optimise"),
    ("Optimiz", "optimise"),
    ("Image optimization ratio", "optimise"),
    ("Total file size ratio", "validate and save"),
    ("PDF/A-2b validation", "validate and save"),
    ("Linearizing", "fast web view"),
]


def stage_times(records: list[logging.LogRecord], start: float) -> dict[str, float]:
    """Seconds per pipeline stage, from the timestamps of ocrmypdf's log (meaningful at jobs=1)."""
    stages: dict[str, float] = {}
    if not records:
        return stages
    t0 = start - time.perf_counter() + time.time()  # perf_counter start on the wall clock
    current, since = "start-up", t0
    for record in records:
        message = record.getMessage()
        stage = next((s for mark, s in _STAGE_MARKS if message.startswith(mark)), None)
        if stage is None and "tesseract" in record.name and current == "tesseract":
            stage = "tesseract"
        if stage is None or stage == current:
            continue
        stages[current] = stages.get(current, 0.0) + max(0.0, record.created - since)
        current, since = stage, record.created
    stages[current] = stages.get(current, 0.0) + max(0.0, time.time() - since)
    return {k: round(v, 3) for k, v in stages.items()}


# --- ocrmypdf plugin hook (this module is passed as a plugin) -----------------------------


@hookimpl
def rasterize_pdf_page(
    input_file: Path,
    output_file: Path,
    raster_device: str,
    raster_dpi: Any,
    pageno: int,
    page_dpi: Any,
    rotation: int | None,
    filter_vector: bool,
    stop_on_soft_error: bool,
    options: Any,
    use_cropbox: bool,
) -> Path | None:
    """ocrmypdf's pypdfium2 rasteriser, saving its PNG at zlib level 1 instead of 6.

    Returns None (ocrmypdf's own rasteriser then runs) if its internals have changed.
    """
    try:
        from ocrmypdf.builtin_plugins import pypdfium as p

        render, to_pil, finish = (
            p._render_page_to_bitmap,
            p._bitmap_to_pil,
            p._process_image_for_output,
        )
        lock, open_pdf = p._pdfium_lock, p._open_pdf_document
    except (ImportError, AttributeError):
        return None
    if p.pdfium is None or (options is not None and options.rasterizer == "ghostscript"):
        return None
    with lock, closing(open_pdf(input_file)) as pdf, closing(pdf[pageno - 1]) as page:
        bitmap, width, height = render(page, raster_device, raster_dpi, rotation, use_cropbox)
        with closing(bitmap):
            image = to_pil(bitmap, width, height)
    image, fmt = finish(
        image, raster_device, raster_dpi, page_dpi, stop_on_soft_error, width, height
    )
    kwargs: dict[str, Any] = {"dpi": image.info["dpi"]} if "dpi" in image.info else {}
    if fmt == "PNG":
        kwargs["compress_level"] = PNG_LEVEL
    image.save(output_file, format=fmt, **kwargs)
    return output_file
