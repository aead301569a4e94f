"""Harvest another archive's OAI-PMH records into an ingest batch (issue 5 §5).

Identify → ListMetadataFormats (Kho's `rdf` when offered, else oai_dc) → ListRecords per set,
following resumption tokens to the end → records read into TT 05/2025 fields (oai_records) →
hồ sơ with their documents (oai_batch) → the batch folder: `bang-ke-oai.xlsx`, optionally the
PDFs, and `oai-harvest.json` (source, sets, from/until, responseDate, counts, deleted records,
records skipped with why). Incremental harvests remember the last successful responseDate per
source and sets in DATA_DIR/oai-harvest/<slug>.json and ask `from` it next time.

Nothing lands half-way: if the harvest stops on an error, no sheet is written and the state is
not moved; the report says which request failed.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from harvesters.oai_batch import SHEET, Skipped, Unit, group, write_sheet
from harvesters.oai_client import OaiClient, OaiHarvestError
from harvesters.oai_records import Harvested, read_record
from repository.namespaces import RDF, Minter
from repository.store import Store

REPORT = "oai-harvest.json"
FILES = "files"
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass
class HarvestOptions:
    url: str
    out: Path
    sets: list[str] = field(default_factory=list)
    start: str | None = None  # from
    end: str | None = None  # until
    prefix: str | None = None  # None: rdf when offered, else oai_dc
    incremental: bool = False
    state_dir: Path | None = None  # DATA_DIR/oai-harvest
    files: bool = False
    max_file_bytes: int = MAX_FILE_BYTES
    timeout: float = 30.0
    retries: int = 4


@dataclass
class HarvestReport:
    source: str
    out: str
    started: str
    repository: str = ""
    prefix: str = ""
    sets: list[str] = field(default_factory=list)
    from_: str | None = None
    until: str | None = None
    incremental_from: str | None = None
    response_date: str = ""
    finished: str = ""
    requests: int = 0
    retries: int = 0
    pages: int = 0
    records: int = 0
    hoso_rows: int = 0
    doc_rows: int = 0
    files: int = 0
    deleted: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    sheet: str | None = None
    seconds: float = 0.0
    records_per_second: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["from"] = data.pop("from_")
        return data

    def text(self) -> str:
        lines = [
            f"Nguồn / source: {self.source} ({self.repository or '?'}), định dạng / format "
            f"{self.prefix or '?'}, tập / sets {', '.join(self.sets) or '—'}",
            f"Từ / from {self.from_ or '—'} đến / until {self.until or '—'}; responseDate "
            f"{self.response_date or '—'}",
            f"Bản ghi / records: {self.records} trong / in {self.pages} trang / pages, "
            f"{self.requests} yêu cầu / requests ({self.retries} thử lại / retries), "
            f"{self.records_per_second:.1f}/s",
            f"Hồ sơ / files: {self.hoso_rows}, tài liệu / documents: {self.doc_rows}, "
            f"tệp PDF / PDFs: {self.files}",
            f"Đã xóa ở nguồn / deleted at the source: {len(self.deleted)}",
        ]
        lines += [f"  - {d}" for d in self.deleted]
        lines.append(f"Bỏ qua / skipped: {len(self.skipped)}")
        lines += [f"  - {s['identifier']} ({s['where']}): {s['why_en']}" for s in self.skipped]
        lines += [f"Cảnh báo / warning: {w['identifier']}: {w['why_en']}" for w in self.warnings]
        if self.error:
            lines.append(f"LỖI / ERROR: {self.error}")
        if self.sheet:
            lines.append(f"Bảng kê / sheet: {self.sheet}")
        return "\n".join(lines) + "\n"


def state_path(state_dir: Path, url: str, sets: list[str], prefix: str) -> Path:
    """Where the incremental state of (source, sets, format) is kept."""
    parts = urlsplit(url)
    readable = re.sub(r"[^A-Za-z0-9]+", "-", f"{parts.netloc}{parts.path}").strip("-")[:60]
    digest = hashlib.sha256(json.dumps([url, sorted(sets), prefix]).encode()).hexdigest()[:10]
    return state_dir / f"{readable}-{digest}.json"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def harvest(options: HarvestOptions, store: Store | None = None) -> HarvestReport:
    """Harvest into `options.out`; `store` (when given) checks that creators resolve."""
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    report = HarvestReport(options.url, str(out), _now(), sets=list(options.sets))
    clock = time.perf_counter()
    client = OaiClient(options.url, timeout=options.timeout, retries=options.retries)
    try:
        _run(client, options, report, store, out)
    except OaiHarvestError as exc:
        report.error = exc.message
    finally:
        report.requests, report.retries = client.requests_made, client.retried
        report.seconds = round(time.perf_counter() - clock, 3)
        report.records_per_second = (
            round(report.records / report.seconds, 1) if report.seconds else 0.0
        )
        report.finished = _now()
        _write_json(out / REPORT, report.to_json())
    return report


def _run(
    client: OaiClient, o: HarvestOptions, report: HarvestReport, store: Store | None, out: Path
) -> None:
    identity = client.identify()
    report.repository = identity.name
    offered = client.formats()
    prefix = o.prefix or ("rdf" if offered.get("rdf") == RDF else "oai_dc")
    if prefix not in offered:
        raise OaiHarvestError(
            f"Nguồn không cung cấp định dạng {prefix}. / The provider does not offer {prefix!r} "
            f"(it offers {', '.join(offered) or 'nothing'}): use --prefix with one of them.",
            url=client.url,
            code="cannotDisseminateFormat",
        )
    report.prefix = prefix
    state = state_path(o.state_dir, o.url, o.sets, prefix) if o.state_dir else None
    start = o.start
    if o.incremental and start is None and state is not None and state.exists():
        start = json.loads(state.read_text(encoding="utf-8")).get("response_date")
        report.incremental_from = start
    start, end = _granular(start, o.end, identity.seconds)
    report.from_, report.until = start, end
    records: dict[str, Harvested] = {}
    for spec in o.sets or [None]:
        for page in client.list_records(prefix, spec, start, end):
            report.pages += 1
            if not report.response_date:
                report.response_date = page.response_date or report.started
            for n, node in enumerate(page.records, start=1):
                record = read_record(node, page.url, n, identity.base_url or o.url)
                report.records += 1
                if prefix == "rdf" and not record.deleted and not record.values:
                    record = _as_dc(client, record, identity.base_url or o.url)
                records.setdefault(record.identifier or f"?{page.url}#{n}", record)
    report.deleted = sorted(r.identifier for r in records.values() if r.deleted)
    live = [r for r in records.values() if not r.deleted]
    live += _missing_parents(client, live, prefix, identity.base_url or o.url)
    skipped: list[Skipped] = []
    units = group(live, store, skipped, files=o.files)
    warnings: list[Skipped] = []
    if o.files:
        report.files = _download(client, units, out, o.max_file_bytes, warnings)
    report.skipped = [asdict(s) for s in skipped]
    report.warnings = [asdict(w) for w in warnings]
    report.hoso_rows = len(units)
    report.doc_rows = sum(len(u.docs) for u in units)
    sheet = out / SHEET
    if units:
        report.sheet = str(write_sheet(out, units))
    elif sheet.exists():
        sheet.unlink()  # an earlier harvest's sheet must not be ingested again as this one
    if state is not None:
        state.parent.mkdir(parents=True, exist_ok=True)
        saved = {"source": o.url, "sets": o.sets, "prefix": prefix}
        _write_json(state, saved | {"response_date": report.response_date, "at": _now()})


def _granular(start: str | None, end: str | None, seconds: bool) -> tuple[str | None, str | None]:
    """from/until at the provider's granularity: a day-granular provider gets days; when one
    bound has seconds, the other gets them too (OAI-PMH wants both alike)."""
    if not seconds:
        return (start[:10] if start else None), (end[:10] if end else None)
    if start and end and ("T" in start) != ("T" in end):
        start = start if "T" in start else f"{start}T00:00:00Z"
        end = end if "T" in end else f"{end}T23:59:59Z"
    return start, end


def _as_dc(client: OaiClient, record: Harvested, base: str) -> Harvested:
    """A record whose RDF is not Kho's, fetched again as oai_dc."""
    node = client.get_record(record.identifier, "oai_dc") if record.identifier else None
    return read_record(node, record.request, record.position, base) if node is not None else record


