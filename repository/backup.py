"""`kho backup DEST` and `kho restore SRC`: full and incremental backup sets with checksums.

A backup set is a folder `DEST/kho-<time>-full` or `DEST/kho-<time>-incr` holding:

- the store: a full set has every quad (`store.nq.gz`, N-Quads); an incremental set has the quads
  added since its parent (`added.nq.gz`) and the digests of those removed (`removed.digests`).
  Every set keeps `state.digests`, the sorted 16-byte BLAKE2b digests of all the store's quads at
  that moment: the next incremental set is the difference from it, and a restore proves that it
  rebuilt exactly that state;
- the files (PDFs, PDF/A, OCR text, cached facts) new or changed since the parent set, under
  `files/` as in DATA_DIR/files; the manifest lists every file of the repository and which set
  holds it;
- the settings: the keys (`secret-key`, `pseudonym-key`), the users, grants and audit log
  (`users.sqlite3`, copied with SQLite's backup API), the registry cache, and the KHO_* values in
  force (`settings.json`, for the record: the environment is the operator's);
- `manifest.json` (what the set holds, its parent, counts) and `SHA256SUMS` (every file of the set,
  `sha256sum -c` checks it without Kho).

TT 05/2025 asks for at least two backup sets on different media: run `kho backup` to two DESTs.
A restore rebuilds the chain ending at SRC into an empty data directory, checking every checksum
first; the search indexes are rebuilt from the restored store.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from repository.backup_sets import (
    DATABASES,
    FORMAT,
    KEYS,
    BackupError,
    Progress,
    digest,
    latest_set,
    manifest,
    read_digests,
    sha256,
    write_digests,
)
from repository.config import Settings, settings_table
from repository.store import Store


@dataclass
class BackupReport:
    set: str
    kind: str
    parent: str | None
    quads: int = 0
    added: int = 0
    removed: int = 0
    files: int = 0
    files_copied: int = 0
    bytes_copied: int = 0
    seconds: float = 0.0

    def text(self) -> str:
        store = (
            f"{self.quads:,} quads"
            if self.kind == "full"
            else f"{self.quads:,} quads (+{self.added:,} / -{self.removed:,} since {self.parent})"
        )
        return (
            f"Bản sao lưu / backup set {self.set} ({self.kind}): store {store}; files "
            f"{self.files:,} ({self.files_copied:,} copied, {self.bytes_copied / 1e6:,.1f} MB); "
            f"settings and users; {self.seconds:.1f} s"
        )


def backup(
    store: Store,
    settings: Settings,
    dest: Path,
    *,
    incremental: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> BackupReport:
    """Write a backup set into `dest` (full, or incremental on the latest set there)."""
    say = progress or (lambda _m: None)
    started = datetime.now()
    now = now or started
    dest.mkdir(parents=True, exist_ok=True)
    with _lock(dest):
        return _backup(store, settings, dest, incremental, say, started, now)


@contextmanager
def _lock(dest: Path) -> Iterator[None]:
    """One backup into a DEST at a time; a set a killed backup left half-written is removed."""
    with (dest / ".kho-backup.lock").open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"Another kho backup is writing into {dest}; wait for it.") from None
        for stale in dest.glob(".kho-*-*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        yield


def _backup(
    store: Store,
    settings: Settings,
    dest: Path,
    incremental: bool,
    say: Progress,
    started: datetime,
    now: datetime,
) -> BackupReport:
    parent = latest_set(dest) if incremental else None
    if incremental and parent is None:
        raise BackupError(
            f"No backup set in {dest} to build an incremental one on: run `kho backup {dest}` "
            "(a full set) first."
        )
    parent_manifest = manifest(parent) if parent else None
    kind = "incr" if parent else "full"
    name = f"kho-{now.strftime('%Y%m%dT%H%M%S')}-{kind}"
    final = dest / name
    if final.exists():
        raise BackupError(f"{final} exists already; wait a second and run it again.")
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=dest))  # renamed into place when whole
    report = BackupReport(name, "full" if parent is None else "incremental", parent and parent.name)
    try:
        say("store: dump")
        dump = work / "dump.nq"
        store.dump(dump)
        _store_part(dump, work, parent, report, say)
        dump.unlink()
        say("files")
        files = _files_part(settings, work, parent_manifest, name, report)
        say("settings")
        _settings_part(settings, work)
        described = {
            "format": FORMAT,
            "name": name,
            "kind": report.kind,
            "parent": report.parent,
            "created": now.isoformat(timespec="seconds"),
            "store": {"quads": report.quads, "added": report.added, "removed": report.removed},
            "files": files,
        }
        (work / "manifest.json").write_text(json.dumps(described, indent=1, ensure_ascii=False))
        _write_sums(work)
        os.replace(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    report.seconds = round((datetime.now() - started).total_seconds(), 1)
    return report


def _store_part(
    dump: Path, work: Path, parent: Path | None, report: BackupReport, say: Progress
) -> None:
    digests: list[bytes] = []
    with dump.open("rb") as f:
        for line in f:
            if line.strip():
                digests.append(digest(line))
    digests.sort()
    report.quads = len(digests)
    write_digests(work / "state.digests", digests)
    if parent is None:
        with dump.open("rb") as f, gzip.open(work / "store.nq.gz", "wb", compresslevel=6) as out:
            shutil.copyfileobj(f, out, 1 << 20)
        return
    say("store: difference from " + parent.name)
    before = read_digests(parent / "state.digests")
    added, removed = _difference(digests, before)
    report.added, report.removed = len(added), len(removed)
    write_digests(work / "removed.digests", removed)
    wanted = set(added)
    with dump.open("rb") as f, gzip.open(work / "added.nq.gz", "wb", compresslevel=6) as out:
        for line in f:
            if line.strip() and digest(line) in wanted:
                out.write(line)


def _difference(now: list[bytes], before: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """(in `now` only, in `before` only) of two sorted lists, in one merge."""
    added, removed = [], []
    i = j = 0
    while i < len(now) and j < len(before):
        if now[i] == before[j]:
            i, j = i + 1, j + 1
        elif now[i] < before[j]:
            added.append(now[i])
            i += 1
        else:
            removed.append(before[j])
            j += 1
    return added + now[i:], removed + before[j:]


def _files_part(
    settings: Settings,
    work: Path,
    parent: dict[str, object] | None,
    name: str,
    report: BackupReport,
) -> dict[str, dict[str, object]]:
    """Every file of the file store with its checksum and the set holding it; copy the new ones.
    A file whose size and time match the parent's entry is not read again (PDFs never change:
    their name is their checksum; OCR text and facts are rewritten whole, with a new time)."""
    root = Path(settings.files_path)  # type: ignore[arg-type]
    known: dict[str, dict[str, object]] = dict(parent["files"]) if parent else {}  # type: ignore[arg-type]
    listed: dict[str, dict[str, object]] = {}
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        if not path.is_file() or path.name.startswith((".part-", ".")):
            continue
        rel = path.relative_to(root).as_posix()
        st = path.stat()
        old = known.get(rel)
        if old and old["size"] == st.st_size and old["mtime_ns"] == st.st_mtime_ns:
            listed[rel] = old
            continue
        target = work / "files" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        sha = sha256(target)
        listed[rel] = {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "set": name}
        report.files_copied += 1
        report.bytes_copied += st.st_size
    report.files = len(listed)
    return listed


def _settings_part(settings: Settings, work: Path) -> None:
    folder = work / "settings"
    folder.mkdir()
    data = Path(settings.data_dir)
    for key in KEYS:
        if (data / key).is_file():
            shutil.copy2(data / key, folder / key)
    places = {
        "users.sqlite3": settings.users_path,
        "registry-cache.sqlite3": getattr(settings, "registry_cache_path", None),
    }
    for db in DATABASES:
        source = Path(places.get(db) or data / db)
        if source.is_file():  # SQLite's backup API: a consistent copy while Kho serves
            with sqlite3.connect(source) as src, sqlite3.connect(folder / db) as dst:
                src.backup(dst)
            dst.close()
            src.close()
    secret = ("password", "key", "token")
    values = {
        name: str(getattr(settings, name[4:].lower()))
        for name, _default, _help in settings_table()
        if not any(s in name.lower() for s in secret)
    }
    (folder / "settings.json").write_text(json.dumps(values, indent=1, ensure_ascii=False))


def _write_sums(work: Path) -> None:
    lines = [
        f"{sha256(p)}  {p.relative_to(work).as_posix()}"
        for p in sorted(work.rglob("*"))
        if p.is_file() and p.name != "SHA256SUMS"
    ]
    (work / "SHA256SUMS").write_text("\n".join(lines) + "\n")
