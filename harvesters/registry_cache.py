"""The local cache of registry answers (docs/registries.md, "Cache"): found and not-found answers
kept for `KHO_REGISTRY_CACHE_DAYS` days in one SQLite file; errors are never kept.

Keys are whatever the registry module gives — for citizens the keyed pseudonym, never the number —
and values are the parsed facts (for citizens `{}`), never a registry's raw answer.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DAY = 86400.0


@dataclass(frozen=True)
class CachedAnswer:
    found: bool
    facts: dict
    stored_at: float  # seconds since the epoch: when the registry was asked

    @property
    def checked_at(self) -> str:
        return iso_utc(self.stored_at)


def iso_utc(seconds: float) -> str:
    """'2026-11-26T07:30:12Z'."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AnswerCache:
    """Thread-safe; one file shared by the four registries (rows keyed by registry and key)."""

    def __init__(self, path: Path, days: float, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.days = days
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        # A commit per answer: in WAL mode with synchronous=NORMAL a commit does not wait for the
        # disk (fsync at checkpoints only), so a cold lookup costs a round trip, not a disk flush
        # (21 ms per answer on a rotating/virtual disk before). An answer lost in a power cut is
        # only asked again: this is a cache.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS answers (registry TEXT NOT NULL, key TEXT NOT NULL, "
                "found INTEGER NOT NULL, facts TEXT NOT NULL, stored_at REAL NOT NULL, "
                "PRIMARY KEY (registry, key))"
            )

    def get(self, registry: str, key: str) -> CachedAnswer | None:
        """The answer kept for `key`, or None when there is none or it is older than `days`."""
        with self._lock:
            row = self._db.execute(
                "SELECT found, facts, stored_at FROM answers WHERE registry = ? AND key = ?",
                (registry, key),
            ).fetchone()
        if row is None or self.clock() - row[2] > self.days * DAY:
            return None
        return CachedAnswer(found=bool(row[0]), facts=json.loads(row[1]), stored_at=row[2])

    def put(self, registry: str, key: str, found: bool, facts: dict) -> CachedAnswer:
        answer = CachedAnswer(found=found, facts=facts, stored_at=self.clock())
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
                (
                    registry,
                    key,
                    int(found),
                    json.dumps(facts, ensure_ascii=False),
                    answer.stored_at,
                ),
            )
        return answer

    def forget(self, registry: str | None = None) -> int:
        """Drop every kept answer (of one registry), so the next lookups ask again."""
        with self._lock, self._db:
            if registry is None:
                return self._db.execute("DELETE FROM answers").rowcount
            return self._db.execute("DELETE FROM answers WHERE registry = ?", (registry,)).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
