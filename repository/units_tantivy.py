"""The units index on tantivy (settings.search = "tantivy"): the same matches as Whoosh's."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import tantivy
from whoosh.query import Query

from repository.search_index import SearchHit, hit_from, schema
from repository.search_tantivy import Layout, build, filtered, open_index

FORMAT = "2026-11-units"


@cache
def layout() -> Layout:
    return Layout(schema())


def write(
    path: Path, docs: Iterable[dict[str, object]], progress: Callable[[int], None] | None
) -> int:
    return build(path, layout(), docs, FORMAT, progress)


def search(
    path: Path,
    query: Query,
    fallback: Callable[[], Query | None],
    filters: dict[str, str],
    limit: int,
) -> list[SearchHit]:
    """`query` (parsed by Whoosh), or when nothing matches the `fallback` prefix query."""
    ix = open_index(path)
    assert ix is not None
    lay = layout()
    searcher = ix.searcher()
    restrict = [lay.term(n, v) for n, v in filters.items()]
    found = searcher.search(filtered(lay.translate(query), restrict), limit, count=False)
    if not found.hits:
        second = fallback()
        if second is not None:
            found = searcher.search(filtered(lay.translate(second), restrict), limit, count=False)
    return [hit_from(lay.fields(searcher.doc(a)), float(score)) for score, a in found.hits]


__all__ = ["search", "tantivy", "write"]
