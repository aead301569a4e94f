"""A PDF checked before any tool reads it, and the programs that read PDFs kept on a leash.

A contractor's PDF may be anything: another file renamed, cut short, encrypted, empty, or built
to hurt — 5,000 pages, a page of 20,000 inches, an image of 100,000 x 100,000 pixels, a stream
of a few MB that inflates to GBs. `preflight` reads only the file's structure (pikepdf, no page
is drawn, no stream held in memory) and refuses such a file with the reason, in Vietnamese and
English, and what to do; ingest then keeps the original quarantined with that reason. What a
check cannot foresee is bounded where the work happens: every program Kho runs on a PDF
(poppler, Tesseract, ocrmypdf's workers and their Ghostscript) gets an address-space limit and a
time limit (`limit_process`, `run_tool`).
"""

from __future__ import annotations

import os
import resource
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repository.errors import DamagedFile

MIB = 1 << 20
MAX_PAGE_UNITS = 14_400  # 200 in: the largest page PDF/A-2 allows (ISO 19005-2, 6.1.13)
OCR_DPI = 300
ASK = "Yêu cầu bên giao nộp gửi lại bản khác. / Ask the sender for a new copy."


@dataclass(frozen=True)
class PdfLimits:
    """What Kho agrees to read in one PDF (settings KHO_PDF_*; defaults for a 2-core server)."""

    max_bytes: int = 1 << 30  # KHO_PDF_MAX_BYTES: 1 GiB
    max_pages: int = 2000  # KHO_PDF_MAX_PAGES
    max_pixels: int = 250_000_000  # KHO_PDF_MAX_PIXELS: an image, or a page drawn for OCR
    max_stream_bytes: int = 256 * MIB  # one inflated content stream
    max_inflated_bytes: int = 1 << 30  # all inflated streams of the file together
    tool_memory: int = 3 << 30  # KHO_PDF_TOOL_MEMORY: address space of a program reading PDFs
    tool_seconds: int = 600  # KHO_PDF_TOOL_SECONDS: one program run on one PDF

    @classmethod
    def from_settings(cls, settings: object | None = None) -> PdfLimits:
        """Limits from Settings (pdf_max_bytes, ...) where it has them, else the defaults."""
        base = cls()
        names = {
            "max_bytes": "pdf_max_bytes",
            "max_pages": "pdf_max_pages",
            "max_pixels": "pdf_max_pixels",
            "tool_memory": "pdf_tool_memory",
            "tool_seconds": "pdf_tool_seconds",
        }
        values = {k: int(getattr(settings, s, getattr(base, k))) for k, s in names.items()}
        return cls(**values)


def refuse(vi: str, en: str) -> DamagedFile:
    return DamagedFile(f"{vi} / {en}")


_MAGIC: list[tuple[bytes, str, str]] = [
    (b"\xff\xd8\xff", "ảnh JPEG", "a JPEG image"),
    (b"\x89PNG", "ảnh PNG", "a PNG image"),
    (b"II*\x00", "ảnh TIFF", "a TIFF image"),
    (b"MM\x00*", "ảnh TIFF", "a TIFF image"),
    (b"GIF8", "ảnh GIF", "a GIF image"),
    (b"PK\x03\x04", "tệp nén ZIP (hoặc DOCX/XLSX)", "a ZIP archive (or DOCX/XLSX)"),
    (b"\xd0\xcf\x11\xe0", "tệp Office cũ (DOC/XLS)", "an old Office file (DOC/XLS)"),
    (b"Rar!", "tệp nén RAR", "a RAR archive"),
]


def _kind(head: bytes) -> tuple[str, str] | None:
    for magic, vi, en in _MAGIC:
        if head.startswith(magic):
            return vi, en
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<")):
        return "trang HTML/XML", "an HTML/XML page"
    return None


