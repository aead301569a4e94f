"""Content-addressed file storage: PDFs by SHA-256, OCR text beside them, fixity re-checks.

Layout (docs/model.md, "Digital file and preservation events"):
`{root}/sha256/ab/cd/abcd….pdf` (lower-case hex on disk) and `….txt` for the OCR text. Kho writes
checksums in upper-case hex (TT 05/2025 style); both cases are accepted everywhere.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from repository.errors import KhoError
from repository.text import nfc

CHUNK = 1 << 20  # 1 MiB: streaming hash and copy
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class FileStoreError(KhoError):
    """A file could not be stored or read in the file store."""


class DiskFull(FileStoreError):
    status = 507


class SourceUnreadable(FileStoreError):
    status = 400


class BadChecksum(FileStoreError):
    status = 400


@dataclass(frozen=True)
class StoredFile:
    """A file in the store: its SHA-256 (upper-case hex), size in bytes and path on disk."""

    sha256: str
    size: int
    path: Path
    new: bool = True  # False when a good copy was already there


@dataclass(frozen=True)
class FixityResult:
    """The outcome of re-hashing one stored file: status is ok, mismatch or missing."""

    sha256: str
    status: str
    actual: str | None
    path: Path
    size: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def sha256_of(path: Path) -> tuple[str, int]:
    """(upper-case hex SHA-256, size) of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest().upper(), size


def _normal(sha: str) -> str:
    if not _HEX64.match(sha or ""):
        raise BadChecksum(
            f"{sha!r} is not a SHA-256 checksum: expected 64 hexadecimal digits "
            "(as in the sheet's checksum column or kho:sha256)."
        )
    return sha.lower()


def _fsync_dir(path: Path) -> None:
    # Without this a crash right after the rename may lose the directory entry (POSIX).
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories; the rename still happened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_error(exc: OSError, target: Path) -> FileStoreError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(
            f"The disk holding {target.parent} is full; nothing was stored. Free some space "
            "or point KHO_FILES_PATH at a larger disk, then run the ingest again."
        )
    return FileStoreError(
        f"Cannot write {target}: {exc.strerror or exc}. Check that KHO_FILES_PATH is writable "
        "by the user running Kho."
    )


class FileStore:
    """PDFs stored by content under `root`, written atomically, never overwritten when good."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # -- paths -----------------------------------------------------------------------------
    def path_for(self, sha: str, suffix: str = ".pdf") -> Path:
        hex_ = _normal(sha)
        return self.root / "sha256" / hex_[:2] / hex_[2:4] / f"{hex_}{suffix}"

    def exists(self, sha: str) -> bool:
        return self.path_for(sha).is_file()

    # -- writing ---------------------------------------------------------------------------
    def put(self, src: Path | str) -> StoredFile:
        """Copy `src` into the store under its SHA-256; keep an existing good copy."""
        src = Path(src)
        try:
            sha, size = sha256_of(src)
        except OSError as exc:
            raise SourceUnreadable(
                f"Cannot read {src}: {exc.strerror or exc}. Check that the batch folder is "
                "complete and readable, then run the ingest again."
            ) from exc
        kept = self._good_copy(sha, size)
        if kept is not None:
            return kept
        target = self.path_for(sha)
        try:
            with src.open("rb") as f:
                copied = self._write_atomic(target, iter(lambda: f.read(CHUNK), b""))
        except OSError as exc:
            raise SourceUnreadable(
                f"Cannot read {src}: {exc.strerror or exc}. Check the batch folder and retry."
            ) from exc
        if copied != sha:
            target.unlink(missing_ok=True)
            raise SourceUnreadable(
                f"{src} changed while it was being copied (SHA-256 {sha} before, {copied} "
                "after). Wait until the transfer of the batch has finished, then retry."
            )
        return StoredFile(sha, size, target, new=True)

    def put_bytes(self, data: bytes) -> StoredFile:
        """Store bytes under their SHA-256; keep an existing good copy."""
        sha = hashlib.sha256(data).hexdigest().upper()
        kept = self._good_copy(sha, len(data))
        if kept is not None:
            return kept
        target = self.path_for(sha)
        self._write_atomic(target, [data])
        return StoredFile(sha, len(data), target, new=True)

    def put_derived(self, src: Path | str, of: str) -> StoredFile:
        """Store a file made from the stored file `of` (its OCR'd PDF/A), noting it first in `of`'s
        pending list: a process killed before the derivative is recorded (finish_derived) leaves
        the note, and the next run's finish_derived removes what it no longer needs."""
        sha, _ = sha256_of(Path(src))
        note = self.path_for(of, ".derived-pending")
        noted = note.read_text().split() if note.exists() else []
        self._write_atomic(note, ["\n".join([*noted, sha]).encode()])
        return self.put(src)

    def finish_derived(self, of: str, keep: str | None) -> list[str]:
        """`of`'s derivative is recorded as `keep`: remove the others a killed run left."""
        note = self.path_for(of, ".derived-pending")
        try:
            noted = set(note.read_text().split())
        except FileNotFoundError:
            return []
        dropped = sorted(noted - {(keep or "").upper(), _normal(of).upper()})
        for sha in dropped:
            self.path_for(sha).unlink(missing_ok=True)
        note.unlink(missing_ok=True)
        return dropped

    def put_text(self, sha: str, text: str) -> Path:
        """Store the OCR text of a file (NFC, UTF-8) beside it as `….txt`."""
        target = self.path_for(sha, ".txt")
        self._write_atomic(target, [nfc(text).encode("utf-8")])
        return target

    def text(self, sha: str) -> str | None:
        """The OCR text of a file, or None when none was stored."""
        path = self.path_for(sha, ".txt")
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def _good_copy(self, sha: str, size: int) -> StoredFile | None:
        target = self.path_for(sha)
        try:
            if target.stat().st_size != size:
                return None
        except FileNotFoundError:
            return None
        # A damaged copy (bit rot, a crash before rename on a non-POSIX disk) is replaced by
        # the good bytes we now hold, rather than kept.
        return StoredFile(sha, size, target, new=False) if self.verify(sha).ok else None

    def _write_atomic(self, target: Path, chunks: object) -> str:
        """Write chunks to a temp file in the target's folder, fsync, rename; return its hash."""
        h = hashlib.sha256()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-", suffix=target.suffix)
        except OSError as exc:
            raise _write_error(exc, target) from exc
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:  # type: ignore[attr-defined]
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.filename in (None, tmp, str(target)):
                raise _write_error(exc, target) from exc
            raise
        _fsync_dir(target.parent)
        return h.hexdigest().upper()

    # -- reading ---------------------------------------------------------------------------
    def verify(self, sha: str) -> FixityResult:
        """Re-hash a stored file and compare it with the checksum it is stored under."""
        expected = _normal(sha).upper()
        path = self.path_for(sha)
        try:
            actual, size = sha256_of(path)
        except FileNotFoundError:
            return FixityResult(expected, "missing", None, path)
        except OSError as exc:
            raise FileStoreError(
                f"Cannot read {path}: {exc.strerror or exc}. Check the disk and its permissions."
            ) from exc
        status = "ok" if actual == expected else "mismatch"
        return FixityResult(expected, status, actual, path, size)

    def iter_files(self) -> Iterator[StoredFile]:
        """Every stored PDF, in path order (sizes from the file system, not re-hashed)."""
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for path in sorted(base.glob("??/??/*.pdf")):
            if _HEX64.match(path.stem):
                yield StoredFile(path.stem.upper(), path.stat().st_size, path, new=False)