def _missing_parents(
    client: OaiClient, records: list[Harvested], prefix: str, base: str
) -> list[Harvested]:
    """The hồ sơ that harvested documents name but the harvest did not bring (an incremental
    harvest, a set), by GetRecord: `oai:{host}:{path}` for a parent IRI on the provider's host."""
    known = {n for r in records if r.kind == "hoso" for n in r.names}
    fetched: list[Harvested] = []
    wanted = sorted({p for r in records if r.kind == "doc" for p in r.parents} - known)
    host = urlsplit(records[0].identifier).path.split(":")[0] if records else ""
    for parent in wanted:
        parts = urlsplit(parent)
        if parts.scheme == "oai":
            candidates = [parent]
        elif parts.scheme in ("http", "https") and parts.hostname == host and parts.path:
            candidates = [f"oai:{host}:{parts.path.lstrip('/')}"]  # Kho's identifier scheme
        else:
            continue  # a relation to something else, not a hồ sơ of this provider
        for identifier in candidates:
            node = client.get_record(identifier, prefix)
            if node is not None:
                found = read_record(node, f"GetRecord {identifier}", 1, base)
                if found.kind == "hoso":
                    found.names.add(parent)
                    fetched.append(found)
                    known |= found.names
                break
    return fetched


def _download(
    client: OaiClient, units: list[Unit], out: Path, limit: int, warnings: list[Skipped]
) -> int:
    """The documents' PDFs into out/files/ (each at most `limit` bytes); a failure only
    leaves the document without its file (it is described now, digitised later)."""
    folder = out / FILES
    count = 0
    for unit in units:
        for row, record in unit.docs:
            for url in record.pdf_urls[:1]:
                name = f"{FILES}/{Minter.record_key(row['docCode'])}.pdf"
                try:
                    with client.session.get(url, timeout=client.timeout, stream=True) as answer:
                        answer.raise_for_status()
                        data = b""
                        for chunk in answer.iter_content(65536):
                            data += chunk
                            if len(data) > limit:
                                raise ValueError(f"larger than {limit // 1048576} MB")
                    if not data.startswith(b"%PDF"):
                        raise ValueError("not a PDF")
                except (OSError, ValueError) as exc:  # requests' errors are OSErrors
                    warnings.append(
                        Skipped(
                            record.identifier,
                            url,
                            f"Không tải được PDF ({exc}); tài liệu vẫn được mô tả.",
                            f"The PDF could not be downloaded ({exc}); the document is still "
                            "described, without its file.",
                        )
                    )
                    continue
                folder.mkdir(parents=True, exist_ok=True)
                (out / name).write_bytes(data)
                row["fileName"] = name
                count += 1
    return count


def _write_json(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)
