"""The full-text index of hồ sơ and documents: metadata and OCR text, accent-blind, faceted.

Index documents are built from the store (repository.record_documents: one query path for ingest
and for `kho reindex`), so what the index holds is exactly what the store holds: a committed record
is searchable, a rejected one never reaches the index. Each document carries the unit its creator
served *and* the units valid today that took over that territory, so a search under the new Phường
Ba Đình finds the records of the old wards that merged into it (issue 4 builds the UI on this).

Two engines answer behind these functions (settings.search, KHO_SEARCH): Whoosh, the embedded
default (repository.records_whoosh), and tantivy for 100k records and more
(repository.records_tantivy). The Whoosh schema below describes the documents for both.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType

from whoosh import columns
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.qparser import MultifieldParser
from whoosh.query import And, Phrase, Query, Term

from repository import search_counts
from repository.access import mask_personal
from repository.config import Settings
from repository.errors import BadRequest, KhoError
from repository.search_counts import Counts
from repository.search_index import IndexMissing
from repository.search_text import (
    ENGINES,
    clean_query,
    engine,
    engine_path,
    folding_analyzer,
    written_by,
)
from repository.store import Store
from repository.text import nfc

WRITER_WAIT_SECONDS = 600.0  # an index update waits this long for another process's (an ingest)


class IndexBusy(KhoError):
    """Another process kept the records index's writer for longer than an update may wait."""

    status = 503

    def __init__(self, path: Path, seconds: float) -> None:
        super().__init__(
            f"Chỉ mục tìm kiếm đang được một tiến trình khác ghi suốt {seconds:g} giây. / "
            f"Another process (an ingest, `kho reindex`) has been writing the records index at "
            f"{path} for {seconds:g} s. What was written to the store is there; run "
            "`kho check --repair` or `kho reindex` once it is done."
        )
        self.retry_after = 30


FACETS = (
    "kind",
    "block",
    "level",
    "priority",
    "doctype",
    "year",
    "unit",
    "agency",
    "registry",
    "access",
)
# Filters that are not shown as facets in the sidebar, but browse pages and links use them.
FILTERS = (*FACETS, "hoso", "holder", "fonds")
SEARCH_FIELDS = [
    "title",
    "number_symbol",
    "issuer",
    "unit_names",
    "text",
    "signer",
    "code",
    "links",
    "link_keys",
]
_BOOSTS = {
    "title": 3.0,
    "number_symbol": 4.0,
    "issuer": 1.5,
    "unit_names": 1.0,
    "text": 0.6,
    "links": 1.2,
    "link_keys": 4.0,
}
MULTI = ("unit", "unit_now", "registry")  # a document has several values: counted once each
# The tantivy engine's format (its marker file): a change of the documents' fields bumps it.
FORMAT = "2026-11-sample"
__all__ = ["IndexMissing", "RecordHit", "RecordResults"]


