"""The Whoosh full-text index of hồ sơ and documents: metadata and OCR text, accent-blind, faceted.

Index documents are built from the store (repository.record_documents: one query path for ingest
and for `kho reindex`), so what the index holds is exactly what the store holds: a committed record
is searchable, a rejected one never reaches the index. Each document carries the unit its creator
served *and* the units valid today that took over that territory, so a search under the new Phường
Ba Đình finds the records of the old wards that merged into it (issue 4 builds the UI on this).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from whoosh import columns, highlight, sorting
from whoosh import index as windex
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.qparser import MultifieldParser
from whoosh.query import And, Every, Or, Query, Term

from repository.access import mask_personal
from repository.config import Settings
from repository.errors import BadRequest
from repository.record_documents import record_documents
from repository.search_index import IndexMissing, folding_analyzer, write_index
from repository.store import Store
from repository.text import nfc

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
# A word of punctuation only ("Viễn thông – Quân đội", "Văn Miếu - Quốc Tử Giám") has no index
# terms: left in, it would make the query ask for the dash itself, and nothing matches.
_PUNCTUATION = re.compile(r'(?<!\S)[^\w\s()"]+(?!\S)')
_MULTI = ("unit", "unit_now", "registry")  # a document has several values: counted once each


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
        link_keys=KEYWORD(lowercase=True, field_boost=_BOOSTS["link_keys"]),
        registry=Keywords(stored=True),  # enterprise, land, official, citizen
        link_labels=STORED(),
        # Format marker: an index without it predates registry links (or facet columns, or
        # access-by-graph) and is rebuilt by ensure_current.
        format_2026_11_registry_links=STORED(),
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

    def to_json(self) -> dict[str, object]:
        return {
            "total": self.total,
            "hits": [h.to_json() for h in self.hits],
            "facets": {
                k: [{"value": v, "count": n} for v, n in vs] for k, vs in self.facets.items()
            },
        }


def index_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "records-index"


def rebuild(store: Store, settings: Settings, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the records index from the store beside the old one, then swap it in."""
    return write_index(index_path(settings), schema(), record_documents(store, settings), progress)


def _open(settings: Settings, create: bool = False) -> windex.Index | None:
    path = index_path(settings)
    if path.is_dir() and windex.exists_in(str(path)):
        return windex.open_dir(str(path))
    if not create:
        return None
    path.mkdir(parents=True, exist_ok=True)
    return windex.create_in(str(path), schema())


def generation(settings: Settings) -> int | None:
    """The index's generation on disk (it grows with each commit); None when there is none.
    Answers derived from the index (browse lists) are kept per generation."""
    ix = _open(settings)
    return None if ix is None else int(ix.latest_generation())


def is_current(settings: Settings) -> bool:
    """Was the index on disk built with today's schema (masked texts, lineage fields)?"""
    ix = _open(settings)
    return ix is not None and set(schema().names()) <= set(ix.schema.names())


def ensure_current(store: Store, settings: Settings) -> bool:
    """Rebuild an index written by an older Kho (it may hold unmasked identification numbers);
    True when it was rebuilt."""
    if _open(settings) is None or is_current(settings):
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
) -> int:
    """Bring the index in step with the store for these IRIs (added/changed) and removed ones.

    IRIs in `new` were never indexed, so they are added without looking for an old copy. An index
    of an older schema is rebuilt whole instead.
    """
    if ensure_current(store, settings):
        return len(list(iris))
    ix = _open(settings, create=True)
    assert ix is not None
    fresh = set(new)
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


def indexed_iris(settings: Settings) -> set[str]:
    ix = _open(settings)
    if ix is None:
        return set()
    with ix.searcher() as s:
        return {str(f["iri"]) for f in s.all_stored_fields()}


def _filter(filters: dict[str, str], access: set[str] | None) -> Query | None:
    terms: list[Query] = []
    for name, value in filters.items():
        if name not in FILTERS:
            raise BadRequest(f"Unknown filter {name!r}; use one of {', '.join(FILTERS)}.")
        if value:
            terms.append(Term(name, value))
    if access is not None:
        terms.append(
            Or([Term("access", a) for a in sorted(access)]) if access else Term("access", "-")
        )
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else And(terms)


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
) -> RecordResults:
    """Records and hồ sơ matching `q` (every word, accents ignored), with facet counts.

    `access` limits the hits *and* the facet counts to those access levels (None: no limit): the
    filter applies before anything is counted. `snippets` adds a highlighted passage of each
    hit's text, masked as the index is. A hit found through its registry links names them
    (`via_links`).
    """
    ix = _open(settings)
    if ix is None:
        raise IndexMissing(
            f"The records index at {index_path(settings)} has not been built yet. "
            "Run `kho reindex` to build it from the store."
        )
    text = _PUNCTUATION.sub(" ", nfc(q)).strip()
    parser = MultifieldParser(SEARCH_FIELDS, schema=ix.schema)
    query = parser.parse(text) if text else Every()
    names = [n for n in facets if n in ix.schema.names()]
    groups = sorting.Facets()
    for name in names:
        groups.add_field(name, allow_overlap=name in _MULTI)
    with ix.searcher() as searcher:
        results = searcher.search_page(
            query,
            max(1, page),
            pagelen=per_page,
            filter=_filter(filters or {}, access),
            groupedby=groups,
            maptype=sorting.Count,
            sortedby=sortedby,
            terms=bool(text),
        )
        counts = {
            name: sorted(
                ((_text(k), int(n)) for k, n in results.results.groups(name).items() if k),
                key=lambda kv: (-kv[1], kv[0]),
            )
            for name in names
        }
        hits = []
        for r in results:
            hit = _hit(r.fields(), r.score or 0.0)
            if snippets and text and r.get("sha"):
                hit.snippet = _snippet(r, settings) or None
            if text:
                hit.via_links = _via_links(r.get("link_labels") or [], r.matched_terms())
            hits.append(hit)
        return RecordResults(total=results.total, hits=hits, facets=counts)


def _text(key: object) -> str:
    """A facet value: list columns (the units) give raw bytes."""
    return key.decode("utf-8") if isinstance(key, bytes) else str(key)


def _snippet(result: object, settings: Settings) -> str:
    from repository.files import FileStore

    files = FileStore(Path(settings.files_path))  # type: ignore[arg-type]
    body = mask_personal(nfc(files.text(str(result["sha"])) or ""))  # type: ignore[index]
    result.results.formatter = highlight.HtmlFormatter(  # type: ignore[attr-defined]
        tagname="strong", classname="match", termclass="t"
    )
    return str(result.highlights("text", text=body, top=2))  # type: ignore[attr-defined]


def _via_links(labels: list[str], matched: list[tuple[str, bytes]]) -> list[str]:
    """The labels of the links whose words or keys the query matched, best first (at most 3)."""
    words = {t.decode("utf-8") for f, t in matched if f == "links"}
    keys = {t.decode("utf-8") for f, t in matched if f == "link_keys"}
    if not words and not keys:
        return []
    analyzer = folding_analyzer()
    scored = []
    for label in labels:
        tokens = {t.text for t in analyzer(label)}
        score = len(words & tokens) + 2 * sum(1 for k in keys if k in label.lower())
        if score:
            scored.append((score, label))
    best = max((n for n, _ in scored), default=0)
    return [label for n, label in scored if n == best][:3]


def _hit(f: dict[str, object], score: float) -> RecordHit:
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
