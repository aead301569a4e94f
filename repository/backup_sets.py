"""Backup sets as Kho writes them (repository.backup) and reads them (repository.restore): the
format, the per-quad digests, finding a chain of sets and checking every checksum."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from repository.errors import KhoError

FORMAT = "kho-backup/1"
DIGEST = 16  # bytes of BLAKE2b per quad
KEYS = ("secret-key", "pseudonym-key")
DATABASES = ("users.sqlite3", "registry-cache.sqlite3")
Progress = Callable[[str], None]


class BackupError(KhoError):
    """A backup set that is damaged, incomplete or not where it should be."""


# -- digests ------------------------------------------------------------------------------------


def digest(line: bytes) -> bytes:
    return hashlib.blake2b(line.rstrip(b"\n"), digest_size=DIGEST).digest()


def read_digests(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return [data[i : i + DIGEST] for i in range(0, len(data), DIGEST)]


def write_digests(path: Path, digests: list[bytes]) -> None:
    with path.open("wb") as out:
        for d in digests:
            out.write(d)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# -- reading sets -------------------------------------------------------------------------------


def latest_set(dest: Path) -> Path | None:
    sets = sorted(p for p in dest.glob("kho-*-*") if (p / "manifest.json").is_file())
    return sets[-1] if sets else None


def manifest(folder: Path) -> dict[str, object]:
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(
            f"{folder} is not a readable backup set ({exc}); give a folder made by kho backup."
        ) from exc
    if data.get("format") != FORMAT:
        raise BackupError(f"{folder}: unknown backup format {data.get('format')!r}.")
    return data  # type: ignore[no-any-return]


def chain(src: Path) -> list[Path]:
    """The sets to restore, full set first: SRC itself, or the latest set in the folder SRC."""
    last = src if (src / "manifest.json").is_file() else latest_set(src)
    if last is None:
        raise BackupError(f"No backup set in {src}; give a set folder or the folder holding sets.")
    sets = [last]
    while (parent := manifest(sets[-1]).get("parent")) is not None:
        folder = sets[-1].parent / str(parent)
        if not (folder / "manifest.json").is_file():
            raise BackupError(
                f"{sets[-1].name} builds on {parent}, which is not beside it in "
                f"{sets[-1].parent}: copy the whole chain (full set and every incremental one)."
            )
        sets.append(folder)
    return sets[::-1]


def verify(sets: list[Path], progress: Progress | None = None) -> int:
    """Check every checksum of every set; return how many files were checked."""
    say = progress or (lambda _m: None)
    checked = 0
    for folder in sets:
        say(f"checksums: {folder.name}")
        sums = folder / "SHA256SUMS"
        if not sums.is_file():
            raise BackupError(f"{folder} has no SHA256SUMS: the set is incomplete; use another.")
        listed = set()
        for line in sums.read_text().splitlines():
            sha, _, rel = line.partition("  ")
            listed.add(rel)
            path = folder / rel
            if not path.is_file():
                raise BackupError(f"{path} is missing from the backup set; use another copy.")
            if sha256(path) != sha:
                raise BackupError(
                    f"{path} is damaged (its SHA-256 differs from SHA256SUMS); restore from "
                    "your other backup copy."
                )
            checked += 1
        extra = [
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and p.name != "SHA256SUMS"
        ]
        unlisted = sorted(set(extra) - listed)
        if unlisted:
            raise BackupError(f"{folder} holds files SHA256SUMS does not list: {unlisted[:3]}.")
    return checked
