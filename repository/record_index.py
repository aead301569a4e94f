"""The Whoosh full-text index of hồ sơ and documents: metadata and OCR text, accent-blind, faceted.

Index documents are built from the store (one query path for ingest and for `kho reindex`), so
what the index holds is exactly what the store holds: a committed record is searchable, a
rejected one never reaches the index. Each document carries the unit its creator served *and*
the units valid today that took over that territory, so a search under the new Phường Ba Đình
finds the records of the old wards that merged into it (issue 4 builds the UI on this).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import pyoxigraph as ox
from whoosh import highlight, sorting
from whoosh import index as windex
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.qparser import MultifieldParser
from whoosh.query import And, Every, Or, Query, Term

from repository import gazetteer
from repository.access import mask_personal
from repository.config import Settings
from repository.errors import BadRequest
from repository.namespaces import MODE_GRAPH
from repository.search_index import IndexMissing, folding_analyzer, write_index
from repository.store import Store
from repository.text import nfc

FACETS = ("kind", "block", "level", "priority", "doctype", "year", "unit", "agency", "access")
# Filters that are not shown as facets in the sidebar, but browse pages and links use them.
FILTERS = (*FACETS, "hoso", "holder", "fonds")
SEARCH_FIELDS = ["title", "number_symbol", "issuer", "unit_names", "text", "signer", "code"]
_BOOSTS = {"title": 3.0, "number_symbol": 4.0, "issuer": 1.5, "unit_names": 1.0, "text": 0.6}
BLOCKS = {"block-chinh-quyen": "chinh-quyen", "block-dang": "dang", "block-doan-the": "doan-the"}


def schema() -> Schema:
    text = folding_analyzer()
    return Schema(
        iri=ID(stored=True, unique=True),
        kind=ID(stored=True),  # hoso | record
        code=ID(stored=True, field_boost=4.0),  # fileCode / docCode
        title=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["title"]),
        number_symbol=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["number_symbol"]),
        issuer=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["issuer"]),
        signer=TEXT(stored=True, analyzer=text),
        unit_names=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["unit_names"]),
        text=TEXT(analyzer=text, field_boost=_BOOSTS["text"]),
        block=ID(stored=True),
        level=ID(stored=True),
        doctype=ID(stored=True),
        year=ID(stored=True),
        unit=KEYWORD(stored=True, commas=True),  # creator's unit + units valid today
        agency=ID(stored=True),
        access=ID(stored=True),  # TT 05 mode code 01/02/03, as filed (the graph holding it)
        # Format marker: an index without it predates access-by-graph and is rebuilt.
        format_2026_11_access_by_graph=STORED(),
        hoso=ID(stored=True),
        issued=STORED(),
        priority=ID(stored=True),  # programme priority group 1–5 (the hồ sơ's)
        holder=ID(stored=True),  # agency holding the hồ sơ now
        fonds=ID(stored=True),
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


_RECORDS = """
SELECT ?r ?kind ?code ?title ?subject ?ns ?organ ?creator ?creatorName ?unit ?unitName ?level
       ?block ?type ?issued ?start ?mode ?modeGraph ?hoso ?signer ?sha ?prio ?holder ?fonds ?pages
WHERE {
  %s
  ?r a rico:Record . BIND("record" AS ?kind)
  OPTIONAL { ?r rico:scopeAndContent ?subject }
  OPTIONAL { ?r kho:numberSymbol ?ns }
  OPTIONAL { ?r kho:typeName ?type }
  OPTIONAL { ?r dct:issued ?issued }
  OPTIONAL { ?r rico:isOrWasIncludedIn ?hoso . ?hoso rico:hasRecordSetType ric-rst:File
             OPTIONAL { ?hoso kho:priorityGroup ?prio }
             OPTIONAL { ?hoso rico:hasOrHadHolder ?holder }
             OPTIONAL { ?hoso rico:isOrWasIncludedIn ?fonds .
                        ?fonds rico:hasRecordSetType ric-rst:Fonds } }
  OPTIONAL { ?r kho:signer ?signer }
  OPTIONAL { ?r rico:hasOrHadInstantiation ?f . ?f kho:sha256 ?sha
             FILTER NOT EXISTS { ?f rico:isDerivedFromInstantiation ?any } }
  %s
}"""
_HOSO = """
SELECT ?r ?kind ?code ?title ?organ ?creator ?creatorName ?unit ?unitName ?level ?block ?start
       ?mode ?modeGraph ?prio ?holder ?fonds ?pages