class Keywords(KEYWORD):
    """Comma-separated values (a record's units), also kept as a list column per document, so a
    facet count reads each document's values directly instead of walking every term's postings."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(commas=True, **kwargs)  # type: ignore[arg-type]
        self.column_type = columns.VarBytesListColumn()

    def to_column_value(self, value: object) -> list[bytes]:
        return [v.strip().encode("utf-8") for v in str(value or "").split(",") if v.strip()]


def schema() -> Schema:
    """Facet fields are sortable (a column per field): counting facets reads the columns."""
    text = folding_analyzer()
    return Schema(
        iri=ID(stored=True, unique=True),
        kind=ID(stored=True, sortable=True),  # hoso | record
        code=ID(stored=True, field_boost=4.0),  # fileCode / docCode
        title=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["title"]),
        number_symbol=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["number_symbol"]),
        issuer=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["issuer"]),
        signer=TEXT(stored=True, analyzer=text),
        unit_names=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["unit_names"]),
        text=TEXT(analyzer=text, field_boost=_BOOSTS["text"]),
        block=ID(stored=True, sortable=True),
        level=ID(stored=True, sortable=True),
        doctype=ID(stored=True, sortable=True),
        year=ID(stored=True, sortable=True),
        unit=Keywords(stored=True),  # creator's unit + units valid today
        agency=ID(stored=True, sortable=True),
        access=ID(stored=True, sortable=True),  # TT 05 mode 01/02/03, as filed (its graph)
        # What its registry links say (repository.link_documents; never a citizen's number or
        # pseudonym): words (names, positions, communes), exact keys ("0100109106",
        # "10369/8/434", "cb01-004512"), the kinds cited (facet), one label per link.
        links=TEXT(analyzer=text, field_boost=_BOOSTS["links"]),
        # Stored, so each engine tells which of a hit's own keys the query named (via_links).
        link_keys=KEYWORD(lowercase=True, stored=True, field_boost=_BOOSTS["link_keys"]),
        registry=Keywords(stored=True),  # enterprise, land, official, citizen
        link_labels=STORED(),
        sample=ID(),  # sample_of(iri): the slice broad queries are counted on
        # Format marker: an index without it predates the sample slices (or stored link keys,
        # registry links, facet columns, access-by-graph) and is rebuilt by ensure_current.
        format_2026_11_sample=STORED(),
        hoso=ID(stored=True, sortable=True),
        issued=STORED(),
        priority=ID(stored=True, sortable=True),  # programme priority group 1–5 (the hồ sơ's)
        holder=ID(stored=True, sortable=True),  # agency holding the hồ sơ now
        fonds=ID(stored=True, sortable=True),
        unit_now=KEYWORD(stored=True, commas=True),  # units valid today holding its territory
        unit_default=STORED(),  # of those, the one a divided unit's records default to
        pages=STORED(),
        sha=STORED(),  # the original PDF, whose (masked) text gives the snippets
    )


@dataclass
class RecordHit:
    iri: str
    kind: str
    code: str
    title: str
    number_symbol: str | None
    issuer: str | None
    block: str | None
    doctype: str | None
    year: str | None
    issued: str | None
    hoso: str | None
    score: float
    access: str | None = None
    priority: str | None = None
    unit: str | None = None  # the unit its creator served
    units_now: list[str] = field(default_factory=list)
    unit_default: str | None = None
    snippet: str | None = None  # HTML: escaped, masked text with <strong class="match"> marks
    via_links: list[str] = field(default_factory=list)  # labels of the registry links it matched

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class RecordResults:
    total: int
    hits: list[RecordHit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    approximate: bool = False  # total and facet counts estimated on a sample (about N)

    def to_json(self) -> dict[str, object]:
        return {
            "total": self.total,
            "approximate": self.approximate,
            "hits": [h.to_json() for h in self.hits],
            "facets": {
                k: [{"value": v, "count": n} for v, n in vs] for k, vs in self.facets.items()
            },
        }


def index_path(settings: Settings) -> Path:
    """Where the index of the configured engine lives (each engine has a directory of its own)."""
    return engine_path(Path(settings.data_dir) / "records-index", engine(settings))


def _engine(settings: Settings) -> ModuleType:
    return importlib.import_module(f"repository.records_{engine(settings)}")


def rebuild(store: Store, settings: Settings, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the records index from the store beside the old one, then swap it in."""
    from repository.search_text import write_beside

    eng = _engine(settings)
    count = write_beside(
        index_path(settings), lambda path: eng.rebuild(path, store, settings, progress)
    )
    _changed(settings)
    return count


def _changes_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "records-index.changes"


def _changed(settings: Settings) -> None:
    """Mark that the index changed what it held (a document updated or removed, a rebuild), as
    opposed to only adding documents: written after the change, a new file each time."""
    path = _changes_path(settings)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(f"{time.time_ns()}\n", encoding="utf-8")
    os.replace(tmp, path)


def changes(settings: Settings) -> tuple[int, int] | None:
    """The mark of the index's last change (see _changed); None before the first. Kept answers
    may lag behind documents added, never behind a change (webapp.page_cache)."""
    try:
        st = os.stat(_changes_path(settings))
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def generation(settings: Settings) -> int | None:
    """The index's generation on disk (it grows with each commit); None when there is none.
    Answers derived from the index (browse lists) are kept per generation."""
    return _engine(settings).generation(index_path(settings))  # type: ignore[no-any-return]


def is_current(settings: Settings) -> bool:
    """Was the index on disk built by this engine with today's fields (masked texts, lineage
    fields, registry links)?"""
    return bool(_engine(settings).is_current(index_path(settings)))


def _switched(settings: Settings) -> str | None:
    """The engine of an index left by another KHO_SEARCH, when this engine has none."""
    base = Path(settings.data_dir) / "records-index"
    for other in ENGINES:
        if other != engine(settings) and written_by(engine_path(base, other)) == other:
            return other
    return None


def ensure_current(store: Store, settings: Settings) -> bool:
    """Rebuild an index written by an older Kho (it may hold unmasked identification numbers),
    or build this engine's index when KHO_SEARCH switched engines; True when it was rebuilt."""
    if not _engine(settings).exists(index_path(settings)):
        if _switched(settings) is None:
            return False
    elif is_current(settings):
        return False
    rebuild(store, settings)
    return True


def update(
    store: Store,
    settings: Settings,
    iris: Iterable[str],
    removed: Iterable[str] = (),
    *,
    new: Iterable[str] = (),
    wait: float = WRITER_WAIT_SECONDS,
) -> int:
    """Bring the index in step with the store for these IRIs (added/changed) and removed ones.

    IRIs in `new` were never indexed, so they are added without looking for an old copy. An index
    of an older schema (or of the other engine only) is rebuilt whole instead. The index has one
    writer at a time across processes: this waits up to `wait` seconds for it (IndexBusy).
    """
    if ensure_current(store, settings):
        return len(list(iris))
    eng = _engine(settings)
    iris, removed, new = list(iris), list(removed), set(new)
    try:
        return int(eng.update(index_path(settings), store, settings, iris, removed, new, wait))
    finally:
        if removed or set(iris) - new:  # not only additions: whatever happened, say so
            _changed(settings)


def indexed_iris(settings: Settings) -> set[str]:
    return _engine(settings).indexed_iris(index_path(settings))  # type: ignore[no-any-return]


