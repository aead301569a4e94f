"""`kho check`, `kho backup` and `kho restore`: the commands that keep the archive whole."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from repository.config import Settings
from repository.store import Store

Add = Callable[[str, Callable[[argparse.Namespace, Settings], int], str], argparse.ArgumentParser]


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from repository.cli import EXIT_INVALID, EXIT_OK  # noqa: PLC0415
    from repository.consistency import check  # noqa: PLC0415
    from repository.store import open_store  # noqa: PLC0415

    store = open_store(settings) if args.repair else _reading(settings)  # beside kho serve too
    report = check(store, settings, deep=args.deep, repair=args.repair, progress=_say)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(report.text())
    return EXIT_INVALID if report.errors else EXIT_OK


def _reading(settings: Settings) -> Store:
    """The store to read: a snapshot of the embedded store when `kho serve` holds it."""
    from repository.cli import open_for_reading  # noqa: PLC0415
    from repository.errors import KhoError  # noqa: PLC0415
    from repository.store import open_store_read_only  # noqa: PLC0415

    try:
        return open_for_reading(settings)
    except KhoError:
        return open_store_read_only(settings)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from repository.backup import backup  # noqa: PLC0415
    from repository.cli import EXIT_OK  # noqa: PLC0415

    report = backup(
        _reading(settings), settings, Path(args.dest), incremental=args.incremental, progress=_say
    )
    print(json.dumps(report.__dict__, indent=2) if args.json else report.text())
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from repository.backup_sets import chain, verify  # noqa: PLC0415
    from repository.cli import EXIT_OK  # noqa: PLC0415
    from repository.restore import restore  # noqa: PLC0415

    if args.verify_only:
        sets = chain(Path(args.src))
        checked = verify(sets, _say)
        print(
            f"Bản sao lưu nguyên vẹn / backup intact: {' → '.join(s.name for s in sets)}, "
            f"{checked:,} checksums verified"
        )
        return EXIT_OK
    report = restore(Path(args.src), settings, progress=_say)
    print(json.dumps(report.__dict__, indent=2) if args.json else report.text())
    return EXIT_OK


def register(add: Add) -> None:
    bk = add(
        "backup",
        cmd_backup,
        "Write a backup set into DEST: the store as N-Quads, the files, keys, users and settings, "
        "with a SHA256SUMS manifest. Full, or --incremental on the latest set in DEST.",
    )
    bk.add_argument("dest", metavar="DEST")
    bk.add_argument(
        "--incremental", action="store_true", help="only what changed since the last set"
    )
    bk.add_argument("--json", action="store_true", help="print the report as JSON")
    rs = add(
        "restore",
        cmd_restore,
        "Restore the backup chain ending at SRC (a set, or the folder of sets: its latest) into "
        "an empty KHO_DATA_DIR, checking every checksum; the search indexes are rebuilt.",
    )
    rs.add_argument("src", metavar="SRC")
    rs.add_argument("--verify-only", action="store_true", help="only check the sets' checksums")
    rs.add_argument("--json", action="store_true", help="print the report as JSON")
    ck = add(
        "check",
        cmd_check,
        "Check that the store, the files and the search index agree; exit 3 on problems. "
        "--repair finishes interrupted work (index journal, swaps, temp files, index gaps).",
    )
    ck.add_argument("--deep", action="store_true", help="also re-hash every file (slow)")
    ck.add_argument("--repair", action="store_true", help="finish or clear unfinished work")
    ck.add_argument("--json", action="store_true", help="print the report as JSON")
