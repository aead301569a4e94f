"""The records index on Whoosh (settings.search = "whoosh", the embedded default)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from whoosh import index as windex
from whoosh import sorting
from whoosh.query import And, Every, Or, Query, Term

from repository.config import Settings
from repository.record_documents import record_documents
from repository.record_index import (
    MULTI,
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
) -> int:
    ix = _open(path, create=True)
    assert ix is not None
    writer = ix.writer(limitmb=128)
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
    groups = sorting.Facets()
    for name in names:
        groups.add_field(name, allow_overlap=name in MULTI)
    only = _filter(filters, access)
    with ix.searcher() as searcher:
        results = searcher.search_page(
            query,
            max(1, page),
            pagelen=per_page,
            filter=only,
            groupedby=groups if names else None,
            maptype=sorting.Count if names else None,
            sortedby=sortedby,
            terms=bool(text),
        )
        counts = known.facets if known else {}
        for name in names:
            groups_of = results.results.groups(name).items()
            counts[name] = by_count((_text(k), int(n)) for k, n in groups_of if k)
        # The words and keys the query asks of the links, checked against each hit's own link
        # labels as the tantivy engine does: Whoosh's matched terms leave out what an OR matched
        # in another field of the same document.
        asked = Asked.of(query if text else None)
        hits = []
        for r in results:
            fields = r.fields()
            matched = r.matched_terms() if text else []
            in_text = {t.decode("utf-8") for f, t in matched if f == "text"}
            link_text = " ; ".join(fields.get("link_labels") or [])
            hits.append(
                dress(settings, fields, r.score or 0.0, asked, snippets, link_text, in_text)
            )
        if known is not None:
            total = known.total
        elif only is None:
            total = results.total
        else:  # Whoosh's own total skips the filter when it skips blocks (access levels!)
            total = sum(1 for _ in searcher.docs_for_query(And([query, only])))
        return RecordResults(total=total, hits=hits, facets=counts)


def _text(key: object) -> str:
    """A facet value: list columns (the units) give raw bytes."""
    return key.decode("utf-8") if isinstance(key, bytes) else str(key)
