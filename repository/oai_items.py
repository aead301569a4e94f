"""What the OAI-PMH provider disseminates: its items (documents and hồ sơ) as the reader sees them
and their datestamps. Sets are in repository/oai_sets.py, metadata in repository/oai_metadata.py,
the protocol in repository/oai.py.

A list page costs in proportion to the page, not to the store's history: one cheap listing of the
selection's IRIs (no datestamps; it also gives the list size), sorted in Python, then from the
resumption point the datestamps (an aggregate over each item's preservation events) are worked out
chunk by chunk for the items the page needs only. The earliest datestamp is one MIN query.

Every query here runs over the reader's visible graphs only (repository.access): an item in no
visible graph is not an item.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime

from repository import access
from repository.access import Reader
from repository.memo import Memo, family_key
from repository.namespaces import Minter
from repository.oai_sets import SET_SPEC as SET_SPEC  # re-exported for oai.py
from repository.oai_sets import _iri as _iri  # re-exported for oai_metadata.py
from repository.oai_sets import set_filter
from repository.store import Store

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK = 256  # items whose datestamps are worked out at once when from/until filter them
MAX_CHUNK = 4096  # a chunk doubles while the dates keep rejecting; this is as far as it grows


@dataclass(frozen=True)
class View:
    """The store as one reader sees it over OAI-PMH: never the personal graphs, whoever asks —
    harvested copies leave Kho's access control behind, so citizens' numbers stay home."""

    store: Store
    minter: Minter
    graphs: list[str]
    reader: Reader = access.PUBLIC

    def __post_init__(self) -> None:
        shared = [g for g in self.graphs if not g.endswith("/personal")]
        object.__setattr__(self, "graphs", shared)

    @property
    def records_graphs(self) -> list[str]:
        """The visible graphs that hold records (and so items), by level and facet."""
        return [g for g in self.graphs if access.level_of(g, self.minter)]


@dataclass(frozen=True)
class Item:
    iri: str
    kind: str  # "record" (rico:Record) or "hoso" (rico:RecordSet of type File)
    level: str  # TT 05/2025 mode code of the graph it lives in: 01, 02, 03
    stamp: datetime  # UTC, whole seconds


@dataclass(frozen=True)
class Selection:
    """Selective harvesting: a set and a datestamp range (both bounds inclusive, UTC)."""

    set_spec: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def dated(self) -> bool:
        return self.start is not None or self.end is not None


# The items, in the records graphs: documents, and hồ sơ (record sets of type File). The order
# is made in Python: Oxigraph's ORDER BY on IRIs reads each IRI's text again at every comparison
# (4x the cost of listing them at 5k items), and one listing serves every chunk of a page.
_CANDIDATES = """
SELECT ?item ?g WHERE {
  GRAPH ?g { ?item a %(class)s }
  %(filters)s
}"""
_KINDS = (
    ("record", "rico:Record"),
    ("hoso", "rico:RecordSet ; rico:hasRecordSetType ric-rst:File"),
)
# The datestamp is the last time the item's ingest unit changed: the preservation events of its
# files (ingestion, OCR, quarantine; a fixity check changes nothing), for a hồ sơ also those of its
# documents and the appraisals of its retention decision. A document without events of its own
# (a duplicate file keeps its twin's) takes its hồ sơ's time: the unit was committed whole.
# The items are written into every branch, so that each branch starts from them (an OPTIONAL or
# a join over the whole union would work out every item's events first).
_STAMPS = """
SELECT ?item (%(stamp)s AS ?stamp) WHERE {
    { VALUES ?item { %(items)s }
      ?item rico:hasOrHadInstantiation ?f .
      ?e prov:used ?f ; kho:eventType ?et ; prov:endedAtTime ?t BIND(1 AS ?own) }
    UNION
    { VALUES ?item { %(items)s }
      ?d rico:isOrWasIncludedIn ?item ; rico:hasOrHadInstantiation ?f .
      ?e prov:used ?f ; kho:eventType ?et ; prov:endedAtTime ?t BIND(1 AS ?own) }
    UNION
    { VALUES ?item { %(items)s }
      ?dec rico:regulatesOrRegulated ?item ; prov:wasGeneratedBy ?a .
      ?a prov:endedAtTime ?t BIND(1 AS ?own) }
    UNION
    { VALUES ?item { %(items)s }
      ?item a rico:Record ; rico:isOrWasIncludedIn ?h .
      ?d rico:isOrWasIncludedIn ?h ; rico:hasOrHadInstantiation ?f .
      ?e prov:used ?f ; kho:eventType ?et ; prov:endedAtTime ?t BIND(0 AS ?own) }
    UNION
    { VALUES ?item { %(items)s }
      ?item a rico:Record ; rico:isOrWasIncludedIn ?h .
      ?dec rico:regulatesOrRegulated ?h ; prov:wasGeneratedBy ?a .
      ?a prov:endedAtTime ?t BIND(0 AS ?own) }
    FILTER(!BOUND(?et) || ?et != khoc:premis-fixity-check)
}
GROUP BY ?item
"""


def _dt(value: datetime) -> str:
    return f'"{stamp_text(value)}"^^xsd:dateTime'


def stamp_text(value: datetime) -> str:
    """A datestamp at the provider's granularity, YYYY-MM-DDThh:mm:ssZ."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc(value: str) -> datetime:
    """An xsd:dateTime lexical value as an aware UTC datetime truncated to whole seconds."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # Kho writes offsets; a bare time is taken as UTC
    return parsed.astimezone(UTC).replace(microsecond=0)


# MAX over rows where a variable is unbound is an error in SPARQL, so every row gives a value:
# the epoch where the row is not of the kind counted.
_E = _dt(EPOCH)
_OWN = f"MAX(COALESCE(IF(?own = 1, ?t, {_E}), {_E}))"
_UNIT = f"MAX(COALESCE(IF(?own = 0, ?t, {_E}), {_E}))"
_STAMP = f"IF({_OWN} > {_E}, {_OWN}, {_UNIT})"


# Every page of a list starts from its whole selection (about 7 ms per 1,000 items): kept per
# store, reader's graphs, selection and store generation, so a harvest's pages list it once
# between writes — up to KEPT_ITEMS items (about 200 bytes each), larger lists every time.
_LISTED: Memo[list[tuple[str, str, str]]] = Memo(size=8)
KEPT_ITEMS = 50_000


def _candidates(view: View, patterns: str, only: str | None = None) -> list[tuple[str, str, str]]:
    """(IRI, kind, level) of the selection's items in IRI order (datestamps not yet); the list is
    shared: do not change it."""
    graphs = view.records_graphs
    if not graphs:
        return []
    if only:  # one item (GetRecord): nothing worth keeping
        return _listed(view, graphs, patterns, only)
    key = (*family_key(view.store, graphs, view.minter.base, patterns), view.store.generation)
    listed = _LISTED.peek(key)
    if listed is None:
        listed = _listed(view, graphs, patterns, only)
        if len(listed) <= KEPT_ITEMS:
            _LISTED.put(key, listed)
    return listed


def _listed(
    view: View, graphs: list[str], patterns: str, only: str | None
) -> list[tuple[str, str, str]]:
    filters = [patterns, f"VALUES ?item {{ {_iri(only)} }}" if only else ""]
    found: dict[str, tuple[str, str, str]] = {}
    for kind, cls in _KINDS:
        sparql = _CANDIDATES % {"class": cls, "filters": "\n  ".join(filters)}
        for row in view.store.query(sparql, graphs=graphs).result:  # type: ignore[attr-defined]
            iri = row["item"].value
            level = access.level_of(row["g"].value, view.minter)
            if level is not None and iri not in found:
                found[iri] = (iri, kind, level)
    return [found[i] for i in sorted(found)]


def stamps(view: View, iris: list[str]) -> dict[str, datetime]:
    """The datestamps of `iris` (the epoch for an item without any event)."""
    if not iris:
        return {}
    sparql = _STAMPS % {"stamp": _STAMP, "items": " ".join(map(_iri, iris))}
    rows = view.store.query(sparql, graphs=view.graphs).result
    found = {r["item"].value: utc(r["stamp"].value) for r in rows}  # type: ignore[attr-defined]
    return {i: found.get(i, EPOCH) for i in iris}


def _keep(sel: Selection, stamp: datetime) -> bool:
    # whole seconds are shown, so "until 10:00:00Z" includes 10:00:00.5 (stamps are truncated)
    return not (sel.start and stamp < sel.start) and not (sel.end and stamp > sel.end)


@dataclass(frozen=True)
class Page:
    items: list[Item]
    size: int | None  # the whole selection's size when it is known without datestamps


def page(view: View, sel: Selection, after: str | None, limit: int) -> Page:
    """Up to `limit` items of the selection whose IRI sorts after `after`, in IRI order.

    Datestamps are worked out for what the page needs only: without dates for exactly the
    items shown; with from/until in chunks of CHUNK items from the resumption point, doubling
    (up to MAX_CHUNK) while the dates reject them."""
    patterns = set_filter(view, sel.set_spec)
    if patterns is None:
        return Page([], 0)
    listed = _candidates(view, patterns)
    rest = listed[bisect.bisect_right(listed, after, key=lambda c: c[0]) :] if after else listed
    found: list[Item] = []
    size, at = CHUNK, 0
    while len(found) < limit and at < len(rest):
        step = size if sel.dated else min(size, limit - len(found))
        chunk = rest[at : at + step]
        dates = stamps(view, [c[0] for c in chunk])
        for iri, kind, level in chunk:
            if _keep(sel, dates[iri]):
                found.append(Item(iri, kind, level, dates[iri]))
                if len(found) == limit:
                    break
        at += step
        size = min(size * 2, MAX_CHUNK) if sel.dated else size
    return Page(found, None if sel.dated else len(listed))


def find(view: View, iri: str) -> Item | None:
    """The item at `iri` if the reader may see it."""
    try:
        found = _candidates(view, "", only=iri)
    except (ValueError, SyntaxError):
        return None  # not an IRI at all
    if not found:
        return None
    _, kind, level = found[0]
    return Item(iri, kind, level, stamps(view, [iri])[iri])


def sample(view: View) -> str | None:
    """Some item's IRI (Identify's sample identifier), or None when the reader sees none."""
    graphs = view.records_graphs
    if not graphs:
        return None
    rows = view.store.select("SELECT ?item WHERE { ?item a rico:Record } LIMIT 1", graphs=graphs)
    return str(rows[0]["item"]) if rows else None


def earliest(view: View) -> datetime:
    """A guaranteed lower bound of the reader's datestamps (OAI-PMH earliestDatestamp): the
    earliest end of an activity in the visible records graphs, by one MIN; the epoch when there
    is none."""
    graphs = view.records_graphs
    if not graphs:
        return EPOCH
    sparql = "SELECT (MIN(?t) AS ?x) WHERE { ?a prov:endedAtTime ?t }"
    rows = view.store.select(sparql, graphs=graphs)
    first = rows[0]["x"] if rows else None
    return utc(str(first)) if first else EPOCH
