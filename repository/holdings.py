"""What the archive holds, counted over the graphs a reader may see: hồ sơ, documents and pages by
block (Đảng / Chính quyền / Đoàn thể), by level of the creating agency and by programme priority
group — the home page's figures (issue 4).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from repository.memo import Memo, as_of_json, family_key
from repository.record_counts import hash_joins, table
from repository.store import Store

BLOCKS = ("dang", "chinh-quyen", "doan-the")
LEVELS = ("province", "district", "commune")
GROUPS = ("1", "2", "3", "4", "5")

# One row per (kind, block, level, group), each pattern read once and hash-joined
# (repository.record_counts). A document's group is its hồ sơ's. _FAST counts a row per record;
# it is right when every record has at most one block, unit, level, page count and group — what
# the SHACL gate lets in — which _TOTALS checks. Otherwise _EXACT first makes each record count
# once, whatever multi-valued fields it has (1.5 s more at 100k records).
_GROUP_OF_DOCUMENT = table("?r ?h", "?r rico:isOrWasIncludedIn ?h") + table(
    "?h ?p", "?h kho:priorityGroup ?p"
)
_LEVEL = table("?r ?u", "?r kho:adminUnit ?u") + table("?u ?l", "?u kho:level ?l")
_RECORD_FIELDS = f"""
  {{ {table("?r", "?r rico:hasRecordSetType ric-rst:File")} BIND("hoso" AS ?kind)
    OPTIONAL {table("?r ?p", "?r kho:priorityGroup ?p")} }}
  UNION
  {{ {table("?r", "?r a rico:Record")} BIND("record" AS ?kind)
    OPTIONAL {table("?r ?p", _GROUP_OF_DOCUMENT)} }}
  OPTIONAL {table("?r ?b", "?r kho:block ?b")}
  OPTIONAL {table("?r ?l", _LEVEL)}
  OPTIONAL {table("?r ?np", "?r kho:numberOfPage ?np")}"""
_FAST = f"""
SELECT ?kind (?b AS ?block) (?l AS ?level) (?p AS ?group) (COUNT(?r) AS ?n)
       (SUM(COALESCE(?np, 0)) AS ?pages) WHERE {{ {_RECORD_FIELDS}
}} GROUP BY ?kind ?b ?l ?p"""
_EXACT = f"""
SELECT ?kind ?block ?level ?group (COUNT(?r) AS ?n) (SUM(?pg) AS ?pages) WHERE {{
  {{ SELECT ?r ?kind (SAMPLE(?b) AS ?block) (SAMPLE(?l) AS ?level) (SAMPLE(?p) AS ?group)
           (MAX(COALESCE(?np, 0)) AS ?pg) WHERE {{ {_RECORD_FIELDS}
    }} GROUP BY ?r ?kind }}
}} GROUP BY ?kind ?block ?level ?group"""
# The same counts in plain patterns, for servers that plan joins themselves (Virtuoso).
_PLAIN = """
SELECT ?kind ?block ?level ?group (COUNT(?r) AS ?n) (SUM(?pg) AS ?pages) WHERE {
  { SELECT ?r ?kind (SAMPLE(?b) AS ?block) (SAMPLE(?l) AS ?level) (SAMPLE(?p) AS ?group)
           (MAX(COALESCE(?np, 0)) AS ?pg) WHERE {
      { ?r rico:hasRecordSetType ric-rst:File . BIND("hoso" AS ?kind)
        OPTIONAL { ?r kho:priorityGroup ?p } }
      UNION
      { ?r a rico:Record . BIND("record" AS ?kind)
        OPTIONAL { ?r rico:isOrWasIncludedIn ?h . ?h kho:priorityGroup ?p } }
      OPTIONAL { ?r kho:block ?b }
      OPTIONAL { ?r kho:adminUnit ?u . ?u kho:level ?l }
      OPTIONAL { ?r kho:numberOfPage ?np }
    } GROUP BY ?r ?kind }
} GROUP BY ?kind ?block ?level ?group"""

_TOTALS = """
SELECT (COUNT(DISTINCT ?h) AS ?hoso) (COUNT(DISTINCT ?r) AS ?records) WHERE {
  { ?h rico:hasRecordSetType ric-rst:File } UNION { ?r a rico:Record } }"""


@dataclass
class Tally:
    """Hồ sơ, documents and the documents' pages."""

    hoso: int = 0
    records: int = 0
    pages: int = 0

    def add(self, kind: str, n: int, pages: int) -> None:
        if kind == "hoso":
            self.hoso += n
        else:
            self.records += n
            self.pages += pages