def preflight(pdf: Path, limits: PdfLimits | None = None) -> int:
    """The page count of a PDF Kho can read safely; DamagedFile (why, what to do) otherwise."""
    import pikepdf

    limits = limits or PdfLimits()
    pdf = Path(pdf)
    if not pdf.is_file():
        raise refuse(f"Không có tệp {pdf}.", f"No file {pdf}. Check the path.")
    size = pdf.stat().st_size
    if size == 0:
        raise refuse(
            "Tệp rỗng (0 byte), không phải PDF. " + ASK.split(" / ")[0],
            "The file is empty (0 bytes), not a PDF. " + ASK.split(" / ")[1],
        )
    if size > limits.max_bytes:
        raise refuse(
            f"Tệp quá lớn ({size:,} byte, giới hạn {limits.max_bytes:,}): tách tài liệu thành "
            "nhiều tệp, hoặc tăng KHO_PDF_MAX_BYTES nếu tệp là thật.",
            f"The file is too large ({size:,} bytes, the limit is {limits.max_bytes:,}): split "
            "the document into several files, or raise KHO_PDF_MAX_BYTES if it is genuine.",
        )
    with pdf.open("rb") as f:
        head = f.read(1024)
    if b"%PDF-" not in head:
        kind = _kind(head)
        if kind is None:
            raise refuse(
                "Không phải tệp PDF (không bắt đầu bằng %PDF-). Gửi lại bản PDF của tài liệu.",
                "Not a PDF (it does not start with %PDF-). Send the document as a PDF.",
            )
        raise refuse(
            f"Không phải tệp PDF mà là {kind[0]} được đổi tên thành .pdf. "
            "Gửi lại bản PDF của tài liệu.",
            f"Not a PDF but {kind[1]} renamed to .pdf. Send the document as a PDF.",
        )
    try:
        doc = pikepdf.open(pdf)
    except pikepdf.PasswordError:
        raise refuse(
            "Tệp PDF được mã hóa bằng mật khẩu nên không đọc được. Yêu cầu bản không mật khẩu.",
            "The PDF is encrypted with a password, so it cannot be read. "
            "Ask the sender for an unprotected copy.",
        ) from None
    except pikepdf.PdfError as exc:
        reason = str(exc).replace(str(pdf), "").lstrip(": ")
        raise refuse(
            f"Tệp PDF bị hỏng, không đọc được ({reason}). " + ASK.split(" / ")[0],
            f"The PDF is damaged, not a readable PDF ({reason}). " + ASK.split(" / ")[1],
        ) from None
    with doc:
        try:
            return _check_open(doc, limits)
        except DamagedFile:
            raise
        except Exception as exc:  # noqa: BLE001 - a malformed box, size or stream dictionary
            raise refuse(
                f"Tệp PDF bị hỏng, không đọc được ({type(exc).__name__}: {exc}). "
                + ASK.split(" / ")[0],
                f"The PDF is damaged, not a readable PDF ({type(exc).__name__}: {exc}). "
                + ASK.split(" / ")[1],
            ) from None


