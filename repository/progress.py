"""Digitisation progress: per programme priority group (1–5) and per unit valid today (rolling up
the records of the old units it succeeds), how many hồ sơ and pages have landed (passed the SHACL
gate), are digitised (a PDF), OCR'd (an OCR event or a text layer), and flagged (open flags).

Counted over the graphs a reader may see; flags live in the curation graphs, so they are only
counted when those are among the graphs (issue 4, the dashboard).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

import pyoxigraph as ox

from repository import gazetteer
from repository.memo import Memo, as_of_json, family_key
from repository.record_counts import EVERY, hash_joins, table
from repository.store import Store

# Per hồ sơ (inner: per document), then per group and creator's unit. A hồ sơ is digitised when
# it has documents and each one has a PDF, OCR'd when each one also has text (its own layer,
# a derived searchable PDF/A, or an OCR event). Pages are the original PDFs' page counts.
# Each pattern is read once and the parts are hash-joined (repository.record_counts): the plain
# patterns looked each binding up in every graph, 38 s for an archivist at 100k records.
_DOCUMENT = table("?r ?h", "?r rico:isOrWasIncludedIn ?h") + table("?r", "?r a rico:Record")
_PDF = f"""{table("?r ?f", "?r rico:hasOrHadInstantiation ?f")}
  {{ {table("?f", '?f dct:format "application/pdf"')}
    MINUS {table("?f", "?f rico:isDerivedFromInstantiation ?src")} }}
  OPTIONAL {table("?f ?n", "?f kho:pageCount ?n")}"""
_OCR_EVENT = (
    table("?e", "?e kho:eventType khoc:premis-ocr")
    + table("?e", "?e kho:outcome khoc:outcome-success")
    + table("?e ?t", "?e prov:used ?t")
)
_TEXT = f"""{table("?r ?t", "?r rico:hasOrHadInstantiation ?t")}
  {{ {table("?t", "?t kho:hasTextLayer true")} }} UNION {{ {_OCR_EVENT} }}"""
_PER_DOCUMENT = f"""
  SELECT ?r ?h (IF(BOUND(?pdf), 1, 0) AS ?dig) (IF(BOUND(?pdf) && BOUND(?text), 1, 0) AS ?ocr)
         (COALESCE(?fp, 0) AS ?pc) WHERE {{
    {{ SELECT DISTINCT ?r ?h WHERE {{ {_DOCUMENT} }} }}
    OPTIONAL {{ SELECT ?r (1 AS ?pdf) (MAX(COALESCE(?n, 0)) AS ?fp) WHERE {{ {_PDF} }}
                GROUP BY ?r }}
    OPTIONAL {{ SELECT DISTINCT ?r (1 AS ?text) WHERE {{ {_TEXT} }} }}
  }} LIMIT {EVERY}"""
_DOCUMENTS_OF_HOSO = f"""
  SELECT ?h (COUNT(?r) AS ?d_docs) (SUM(?dig) AS ?d_dig) (SUM(?ocr) AS ?d_ocr)
         (SUM(?dig * ?pc) AS ?d_pdig) (SUM(?ocr * ?pc) AS ?d_pocr)
  WHERE {{ {_PER_DOCUMENT} }} GROUP BY ?h"""
# The documents are summed per hồ sơ before the join with the hồ sơ's own fields (one row per
# hồ sơ, not per document, goes into it); a field stated twice still counts the documents twice,
# as the plain query does.
_PROGRESS = f"""
SELECT ?group ?unit (COUNT(?h) AS ?hoso) (SUM(?declared) AS ?pages)
       (SUM(?docs) AS ?records) (SUM(?isdig) AS ?hoso_digitised) (SUM(?pdig) AS ?pages_digitised)
       (SUM(?isocr) AS ?hoso_ocr) (SUM(?pocr) AS ?pages_ocr)
WHERE {{
  {{ SELECT ?h (SAMPLE(?g0) AS ?group) (SAMPLE(?u0) AS ?unit) (MAX(COALESCE(?np, 0)) AS ?declared)
           (SUM(COALESCE(?d_docs, 0)) AS ?docs) (SUM(?d_dig) AS ?ndig) (SUM(?d_ocr) AS ?nocr)
           (SUM(?d_pdig) AS ?pdig) (SUM(?d_pocr) AS ?pocr) WHERE {{
      {table("?h", "?h rico:hasRecordSetType ric-rst:File")}
      OPTIONAL {table("?h ?g0", "?h kho:priorityGroup ?g0")}
      OPTIONAL {table("?h ?u0", "?h kho:adminUnit ?u0")}
      OPTIONAL {table("?h ?np", "?h kho:numberOfPage ?np")}
      OPTIONAL {{ {_DOCUMENTS_OF_HOSO} }}
    }} GROUP BY ?h }}
  BIND(IF(?docs > 0 && ?ndig = ?docs, 1, 0) AS ?isdig)
  BIND(IF(?docs > 0 && ?nocr = ?docs, 1, 0) AS ?isocr)
}} GROUP BY ?group ?unit"""

# The same counts in plain patterns, for servers that plan joins themselves (Virtuoso).
_PLAIN = """
SELECT ?group ?unit (COUNT(?h) AS ?hoso) (SUM(?declared) AS ?pages)
       (SUM(?docs) AS ?records) (SUM(?isdig) AS ?hoso_digitised) (SUM(?pdig) AS ?pages_digitised)
       (SUM(?isocr) AS ?hoso_ocr) (SUM(?pocr) AS ?pages_ocr)
