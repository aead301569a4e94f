"""The records index on Whoosh (settings.search = "whoosh", the embedded default)."""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from whoosh import index as windex
from whoosh.query import And, Every, Or, Query, Term
from whoosh.searching import Searcher

from repository.config import Settings
from repository.record_documents import record_documents
from repository.record_index import (
    MULTI,
    WRITER_WAIT_SECONDS,
    IndexBusy,
    RecordResults,
    parse,
    schema,
)
from repository.records_hits import Asked, by_count, dress
from repository.search_counts import Counts
from repository.search_index import write_index
from repository.search_text import (
    mark,
)
from repository.store import Store

_TOC = re.compile(r"^_MAIN_(\d+)\.toc$")  # Whoosh's table of contents of one commit


def rebuild(
    path: Path,
    store: Store,
    settings: Settings,
    progress: Callable[[int], None] | None = None,
) -> int:
    count = write_index(path, schema(), record_documents(store, settings), progress)
    mark(path, "whoosh", "")
    return count


def _open(path: Path, create: bool = False) -> windex.Index | None:
    if path.is_dir() and windex.exists_in(str(path)):
        return windex.open_dir(str(path))
    if not create:
        return None
    path.mkdir(parents=True, exist_ok=True)
    ix = windex.create_in(str(path), schema())
    mark(path, "whoosh", "")
    return ix


def exists(path: Path) -> bool:
    return _open(path) is not None


def generation(path: Path) -> int | None:
    """The latest commit's generation, read from the names of the index's tables of contents
    (_MAIN_<generation>.toc) without opening the index: it is asked on every page."""
    try:
        names = os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    found = [int(m.group(1)) for m in map(_TOC.match, names) if m]
    return max(found) if found else None


def is_current(path: Path) -> bool:
    ix = _open(path)
    return ix is not None and set(schema().names()) <= set(ix.schema.names())


def update(
    path: Path,
    store: Store,
    settings: Settings,
    iris: Iterable[str],
    removed: Iterable[str],
    fresh: set[str],
    wait: float = WRITER_WAIT_SECONDS,
) -> int:
    ix = _open(path, create=True)
    assert ix is not None
    try:
        writer = ix.writer(limitmb=128, timeout=wait, delay=0.05)
    except windex.LockError:
        raise IndexBusy(path, wait) from None
    count = 0
    try:
        for iri in removed:
            writer.delete_by_term("iri", iri)
        for doc in record_documents(store, settings, iris):
            if doc["iri"] in fresh:
                writer.add_document(**doc)
            else:
                writer.update_document(**doc)
            count += 1
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    return count


def indexed_iris(path: Path) -> set[str]:
    return set(indexed_documents(path))


def indexed_documents(path: Path) -> list[str]:
    """The IRI of every live document (an IRI indexed twice appears twice)."""
    ix = _open(path)
    if ix is None:
        return []
    with ix.searcher() as s:
        return [str(f["iri"]) for f in s.all_stored_fields()]


def _str(term: object) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else str(term)


