"""Index documents of records and hồ sơ, built from the store: one query path for ingest and for
`kho reindex`, so what the records index holds is exactly what the store holds.

Each document carries the unit its creator served *and* the units valid today that took over that
territory, so a search under the new Phường Ba Đình finds the records of the old wards that merged
into it. Every text is masked as the public reader sees it (access.mask_personal).

The store is read in pages of PAGE records (VALUES-bound queries) while the IRIs stream from one
lazy query, so a full rebuild holds one page's rows at a time: memory stays flat as the store grows
(docs/benchmarks.md, bench_reindex).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from repository import gazetteer
from repository.access import mask_personal
from repository.config import Settings
from repository.link_documents import LinkFields, link_fields
from repository.namespaces import MODE_GRAPH
from repository.search_counts import sample_of
from repository.store import Store
from repository.text import nfc

if TYPE_CHECKING:
    from repository.files import FileStore

BLOCKS = {"block-chinh-quyen": "chinh-quyen", "block-dang": "dang", "block-doan-the": "doan-the"}


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


# Every record and hồ sơ, read lazily: an embedded store streams the solutions, so only one
# page of IRIs is held at a time (a server sends them in one response, IRIs only).
_ALL = """
SELECT ?r WHERE { { ?r a rico:Record } UNION { ?r rico:hasRecordSetType ric-rst:File } }"""
_COUNT = """
SELECT (COUNT(?r) AS ?n) WHERE {
  { ?r a rico:Record } UNION { ?r rico:hasRecordSetType ric-rst:File } }"""
PAGE = 500  # IRIs per VALUES-bound query: as fast per record as one query over everything


def count_documents(store: Store) -> int:
    """How many index documents `record_documents(store, settings)` yields (records + hồ sơ)."""
    rows = store.select(_COUNT)
    return int(rows[0]["n"] or 0) if rows else 0  # type: ignore[call-overload]


def pages(store: Store, iris: Iterable[str] | None, size: int = PAGE) -> Iterator[list[str]]:
    """The given IRIs (all records and hồ sơ when None), `size` at a time."""
    if iris is None:
        solutions = store.query(_ALL).result
        stream: Iterable[str] = (str(s["r"].value) for s in solutions)  # type: ignore[union-attr]
    else:
        stream = dict.fromkeys(iris)  # a caller's list: each IRI once
    page: list[str] = []
    for iri in stream:
        page.append(iri)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def _rows(store: Store, page: list[str]) -> list[dict[str, object]]:
    """One row per record/hồ sơ of `page` (per extra value of a multi-valued field)."""
    values = "VALUES ?r { " + " ".join(f"<{i}>" for i in page) + " }"
    return store.select(_RECORDS % (values, _COMMON)) + store.select(_HOSO % (values, _COMMON))


def _access(row: dict[str, object]) -> str:
    """The level a record is filed under: the graph holding it (a document in a secret hồ sơ is
    secret whatever its own mode says), never lower than its own mode code."""
    family = str(row.get("modeGraph") or "").split("/graph/records/")[-1].split("/")[0]
    by_graph = {v: k for k, v in MODE_GRAPH.items()}.get(family, "03")
    return max(by_graph, _local(row.get("mode")).replace("mode-", "") or "01")


def _local(iri: object) -> str:
    text = str(iri or "")
    return text.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


# A unit's lineage: (names of the units valid today, their IRIs, the default one), by unit IRI.
Lineages = dict[str, tuple[list[str], list[str], str | None]]
Page = tuple[list[dict[str, object]], dict[str, LinkFields]]  # rows and links of some records
_CURRENT: dict[tuple[int, str], Lineages] = {}
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
    holds a citizen's identification number, so no search can find one (ND 13/2023). What the
    record's registry links say comes from the graph it is filed in (repository.link_documents).
    """
    from repository.files import FileStore  # files.py is optional until ingest lands

    files = FileStore(Path(settings.files_path))  # type: ignore[arg-type]
    today = date.fromisoformat(settings.today) if settings.today else date.today()
    current = _CURRENT.setdefault((id(store), today.isoformat()), {})
    if iris is None:  # a full rebuild
        source = _read_ahead(store, today, current)
    else:
        source = (_read(store, page, today, current) for page in pages(store, iris))
    for rows, links in source:
        seen: set[str] = set()
        for row in rows:
            iri = str(row["r"])
            if iri in seen:
                continue  # a second value of a multi-valued field: one index document per IRI
            seen.add(iri)
            yield _document(row, links.get(iri), files, current)


def _read(store: Store, page: list[str], today: date, current: Lineages) -> Page:
    """Everything the documents of `page` need from the store: rows, links, new units' lineage."""
    rows, links = _rows(store, page), link_fields(store, page)
    for row in rows:
        unit = str(row["unit"]) if row.get("unit") else None
        if unit and unit not in current:
            current[unit] = _lineage(store, unit, today)
    return rows, links


_DONE = object()


def _read_ahead(store: Store, today: date, current: Lineages) -> Iterator[Page]:
    """Every page, read by a thread one page ahead of the caller: the store's query engine (which
    releases the GIL) works while the caller builds documents and writes the index. At most three
    pages are held: the caller's, the one waiting, the one being read."""
    ready: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for page in pages(store, None):
                if not put(_read(store, page, today, current)):
                    return  # the caller stopped early
            put(_DONE)
        except BaseException as exc:  # handed to the caller, raised there
            put(exc)

    reader = threading.Thread(target=work, name="kho-records-reader", daemon=True)
    reader.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        reader.join()


def _document(
    row: dict[str, object],
    links: LinkFields | None,
    files: FileStore,
    current: Lineages,
) -> dict[str, object]:
    """The index document of one record/hồ sơ row."""

    def clean(value: object) -> str:
        return mask_personal(nfc(str(value or "")))

    iri = str(row["r"])
    unit = str(row["unit"]) if row.get("unit") else None
    names = [str(row.get("unitName") or "")]
    now: list[str] = []
    default = None
    if unit:
        now_names, now, default = current[unit]
        names += [n for n, u in zip(now_names, now, strict=True) if u != unit]
    day = str(row.get("issued") or row.get("start") or "")
    text = ""
    if row.get("sha"):
        text = files.text(str(row["sha"])) or ""
    subject = str(row.get("subject") or "")
    return {
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
        "sample": sample_of(iri),
        **(links or LinkFields()).document(),
    }