WHERE {
  { SELECT ?h (SAMPLE(?g0) AS ?group) (SAMPLE(?u0) AS ?unit) (MAX(COALESCE(?np, 0)) AS ?declared)
           (COUNT(?r) AS ?docs) (SUM(?dig) AS ?ndig) (SUM(?ocr) AS ?nocr)
           (SUM(?dig * ?pc) AS ?pdig) (SUM(?ocr * ?pc) AS ?pocr) WHERE {
      ?h rico:hasRecordSetType ric-rst:File .
      OPTIONAL { ?h kho:priorityGroup ?g0 } OPTIONAL { ?h kho:adminUnit ?u0 }
      OPTIONAL { ?h kho:numberOfPage ?np }
      OPTIONAL {
        { SELECT ?r ?h (MAX(?d1) AS ?dig) (MAX(?o1) AS ?ocr) (MAX(?p1) AS ?pc) WHERE {
            ?r a rico:Record ; rico:isOrWasIncludedIn ?h .
            OPTIONAL { ?r rico:hasOrHadInstantiation ?f . ?f dct:format "application/pdf" .
                       FILTER NOT EXISTS { ?f rico:isDerivedFromInstantiation ?src } }
            OPTIONAL { ?f kho:pageCount ?fp }
            OPTIONAL { ?r rico:hasOrHadInstantiation ?t . ?t kho:hasTextLayer true }
            OPTIONAL { ?e prov:used ?i ; kho:eventType khoc:premis-ocr ;
                          kho:outcome khoc:outcome-success .
                       ?r rico:hasOrHadInstantiation ?i }
            BIND(IF(BOUND(?f), 1, 0) AS ?d1)
            BIND(IF(BOUND(?f) && (BOUND(?t) || BOUND(?e)), 1, 0) AS ?o1)
            BIND(COALESCE(?fp, 0) AS ?p1)
          } GROUP BY ?r ?h }
      }
    } GROUP BY ?h }
  BIND(IF(?docs > 0 && ?ndig = ?docs, 1, 0) AS ?isdig)
  BIND(IF(?docs > 0 && ?nocr = ?docs, 1, 0) AS ?isocr)
} GROUP BY ?group ?unit"""


# Open flags, then the hồ sơ they are on (the flag's target or the target's hồ sơ), per group and
# unit. In two steps, the flags named in each branch: else Oxigraph reads every hồ sơ first
# (0.7 s at 100k records, whatever the number of flags).
_OPEN_FLAGS = """
SELECT ?flag ?x WHERE { ?flag kho:flagOf ?x ; kho:reviewStatus ?status .
  FILTER(?status IN (khoc:review-xem-xet-huy, khoc:review-under-review)) }"""
_FLAGGED = """
SELECT ?group ?unit (COUNT(DISTINCT ?h) AS ?hoso) (COUNT(DISTINCT ?flag) AS ?flags) WHERE {
  { VALUES (?flag ?x) { %(flags)s } ?x rico:hasRecordSetType ric-rst:File . BIND(?x AS ?h) }
  UNION
  { VALUES (?flag ?x) { %(flags)s } ?x rico:isOrWasIncludedIn ?h .
    ?h rico:hasRecordSetType ric-rst:File }
  OPTIONAL { ?h kho:priorityGroup ?group } OPTIONAL { ?h kho:adminUnit ?unit }
} GROUP BY ?group ?unit"""

MEASURES = (
    "hoso",
    "pages",
    "records",
    "hoso_digitised",
    "pages_digitised",
    "hoso_ocr",
    "pages_ocr",
    "hoso_flagged",
    "flags",
)


@dataclass
class Progress:
    """One row of the dashboard. `hoso` (landed = validated) is the base of the bars."""

    key: str
    hoso: int = 0
    pages: int = 0  # as declared on the hồ sơ
    records: int = 0
    hoso_digitised: int = 0
    pages_digitised: int = 0
    hoso_ocr: int = 0
    pages_ocr: int = 0
    hoso_flagged: int | None = 0  # None: the reader may not see flags
    flags: int | None = 0
    former: list[str] = field(default_factory=list)  # old units rolled up into this one

    def add(self, row: dict[str, object], names: Iterable[str]) -> None:
        for name in names:
            value = int(row.get(name) or 0)  # type: ignore[call-overload]
            setattr(self, name, (getattr(self, name) or 0) + value)

    def to_json(self) -> dict[str, object]:
        return dict(vars(self))


@dataclass
class Dashboard:
    groups: dict[str, Progress]
    units: dict[str, Progress]  # by the IRI of a unit valid today (or an ended one, no successor)
    total: Progress
    flags_visible: bool
    as_of: float = field(default_factory=time.time, compare=False)  # when counted (epoch s)
    current: bool = field(default=True, compare=False)  # False: last one, new one coming

    def to_json(self) -> dict[str, object]:
        return {
            "total": self.total.to_json(),
            "groups": {k: v.to_json() for k, v in self.groups.items()},
            "units": {k: v.to_json() for k, v in self.units.items()},
            "flags_visible": self.flags_visible,
            **as_of_json(self.as_of, self.current),
        }


# Lineage changes only with a re-harvest: remembered per store, day and unit.
_ROLLED: dict[tuple[int, str, str], str] = {}


def roll_up(store: Store, unit: str, today: date) -> str:
    """The unit valid `today` that a record of `unit` is counted under: itself if still valid,
    its successor, or for a divided unit the default successor; an ended unit with none stays."""
    key = (id(store), today.isoformat(), unit)
    if key not in _ROLLED:
        _ROLLED[key] = _roll_up(store, unit, today)
    return _ROLLED[key]


def _roll_up(store: Store, unit: str, today: date) -> str:
    now = gazetteer.current_units(store, unit, today)
    if not now:
        return unit
    if len(now) == 1:
        return now[0].iri
    rows = store.select(
        "SELECT ?d WHERE { ?me kho:defaultSuccessor+ ?d }",
        substitutions={"me": ox.NamedNode(unit)},
    )
    iris = [u.iri for u in now]
    return next((str(r["d"]) for r in rows if str(r["d"]) in iris), iris[0])


def _group(value: object) -> str:
    tail = str(value or "").rsplit("priority-", 1)[-1]
    return tail if tail.isdigit() else "?"


def _flagged(store: Store, graphs: list[str]) -> list[dict[str, object]]:
    """The rows of _FLAGGED over the open flags in `graphs` (none: no rows)."""
    pairs = {
        (r["flag"].value, r["x"].value)
        for r in store.query(_OPEN_FLAGS, graphs=graphs).result  # type: ignore[attr-defined]
        if isinstance(r["flag"], ox.NamedNode) and isinstance(r["x"], ox.NamedNode)
    }
    if not pairs:
        return []
    values = " ".join(f"(<{f}> <{x}>)" for f, x in sorted(pairs))
    return store.select(_FLAGGED % {"flags": values}, graphs=graphs)


# Dashboards by (store, visible graphs, day, flags), each for one store generation (Memo.recent):
# a handful of readers' views (anonymous, researcher, curator, cleared).
_MEMO: Memo[Dashboard] = Memo(size=8)


def dashboard(store: Store, graphs: Iterable[str], today: date, with_flags: bool) -> Dashboard:
    """The dashboard over `graphs` (the reader's visible graphs); `with_flags` when the reader
    may see flags (curators), else flagged counts are None. As the store is now — or, on an
    archive where counting takes seconds, the last dashboard (`current` False) while the new one
    is computed. The answer is shared: do not change it."""
    graphs = list(graphs)
    family = family_key(store, graphs, today.isoformat(), with_flags)
    kept = _MEMO.recent(
        family, store.generation, lambda: _dashboard(store, graphs, today, with_flags)
    )
    return kept.value if kept.current else replace(kept.value, current=False)


def _dashboard(store: Store, graphs: list[str], today: date, with_flags: bool) -> Dashboard:
    base = [n for n in MEASURES if n not in ("hoso_flagged", "flags")]
    groups = {str(g): Progress(str(g)) for g in range(1, 6)}
    units: dict[str, Progress] = {}
    total = Progress("total")
    rolled: dict[str, str] = {}

    def rows_for(unit: object) -> Progress:
        iri = str(unit or "")
        if iri not in rolled:
            rolled[iri] = roll_up(store, iri, today) if iri else ""
        target = units.setdefault(rolled[iri], Progress(rolled[iri]))
        if iri and iri != rolled[iri] and iri not in target.former:
            target.former.append(iri)
        return target

    query = _PROGRESS if hash_joins(store) else _PLAIN
    for row in store.select(query, graphs=graphs):
        for p in (groups.setdefault(_group(row["group"]), Progress("?")), rows_for(row["unit"])):
            p.add(row, base)
        total.add(row, base)
    if with_flags:
        for row in _flagged(store, graphs):
            flagged = {"hoso_flagged": row["hoso"], "flags": row["flags"]}
            for p in (
                groups.setdefault(_group(row["group"]), Progress("?")),
                rows_for(row["unit"]),
            ):
                p.add(flagged, flagged)
            total.add(flagged, flagged)
    else:
        for p in (*groups.values(), *units.values(), total):
            p.hoso_flagged = p.flags = None
    units.pop("", None)
    return Dashboard(groups=groups, units=units, total=total, flags_visible=with_flags)