def indexed_documents(settings: Settings) -> list[str]:
    """The IRI of every document in the index, once per document (`kho check` counts twins)."""
    return _engine(settings).indexed_documents(index_path(settings))  # type: ignore[no-any-return]


def exists(settings: Settings) -> bool:
    return bool(_engine(settings).exists(index_path(settings)))


def check_filters(filters: dict[str, str]) -> dict[str, str]:
    """The filters with a value; an unknown name is the caller's error."""
    for name in filters:
        if name not in FILTERS:
            raise BadRequest(f"Unknown filter {name!r}; use one of {', '.join(FILTERS)}.")
    return {n: v for n, v in filters.items() if v}


@cache
def schema_cached() -> Schema:
    return schema()


@cache
def _parser() -> MultifieldParser:
    return MultifieldParser(SEARCH_FIELDS, schema=schema())


@lru_cache(maxsize=512)
def parse(text: str) -> Query:
    """The query both engines run: every word must match, in one of the search fields.

    A quoted phrase is asked of the text fields as a phrase and of the link keys word by word:
    that field keeps no positions, and Whoosh would fail the whole search on it."""
    return _parser().parse(text).accept(_no_phrase_without_positions)


def _no_phrase_without_positions(q: Query) -> Query:
    if isinstance(q, Phrase) and not schema_cached()[q.fieldname].format.supports("positions"):
        return And([Term(q.fieldname, w, boost=q.boost) for w in q.words])
    return q


def search(
    settings: Settings,
    q: str,
    *,
    filters: dict[str, str] | None = None,
    access: set[str] | None = None,
    page: int = 1,
    per_page: int = 20,
    facets: Iterable[str] = FACETS,
    snippets: bool = False,
    sortedby: str | None = None,
    exact: bool = False,
    exact_up_to: int | None = None,
) -> RecordResults:
    """Records and hồ sơ matching `q` (every word, accents ignored), with facet counts.

    `access` limits the hits *and* the facet counts to those access levels (None: no limit): the
    filter applies before anything is counted. `snippets` adds a highlighted passage of each
    hit's text, masked as the index is. A hit found through its registry links names them
    (`via_links`).

    Counts past `exact_up_to` hits (default: settings.search_exact_up_to) may be estimated on a
    sample of the index (tantivy; repository.search_counts), then `approximate` says so; `exact`
    counts every hit. The counts are kept per index state: the next page does not count again.
    """
    if exact_up_to is None:
        exact_up_to = settings.search_exact_up_to
    threshold = None if exact else exact_up_to
    path = index_path(settings)
    eng = _engine(settings)
    text = clean_query(q)
    chosen = check_filters(filters or {})
    names = list(facets)
    stamp = eng.stamp(path)
    key = (
        engine(settings),
        str(path),
        stamp,
        text,
        tuple(sorted(chosen.items())),
        None if access is None else tuple(sorted(access)),
        tuple(names),
        threshold,
    )
    known = search_counts.kept(key) if stamp is not None else None
    for attempt in range(3):
        try:
            results = eng.search(
                path,
                settings,
                text,
                chosen,
                access,
                page,
                per_page,
                names,
                snippets,
                sortedby,
                known,
                threshold,
            )
            break
        except FileNotFoundError:
            # A writer in another process (kho ingest) merged segments away between our reading
            # of the index's table of contents and opening them: read the new state.
            if attempt == 2:
                raise
    if results is None:
        other = _switched(settings)
        switched = (
            f" (the index there was built by {other}; KHO_SEARCH={engine(settings)} needs its own)"
            if other
            else ""
        )
        raise IndexMissing(
            f"The records index at {path} has not been built yet{switched}. "
            "Run `kho reindex` to build it from the store."
        )
    if known is None and stamp is not None:
        search_counts.keep(key, Counts(results.total, results.facets, results.approximate))
    return results  # type: ignore[no-any-return]


def masked_text(settings: Settings, sha: str) -> str:
    """The OCR text of a file as the index holds it: personal numbers masked."""
    from repository.files import FileStore

    files = FileStore(Path(settings.files_path))  # type: ignore[arg-type]
    return mask_personal(nfc(files.text(sha) or ""))


def hit_from(f: dict[str, object], score: float) -> RecordHit:
    def opt(key: str) -> str | None:
        value = f.get(key)
        return str(value) if value else None

    units = [u for u in str(f.get("unit") or "").split(",") if u]
    return RecordHit(
        iri=str(f["iri"]),
        kind=str(f["kind"]),
        code=str(f.get("code") or ""),
        title=str(f.get("title") or ""),
        number_symbol=opt("number_symbol"),
        issuer=opt("issuer"),
        block=opt("block"),
        doctype=opt("doctype"),
        year=opt("year"),
        issued=opt("issued"),
        hoso=opt("hoso"),
        # Rounded: twelve digits in a row would read as a citizen's number to the output mask.
        score=round(float(score), 4),
        access=opt("access"),
        priority=opt("priority"),
        unit=units[0] if units else None,
        units_now=[u for u in str(f.get("unit_now") or "").split(",") if u],
        unit_default=opt("unit_default"),
    )
