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

from whoosh import index as windex
from whoosh import sorting
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.qparser import MultifieldParser
from whoosh.query import And, Every, Or, Query, Term

from repository import gazetteer
from repository.config import Settings
from repository.errors import BadRequest
from repository.search_index import IndexMissing, folding_analyzer, write_index
from repository.store import Store
from repository.text import nfc

FACETS = ("kind", "block", "level", "doctype", "year", "unit", "agency", "access")
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
        access=ID(stored=True),  # TT 05 mode code 01/02/03
        hoso=ID(stored=True),
        issued=STORED(),
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
       ?block ?type ?issued ?start ?mode ?hoso ?signer ?sha
WHERE {
  %s
  ?r a rico:Record . BIND("record" AS ?kind)
  OPTIONAL { ?r rico:scopeAndContent ?subject }
  OPTIONAL { ?r kho:numberSymbol ?ns }
  OPTIONAL { ?r kho:typeName ?type }
  OPTIONAL { ?r dct:issued ?issued }
  OPTIONAL { ?r rico:isOrWasIncludedIn ?hoso . ?hoso rico:hasRecordSetType ric-rst:File }
  OPTIONAL { ?r kho:signer ?signer }
  OPTIONAL { ?r rico:hasOrHadInstantiation ?f . ?f kho:sha256 ?sha
             FILTER NOT EXISTS { ?f rico:isDerivedFromInstantiation ?any } }
  %s
}"""
_HOSO = """
SELECT ?r ?kind ?code ?title ?organ ?creator ?creatorName ?unit ?unitName ?level ?block ?start
       ?mode
WHERE {
  %s
  ?r rico:hasRecordSetType ric-rst:File . BIND("hoso" AS ?kind)
  OPTIONAL { ?r rico:title ?title }
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
  OPTIONAL { ?r kho:accessLevel ?mode }"""


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


def _local(iri: object) -> str:
    text = str(iri or "")
    return text.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


_CURRENT: dict[tuple[int, str], dict[str, list[gazetteer.UnitRef]]] = {}


def record_documents(
    store: Store, settings: Settings, iris: Iterable[str] | None = None
) -> Iterator[dict[str, object]]:
    """Index documents for the given record/hồ sơ IRIs (all of them when None)."""
    from repository.files import FileStore  # files.py is optional until ingest lands

    files = FileStore(Path(settings.files_path))  # type: ignore[arg-type]
    today = date.fromisoformat(settings.today) if settings.today else date.today()
    rows = _rows(store, None if iris is None else list(iris))
    current = _CURRENT.setdefault((id(store), today.isoformat()), {})
    seen: set[str] = set()
    for row in rows:
        iri = str(row["r"])
        if iri in seen:
            continue  # a second value of a multi-valued field: one index document per IRI
        seen.add(iri)
        unit = str(row["unit"]) if row.get("unit") else None
        units = [unit] if unit else []
        names = [str(row.get("unitName") or "")]
        if unit:
            if unit not in current:
                current[unit] = gazetteer.current_units(store, unit, today)
            for u in current[unit]:
                if u.iri not in units:
                    units.append(u.iri)
                    names.append(u.name)
        day = str(row.get("issued") or row.get("start") or "")
        text = ""
        if row.get("sha"):
            text = files.text(str(row["sha"])) or ""
        subject = str(row.get("subject") or "")
        yield {
            "iri": iri,
            "kind": str(row["kind"]),
            "code": str(row.get("code") or ""),
            "title": nfc(str(row.get("title") or subject)),
            "number_symbol": nfc(str(row.get("ns") or "")),
            "issuer": nfc(str(row.get("organ") or row.get("creatorName") or "")),
            "signer": nfc(str(row.get("signer") or "")),
            "unit_names": nfc(" ; ".join(n for n in names if n)),
            "text": nfc(text),
            "block": BLOCKS.get(_local(row.get("block")), ""),
            "level": _local(row.get("level")).replace("level-", ""),
            "doctype": _local(row.get("type")),
            "year": day[:4],
            "unit": ",".join(units),
            "agency": str(row.get("creator") or ""),
            "access": _local(row.get("mode")).replace("mode-", ""),
            "hoso": str(row.get("hoso") or ""),
            "issued": day,
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


def update(
    store: Store,
    settings: Settings,
    iris: Iterable[str],
    removed: Iterable[str] = (),
    *,
    new: Iterable[str] = (),
) -> int:
    """Bring the index in step with the store for these IRIs (added/changed) and removed ones.

    IRIs in `new` were never indexed, so they are added without looking for an old copy.
    """
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
        if name not in FACETS:
            raise BadRequest(f"Unknown filter {name!r}; use one of {', '.join(FACETS)}.")
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
) -> RecordResults:
    """Records and hồ sơ matching `q` (every word, accents ignored), with facet counts.

    `access` limits the hits *and* the facet counts to those access levels (None: no limit).
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
    facets = sorting.Facets()
    for name in FACETS:
        facets.add_field(name, allow_overlap=(name == "unit"))
    with ix.searcher() as searcher:
        results = searcher.search_page(
            query,
            max(1, page),
            pagelen=per_page,
            filter=_filter(filters or {}, access),
            groupedby=facets,
            maptype=sorting.Count,
        )
        counts = {
            name: sorted(
                ((str(k), int(n)) for k, n in results.results.groups(name).items() if k),
                key=lambda kv: (-kv[1], kv[0]),
            )
            for name in FACETS
        }
        hits = [_hit(r.fields(), r.score or 0.0) for r in results]
        return RecordResults(total=results.total, hits=hits, facets=counts)


def _hit(f: dict[str, object], score: float) -> RecordHit:
    def opt(key: str) -> str | None:
        value = f.get(key)
        return str(value) if value else None

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
    )
