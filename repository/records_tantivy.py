"""The records index on tantivy (settings.search = "tantivy"): the same documents, matches,
facets, filters, pages, snippets and registry-link labels as the Whoosh engine, at scale."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import tantivy

from repository.config import Settings
from repository.record_documents import record_documents
from repository.record_index import (
    FORMAT,
    WRITER_WAIT_SECONDS,
    IndexBusy,
    IndexMissing,
    RecordResults,
    parse,
    schema,
)
from repository.records_hits import Asked, by_count, dress
from repository.search_counts import SAMPLE_FIELD, SAMPLED, SAMPLES, Counts
from repository.search_tantivy import (
    Layout,
    any_of,
    build,
    exists,
    filtered,
    generation,
    open_index,
    opstamp,
)
from repository.search_text import (
    marked_format,
)
from repository.store import Store

__all__ = ["exists", "generation"]
_BUCKETS = 65_000  # tantivy's own limit on the buckets of one aggregation


@cache
def layout() -> Layout:
    return Layout(schema(), stored_multi=("link_labels",), also_stored=("links",))


def rebuild(
    path: Path,
    store: Store,
    settings: Settings,
    progress: Callable[[int], None] | None = None,
) -> int:
    return build(path, layout(), record_documents(store, settings), FORMAT, progress)


def is_current(path: Path) -> bool:
    return exists(path) and marked_format(path) == FORMAT


def update(
    path: Path,
    store: Store,
    settings: Settings,
    iris: Iterable[str],
    removed: Iterable[str],
    fresh: set[str],
    wait: float = WRITER_WAIT_SECONDS,
) -> int:
    if not exists(path):
        path.mkdir(parents=True, exist_ok=True)
        build(path, layout(), [], FORMAT)
    ix = open_index(path)
    assert ix is not None
    lay = layout()
    writer = _writer(ix, path, wait)
    count = 0
    try:
        for iri in removed:
            writer.delete_documents_by_term("iri", iri)
        for doc in record_documents(store, settings, iris):
            if doc["iri"] not in fresh:
                writer.delete_documents_by_term("iri", str(doc["iri"]))
            writer.add_document(lay.document(doc))
            count += 1
        writer.commit()
        writer.wait_merging_threads()
    except BaseException:
        writer.rollback()
        raise
    return count


def _writer(ix: tantivy.Index, path: Path, wait: float) -> tantivy.IndexWriter:
    """The index's one writer, once another process's (an ingest beside kho serve) is done."""
    start = time.monotonic()
    while True:
        try:
            return ix.writer(heap_size=50_000_000, num_threads=1)
        except ValueError as exc:
            if "LockBusy" not in str(exc):
                raise
            if time.monotonic() - start >= wait:
                raise IndexBusy(path, wait) from None
            time.sleep(0.05)


def stamp(path: Path) -> tuple[int, int, int] | None:
    """The index's state: its directory (a rebuild swaps in another), last commit and opstamp."""
    try:
        return path.stat().st_ino, (path / "meta.json").stat().st_mtime_ns, opstamp(path)
    except (FileNotFoundError, ValueError):
        return None


def indexed_iris(path: Path) -> set[str]:
    return set(indexed_documents(path))


def indexed_documents(path: Path) -> list[str]:
    """The IRI of every live document (an IRI indexed twice appears twice)."""
    ix = open_index(path)
    if ix is None:
        return []
    searcher = ix.searcher()
    if not searcher.num_docs:
        return []
    found = searcher.search(tantivy.Query.all_query(), searcher.num_docs, count=False)
    return [str(searcher.doc(a).get_first("iri")) for _, a in found.hits]


def _filters(filters: dict[str, str], access: set[str] | None) -> list[tantivy.Query]:
    lay = layout()
    out = [lay.term(n, v) for n, v in filters.items()]
    if access is not None:
        out.append(any_of(lay, "access", sorted(access) or ["-"]))
    return out


def _aggregate(
    searcher: tantivy.Searcher, query: tantivy.Query, names: list[str]
) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """The hits of `query` and the counts of its facets, in one pass over them: every document
    has one `sample` value, so the sample buckets add up to the hits."""
    aggs = {n: {"terms": {"field": n, "size": _BUCKETS}} for n in names}
    aggs["_hits"] = {"terms": {"field": SAMPLE_FIELD, "size": SAMPLES}}
    result = searcher.aggregate(query, aggs)
    hits = sum(int(b["doc_count"]) for b in result.get("_hits", {}).get("buckets", []))
    counts = {}
    for name in names:
        buckets = result.get(name, {}).get("buckets", [])
        counts[name] = by_count((str(b["key"]), int(b["doc_count"])) for b in buckets)
    return hits, counts


def _counts(
    searcher: tantivy.Searcher,
    query: tantivy.Query,
    sampled: tantivy.Query,
    names: list[str],
    exact_up_to: int | None,
) -> Counts:
    """Exact counts, or past `exact_up_to` hits those of slice 0 scaled up (approximate)."""
    if exact_up_to is not None and searcher.num_docs > exact_up_to:  # else never past it
        seen, counts = _aggregate(searcher, sampled, names)
        if seen * SAMPLES >= exact_up_to:
            return Counts.scaled(seen, counts)
    total, counts = _aggregate(searcher, query, names)
    return Counts(total, counts)


def search(
    path: Path,
    settings: Settings,
    text: str,
    filters: dict[str, str],
    access: set[str] | None,
    page: int,
    per_page: int,
    facets: list[str],
    snippets: bool,
    sortedby: str | None,
    known: Counts | None = None,
    exact_up_to: int | None = None,
) -> RecordResults | None:
    ix = open_index(path)
    if ix is None:
        return None
    if (found_format := marked_format(path)) != FORMAT:  # its fields are not today's
        raise IndexMissing(
            f"The records index at {path} was written by an older Kho (format "
            f"{found_format or 'unmarked'}; this one reads {FORMAT}). "
            "Run `kho reindex` to rebuild it from the store."
        )
    lay = layout()
    parsed = parse(text) if text else None
    main = lay.translate(parsed) if parsed is not None else tantivy.Query.all_query()
    restrict = _filters(filters, access)
    query = filtered(main, restrict)
    searcher = ix.searcher()
    if known is None:
        names = [n for n in facets if n in lay.kinds]
        sampled = filtered(main, [*restrict, lay.term(SAMPLE_FIELD, SAMPLED)])
        known = _counts(searcher, query, sampled, names, exact_up_to)
    total = known.total
    per_page = max(1, per_page)
    order = {"order_by_field": sortedby, "order": tantivy.Order.Asc} if sortedby else {}
    offset = (max(1, page) - 1) * per_page
    if offset and offset >= total and total and not known.approximate:
        offset = (total - 1) // per_page * per_page  # past the last page: the last page
    found = searcher.search(query, per_page, count=False, offset=offset, **order)
    if offset and not found.hits:  # past the end of an estimate: count them, the last page
        exact = int(searcher.search(query, 1, count=True).count or 0)
        if exact:
            offset = (exact - 1) // per_page * per_page
            found = searcher.search(query, per_page, count=False, offset=offset, **order)
    asked = Asked.of(parsed)
    hits = []
    for score, address in found.hits:
        fields = lay.fields(searcher.doc(address))
        score = 0.0 if sortedby else float(score)
        hits.append(dress(settings, fields, score, asked, snippets, str(fields.get("links") or "")))
    return RecordResults(total, hits, known.facets, known.approximate)
