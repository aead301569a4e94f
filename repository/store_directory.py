"""How Kho's processes share an embedded store's directory (repository.store_oxigraph's engines).

* The write lock (DATA_DIR/store/kho-write.lock, flock; the holder's pid and command in it): one
  write at a time across processes, each opening the directory read-write for its length only.
  A view opens under a shared hold of the same lock, so never while a process has the directory
  open read-write (RocksDB leaves undefined what a read-only open sees then).
* Private copies: a read-only RocksDB store opens its table files as it needs them, and a
  writer's compaction deletes the ones it replaced, so a view opened before the compaction would
  fail on a file that is gone. A view therefore opens a private copy of the directory, made
  between two writes: hard links to the table files (never changed once written) and copies of
  the small rest (DATA_DIR/store/kho-views/PID-START-N). A copy goes VIEW_GRACE_SECONDS after a
  newer view replaced it (a query started on it has long finished), or with its process.
* The change counter: followers must tell a write that only added new ingest units from any
  other write (kept answers may lag behind the first, never the second: webapp.page_cache).
  Every other write bumps DATA_DIR/store/kho-changes to an odd value before it and to the next
  even value after it. A follower reads the counter before and after opening a view: an odd
  value, or two different ones, means "a change may be under way", and every such view counts as
  a change of its own. A view that holds a change its predecessor lacked therefore always reads
  a new change stamp.
"""

from __future__ import annotations

import atexit
import fcntl
import gc
import itertools
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import pyoxigraph as ox

from repository import processes
from repository.errors import KhoError

LOCK_FILE = "kho-write.lock"  # in the store's directory: who writes now (flock, and its pid)
CHANGES_FILE = "kho-changes"  # the change counter (odd while a change is being written)
WRITE_WAIT_SECONDS = 600.0  # how long a write waits for another process's write to end
VIEWS_DIR = "kho-views"  # the private copies read-only views open (open_copy)
VIEW_GRACE_SECONDS = 120.0  # a view replaced by a newer one is removed this much later
_VIEW_IDS = itertools.count()


class StoreBusy(KhoError):
    """Another process kept the store's write lock for longer than a write may wait."""

    status = 503

    def __init__(self, path: Path, holder: str, seconds: float) -> None:
        super().__init__(
            f"Kho đang ghi vào kho dữ liệu từ một tiến trình khác ({holder}) suốt {seconds:g} "
            "giây; hãy thử lại sau. / Another Kho process "
            f"({holder}) has been writing to the store at {path} for {seconds:g} s; try again "
            "when it is done."
        )
        self.retry_after = 30