def _check_open(doc: Any, limits: PdfLimits) -> int:
    if doc.is_encrypted:  # an owner password only: readable, but PDF/A forbids encryption
        raise refuse(
            "Tệp PDF được mã hóa (mật khẩu chủ sở hữu, hạn chế sao chép/in). PDF/A cấm mã hóa "
            "và kho phải sao chép, chuyển đổi được tài liệu: yêu cầu bản không mã hóa "
            "(qpdf --decrypt).",
            "The PDF is encrypted (an owner password restricting copying/printing). PDF/A "
            "forbids encryption and the archive must be free to copy and migrate the document: "
            "ask for an unencrypted copy (qpdf --decrypt).",
        )
    repairs = doc.get_warnings()
    if repairs:  # qpdf rebuilt a broken file: pages may be missing, so do not pass it off as whole
        said = [w.split(": ", 1)[-1] for w in repairs]
        what = next((w for w in said if w != "file is damaged"), said[0])
        raise refuse(
            f"Tệp PDF bị hỏng ({what}); phải sửa cấu trúc mới đọc được, có thể mất trang. "
            "Xuất lại hoặc quét lại tài liệu.",
            f"The PDF is damaged ({what}); it could only be read by rebuilding it, and pages "
            "may be missing. Re-export or re-scan the document.",
        )
    pages = len(doc.pages)
    if pages == 0:
        raise refuse(
            "Tệp PDF không có trang nào. Xuất lại tài liệu.",
            "The PDF has no pages. Re-export the document.",
        )
    if pages > limits.max_pages:
        raise refuse(
            f"Tệp PDF có {pages:,} trang, quá giới hạn {limits.max_pages:,} trang một tệp: tách "
            "thành nhiều tệp, hoặc tăng KHO_PDF_MAX_PAGES nếu tệp là thật.",
            f"The PDF has {pages:,} pages, over the limit of {limits.max_pages:,} per file: "
            "split it, or raise KHO_PDF_MAX_PAGES if it is genuine.",
        )
    for n, page in enumerate(doc.pages, start=1):
        width, height = page_inches(page)
        if max(width, height) * 72 > MAX_PAGE_UNITS:
            raise refuse(
                f"Trang {n} có khổ {width:,.0f} × {height:,.0f} inch, vượt khổ tối đa 200 inch "
                "mà PDF/A cho phép. Xuất lại tài liệu đúng khổ giấy.",
                f"Page {n} is {width:,.0f} x {height:,.0f} inches, beyond the 200 inches PDF/A "
                "allows. Re-export the document at its paper size.",
            )
    _check_streams(doc, limits)
    return pages


def page_inches(page: Any) -> tuple[float, float]:
    """Width and height of a page in inches (MediaBox, with its UserUnit)."""
    box = [float(v) for v in page.mediabox]
    unit = float(page.obj.get("/UserUnit", 1))
    return abs(box[2] - box[0]) * unit / 72, abs(box[3] - box[1]) * unit / 72


def _check_streams(doc: Any, limits: PdfLimits) -> None:
    """Images within the pixel limit; every Flate stream inflating to no more than it may."""
    import pikepdf

    total = 0
    for obj in doc.objects:
        if not isinstance(obj, pikepdf.Stream):
            continue
        image = obj.get("/Subtype") == "/Image"
        allowed = limits.max_stream_bytes
        if image:
            width, height = int(obj.get("/Width", 0)), int(obj.get("/Height", 0))
            if width * height > limits.max_pixels:
                raise refuse(
                    f"Tệp PDF chứa ảnh {width:,} × {height:,} điểm ảnh, quá giới hạn "
                    f"{limits.max_pixels:,} (KHO_PDF_MAX_PIXELS): có thể là tệp độc hại. "
                    "Quét lại ở độ phân giải 200–300 dpi.",
                    f"The PDF holds an image of {width:,} x {height:,} pixels, over the limit of "
                    f"{limits.max_pixels:,} (KHO_PDF_MAX_PIXELS): possibly a hostile file. "
                    "Re-scan at 200-300 dpi.",
                )
            bits = int(obj.get("/BitsPerComponent", 8)) * 4  # at most CMYK
            allowed = (width * bits + 7) // 8 * height + MIB
        inflated = _inflated_size(obj, min(allowed, limits.max_inflated_bytes - total) + 1)
        total += inflated
        if inflated > allowed or total > limits.max_inflated_bytes:
            raise refuse(
                "Tệp PDF chứa dữ liệu nén giải nén ra lớn bất thường (bom giải nén): "
                "từ chối để bảo vệ máy chủ. " + ASK.split(" / ")[0],
                "The PDF holds compressed data that inflates far beyond any real document "
                "(a decompression bomb): refused to protect the server. " + ASK.split(" / ")[1],
            )


def _inflated_size(stream: Any, cap: int) -> int:
    """Bytes a FlateDecode stream inflates to, counted up to `cap` without keeping them."""
    import pikepdf

    filters = stream.get("/Filter")
    first = filters[0] if isinstance(filters, pikepdf.Array) and len(filters) else filters
    if str(first) != "/FlateDecode":
        return 0
    try:
        data = stream.read_raw_bytes()
    except Exception:  # noqa: BLE001 - an unreadable stream is the tools' problem, bounded there
        return 0
    inflater = zlib.decompressobj()
    size = 0
    try:
        chunk = inflater.decompress(data, 16 * MIB)
        while True:
            size += len(chunk)
            if size >= cap or not inflater.unconsumed_tail:
                return size
            chunk = inflater.decompress(inflater.unconsumed_tail, 16 * MIB)
    except zlib.error:
        return size  # a broken stream: what inflated counts; the tools read what they can