@dataclass
class Holdings:
    total: Tally = field(default_factory=Tally)
    by_block: dict[str, Tally] = field(default_factory=dict)
    by_level: dict[str, Tally] = field(default_factory=dict)
    by_group: dict[str, Tally] = field(default_factory=dict)
    as_of: float = field(default_factory=time.time, compare=False)  # when counted (epoch s)
    current: bool = field(default=True, compare=False)  # False: last counts, new ones coming

    def to_json(self) -> dict[str, object]:
        def tallies(d: dict[str, Tally]) -> dict[str, dict[str, int]]:
            return {k: vars(v) for k, v in d.items()}

        return {
            "total": vars(self.total),
            "by_block": tallies(self.by_block),
            "by_level": tallies(self.by_level),
            "by_group": tallies(self.by_group),
            **as_of_json(self.as_of, self.current),
        }


# What may stand between < and > in a query: values come from URLs, so nothing else gets in.
_IRI = re.compile(r"https?://[^\s<>\"{}|\\^`]+")


def iris_only(values: Iterable[str]) -> list[str]:
    """The values that are plain http(s) IRIs, sorted and without repeats."""
    return sorted({v for v in values if v and _IRI.fullmatch(v)})


def _tail(iri: object, prefix: str) -> str:
    local = str(iri or "").rsplit("/", 1)[-1]
    return local[len(prefix) :] if local.startswith(prefix) else ""


# Home counts by (store, visible graphs), each answer for one store generation (Memo.recent): on
# a big archive a write lets readers see the last counts, marked, while the new ones are counted.
_MEMO: Memo[Holdings] = Memo(size=8)


def holdings(store: Store, graphs: Iterable[str]) -> Holdings:
    """Counts over the records in `graphs` only (pass the reader's visible graphs), as the store
    is now — or, on an archive where counting takes seconds, the last counts (`current` False)
    while the new ones are computed. The answer is shared: do not change it."""
    graphs = list(graphs)
    kept = _MEMO.recent(
        family_key(store, graphs), store.generation, lambda: _holdings(store, graphs)
    )
    return kept.value if kept.current else replace(kept.value, current=False)


def _holdings(store: Store, graphs: list[str]) -> Holdings:
    out = Holdings(
        by_block={b: Tally() for b in BLOCKS},
        by_level={lv: Tally() for lv in LEVELS},
        by_group={g: Tally() for g in GROUPS},
    )
    for row in _rows(store, graphs):
        kind, n, pages = str(row["kind"]), int(row["n"] or 0), int(row["pages"] or 0)  # type: ignore[call-overload]
        out.total.add(kind, n, pages)
        for key, tallies, prefix in (
            ("block", out.by_block, "block-"),
            ("level", out.by_level, "level-"),
            ("group", out.by_group, "priority-"),
        ):
            value = _tail(row[key], prefix)
            if value in tallies:
                tallies[value].add(kind, n, pages)
    return out


def _rows(store: Store, graphs: list[str]) -> list[dict[str, object]]:
    """The rows of _FAST, or of _EXACT when some record has two values of one field."""
    if not hash_joins(store):
        return store.select(_PLAIN, graphs=graphs)
    rows = store.select(_FAST, graphs=graphs)
    totals = store.select(_TOTALS, graphs=graphs)[0]
    expected = {"hoso": totals["hoso"], "record": totals["records"]}
    for kind, n in expected.items():
        if sum(int(r["n"] or 0) for r in rows if str(r["kind"]) == kind) != int(n or 0):  # type: ignore[call-overload]
            return store.select(_EXACT, graphs=graphs)
    return rows


_UNIT_FACTS = """
SELECT ?u ?name ?to WHERE { VALUES ?u { %s } ?u a kho:AdminUnitVersion .
  OPTIONAL { ?u skos:prefLabel ?name FILTER(lang(?name) = "vi") }
  OPTIONAL { ?u rico:endDate ?to } }"""
_TITLES = """
SELECT ?s ?title WHERE { VALUES ?s { %s } ?s rico:title ?title
  FILTER(lang(?title) = "vi" || lang(?title) = "") }"""


@dataclass
class UnitFacts:
    iri: str
    name: str
    ended: str | None  # rico:endDate, when the unit ended

    @property
    def former(self) -> bool:
        return self.ended is not None


def unit_facts(store: Store, iris: Iterable[str]) -> dict[str, UnitFacts]:
    """Name and end date of the units among `iris` (public gazetteer data)."""
    wanted = iris_only(iris)
    if not wanted:
        return {}
    values = " ".join(f"<{i}>" for i in wanted)
    out: dict[str, UnitFacts] = {}
    for row in store.select(_UNIT_FACTS % values):
        iri = str(row["u"])
        out[iri] = UnitFacts(iri, str(row["name"] or iri), str(row["to"]) if row["to"] else None)
    return out


def titles(store: Store, iris: Iterable[str], graphs: list[str]) -> dict[str, str]:
    """Vietnamese titles of hồ sơ and fonds, read only from the `graphs` the reader may see."""
    wanted = iris_only(iris)
    if not wanted:
        return {}
    values = " ".join(f"<{i}>" for i in wanted)
    return {str(r["s"]): str(r["title"]) for r in store.select(_TITLES % values, graphs=graphs)}