WHERE {
  %s
  ?r rico:hasRecordSetType ric-rst:File . BIND("hoso" AS ?kind)
  OPTIONAL { ?r rico:title ?title }
  OPTIONAL { ?r kho:priorityGroup ?prio } OPTIONAL { ?r rico:hasOrHadHolder ?holder }
  OPTIONAL { ?r rico:isOrWasIncludedIn ?fonds . ?fonds rico:hasRecordSetType ric-rst:Fonds }
  OPTIONAL { ?r rico:beginningDate ?start }
  %s
}"""
_COMMON = """
  OPTIONAL { ?r rico:identifier ?code }
  OPTIONAL { ?r kho:organName ?organ }
  OPTIONAL { ?r rico:hasCreator ?creator . OPTIONAL { ?creator skos:prefLabel ?creatorName
             FILTER(lang(?creatorName) = "vi") } }
  OPTIONAL { ?r kho:adminUnit ?unit . OPTIONAL { ?unit kho:level ?level }
             OPTIONAL { ?unit skos:prefLabel ?unitName FILTER(lang(?unitName) = "vi") } }
  OPTIONAL { ?r kho:block ?block }
  OPTIONAL { GRAPH ?modeGraph { ?r kho:accessLevel ?mode } }
  OPTIONAL { ?r kho:numberOfPage ?pages }"""


def _rows(store: Store, iris: list[str] | None) -> list[dict[str, object]]:
    """One row per record/hồ sơ (per extra value of a multi-valued field), VALUES-bound."""
    if iris is None:
        return store.select(_RECORDS % ("", _COMMON)) + store.select(_HOSO % ("", _COMMON))
    rows: list[dict[str, object]] = []
    for start in range(0, len(iris), 500):
        values = "VALUES ?r { " + " ".join(f"<{i}>" for i in iris[start : start + 500]) + " }"
        rows += store.select(_RECORDS % (values, _COMMON))
        rows += store.select(_HOSO % (values, _COMMON))
    return rows


def _access(row: dict[str, object]) -> str:
    """The level a record is filed under: the graph holding it (a document in a secret hồ sơ is
    secret whatever its own mode says), never lower than its own mode code."""
    family = str(row.get("modeGraph") or "").split("/graph/records/")[-1].split("/")[0]
    by_graph = {v: k for k, v in MODE_GRAPH.items()}.get(family, "03")
    return max(by_graph, _local(row.get("mode")).replace("mode-", "") or "01")


def _local(iri: object) -> str:
    text = str(iri or "")
    return text.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


_CURRENT: dict[tuple[int, str], dict[str, tuple[list[str], list[str], str | None]]] = {}
_DEFAULT = "SELECT ?d WHERE { ?me kho:defaultSuccessor+ ?d }"


def _lineage(store: Store, unit: str, today: date) -> tuple[list[str], list[str], str | None]:
    """(names of the current units, their IRIs, the default one) for the creator's `unit`."""
    now = gazetteer.current_units(store, unit, today)
    iris = [u.iri for u in now]
    default = None
    if len(iris) > 1:  # a divided unit: its records default to one successor (docs/model.md)
        rows = store.select(_DEFAULT, substitutions={"me": ox.NamedNode(unit)})
        default = next((str(r["d"]) for r in rows if str(r["d"]) in iris), None)
    return [u.name for u in now], iris, default


