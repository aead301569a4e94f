"""A write-ahead journal for the records index: the IRIs a store commit is about to change.

The store and the search index are two stores; no transaction spans both. Ingest therefore writes
the IRIs of a chunk to the journal (fsync'd) *before* committing them, and removes the entry only
after the index took them. A process killed in between leaves its entry behind; `replay()` (run by
the next ingest, `kho reindex`, `kho serve` and `kho check --repair`) brings the index in step
with the store for those IRIs: re-indexed when the store holds them, removed when it does not.
Replaying twice does no harm (documents are replaced by IRI, never added twice).

Entries live in DATA_DIR/records-index.pending/, one file per commit in flight, named after the
process that wrote it; an entry whose process still runs is that process's business.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from repository import processes
from repository.config import Settings
from repository.store import Store

FOLDER = "records-index.pending"


@dataclass(frozen=True)
class Entry:
    path: Path
    pid: int
    started: str  # the process's start time (from /proc), so a reused pid is not mistaken
    iris: list[str]

    @property
    def alive(self) -> bool:
        return self.pid != os.getpid() and processes.running(self.pid, self.started)


def folder(settings: Settings) -> Path:
    return Path(settings.data_dir) / FOLDER


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def pending(settings: Settings, iris: Iterable[str]) -> Iterator[None]:
    """Journal `iris` for the duration of a store commit and the index update that follows.

    The entry stays if the block raises (the index did not take them): the next replay does."""
    iris = list(dict.fromkeys(iris))
    if not iris:
        yield
        return
    base = folder(settings)
    base.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    path = base / f"{pid}-{uuid.uuid4().hex[:12]}.json"
    tmp = path.with_suffix(".part")
    body = json.dumps({"pid": pid, "started": processes.started(pid), "iris": iris})
    with tmp.open("w", encoding="utf-8") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(base)
    yield
    path.unlink(missing_ok=True)
    _fsync_dir(base)


def entries(settings: Settings) -> list[Entry]:
    """Every journal entry on disk (a half-written `.part` is dropped: its commit never began)."""
    base = folder(settings)
    if not base.is_dir():
        return []
    found = []
    for path in sorted(base.iterdir()):
        if path.suffix == ".part":
            pid = int(path.name.split("-", 1)[0]) if path.name.split("-", 1)[0].isdigit() else 0
            if not processes.started(pid):
                path.unlink(missing_ok=True)
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # unreadable: reported by `kho check`
        found.append(Entry(path, int(data["pid"]), str(data["started"]), list(data["iris"])))
    return found


def left_behind(settings: Settings) -> list[Entry]:
    """Entries of processes that no longer run: commits whose index update never finished."""
    return [e for e in entries(settings) if not e.alive]


def replay(store: Store, settings: Settings) -> int:
    """Bring the index in step with the store for every entry left behind; return the IRIs."""
    from repository import record_index  # noqa: PLC0415 (record_index imports the engines)

    done = 0
    for entry in left_behind(settings):
        present = _present(store, entry.iris)
        absent = [i for i in entry.iris if i not in present]
        record_index.update(store, settings, sorted(present), absent)
        entry.path.unlink(missing_ok=True)
        done += len(entry.iris)
    return done


def recover(store: Store, settings: Settings) -> int:
    """What every writer does first: put back an index a killed rebuild left swapped out, then
    replay the journal. Return the IRIs replayed."""
    from repository import record_index, search_text  # noqa: PLC0415
    from repository.search_index import unit_index_path  # noqa: PLC0415

    for target in (record_index.index_path(settings), unit_index_path(settings)):
        search_text.recover_swap(target)
    return replay(store, settings)


def _present(store: Store, iris: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(iris), 500):
        page = iris[start : start + 500]
        values = " ".join(f"<{i}>" for i in page)
        rows = store.select(
            f"SELECT DISTINCT ?r WHERE {{ VALUES ?r {{ {values} }} "
            "{ ?r a rico:Record } UNION { ?r rico:hasRecordSetType ric-rst:File } }"
        )
        found |= {str(r["r"]) for r in rows}
    return found