def stamp(path: Path) -> tuple[int, str, int] | None:
    """The index's state: its directory (a rebuild swaps in another) and its latest table of
    contents (one per commit), read from the directory listing without opening the index."""
    try:
        tocs = [e for e in os.scandir(path) if e.name.endswith(".toc")]
        if not tocs:
            return None
        last = max(tocs, key=lambda e: (len(e.name), e.name))
        return path.stat().st_ino, last.name, last.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _filter(filters: dict[str, str], access: set[str] | None) -> Query | None:
    terms: list[Query] = [Term(n, v) for n, v in filters.items()]
    if access is not None:
        terms.append(
            Or([Term("access", a) for a in sorted(access)]) if access else Term("access", "-")
        )
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else And(terms)


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
    """Every count exact (`exact_up_to` is the tantivy engine's): Whoosh serves small archives.
    Counts `known` from an earlier page are not counted again."""
    ix = _open(path)
    if ix is None:
        return None
    query = parse(text) if text else Every()
    names = [n for n in facets if n in ix.schema.names()] if known is None else []
    only = _filter(filters, access)
    with ix.searcher() as searcher:
        # The documents the filter allows and the query matches, once: the page of hits, the
        # total and the facet counts all come from them (Whoosh's grouped collector counted
        # facets in Python per hit and read every column's offsets again on each search).
        allowed = None if only is None else set(searcher.docs_for_query(only))
        if allowed is not None and not allowed:  # (an empty filter set would filter nothing)
            none = known.facets if known else {name: [] for name in names}
            return RecordResults(total=0, hits=[], facets=none)
        page = max(1, page)
        if text:  # every match scored once: the page, the total and the counts come from it
            results = searcher.search(
                query, limit=None, filter=allowed, sortedby=sortedby, terms=True
            )
            hits_of_page = list(results[(page - 1) * per_page : page * per_page])
        else:
            page_of = searcher.search_page(
                query, page, pagelen=per_page, filter=allowed, sortedby=sortedby
            )
            hits_of_page = list(page_of)
        counts = known.facets if known else {}
        total = known.total if known is not None else 0
        if known is None:  # (a later page of the same search has its counts kept)
            if text:
                matched = set(results.docs())
            else:
                matched = allowed if allowed is not None else set(searcher.reader().all_doc_ids())
            total = len(matched)
            columns = _columns(path, searcher, names)
            for name in names:
                counts[name] = by_count(_count(columns[name], matched, name in MULTI).items())
        # The words and keys the query asks of the links, checked against each hit's own link
        # labels as the tantivy engine does: Whoosh's matched terms leave out what an OR matched
        # in another field of the same document.
        asked = Asked.of(query if text else None)
        hits = []
        for r in hits_of_page:
            fields = r.fields()
            matched_terms = r.matched_terms() if text else []
            in_text = {t.decode("utf-8") for f, t in matched_terms if f == "text"}
            link_text = " ; ".join(fields.get("link_labels") or [])
            hits.append(
                dress(settings, fields, r.score or 0.0, asked, snippets, link_text, in_text)
            )
        return RecordResults(total=total, hits=hits, facets=counts)


# Facet values per document number, read from the columns once per index state and process.
_COLUMNS: dict[tuple[str, object], dict[str, list[object]]] = {}
_COLUMNS_LOCK = threading.Lock()


def _columns(path: Path, searcher: Searcher, names: list[str]) -> dict[str, list[object]]:
    """The columns of `names` as this searcher numbers its documents (its segments and their
    deletions: a commit in between renumbers them)."""
    segments = tuple(
        (r.segment().segment_id(), r.segment().deleted_count())  # type: ignore[attr-defined]
        for r, _ in searcher.reader().leaf_readers()
    )
    key = (str(path), segments)
    with _COLUMNS_LOCK:
        kept = _COLUMNS.get(key)
        if kept is None:
            kept = {}
            _COLUMNS.clear()
            _COLUMNS[key] = kept
        reader = searcher.reader()
        for name in names:
            if name not in kept:
                column = reader.column_reader(name, translate=name not in MULTI)
                one: dict[object, object] = {}  # each value once in memory, however many hold it
                if name in MULTI:
                    kept[name] = [tuple(one.setdefault(v, v) for v in vs) for vs in column]
                else:
                    kept[name] = [one.setdefault(v, v) for v in column]
        return kept


def _count(values: list[object], docs: Iterable[int], multi: bool) -> Counter[str]:
    """How many of `docs` hold each value (a document with several values counts for each)."""
    if not multi:
        return Counter(_text(v) for v in map(values.__getitem__, docs) if v)
    counts: Counter[str] = Counter()
    for doc in docs:
        counts.update({_text(v) for v in values[doc] if v})  # type: ignore[attr-defined]
    return counts


def _text(key: object) -> str:
    """A facet value: list columns (the units) give raw bytes."""
    return key.decode("utf-8") if isinstance(key, bytes) else str(key)