# --- the programs that read PDFs, bounded ---------------------------------------------------


def limit_process(limits: PdfLimits | None = None) -> Callable[[], None]:
    """A preexec_fn / initializer: cap this process's address space at limits.tool_memory
    (inherited by every program it starts), so a hostile PDF fails the file, not the server."""
    memory = (limits or PdfLimits()).tool_memory

    def apply() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))

    return apply


def run_tool(
    args: list[str], pdf: Path, limits: PdfLimits | None = None
) -> subprocess.CompletedProcess:
    """Run a PDF program with the memory and time limits; DamagedFile if it blows either."""
    limits = limits or PdfLimits()
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # Tesseract: ~3x faster so on a small machine
    try:
        done = subprocess.run(
            args,
            capture_output=True,
            check=False,
            text=True,
            env=env,
            timeout=limits.tool_seconds,
            preexec_fn=limit_process(limits),  # noqa: PLW1509 - setrlimit only, no locks
        )
    except FileNotFoundError as exc:
        raise DamagedFile(
            f"Cannot read {pdf.name}: the program {args[0]} is missing. Install poppler-utils "
            "and tesseract-ocr (with tesseract-ocr-vie)."
        ) from exc
    except subprocess.TimeoutExpired:  # run() has killed the program and reaped it
        raise refuse(
            f"{args[0]} đọc tệp quá {limits.tool_seconds} giây nên bị dừng: tệp có thể độc hại "
            "hoặc quá lớn (tăng KHO_PDF_TOOL_SECONDS nếu tệp là thật).",
            f"{args[0]} took over {limits.tool_seconds} s on the file and was stopped: it may "
            "be hostile or too large (raise KHO_PDF_TOOL_SECONDS if it is genuine).",
        ) from None
    said = (done.stderr or "").lower()
    if done.returncode < 0 or "alloc" in said or "memory" in said:
        raise refuse(
            f"{args[0]} dừng khi đọc tệp (vượt giới hạn bộ nhớ "
            f"{limits.tool_memory // MIB:,} MiB?): tệp có thể độc hại.",
            f"{args[0]} stopped while reading the file (over the memory limit of "
            f"{limits.tool_memory // MIB:,} MiB?): the file may be hostile.",
        )
    return done


def raster_dpi(page_width: float, page_height: float, max_pixels: int) -> int:
    """The OCR resolution for a page of that size (inches): 300 dpi, less for a page so large
    that 300 dpi would exceed `max_pixels`; at least 1."""
    area = max(page_width * page_height, 1e-6)
    return max(1, min(OCR_DPI, int((max_pixels / area) ** 0.5)))


def check_raster(pdf: Path, limits: PdfLimits | None = None) -> None:
    """Refuse a scan whose pages, drawn at 300 dpi for OCR, would exceed the pixel limit."""
    import pikepdf

    limits = limits or PdfLimits()
    with pikepdf.open(pdf) as doc:
        for n, page in enumerate(doc.pages, start=1):
            width, height = page_inches(page)
            pixels = width * height * OCR_DPI * OCR_DPI
            if pixels > limits.max_pixels:
                raise refuse(
                    f"Trang {n} ({width:,.0f} × {height:,.0f} inch) quá lớn để nhận dạng chữ "
                    f"(OCR) ở {OCR_DPI} dpi: {pixels:,.0f} điểm ảnh, giới hạn "
                    f"{limits.max_pixels:,}. Quét lại đúng khổ giấy.",
                    f"Page {n} ({width:,.0f} x {height:,.0f} in) is too large to OCR at "
                    f"{OCR_DPI} dpi: {pixels:,.0f} pixels, the limit is {limits.max_pixels:,}. "
                    "Re-scan at the paper's size.",
                )
