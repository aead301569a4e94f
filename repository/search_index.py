"""The search index over administrative-unit versions: build it, search it, accent-blind.

Whoosh answers by default; tantivy when settings.search says so (repository.units_tantivy), in a
directory of its own beside Whoosh's (`index-tantivy`). The Whoosh schema describes both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from whoosh import index as windex
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.qparser import MultifieldParser, OrGroup
from whoosh.query import And, AndMaybe, Query, Term

from repository import gazetteer
from repository.config import Settings
from repository.errors import BadRequest, KhoError
from repository.search_text import (
    FOLDING_MAP,
    NfcTokenizer,
    engine,
    engine_path,
    folding_analyzer,
    mark,
    write_beside,
    written_by,
)
from repository.store import Store
from repository.text import fold, nfc

__all__ = ["FOLDING_MAP", "NfcTokenizer", "folding_analyzer"]

REFORM_DAY = "2025-07-01"
# Kho is Hanoi's archive: among equally good matches, Hanoi's units come first.
HOME_PROVINCE = "01"
ERAS = ("before", "after", "both")
LEVELS = ("province", "district", "commune")
SEARCH_FIELDS = ["name", "short_name", "name_en", "code", "parent", "province"]
_BOOSTS = {"name": 3.0, "short_name": 3.0, "name_en": 1.0, "parent": 0.3, "province": 0.3}


def schema() -> Schema:
    text = folding_analyzer()
    return Schema(
        iri=ID(stored=True, unique=True),
        code=ID(stored=True, field_boost=4.0),
        name=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["name"]),
        short_name=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["short_name"]),
        name_en=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["name_en"]),
        parent=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["parent"]),
        province=TEXT(stored=True, analyzer=text, field_boost=_BOOSTS["province"]),
        province_code=ID(stored=True),
        level=ID(stored=True),
        era=ID(stored=True),
        valid_from=STORED(),
        valid_to=STORED(),
    )


@dataclass
class SearchHit:
    """One unit version found by a search."""

    iri: str
    code: str
    name: str
    level: str
    era: str
    valid_from: str | None
    valid_to: str | None
    name_en: str | None
    parent: str | None
    province: str | None
    score: float

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class IndexMissing(KhoError):
    """The search index has not been built yet."""

    status = 503


def era_of(valid_from: str | None, valid_to: str | None) -> str:
    """'before' the reform (ended by 2025-06-30), 'after' it (began 2025-07-01 on), or 'both'."""
    if valid_to and valid_to < REFORM_DAY:
        return "before"
    if valid_from and valid_from >= REFORM_DAY:
        return "after"
    return "both"


_EXTRAS = """
SELECT ?u ?short ?en ?parent ?prov ?provCode WHERE {
  ?u a kho:AdminUnitVersion .
  OPTIONAL { ?u kho:shortName ?short }
  OPTIONAL { ?u skos:prefLabel ?en FILTER(lang(?en) = "en") }
  OPTIONAL { ?u rico:isOrWasContainedBy ?p .
             ?p skos:prefLabel ?parent FILTER(lang(?parent) = "vi") }
  OPTIONAL { ?u rico:isOrWasContainedBy* ?pv . ?pv kho:level khoc:level-province ;
             skos:notation ?provCode ; skos:prefLabel ?prov FILTER(lang(?prov) = "vi") }
}"""


def unit_documents(store: Store) -> Iterable[dict[str, str]]:
    """One index document per unit version, from gazetteer.all_units plus names around it."""
    # TODO(lead): all_units could carry these fields; then this query can go.
    extras = {str(r["u"]): r for r in store.select(_EXTRAS)}
    for unit in gazetteer.all_units(store):
        extra = extras.get(unit.iri, {})
        yield {
            "iri": unit.iri,
            "code": unit.code,
            "name": nfc(unit.name),
            "short_name": nfc(str(extra.get("short") or "")),
            "name_en": nfc(str(extra.get("en") or "")),
            "parent": nfc(str(extra.get("parent") or "")),
            "province": nfc(str(extra.get("prov") or "")),
            "province_code": str(extra.get("provCode") or ""),
            "level": unit.level,
            "era": era_of(unit.valid_from, unit.valid_to),
            "valid_from": unit.valid_from or "",
            "valid_to": unit.valid_to or "",
        }


def build_index(
    store: Store, settings: Settings, progress: Callable[[int], None] | None = None
) -> int:
    """Rebuild the index at settings.index_path from the store; return how many units it holds.

    The new index is written beside the old one and swapped in at the end, so searches running
    meanwhile keep reading a whole index.
    """
    path = unit_index_path(settings)
    if engine(settings) == "tantivy":
        from repository import units_tantivy

        return write_beside(path, lambda p: units_tantivy.write(p, unit_documents(store), progress))
    count = write_index(path, schema(), unit_documents(store), progress)
    mark(path, "whoosh", "")
    return count


def unit_index_path(settings: Settings) -> Path:
    """The configured engine's units index: settings.index_path (Whoosh) or beside it."""
    return engine_path(Path(settings.index_path), engine(settings))  # type: ignore[arg-type]


