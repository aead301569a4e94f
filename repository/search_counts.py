"""Counting the records search at scale: exact up to a threshold, estimated on a sample past it,
kept per index state so paging through results does not count again.

A broad query at 1M records (800k hits) spends most of its time counting: the exact total and
every facet (thousands of unit and agency buckets) visit every hit. Past the threshold the
tantivy engine counts on one slice of the index instead, as Elasticsearch's `random_sampler`
aggregation does: every document carries `sample` = a stable hash of its IRI mod SAMPLES, the
counts run on query ∧ sample = 0 and are scaled up and rounded ("khoảng / about N"). Filters and
access limits apply before anything is counted, so a reader never learns counts of levels he may
not see; the page of hits is always the true top of the order (a search of its own).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable
from dataclasses import dataclass

from repository.memo import Memo

SAMPLES = 16  # slices of the index; the counts of a broad query run on slice 0
# Below this many hits (as slice 0 estimates them) every count is exact: the default of the setting
# KHO_SEARCH_EXACT_UP_TO (repository.config keeps the same number). Measured at 1M records
# (tests/bench/bench_search.py, every facet): exact counts of 35k hits take ~10 ms, of 400k-800k
# hits 30-45 ms on a quiet machine and two to three times that on a busy one. At 100k exact
# counting stays ~15 ms, and past it the slice holds >= 6,000 hits: the total within ~1.3 %.
EXACT_UP_TO = 100_000
SAMPLE_FIELD = "sample"
SAMPLED = "0"  # the slice counted


def sample_of(iri: str) -> str:
    """The slice of a document: a stable hash of its IRI (never Python's salted hash())."""
    digest = hashlib.blake2b(iri.encode("utf-8"), digest_size=4).digest()
    return str(int.from_bytes(digest, "big") % SAMPLES)


def about(n: int, digits: int = 2) -> int:
    """`n` rounded to `digits` significant figures: an estimate says no more than it knows."""
    if n <= 0:
        return 0
    scale = 10 ** max(0, math.floor(math.log10(n)) + 1 - digits)
    return round(n / scale) * scale


@dataclass(frozen=True)
class Counts:
    """The total and facet counts of one search (whatever its page)."""

    total: int
    facets: dict[str, list[tuple[str, int]]]
    approximate: bool = False

    @classmethod
    def scaled(cls, seen: int, facets: dict[str, list[tuple[str, int]]]) -> Counts:
        """Counts of slice 0 as estimates of the whole: scaled up, rounded, re-ordered."""
        out = {
            name: sorted(
                ((v, about(n * SAMPLES, 3)) for v, n in values), key=lambda kv: (-kv[1], kv[0])
            )
            for name, values in facets.items()
        }
        return cls(about(seen * SAMPLES, 3), out, approximate=True)


# Counts by (engine, index path, index state, query, filters, access, facets, exact, threshold):
# a commit to the index (or a rebuild swapped in) changes its state: older counts are unreachable.
_KEPT: Memo[Counts] = Memo(size=64)


def kept(key: Hashable) -> Counts | None:
    """The counts kept under `key` (the most recently used few), or None."""
    return _KEPT.peek(key)


def keep(key: Hashable, counts: Counts) -> None:
    _KEPT.put(key, counts)


def forget() -> None:
    _KEPT.clear()
