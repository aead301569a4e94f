"""The digital side of a batch: store each PDF by checksum, get its text (its own text layer, or
OCR to a searchable PDF/A), and remember what was found so a re-ingest never OCRs twice.

What is known about a stored file is kept beside it as `<sha>.json` (pages, text layer, the PDF/A
made from it, or why it is damaged); its text as `<sha>.txt`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from repository.errors import KhoError
from repository.files import FileStore, StoredFile
from repository.pdfcheck import PdfLimits, check_raster, preflight
from repository.text import nfc


@dataclass
class FileFacts:
    """What Kho learnt from one stored PDF."""

    sha256: str
    size: int
    pages: int = 0
    has_text_layer: bool = False
    ocr: bool = False
    pdfa_sha256: str | None = None
    pdfa_size: int | None = None
    damaged: str | None = None  # why the file could not be read, if it could not
    ocr_seconds: float = 0.0

    @property
    def readable(self) -> bool:
        return self.damaged is None


def _facts_path(files: FileStore, sha: str) -> Path:
    return files.path_for(sha, ".json")


def load_facts(files: FileStore, sha: str) -> FileFacts | None:
    path = _facts_path(files, sha)
    if not path.is_file():
        return None
    try:
        return FileFacts(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        return None  # an unreadable cache is recomputed, never trusted


def save_facts(files: FileStore, facts: FileFacts) -> None:
    path = _facts_path(files, facts.sha256)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(facts)), encoding="utf-8")
    tmp.replace(path)
    files.finish_derived(facts.sha256, keep=facts.pdfa_sha256)  # a killed run's PDF/A goes


def page_count(pdf: Path) -> int:
    """Pages of a PDF that passes `pdfcheck.preflight` (DamagedFile otherwise)."""
    return preflight(pdf)


def read_files(
    stored: list[StoredFile],
    files: FileStore,
    *,
    language: str,
    jobs: int,
    ocr: bool = True,
    progress: Callable[[int, int], None] | None = None,
    limits: PdfLimits | None = None,
) -> dict[str, FileFacts]:
    """Facts and text for every stored PDF: cached ones as they are, the rest read or OCR'd.

    Every new file passes `pdfcheck.preflight` first (and a scan `check_raster` before OCR): a
    file that is not a readable, safe PDF gets `damaged` = why and what to do, in Vietnamese
    and English, and is never handed to a tool; ingest quarantines it.
    """
    from repository import pdftext
    from repository.ocr import OcrFailure, ocr_many

    limits = limits or PdfLimits()

    facts: dict[str, FileFacts] = {}
    to_ocr: list[StoredFile] = []
    for sf in stored:
        if sf.sha256 in facts:
            continue
        cached = load_facts(files, sf.sha256)
        if cached is not None and (
            cached.ocr or cached.has_text_layer or cached.damaged or not ocr
        ):
            facts[sf.sha256] = cached
            continue
        fact = FileFacts(sf.sha256, sf.size)
        try:
            fact.pages = preflight(sf.path, limits)
            fact.has_text_layer = pdftext.has_text_layer(sf.path, checked=True)
            if not fact.has_text_layer and ocr:
                check_raster(sf.path, limits)
        except Exception as exc:  # noqa: BLE001 - pikepdf raises many types for broken files
            fact.damaged = _reason(exc)
            facts[sf.sha256] = fact
            save_facts(files, fact)
            continue
        facts[sf.sha256] = fact
        if fact.has_text_layer:
            try:
                pages, _ = pdftext.page_texts(sf.path, language=language, limits=limits)
            except KhoError as exc:
                fact.damaged = _reason(exc)
            else:
                files.put_text(sf.sha256, nfc("\f".join(pages)))
            save_facts(files, fact)
        elif ocr:
            to_ocr.append(sf)
        else:
            save_facts(files, fact)
    if to_ocr:
        with tempfile.TemporaryDirectory(prefix="kho-ocr-") as tmp:
            pairs = [(sf.path, Path(tmp) / f"{sf.sha256}.pdf") for sf in to_ocr]
            results = ocr_many(
                pairs, language=language, jobs=jobs, progress=progress, limits=limits
            )
            for sf, (_, dst), result in zip(to_ocr, pairs, results, strict=True):
                fact = facts[sf.sha256]
                if isinstance(result, OcrFailure):  # the reason without the file store's path
                    fact.damaged = "OCR: " + result.reason.removeprefix(f"{sf.path}: ")
                else:
                    pdfa = files.put_derived(dst, of=sf.sha256)
                    fact.ocr = True
                    fact.pdfa_sha256, fact.pdfa_size = pdfa.sha256, pdfa.size
                    fact.ocr_seconds = round(result.seconds, 2)
                    files.put_text(sf.sha256, nfc("\f".join(result.texts)))
        ocrd = [sf for sf in to_ocr if facts[sf.sha256].ocr]
        _layout_texts(ocrd, files, language, jobs, limits)
        for sf in to_ocr:
            save_facts(files, facts[sf.sha256])
    return facts


def _layout_texts(
    stored: list[StoredFile],
    files: FileStore,
    language: str,
    jobs: int,
    limits: PdfLimits | None = None,
) -> None:
    """Text for field extraction and search, read in the page's layout (pdftext's OCR: seal and
    signature colours dropped, deskewed, two-column header kept), which reads the ND 30/2020
    header far better than the PDF/A's text layer. The PDF/A's own layer stays as ocrmypdf made it;
    if this reading fails, the PDF/A's text is kept."""
    from concurrent.futures import ThreadPoolExecutor

    from repository import pdftext

    def read(sf: StoredFile) -> None:
        try:
            pages, _ = pdftext.page_texts(sf.path, language=language, limits=limits)
        except Exception:  # noqa: BLE001 - the OCR text from the PDF/A is already stored
            return
        if any(p.strip() for p in pages):
            files.put_text(sf.sha256, nfc("\f".join(pages)))

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        list(pool.map(read, stored))


def page_texts(files: FileStore, sha: str) -> list[str]:
    text = files.text(sha) or ""
    return text.split("\f") if text else []


def _reason(exc: Exception) -> str:
    """Why a file cannot be read, in words for the archivist (never a path of the file store)."""
    if isinstance(exc, KhoError):  # preflight's and the tools' own words: why and what to do
        return exc.message
    message = str(exc) or type(exc).__name__
    if "password" in message.lower() or "encrypt" in message.lower():
        return f"tệp PDF được mã hóa / the PDF is encrypted ({message})"
    return f"không đọc được tệp PDF / unreadable PDF ({message})"