def record_documents(
    store: Store, settings: Settings, iris: Iterable[str] | None = None
) -> Iterator[dict[str, object]]:
    """Index documents for the given record/hồ sơ IRIs (all of them when None).

    Every text is masked as the public reader sees it (access.mask_personal): the index never
    holds a citizen's identification number, so no search can find one (ND 13/2023).
    """
    from repository.files import FileStore  # files.py is optional until ingest lands

    files = FileStore(Path(settings.files_path))  # type: ignore[arg-type]
    today = date.fromisoformat(settings.today) if settings.today else date.today()
    rows = _rows(store, None if iris is None else list(iris))
    current = _CURRENT.setdefault((id(store), today.isoformat()), {})
    seen: set[str] = set()

    def clean(value: object) -> str:
        return mask_personal(nfc(str(value or "")))

    for row in rows:
        iri = str(row["r"])
        if iri in seen:
            continue  # a second value of a multi-valued field: one index document per IRI
        seen.add(iri)
        unit = str(row["unit"]) if row.get("unit") else None
        names = [str(row.get("unitName") or "")]
        now: list[str] = []
        default = None
        if unit:
            if unit not in current:
                current[unit] = _lineage(store, unit, today)
            now_names, now, default = current[unit]
            names += [n for n, u in zip(now_names, now, strict=True) if u != unit]
        day = str(row.get("issued") or row.get("start") or "")
        text = ""
        if row.get("sha"):
            text = files.text(str(row["sha"])) or ""
        subject = str(row.get("subject") or "")
        yield {
            "iri": iri,
            "kind": str(row["kind"]),
            "code": str(row.get("code") or ""),
            "title": clean(row.get("title") or subject),
            "number_symbol": clean(row.get("ns")),
            "issuer": clean(row.get("organ") or row.get("creatorName")),
            "signer": clean(row.get("signer")),
            "unit_names": nfc(" ; ".join(n for n in names if n)),
            "text": clean(text),
            "block": BLOCKS.get(_local(row.get("block")), ""),
            "level": _local(row.get("level")).replace("level-", ""),
            "doctype": _local(row.get("type")),
            "year": day[:4],
            "unit": ",".join([unit, *(u for u in now if u != unit)] if unit else []),
            "agency": str(row.get("creator") or ""),
            "access": _access(row),
            "hoso": str(row.get("hoso") or ""),
            "issued": day,
            "priority": _local(row.get("prio")).replace("priority-", ""),
            "holder": str(row.get("holder") or ""),
            "fonds": str(row.get("fonds") or ""),
            "unit_now": ",".join(now),
            "unit_default": default or "",
            "pages": int(row.get("pages") or 0),  # type: ignore[call-overload]
            "sha": str(row.get("sha") or ""),
        }


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
    hit's text, masked as the index is.
    """
    ix = _open(settings)
    if ix is None:
        raise IndexMissing(
            f"The records index at {index_path(settings)} has not been built yet. "
            "Run `kho reindex` to build it from the store."
        )
    text = nfc(q).strip()
    parser = MultifieldParser(SEARCH_FIELDS, schema=ix.schema)
    query = parser.parse(text) if text else Every()
    names = [n for n in facets if n in ix.schema.names()]
    groups = sorting.Facets()
    for name in names:
        groups.add_field(name, allow_overlap=(name in ("unit", "unit_now")))
    with ix.searcher() as searcher:
        results = searcher.search_page(
            query,
            max(1, page),
            pagelen=per_page,
            filter=_filter(filters or {}, access),
            groupedby=groups,
            maptype=sorting.Count,
            sortedby=sortedby,
        )
        counts = {
            name: sorted(
                ((str(k), int(n)) for k, n in results.results.groups(name).items() if k),
                key=lambda kv: (-kv[1], kv[0]),
            )
            for name in names
        }
        hits = []
        for r in results:
            hit = _hit(r.fields(), r.score or 0.0)
            if snippets and text and r.get("sha"):
                hit.snippet = _snippet(r, settings) or None
            hits.append(hit)
        return RecordResults(total=results.total, hits=hits, facets=counts)


def _snippet(result: object, settings: Settings) -> str:
    from repository.files import FileStore

    files = FileStore(Path(settings.files_path))  # type: ignore[arg-type]
    body = mask_personal(nfc(files.text(str(result["sha"])) or ""))  # type: ignore[index]
    result.results.formatter = highlight.HtmlFormatter(  # type: ignore[attr-defined]
        tagname="strong", classname="match", termclass="t"
    )
    return str(result.highlights("text", text=body, top=2))  # type: ignore[attr-defined]


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
        score=float(score),
        access=opt("access"),
        priority=opt("priority"),
        unit=units[0] if units else None,
        units_now=[u for u in str(f.get("unit_now") or "").split(",") if u],
        unit_default=opt("unit_default"),
    )