def write_index(
    target: Path,
    fields: Schema,
    docs: Iterable[dict[str, object]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write a whole Whoosh index beside `target`, then swap it in; return how many documents.

    Searches running meanwhile keep reading a whole index; a failure leaves the old one in place.
    """

    def build(building: Path) -> int:
        ix = windex.create_in(str(building), fields)
        writer = ix.writer(limitmb=256)
        count = 0
        for doc in docs:
            writer.add_document(**doc)
            count += 1
            if progress and count % 1000 == 0:
                progress(count)
        writer.commit()
        if progress:
            progress(count)
        return count

    return write_beside(target, build)


def index_exists(settings: Settings) -> bool:
    path = unit_index_path(settings)
    if engine(settings) == "tantivy":
        return written_by(path) == "tantivy"
    return path.is_dir() and windex.exists_in(str(path))


def _filters(level: str | None, era: str | None) -> Query | None:
    terms: list[Query] = []
    if level:
        if level not in LEVELS:
            raise BadRequest(f"Unknown level {level!r}; use one of {', '.join(LEVELS)}.")
        terms.append(Term("level", level))
    if era:
        if era not in ERAS:
            raise BadRequest(f"Unknown era {era!r}; use one of {', '.join(ERAS)}.")
        terms.append(Term("era", era))
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else And(terms)


def search(
    settings: Settings, q: str, limit: int = 50, level: str | None = None, era: str | None = None
) -> list[SearchHit]:
    """Units whose name, short name, English name, code, parent or province match `q`.

    Accents and tone marks are ignored ("truc bach" finds "Phường Trúc Bạch"); every word must
    match. When nothing matches, the last word is tried as a prefix ("truc ba").
    """
    if not index_exists(settings):
        raise IndexMissing(
            f"The search index at {unit_index_path(settings)} has not been built yet "
            f"(KHO_SEARCH={engine(settings)}). Run `kho index` to build it from the store."
        )
    text = nfc(q).strip()
    if not text:
        return []
    parser = MultifieldParser(SEARCH_FIELDS, schema=schema())
    query = _prefer_home(parser.parse(text))
    filters = _filters(level, era)
    if engine(settings) == "tantivy":
        from repository import units_tantivy

        def fallback() -> Query | None:
            prefix = _prefix_query(parser, text)
            return None if prefix is None else _prefer_home(prefix)

        chosen = {k: v for k, v in (("level", level), ("era", era)) if v}
        return units_tantivy.search(unit_index_path(settings), query, fallback, chosen, limit)
    ix = windex.open_dir(str(settings.index_path))
    with ix.searcher() as searcher:
        results = searcher.search(query, limit=limit, filter=filters)
        if results.is_empty():
            fallback = _prefix_query(parser, text)
            if fallback is not None:
                results = searcher.search(_prefer_home(fallback), limit=limit, filter=filters)
        return [hit_from(r.fields(), r.score or 0.0) for r in results]


def _prefer_home(query: Query) -> Query:
    return AndMaybe(query, Term("province_code", HOME_PROVINCE, boost=5.0))


def _prefix_query(parser: MultifieldParser, text: str) -> Query | None:
    words = [w for w in fold(text).split() if w.isalnum()]
    if not words or len(words[-1]) < 2:
        return None
    head = parser.parse(" ".join(words[:-1])) if words[:-1] else None
    last = MultifieldParser(SEARCH_FIELDS, schema=parser.schema, group=OrGroup)
    tail = last.parse(" ".join(f"{f}:{words[-1]}*" for f in ("name", "short_name", "name_en")))
    return And([head, tail]) if head is not None else tail


def hit_from(fields: dict[str, object], score: float) -> SearchHit:
    def opt(key: str) -> str | None:
        value = fields.get(key)
        return str(value) if value else None

    return SearchHit(
        iri=str(fields["iri"]),
        code=str(fields["code"]),
        name=str(fields["name"]),
        level=str(fields["level"]),
        era=str(fields["era"]),
        valid_from=opt("valid_from"),
        valid_to=opt("valid_to"),
        name_en=opt("name_en"),
        parent=opt("parent"),
        province=opt("province"),
        score=float(score),
    )
