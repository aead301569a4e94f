"""A small, thread-safe memory of derived answers (home counts, dashboards, browse lists).

An answer is kept under a key that names everything it depends on: the store (its identity and
path), the store's `generation` (bumped after every write, so an archivist's edit or an ingest
makes every older answer unreachable), the graphs the reader may see, and whatever else the
caller adds. Only the few most recently used answers are kept. When several threads ask for the
same missing answer at once, one computes it and the others wait for it.

Answers are shared between requests: callers must not change what they get back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from typing import Generic, TypeVar

from repository.store import Store

T = TypeVar("T")


class Memo(Generic[T]):
    """An LRU of at most `size` answers; `get(key, compute)` returns the kept answer or computes,
    keeps and returns it. A failed computation is not kept."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._answers: OrderedDict[Hashable, Future[T]] = OrderedDict()

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

    def _compute(self, key: Hashable, kept: Future[T], compute: Callable[[], T]) -> T:
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                if self._answers.get(key) is kept:
                    del self._answers[key]
            kept.set_exception(exc)
            raise
        kept.set_result(value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)


def store_key(store: Store, graphs: Iterable[str] | None, *extra: Hashable) -> tuple[Hashable, ...]:
    """The key of an answer over `graphs` of `store` as it is now (None: the whole store)."""
    seen = None if graphs is None else tuple(sorted(set(graphs)))
    return (id(store), str(store.path), store.generation, seen, *extra)