@contextmanager
def write_lock(path: Path, wait: float) -> Iterator[None]:
    """The store's write lock (flock: the kernel lets go of it when its process dies), with the
    holder's pid and command in the file for whoever waits."""
    with open(path / LOCK_FILE, "a+", encoding="utf-8") as f:
        if not _flock(f, fcntl.LOCK_EX, wait):
            f.seek(0)
            raise StoreBusy(path, f.read().strip() or "?", wait)
        try:
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()}: {_command()}")
            f.flush()
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextmanager
def between_writes(path: Path, wait: float) -> Iterator[bool]:
    """A shared hold on the write lock: while it lasts no process has the directory open
    read-write, so a read-only open sees a closed store, whole (RocksDB leaves undefined what a
    read-only open sees while another process writes). Yields False if a write did not end
    within `wait` seconds. A directory Kho cannot write is read without the lock."""
    try:
        f = open(path / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        yield True
        return
    with f:
        if not _flock(f, fcntl.LOCK_SH, wait):
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _flock(f: TextIO, mode: int, wait: float) -> bool:
    """Take the lock in `mode` within `wait` seconds (polled: a blocking flock cannot time out)."""
    start = time.monotonic()
    while True:
        try:
            fcntl.flock(f, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() - start >= wait:
                return False
            time.sleep(0.01)


def holder(path: Path) -> str:
    try:
        return (path / LOCK_FILE).read_text(encoding="utf-8").strip() or "?"
    except OSError:
        return "?"


def _command() -> str:
    try:
        return Path("/proc/self/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()[:200]
    except OSError:
        return "?"


def read_write(path: Path) -> ox.Store:
    """Open the directory read-write. Under the write lock no other Kho process holds it; a
    handle of this process that a query result kept alive lets go once collected."""
    for attempt in range(100):
        try:
            return ox.Store(str(path))
        except OSError as exc:
            if attempt == 99:
                raise KhoError(
                    f"Cannot open the store at {path} for writing: {exc}. A process that is not "
                    "Kho, or an older Kho, may hold it; stop it."
                ) from exc
            gc.collect()
            time.sleep(0.05)
    raise AssertionError("unreachable")


def read_mark(path: Path) -> int:
    try:
        return int(path.read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        return 0


def set_mark(path: Path, value: int) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(str(value), encoding="ascii")
    os.replace(tmp, path)


def begin(value: int) -> int:
    return value + 1 if value % 2 == 0 else value + 2  # odd: a change is being written


def end(value: int) -> int:
    return value + 1 if value % 2 else value  # even: it is done


def open_copy(path: Path) -> tuple[ox.Store, Path | None]:
    """A read-only store over a private copy of `path` (module doc) and the copy's directory
    (retire it once a newer view replaced it). Where the directory cannot be written, the
    store itself, read-only."""
    base = path / VIEWS_DIR
    try:
        base.mkdir(exist_ok=True)
    except OSError:
        return ox.Store.read_only(str(path)), None
    _sweep(base)
    for attempt in range(5):
        copy = base / f"{os.getpid()}-{processes.started(os.getpid())}-{next(_VIEW_IDS)}"
        try:
            copy.mkdir()
            _link_or_copy(path, copy)
            store = ox.Store.read_only(str(copy))
        except OSError:  # a writer that takes no lock (an older Kho) moved on: once more
            shutil.rmtree(copy, ignore_errors=True)
            if attempt == 4:
                raise
            time.sleep(0.05)
            continue
        _MINE.add(copy)
        return store, copy
    raise AssertionError("unreachable")


_MINE: set[Path] = set()  # this process's copies
_RETIRED: dict[Path, float] = {}  # this process's replaced copies, and since when


def retire(copy: Path | None) -> None:
    """A newer view replaced the one over `copy`: remove it VIEW_GRACE_SECONDS from now."""
    if copy is not None:
        _RETIRED[copy] = time.monotonic()


def _link_or_copy(path: Path, copy: Path) -> None:
    with os.scandir(path) as listing:
        for entry in listing:
            if not entry.is_file(follow_symlinks=False) or entry.name.startswith(
                ("kho-", "LOCK", "LOG")
            ):
                continue
            if entry.name.endswith((".sst", ".blob")):  # immutable once written: a link
                os.link(entry.path, copy / entry.name)
            else:  # CURRENT, MANIFEST, the write-ahead log, OPTIONS: small, and rewritten
                shutil.copyfile(entry.path, copy / entry.name)


def _sweep(base: Path) -> None:
    """Remove this process's copies replaced long enough ago, and copies of processes gone."""
    now = time.monotonic()
    for copy, since in list(_RETIRED.items()):
        if now - since > VIEW_GRACE_SECONDS:
            shutil.rmtree(copy, ignore_errors=True)
            _RETIRED.pop(copy, None)
            _MINE.discard(copy)
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        pid, _, rest = name.partition("-")
        start = rest.partition("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not processes.running(int(pid), start):
            shutil.rmtree(base / name, ignore_errors=True)


@atexit.register
def _remove_mine() -> None:
    for copy in list(_MINE):
        shutil.rmtree(copy, ignore_errors=True)


def store_signature(path: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the store directory's files: they change with
    every commit."""
    entries = []
    with os.scandir(path) as listing:
        for entry in listing:
            if entry.name.startswith("kho-"):  # Kho's own: the lock, the change counter
                continue
            try:
                stat = entry.stat()
            except FileNotFoundError:  # removed by a compaction meanwhile
                continue
            entries.append((entry.name, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))
