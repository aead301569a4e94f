"""Run the search tests once per engine: Whoosh (the default) and tantivy (KHO_SEARCH=tantivy).

A test module overrides a settings fixture with `on_engine`: the tantivy run gets the same data
directory with settings.search = "tantivy", whose indexes live beside Whoosh's
(records-index-tantivy, index-tantivy), built once from the same store, kept with the directory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import tantivy
from whoosh import index as windex

from repository import record_index, search_index
from repository.config import Settings
from repository.search_tantivy import open_index
from repository.store import open_store

ENGINES = ("whoosh", "tantivy")


def on_engine(settings: Settings, engine: str) -> Settings:
    """`settings` searching with `engine`, its indexes built from the store when missing."""
    if settings.search == engine:
        return settings
    chosen = dataclasses.replace(settings, search=engine)
    store = open_store(chosen)  # the store KHO_STORE names (embedded or a server)
    record_index.ensure_current(store, chosen)  # builds this engine's index beside the other's
    if not search_index.index_exists(chosen):
        search_index.build_index(store, chosen)
    return chosen


def terms(settings: Settings, fields: tuple[str, ...]) -> set[str]:
    """Every indexed word of `fields` in the records index."""
    path = record_index.index_path(settings)
    if settings.search == "tantivy":
        ix = open_index(path)
        assert ix is not None
        searcher = ix.searcher()
        return {t for f in fields for t, _ in searcher.terms_with_prefix(f, "")}
    with windex.open_dir(str(path)).searcher() as searcher:
        return {t.decode() for name in fields for t in searcher.lexicon(name)}


def all_terms(settings: Settings) -> Iterator[tuple[str, str]]:
    """(field, word) for every word of every field of the records index."""
    path = record_index.index_path(settings)
    if settings.search == "tantivy":
        ix = open_index(path)
        assert ix is not None
        searcher = ix.searcher()
        for name in record_index.schema().names():
            for t, _ in searcher.terms_with_prefix(name, ""):
                yield name, t
        return
    with windex.open_dir(str(path)).reader() as reader:
        for name, term in reader.all_terms():
            yield name, term.decode("utf-8", "replace") if isinstance(term, bytes) else ""


def stored(settings: Settings) -> list[dict[str, object]]:
    """Every stored document of the records index, as Whoosh gives them."""
    path = record_index.index_path(settings)
    if settings.search == "tantivy":
        from repository.records_tantivy import layout

        ix = open_index(path)
        assert ix is not None
        searcher = ix.searcher()
        found = searcher.search(tantivy.Query.all_query(), max(1, searcher.num_docs))
        return [layout().fields(searcher.doc(a)) for _, a in found.hits]
    with windex.open_dir(str(path)).searcher() as searcher:
        return [dict(f) for f in searcher.all_stored_fields()]
