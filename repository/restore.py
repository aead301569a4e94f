"""`kho restore SRC`: the chain of backup sets ending at SRC, rebuilt into an empty data
directory — every checksum checked first, the store proved equal to the digests the last set
recorded of every quad, then the files, keys, users and the search indexes."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from repository.backup_sets import (
    DATABASES,
    KEYS,
    BackupError,
    Progress,
    chain,
    digest,
    manifest,
    read_digests,
    sha256,
    verify,
)
from repository.config import Settings


@dataclass
class RestoreReport:
    chain: list[str]
    quads: int = 0
    files: int = 0
    checked: int = 0  # files whose checksums were verified
    indexed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def text(self) -> str:
        return (
            f"Khôi phục / restored {' → '.join(self.chain)}: {self.quads:,} quads, "
            f"{self.files:,} files, {self.checked:,} checksums verified; search indexes rebuilt "
            f"({', '.join(f'{k} {v:,}' for k, v in self.indexed.items())}); {self.seconds:.1f} s"
        )


def restore(src: Path, settings: Settings, *, progress: Progress | None = None) -> RestoreReport:
    """Rebuild the repository of the chain ending at `src` into settings.data_dir (empty)."""
    from repository import reindex  # noqa: PLC0415
    from repository.store import open_store  # noqa: PLC0415

    say = progress or (lambda _m: None)
    started = datetime.now()
    data = Path(settings.data_dir)
    if data.exists() and any(data.iterdir()):
        raise BackupError(
            f"{data} is not empty: restore into an empty data directory (set KHO_DATA_DIR to a "
            "new folder), then switch over."
        )
    sets = chain(src)
    report = RestoreReport([s.name for s in sets])
    report.checked = verify(sets, say)
    data.mkdir(parents=True, exist_ok=True)
    say("store")
    nq = data / ".restore.nq"
    report.quads = _rebuild_quads(sets, nq)
    store = open_store(settings)
    store.load_dump(nq)
    nq.unlink()
    say("files")
    report.files = _restore_files(sets, settings)
    say("settings")
    last = sets[-1] / "settings"
    for key in KEYS:
        if (last / key).is_file():
            shutil.copy2(last / key, data / key)
            (data / key).chmod(0o600)
    for db in DATABASES:
        if (last / db).is_file():
            target = {"users.sqlite3": settings.users_path}.get(db) or data / db
            shutil.copy2(last / db, target)
    say("search indexes")
    rebuilt = reindex.reindex(store, settings)
    report.indexed = {"units": rebuilt.units or 0, "records": rebuilt.records or 0}
    report.seconds = round((datetime.now() - started).total_seconds(), 1)
    return report


def _lines(path: Path) -> Iterator[bytes]:
    if path.is_file():
        with gzip.open(path, "rb") as f:
            yield from (line for line in f if line.strip())


def _rebuild_quads(sets: list[Path], out_path: Path) -> int:
    """The quads of the last set: each set's lines, less those a later set removed; checked
    against the last set's digests of the whole store."""
    removed_later: list[set[bytes]] = []
    later: set[bytes] = set()
    for folder in reversed(sets):
        removed_later.append(set(later))
        if (folder / "removed.digests").is_file():
            later |= set(read_digests(folder / "removed.digests"))
    removed_later.reverse()
    digests: list[bytes] = []
    with out_path.open("wb") as out:
        for folder, gone in zip(sets, removed_later, strict=True):
            part = "store.nq.gz" if folder is sets[0] else "added.nq.gz"
            for line in _lines(folder / part):
                d = digest(line)
                if d not in gone:
                    out.write(line if line.endswith(b"\n") else line + b"\n")
                    digests.append(d)
    digests.sort()
    if digests != read_digests(sets[-1] / "state.digests"):
        out_path.unlink()
        raise BackupError(
            f"The quads rebuilt from {', '.join(s.name for s in sets)} differ from what "
            f"{sets[-1].name} recorded; a set of the chain is wrong. Restore from your other copy."
        )
    return len(digests)


def _restore_files(sets: list[Path], settings: Settings) -> int:
    files = manifest(sets[-1])["files"]
    root = Path(settings.files_path)  # type: ignore[arg-type]
    for rel, entry in files.items():  # type: ignore[attr-defined]
        source = sets[-1].parent / entry["set"] / "files" / rel
        if not source.is_file():
            raise BackupError(
                f"{rel} should be in set {entry['set']} but is not; copy the whole chain."
            )
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        if sha256(target) != entry["sha256"]:
            raise BackupError(f"{rel} from set {entry['set']} is damaged; use your other copy.")
    return len(files)  # type: ignore[arg-type]
