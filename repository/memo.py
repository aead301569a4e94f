"""A small, thread-safe memory of derived answers (home counts, dashboards, browse lists).

An answer is kept under a key that names everything it depends on: the store (its identity and
path), the store's `generation` (bumped after every write, so an archivist's edit or an ingest
makes every older answer unreachable), the graphs the reader may see, and whatever else the
caller adds. Only the few most recently used answers are kept. When several threads ask for the
same missing answer at once, one computes it and the others wait for it.

Answers that take long to compute (the whole-archive counts: ~1.5 s at 100k records, ~15 s at
1M) are also kept by `recent`: once an answer of a family (same store, graphs and extras, any
generation) has taken `slow_s` seconds or more, a write no longer makes readers wait for the next
one — they get the last answer, marked as not current, while one thread computes the new one
(stale-while-revalidate). Small archives, whose answers come in under `slow_s`, always get the
answer of the present generation.

Answers are shared between requests: callers must not change what they get back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from repository.store import Store

T = TypeVar("T")
log = logging.getLogger(__name__)
SLOW_S = 5.0  # an answer that took this long is served stale while the next one is computed


@dataclass(frozen=True)
class Kept(Generic[T]):
    """An answer of `recent`: the value, the store generation and the time (epoch seconds) it was
    computed at, how long it took, and whether it is the answer of the store as it is now."""

    value: T
    generation: int
    at: float
    seconds: float
    current: bool = True


class Memo(Generic[T]):
    """An LRU of at most `size` answers; `get(key, compute)` returns the kept answer or computes,
    keeps and returns it. A failed computation is not kept."""

    def __init__(self, size: int = 8, slow_s: float = SLOW_S) -> None:
        self.size = size
        self.slow_s = slow_s
        self._lock = threading.Lock()
        self._answers: OrderedDict[Hashable, Future[T]] = OrderedDict()
        self._latest: OrderedDict[Hashable, Kept[T]] = OrderedDict()
        self._running: dict[Hashable, Future[Kept[T]]] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            kept = self._answers.get(key)
            mine = kept is None
            if kept is None:
                kept = self._answers[key] = Future()
                while len(self._answers) > self.size:
                    self._answers.popitem(last=False)
            else:
                self._answers.move_to_end(key)
        if mine:
            return self._compute(key, kept, compute)
        return kept.result()  # computed, or being computed by another thread

    def peek(self, key: Hashable) -> T | None:
        """The answer kept under `key` if it is there and computed, else None (no waiting)."""
        with self._lock:
            kept = self._answers.get(key)
            if kept is None or not kept.done() or kept.exception() is not None:
                return None
            self._answers.move_to_end(key)
        return kept.result()

    def put(self, key: Hashable, value: T) -> None:
        """Keep `value` under `key`: for answers that come out of other work (a search's counts
        come with its page of hits)."""
        kept: Future[T] = Future()
        kept.set_result(value)
        with self._lock:
            self._answers[key] = kept
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def _compute(self, key: Hashable, kept: Future[T], compute: Callable[[], T]) -> T:
        try:
            value = compute()
        except BaseException as exc:
            self._failed(self._answers, key, kept, exc)
            raise
        kept.set_result(value)
        return value

    def _failed(
        self, table: dict[Hashable, Future], key: Hashable, future: Future, exc: BaseException
    ) -> None:
        """A computation failed: it is not kept (the next caller tries again), and whoever
        waits on it gets the error."""
        with self._lock:
            if table.get(key) is future:
                del table[key]
        future.set_exception(exc)

    def recent(self, family: Hashable, generation: int, compute: Callable[[], T]) -> Kept[T]:
        """The answer of `family` at `generation`, computed once for all threads asking; or,
        when the last answer of the family took `slow_s` seconds or more, that answer marked not
        current while the new one is computed in the background (one thread per family)."""
        with self._lock:
            latest = self._latest.get(family)
            if latest is not None and latest.generation == generation:
                self._latest.move_to_end(family)
                return latest
            running = self._running.get(family)
            background = latest is not None and latest.seconds >= self.slow_s
            mine = running is None  # a running future leaves _running before it is done
            if mine:
                running = self._running[family] = Future()
        assert running is not None
        if mine and background:
            threading.Thread(
                target=self._refresh,
                args=(family, generation, compute, running),
                name="kho-memo-refresh",
                daemon=True,
            ).start()
        elif mine:
            return self._refresh(family, generation, compute, running)
        if background:
            assert latest is not None
            return replace(latest, current=False)
        kept = running.result()
        return kept if kept.generation == generation else self.recent(family, generation, compute)

    def _refresh(
        self, family: Hashable, generation: int, compute: Callable[[], T], done: Future[Kept[T]]
    ) -> Kept[T]:
        start = time.perf_counter()
        try:
            value = compute()
        except BaseException as exc:
            self._failed(self._running, family, done, exc)
            if threading.current_thread().name == "kho-memo-refresh":
                log.warning("refreshing %r failed: %s", family, exc)
                return None  # type: ignore[return-value]
            raise
        kept = Kept(value, generation, time.time(), time.perf_counter() - start)
        with self._lock:
            latest = self._latest.get(family)
            if latest is None or latest.generation <= generation:
                self._latest[family] = kept
                self._latest.move_to_end(family)
                while len(self._latest) > self.size:
                    self._latest.popitem(last=False)
            if self._running.get(family) is done:
                del self._running[family]
        done.set_result(kept)
        return kept

    def settle(self, timeout: float | None = None) -> None:
        """Wait for the computations running in the background (tests, shutdown)."""
        with self._lock:
            running = list(self._running.values())
        for future in running:
            try:
                future.result(timeout)
            except Exception:  # reported by _refresh; the next reader tries again
                pass

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
            self._latest.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)


def store_key(store: Store, graphs: Iterable[str] | None, *extra: Hashable) -> tuple[Hashable, ...]:
    """The key of an answer over `graphs` of `store` as it is now (None: the whole store)."""
    seen = None if graphs is None else tuple(sorted(set(graphs)))
    return (id(store), str(store.path), store.generation, seen, *extra)


def family_key(
    store: Store, graphs: Iterable[str] | None, *extra: Hashable
) -> tuple[Hashable, ...]:
    """The key of the answers over `graphs` of `store` at any generation (for `Memo.recent`)."""
    seen = None if graphs is None else tuple(sorted(set(graphs)))
    return (id(store), str(store.path), seen, *extra)


def as_of_json(at: float, current: bool) -> dict[str, object]:
    """How old a kept answer is, for JSON: its time (UTC, ISO 8601) and whether it is current."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    return {"as_of": stamp, "current": current}
