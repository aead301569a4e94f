"""The `kho` command: thin wrappers over the core.

Errors go to stderr; the exit codes are listed in the README.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from repository import cli_oai_harvest, cli_registries, cli_reliability, cli_users, gazetteer
from repository.config import Settings, settings_table
from repository.errors import KhoError
from repository.store import GRAPH_FORMATS, Store, embedded_path, open_store

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INVALID = 0, 1, 2, 3


def today(settings: Settings) -> date:
    return date.fromisoformat(settings.today) if settings.today else date.today()


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-06-30."
        ) from None


def _progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cmd_harvest(args: argparse.Namespace, settings: Settings) -> int:
    from harvesters.units import harvest_units

    store = open_store(settings)
    report = harvest_units(store, settings, progress=_progress)
    print(report.text())
    if not args.no_index:
        cmd_index(args, settings, store)
    return EXIT_OK


def cmd_index(args: argparse.Namespace, settings: Settings, store: Store | None = None) -> int:
    from repository.search_index import build_index, unit_index_path

    store = store or open_for_reading(settings)
    count = build_index(store, settings, progress=_progress)
    print(f"Chỉ mục tìm kiếm / search index: {count:,} units at {unit_index_path(settings)}")
    return EXIT_OK


def open_for_reading(settings: Settings) -> Store:
    """Open the store; if a running server holds it, read a snapshot instead of failing."""
    path = embedded_path(settings)
    if path is not None and not path.exists():
        raise KhoError(
            f"No store at {path}. Run `kho harvest units` first "
            "(or `make run`), or set KHO_DATA_DIR (or KHO_STORE)."
        )
    return open_store(settings)


def cmd_lineage(args: argparse.Namespace, settings: Settings) -> int:
    store = open_for_reading(settings)
    results, errors = [], []
    for code in args.codes:
        try:
            results.append(gazetteer.lineage(store, code, args.on, today(settings)))
        except KhoError as exc:
            errors.append(exc.message)
            print(f"kho lineage: {exc.message}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(gazetteer.lineage_text(r) for r in results))
    return EXIT_ERROR if errors else EXIT_OK


def cmd_sparql(args: argparse.Namespace, settings: Settings) -> int:
    query = (
        Path(args.query[1:]).read_text(encoding="utf-8")
        if args.query.startswith("@")
        else args.query
    )
    if query == "-":
        query = sys.stdin.read()
    store = open_for_reading(settings)
    result = store.query(query)
    fmt = args.format
    if result.form in ("SELECT", "ASK"):
        if fmt == "table":
            print(_table(store, query) if result.form == "SELECT" else str(bool(result.result)))
            return EXIT_OK
        sys.stdout.write(result.serialize(fmt).decode("utf-8"))
    else:
        sys.stdout.write(result.serialize(fmt if fmt in GRAPH_FORMATS else "turtle").decode())
    return EXIT_OK


def _table(store: Store, query: str) -> str:
    rows = store.select(query)
    if not rows:
        return "(no rows / không có kết quả)"
    cols = list(rows[0])
    cells = [[("" if r[c] is None else str(r[c])) for c in cols] for r in rows]
    widths = [min(60, max(len(c), *(len(row[i]) for row in cells))) for i, c in enumerate(cols)]
    fmt = "  ".join(f"{{:<{w}.{w}}}" for w in widths)
    lines = [fmt.format(*cols), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in cells]
    lines.append(f"({len(rows)} rows)")
    return "\n".join(lines)


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from repository.config import PROJECT_DIR
    from repository.validation import load_shapes, validate_store

    store = open_for_reading(settings)
    started = time.monotonic()
    report = validate_store(store, load_shapes(PROJECT_DIR / "shapes"))
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(report.text(lang=args.lang))
        print(f"({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return EXIT_OK if report.conforms else EXIT_INVALID


def cmd_dump(args: argparse.Namespace, settings: Settings) -> int:
    n = open_for_reading(settings).dump(Path(args.path))
    print(f"{n:,} quads written to {args.path}")
    return EXIT_OK


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    n = open_store(settings).load_dump(Path(args.path))
    print(f"store now holds {n:,} quads")
    return EXIT_OK


def cmd_fixity(args: argparse.Namespace, settings: Settings) -> int:
    from repository.files import FileStore
    from repository.preservation import run_fixity

    store = open_for_reading(settings)
    report = run_fixity(store, FileStore(settings.files_path), progress=_progress)  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(report.text())
    return EXIT_OK if report.ok else EXIT_INVALID


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    from repository.retention import due, due_text, priority_counts

    if args.retention_command == "groups":
        counts = priority_counts(open_for_reading(settings))
        if args.json:
            print(json.dumps(counts, ensure_ascii=False, indent=2))
            return EXIT_OK
        print(f"{'nhóm/group':10} {'hồ sơ/files':>12} {'trang/pages':>12}  ưu tiên / priority")
        for group, c in counts.items():
            print(
                f"{group:<10} {c['hoso']:>12,} {c['pages']:>12,}  {c['label_vi']} / {c['label_en']}"
            )
        return EXIT_OK
    items = due(open_for_reading(settings), args.before)
    if args.json:
        print(json.dumps([i.to_json() for i in items], ensure_ascii=False, indent=2))
    else:
        print(due_text(items, args.before))
    return EXIT_OK


def cmd_flags(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime

    from repository import dedup
    from repository.preservation import VN_TZ

    if args.flags_command in ("confirm", "overturn"):
        store = open_store(settings)
        status = "confirmed" if args.flags_command == "confirm" else "overturned"
        for flag in args.flag:
            dedup.set_review(store, flag, status, args.by, datetime.now(VN_TZ))
            print(f"{status}: {flag}")
        return EXIT_OK
    flags = dedup.list_flags(open_for_reading(settings), status=args.status, kind=args.kind)
    if args.json:
        print(json.dumps(flags, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"Cờ chất lượng / quality flags: {len(flags)}")
    for f in flags:
        detail = (
            f" {f['field']}: {f['sheet_value']!r} ≠ {f['extracted_value']!r}" if f["field"] else ""
        )
        print(f"- [{f['status']}] {f['kind']}{detail} — {f['resource']}")
        print(f"  {f['flag']}" + (f"  ({f['note']})" if f["note"] else ""))
    return EXIT_OK


def in_background(settings: Settings) -> int:
    """Lower this process's CPU priority by settings.background_nice (its children, the OCR
    workers, inherit it): work that can wait yields the cores to readers. The new niceness."""
    from repository.processes import lower_priority

    return lower_priority(settings.background_nice)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from repository.ingest import ingest_batch
    from repository.ocr import progress_bar

    in_background(settings)
    store = open_store(settings)
    status = EXIT_OK
    for folder in args.batch_dirs:
        report = ingest_batch(
            Path(folder),
            store,
            settings,
            jobs=args.jobs,
            ocr=not args.no_ocr,
            metadata_only=args.metadata_only,
            progress=_progress,
            ocr_progress=progress_bar("OCR"),
        )
        if args.json:
            print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        else:
            print(report.text())
        print(f"Báo cáo / report: {Path(folder) / 'kho-report.txt'}", file=sys.stderr)
        if report.rejected:
            status = EXIT_INVALID
    return status


def cmd_demo_batches(args: argparse.Namespace, settings: Settings) -> int:
    from harvesters.demo_batch import write_demo

    folders = write_demo(
        Path(args.folder), documents=args.documents, seed=args.seed, progress=_progress
    )
    for folder in folders:
        print(folder)
    return EXIT_OK


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    from repository.reindex import progress_bar, reindex

    in_background(settings)
    store = open_for_reading(settings)
    from repository import index_journal

    started = index_journal.left_behind(settings)
    report = reindex(
        store,
        settings,
        units=not args.records_only,
        records=not args.units_only,
        progress=progress_bar(),
    )
    if not args.units_only:
        for entry in started:  # the rebuild read the store after they were committed
            entry.path.unlink(missing_ok=True)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(report.text())
    return EXIT_OK


def cmd_extract(args: argparse.Namespace, settings: Settings) -> int:
    from repository.extraction import extract_pdf
    from repository.store import open_store_read_only

    store = None
    path = embedded_path(settings)
    if path is None or path.exists():
        try:
            store = open_store(settings)
        except KhoError:  # a running server holds the lock: read it read-only
            store = open_store_read_only(settings)
    fields = extract_pdf(Path(args.pdf), store, language=settings.ocr_language).to_json()
    if args.json:
        print(json.dumps(fields, ensure_ascii=False, indent=2))
    else:
        for name, value in fields.items():
            if isinstance(value, (dict, list)):
                value = json.dumps(value, ensure_ascii=False)
            print(f"{name:14} {'' if value is None else value}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from repository import index_journal
    from repository.store import is_embedded

    if not is_embedded(settings) or (embedded_path(settings) or Path()).exists():
        # an ingest or rebuild killed earlier: its records reach the index before anyone searches
        index_journal.recover(open_store(settings), settings)
    # The web layer is imported only here, so the core stays free of Flask.
    webapp = importlib.import_module("webapp")
    webapp.serve(settings, host=args.host, port=args.port, dev=args.dev)
    return EXIT_OK


def cmd_store(args: argparse.Namespace, settings: Settings) -> int:
    if args.adopt_under:
        store = open_store(settings)
        adopted = store.adopt_graphs(args.adopt_under)
        print(f"Kho nhận {len(adopted)} đồ thị / Kho now sees {len(adopted)} graphs")
    else:
        store = open_for_reading(settings)
    print(f"Kho lưu trữ / triple store: {store.backend}")
    for graph in store.named_graphs():
        print(f"{store.count(graph):>12,}  {graph}")
    return EXIT_OK


def cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    for name, default, help_ in settings_table():
        value = getattr(settings, name[4:].lower())
        print(f"{name:22} = {value}\n{'':25}{help_} (default {default})")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kho", description="Kho: Hanoi's linked-data archive.")
    sub = p.add_subparsers(dest="command", required=True)
    commands: dict[str, Callable[[argparse.Namespace, Settings], int]] = {}

    def add(
        name: str, fn: Callable[[argparse.Namespace, Settings], int], help_: str
    ) -> argparse.ArgumentParser:
        commands[name] = fn
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(fn=fn)
        return sp

    h = add("harvest", cmd_harvest, "Build or refresh data from a source.")
    h.add_argument("source", choices=["units"], help="units: the gazetteer and agencies")
    h.add_argument("--no-index", action="store_true", help="do not rebuild the search index")
    add("index", cmd_index, "Rebuild the search index from the store.")
    li = add(
        "lineage",
        cmd_lineage,
        "For each code, the unit that bore it on a date, and its "
        "predecessors, successors and the units valid today.",
    )
    li.add_argument("codes", nargs="+", metavar="CODE")
    li.add_argument("--on", type=_date, help="date YYYY-MM-DD (default: today)")
    li.add_argument("--json", action="store_true", help="print JSON")
    sq = add("sparql", cmd_sparql, "Run a read-only SPARQL query (text, @file or - for stdin).")
    sq.add_argument("query")
    sq.add_argument(
        "--format",
        default="table",
        choices=["table", "json", "csv", "tsv", "xml", "turtle", "ntriples", "jsonld"],
    )
    va = add("validate", cmd_validate, "SHACL-validate the store; exit 3 on violations.")
    va.add_argument("--json", action="store_true")
    va.add_argument("--lang", choices=["vi", "en"], default="vi")
    st = add("store", cmd_store, "Which triple store is in use, its named graphs and their sizes.")
    st.add_argument(
        "--adopt-under",
        metavar="PREFIX",
        help="on a server: make graphs loaded by its own bulk loader Kho's (those under PREFIX, "
        "usually KHO_BASE_IRI)",
    )
    du = add("dump", cmd_dump, "Write the whole store as N-Quads.")
    du.add_argument("path")
    lo = add("load", cmd_load, "Load an N-Quads dump into the store (all or nothing).")
    lo.add_argument("path")
    fx = add("fixity", cmd_fixity, "Re-verify every stored file's SHA-256; exit 3 on a problem.")
    fx.add_argument("--json", action="store_true", help="print JSON")
    rt = add("retention", cmd_retention, "Retention decisions (TT 05/2025 maintenance codes).")
    rts = rt.add_subparsers(dest="retention_command", required=True)
    rd = rts.add_parser("due", help="hồ sơ whose review/disposal date is on or before a date")
    rd.add_argument("--before", type=_date, required=True, help="date YYYY-MM-DD (inclusive)")
    rd.add_argument("--json", action="store_true", help="print JSON")
    rg = rts.add_parser("groups", help="hồ sơ and pages per digitisation priority group (1–5)")
    rg.add_argument("--json", action="store_true", help="print JSON")
    fl = add(
        "flags", cmd_flags, "Quality and duplicate flags for archivists: list, confirm, overturn."
    )
    fls = fl.add_subparsers(dest="flags_command", required=True)
    fll = fls.add_parser("list", help="list flags (default: all)")
    fll.add_argument("--status", choices=["xem-xet-huy", "under-review", "confirmed", "overturned"])
    fll.add_argument("--kind", help="e.g. duplicate-file, near-duplicate, extraction-mismatch")
    fll.add_argument("--json", action="store_true", help="print JSON")
    for verb, what in (
        ("confirm", "confirm (the duplicate/damage is real)"),
        ("overturn", "overturn (keep the record)"),
    ):
        fv = fls.add_parser(verb, help=f"{what}; recorded with who and when")
        fv.add_argument("flag", nargs="+", metavar="FLAG_IRI")
        fv.add_argument("--by", required=True, help="who decides (name or IRI)")
    ing = add(
        "ingest",
        cmd_ingest,
        "Ingest batch folders (metadata sheet + PDFs): validate, OCR, extract, de-duplicate, "
        "commit; exit 3 if any row was rejected (see kho-report.txt in the folder).",
    )
    ing.add_argument("batch_dirs", nargs="+", metavar="BATCH_DIR")
    ing.add_argument("--jobs", type=int, help="files OCR'd in parallel (default KHO_OCR_JOBS)")
    ing.add_argument("--no-ocr", action="store_true", help="skip OCR of scanned PDFs")
    ing.add_argument(
        "--metadata-only",
        action="store_true",
        help="documents without a PDF land as described records (digitised later)",
    )
    ing.add_argument("--json", action="store_true", help="print the report as JSON")
    de = add(
        "demo-batches",
        cmd_demo_batches,
        "Write demo batches (generated documents in the official layouts, some scanned, "
        "with TT 05/2025 and TT 02/2019 sheets) into FOLDER.",
    )
    de.add_argument("folder", metavar="FOLDER")
    de.add_argument("--documents", type=int, default=48)
    de.add_argument("--seed", type=int, default=2025)
    ri = add(
        "reindex",
        cmd_reindex,
        "Rebuild the search indexes (units, records) from the store, with progress.",
    )
    only = ri.add_mutually_exclusive_group()
    only.add_argument("--records-only", action="store_true", help="only the records index")
    only.add_argument("--units-only", action="store_true", help="only the units index")
    ri.add_argument("--json", action="store_true", help="print the report as JSON")
    ex = add(
        "extract",
        cmd_extract,
        "Read the fields of one PDF: type, number, date, issuer, subject, signer, registry "
        "references (OCR if it has no text layer).",
    )
    ex.add_argument("pdf", metavar="FILE.pdf")
    ex.add_argument("--json", action="store_true", help="print JSON")
    se = add("serve", cmd_serve, "Serve the web app.")
    se.add_argument("--host", default="127.0.0.1")
    se.add_argument("--port", type=int, default=5000)
    se.add_argument(
        "--dev", action="store_true", help="Flask's development server instead of waitress"
    )
    cli_users.register(add)
    cli_registries.register(add)
    cli_oai_harvest.register(add)
    cli_reliability.register(add)
    add("settings", cmd_settings, "Show every setting, its value and what it does.")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return args.fn(args, settings)
    except KhoError as exc:
        print(f"kho {args.command}: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("kho: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
