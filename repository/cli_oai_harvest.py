"""`kho oai-harvest URL`: pull records from another archive's OAI-PMH provider into a batch."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from repository.config import Settings
from repository.errors import KhoError
from repository.store import Store

Add = Callable[..., argparse.ArgumentParser]
EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 3
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$")


def _stamp(value: str) -> str:
    if not _STAMP.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an OAI-PMH datestamp; write YYYY-MM-DD or "
            "YYYY-MM-DDThh:mm:ssZ (UTC)."
        )
    return value


def _store(settings: Settings, writable: bool) -> Store | None:
    """The store, to check creators (and to ingest into); None when there is none yet."""
    from repository.store import embedded_path, open_store, open_store_read_only  # noqa: PLC0415

    path = embedded_path(settings)
    if path is not None and not path.exists():
        if writable:
            raise KhoError(
                f"No store at {path}. Run `kho harvest units` first, or set KHO_DATA_DIR."
            )
        return None
    try:
        return open_store(settings)
    except KhoError:
        if writable:
            raise
        return open_store_read_only(settings)  # a running server holds the lock: read a snapshot


def cmd_oai_harvest(args: argparse.Namespace, settings: Settings) -> int:
    from harvesters.oai_harvest import HarvestOptions, harvest

    store = _store(settings, writable=args.ingest)
    options = HarvestOptions(
        url=args.url,
        out=Path(args.out),
        sets=args.set or [],
        start=args.from_,
        end=args.until,
        prefix=args.prefix,
        incremental=args.incremental,
        state_dir=Path(settings.data_dir) / "oai-harvest",
        files=args.files,
        max_file_bytes=args.max_file_mb * 1024 * 1024,
        timeout=args.timeout,
        retries=args.retries,
    )
    report = harvest(options, store)
    result: dict[str, object] = {"harvest": report.to_json()}
    status = EXIT_OK
    if report.error:
        status = EXIT_ERROR
        print(f"kho oai-harvest: {report.error}", file=sys.stderr)
    elif report.skipped:
        status = EXIT_INVALID
    if args.ingest and report.sheet and not report.error:
        from repository.ingest import ingest_batch

        ingested = ingest_batch(
            options.out, store, settings, metadata_only=True, ocr=not args.no_ocr
        )
        result["ingest"] = ingested.to_json()
        if ingested.rejected:
            status = EXIT_INVALID
        if not args.json:
            print(ingested.text())
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(report.text())
    print(f"Báo cáo / report: {options.out / 'oai-harvest.json'}", file=sys.stderr)
    return status


def register(add: Add) -> None:
    p = add(
        "oai-harvest",
        cmd_oai_harvest,
        "Harvest another archive's OAI-PMH records into a batch folder (TT 05/2025 sheet + "
        "oai-harvest.json); exit 3 if records were skipped (see the report), 1 on an error.",
    )
    p.add_argument(
        "url", metavar="URL", help="the provider's base URL, or a static repository file"
    )
    p.add_argument("--out", required=True, metavar="BATCH_DIR", help="the batch folder to write")
    p.add_argument("--set", action="append", metavar="SPEC", help="a set to harvest (repeatable)")
    p.add_argument("--from", dest="from_", type=_stamp, metavar="DATE", help="from datestamp")
    p.add_argument("--until", type=_stamp, metavar="DATE", help="until datestamp (inclusive)")
    p.add_argument("--prefix", choices=["oai_dc", "rdf"], help="default: rdf when offered")
    p.add_argument(
        "--incremental",
        action="store_true",
        help="from = the last successful harvest's responseDate (DATA_DIR/oai-harvest/)",
    )
    p.add_argument("--files", action="store_true", help="download the documents' PDFs too")
    p.add_argument("--max-file-mb", type=int, default=50, help="largest PDF downloaded (MB)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    p.add_argument("--retries", type=int, default=4, help="retries on 503/429/5xx and timeouts")
    p.add_argument("--ingest", action="store_true", help="then ingest the batch (metadata only)")
    p.add_argument("--no-ocr", action="store_true", help="with --ingest: skip OCR of scans")
    p.add_argument("--json", action="store_true", help="print the report(s) as JSON")
