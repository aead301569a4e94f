"""What the OAI-PMH provider disseminates: its items (documents and hồ sơ) as the reader sees them
and their datestamps. Sets are in repository/oai_sets.py, metadata in repository/oai_metadata.py,
the protocol in repository/oai.py.

A list page costs in proportion to the page, not to the store: items are scanned in IRI order from
the resumption point in chunks, and datestamps (an aggregate over each item's preservation events)
are worked out for the chunk only. Counting and the earliest datestamp are one aggregate query each.

Every query here runs over the reader's visible graphs only (repository.access): an item in no
visible graph is not an item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox

from repository import access
from repository.access import Reader
from repository.namespaces import Minter
from repository.oai_sets import SET_SPEC, _iri, set_filter
from repository.store import Store

__all__ = ["SET_SPEC", "_iri"]  # re-exported for oai.py and oai_metadata.py

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK = 256  # candidates whose datestamps are worked out at once when from/until filter them
MAX_CHUNK = 4096  # a chunk doubles while the dates keep rejecting; this is as far as it grows


@dataclass(frozen=True)
class View:
    """The store as one reader sees it."""

    store: Store
    minter: Minter
    graphs: list[str]
    reader: Reader = access.PUBLIC

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


# The items, in the records graphs: documents, and hồ sơ (record sets of type File).
_CANDIDATES = """
SELECT %(projection)s WHERE {
  VALUES ?class { rico:Record rico:RecordSet }
  GRAPH ?g { ?item a ?class }
  FILTER(?class = rico:Record || EXISTS { ?item rico:hasRecordSetType ric-rst:File })
  %(filters)s
}
%(tail)s
"""
# The datestamp is the last time the item's ingest unit changed: the preservation events of its
# files (ingestion, OCR, quarantine; a fixity check changes nothing), for a hồ sơ also those of its
# documents and the appraisals of its retention decision. A document without events of its own
# (a duplicate file keeps its twin's) takes its hồ sơ's time: the unit was committed whole.
_STAMPS = """
SELECT ?item (%(stamp)s AS ?stamp) WHERE {
  VALUES ?item { %(items)s }
  OPTIONAL {
    { ?item rico:hasOrHadInstantiation ?f .
      ?e prov:used ?f ; kho:eventType ?et ; prov:endedAtTime ?t BIND(1 AS ?own) }
    UNION
    { ?d rico:isOrWasIncludedIn ?item ; rico:hasOrHadInstantiation ?f .
      ?e prov:used ?f ; kho:eventType ?et ; prov:endedAtTime ?t BIND(1 AS ?own) }
    UNION
    { ?dec rico:regulatesOrRegulated ?item ; prov:wasGeneratedBy ?a .
      ?a prov:endedAtTime ?t BIND(1 AS ?own) }
    UNION
    { ?item a rico:Record ; rico:isOrWasIncludedIn ?h .
      ?d rico:isOrWasIncludedIn ?h ; rico:hasOrHadInstantiation ?f .
      ?e prov:used ?f ; kho:eventType ?et ; prov:endedAtTime ?t BIND(0 AS ?own) }
    UNION
    { ?item a rico:Record ; rico:isOrWasIncludedIn ?h .
      ?dec rico:regulatesOrRegulated ?h ; prov:wasGeneratedBy ?a .
      ?a prov:endedAtTime ?t BIND(0 AS ?own) }
    FILTER(!BOUND(?et) || ?et != khoc:premis-fixity-check)
  }
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


def _candidates(
    view: View, patterns: str, after: str | None, limit: int | None, only: str | None = None
) -> list[tuple[str, str, str]]:
    """(IRI, kind, level) of up to `limit` items in IRI order after `after`, stamps not yet."""
    graphs = view.records_graphs
    if not graphs:
        return []
    filters = [patterns]
    if only:
        filters.append(f"VALUES ?item {{ {_iri(only)} }}")
    if after:
        filters.append(f"FILTER(STR(?item) > {ox.Literal(after)})")
    sparql = _CANDIDATES % {
        "projection": "?item ?g ?class",
        "filters": "\n  ".join(filters),
        "tail": f"ORDER BY STR(?item) LIMIT {limit}" if limit is not None else "",
    }
    found: dict[str, tuple[str, str, str]] = {}
    for row in view.store.query(sparql, graphs=graphs).result:  # type: ignore[attr-defined]
        iri = row["item"].value
        level = access.level_of(row["g"].value, view.minter)
        if level is None or iri in found:
            continue
        kind = "record" if row["class"].value.endswith("#Record") else "hoso"
        found[iri] = (iri, kind, level)
    return list(found.values())


def stamps(view: View, iris: list[str]) -> dict[str, datetime]:
    """The datestamps of `iris` (the epoch for an item without any event)."""
    if not iris:
        return {}
    sparql = _STAMPS % {"stamp": _STAMP, "items": " ".join(map(_iri, iris))}
    rows = view.store.query(sparql, graphs=view.graphs).result
    return {r["item"].value: utc(r["stamp"].value) for r in rows}  # type: ignore[attr-defined]


def _keep(sel: Selection, stamp: datetime) -> bool:
    # whole seconds are shown, so "until 10:00:00Z" includes 10:00:00.5 (stamps are truncated)
    return not (sel.start and stamp < sel.start) and not (sel.end and stamp > sel.end)


def page(view: View, sel: Selection, after: str | None, limit: int) -> list[Item]:
    """Up to `limit` items of the selection whose IRI sorts after `after`, in IRI order.

    Without dates every candidate is kept, so the scan asks for exactly what is missing; with
    from/until it takes chunks of CHUNK candidates, doubling while the dates reject them."""
    patterns = set_filter(view, sel.set_spec)
    if patterns is None:
        return []
    found: list[Item] = []
    size = CHUNK
    while len(found) < limit:
        step = size if sel.dated else min(size, limit - len(found))
        chunk = _candidates(view, patterns, after, step)
        dates = stamps(view, [c[0] for c in chunk])
        for iri, kind, level in chunk:
            if _keep(sel, dates[iri]):
                found.append(Item(iri, kind, level, dates[iri]))
                if len(found) == limit:
                    break
        if len(chunk) < step:
            break  # the end of the list
        after = chunk[-1][0]
        size = min(size * 2, MAX_CHUNK) if sel.dated else size
    return found


def count(view: View, sel: Selection) -> int | None:
    """How many items the selection holds for this reader: one COUNT, so only without dates
    (None with from/until, where it would take every item's datestamp)."""
    patterns = set_filter(view, sel.set_spec)
    if patterns is None or not view.records_graphs:
        return 0
    if sel.dated:
        return None
    sparql = _CANDIDATES % {
        "projection": "(COUNT(DISTINCT ?item) AS ?x)",
        "filters": patterns,
        "tail": "",
    }
    rows = view.store.select(sparql, graphs=view.records_graphs)
    return int(rows[0]["x"]) if rows else 0  # type: ignore[call-overload]


def find(view: View, iri: str) -> Item | None:
    """The item at `iri` if the reader may see it."""
    try:
        found = _candidates(view, "", None, None, only=iri)
    except (ValueError, SyntaxError):
        return None  # not an IRI at all
    if not found:
        return None
    _, kind, level = found[0]
    return Item(iri, kind, level, stamps(view, [iri])[iri])


def earliest(view: View) -> datetime:
    """A guaranteed lower bound of the reader's datestamps (OAI-PMH earliestDatestamp): the
    earliest end of an activity in the visible records graphs, by one MIN; the epoch when there
    is none."""
    graphs = view.records_graphs
    if not graphs:
        return EPOCH
    rows = view.store.select(
        "SELECT (MIN(?t) AS ?x) WHERE { ?a prov:endedAtTime ?t }", graphs=graphs
    )
    first = rows[0]["x"] if rows else None
    return utc(str(first)) if first else EPOCH
