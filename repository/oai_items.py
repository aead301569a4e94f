"""What the OAI-PMH provider disseminates: its items (documents and hồ sơ) as the reader sees them,
their datestamps and sets, and their Dublin Core and RDF descriptions. The protocol itself is in
repository/oai.py.

Every query here runs over the reader's visible graphs only (repository.access): an item in no
visible graph is not an item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyoxigraph as ox

from repository import access
from repository.access import Reader
from repository.namespaces import KHO, KHOC, Minter
from repository.store import Store
from repository.text import nfc

BLOCKS = ("dang", "chinh-quyen", "doan-the")
# setSpec grammar (OAI-PMH 2.0, setSpecType): unreserved URI characters, levels joined by ':'.
SET_SPEC = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Signatures are hex digests, not text: masking could corrupt them and they hold no one's number.
_UNMASKED = {KHO + "textSignature", KHO + "textBand"}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


@dataclass(frozen=True)
class View:
    """The store as one reader sees it."""

    store: Store
    minter: Minter
    graphs: list[str]
    reader: Reader = access.PUBLIC


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


@dataclass
class OaiSet:
    spec: str
    name: str  # Vietnamese (NFC)
    description: str  # English
    items: int = field(default=0, compare=False)


# The datestamp is the last time the item's ingest unit changed: the preservation events of its
# files (ingestion, OCR, quarantine; a fixity check changes nothing), for a hồ sơ also those of its
# documents and the appraisals of its retention decision. A document without events of its own
# (a duplicate file keeps its twin's) takes its hồ sơ's time: the unit was committed whole.
_ITEMS = """
SELECT ?item ?g ?class (%(stamp)s AS ?stamp) WHERE {
  VALUES ?class { rico:Record rico:RecordSet }
  GRAPH ?g { ?item a ?class }
  FILTER(?class = rico:Record || EXISTS { ?item rico:hasRecordSetType ric-rst:File })
  %(filters)s
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
GROUP BY ?item ?g ?class
%(having)s
ORDER BY STR(?item)
%(limit)s
"""


def _iri(value: str) -> str:
    return str(ox.NamedNode(value))  # N-Triples syntax; pyoxigraph refuses a malformed IRI


def _dt(value: datetime) -> str:
    return f'"{stamp_text(value)}"^^xsd:dateTime'


def stamp_text(value: datetime) -> str:
    """A datestamp at the provider's granularity, YYYY-MM-DDThh:mm:ssZ."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# MAX over rows where a variable is unbound is an error in SPARQL, so every row gives a value:
# the epoch where the row is not of the kind counted.
_E = _dt(EPOCH)
_OWN = f"MAX(COALESCE(IF(?own = 1, ?t, {_E}), {_E}))"
_UNIT = f"MAX(COALESCE(IF(?own = 0, ?t, {_E}), {_E}))"
_STAMP = f"IF({_OWN} > {_E}, {_OWN}, {_UNIT})"


def _set_filter(view: View, spec: str | None) -> str | None:
    """SPARQL patterns selecting the items of set `spec`; None when no item can be in it."""
    if not spec:
        return ""
    if spec == "block":
        return "?item kho:block ?anyBlock ."
    if spec == "unit":
        return "?item kho:adminUnit ?anyUnit ."
    top, _, rest = spec.partition(":")
    if top == "block" and rest in BLOCKS:
        return f"?item kho:block {_iri(KHOC + 'block-' + rest)} ."
    if top == "unit" and rest and ":" not in rest:
        unit = view.minter.unit(rest)
        units = [unit, *_predecessors(view, unit)]
        values = " ".join(_iri(u) for u in units)
        return f"?item kho:adminUnit ?setUnit . VALUES ?setUnit {{ {values} }}"
    return None


def _predecessors(view: View, unit: str) -> list[str]:
    """Unit versions whose territory passed (wholly or partly) to `unit`, at any remove."""
    rows = view.store.select(
        f"SELECT DISTINCT ?p WHERE {{ ?p vl:successor+ {_iri(unit)} }}", graphs=view.graphs
    )
    return sorted(str(r["p"]) for r in rows)


def _query(
    view: View, sel: Selection, after: str | None, limit: int | None, only: str | None = None
) -> str | None:
    patterns = _set_filter(view, sel.set_spec)
    if patterns is None:
        return None
    filters = [patterns]
    if only:
        filters.append(f"VALUES ?item {{ {_iri(only)} }}")
    if after:
        filters.append(f"FILTER(STR(?item) > {ox.Literal(after)})")
    having = []
    if sel.start:
        having.append(f"{_STAMP} >= {_dt(sel.start)}")
    if sel.end:
        # whole seconds are shown, so "until 10:00:00Z" includes 10:00:00.5
        having.append(f"{_STAMP} < {_dt(sel.end + timedelta(seconds=1))}")
    return _ITEMS % {
        "stamp": _STAMP,
        "filters": "\n  ".join(filters),
        "having": f"HAVING({' && '.join(having)})" if having else "",
        "limit": f"LIMIT {limit}" if limit is not None else "",
    }


def _items(view: View, sparql: str) -> list[Item]:
    found = []
    for row in view.store.query(sparql, graphs=view.graphs).result:  # type: ignore[attr-defined]
        level = access.level_of(row["g"].value, view.minter)
        if level is None:
            continue
        kind = "record" if row["class"].value.endswith("#Record") else "hoso"
        found.append(Item(row["item"].value, kind, level, utc(row["stamp"].value)))
    return found


def _aggregate(view: View, sel: Selection, projection: str) -> object:
    sparql = _query(view, sel, None, None)
    if sparql is None:
        return None
    inner = sparql.replace("ORDER BY STR(?item)", "")
    rows = view.store.select(f"SELECT {projection} WHERE {{ {inner} }}", graphs=view.graphs)
    return rows[0]["x"] if rows else None


def utc(value: str) -> datetime:
    """An xsd:dateTime lexical value as an aware UTC datetime truncated to whole seconds."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # Kho writes offsets; a bare time is taken as UTC
    return parsed.astimezone(UTC).replace(microsecond=0)


def page(view: View, sel: Selection, after: str | None, limit: int) -> list[Item]:
    """Up to `limit` items of the selection whose IRI sorts after `after`, in IRI order."""
    sparql = _query(view, sel, after, limit)
    return [] if sparql is None else _items(view, sparql)


def count(view: View, sel: Selection) -> int:
    """How many items the selection holds for this reader."""
    return int(_aggregate(view, sel, "(COUNT(*) AS ?x)") or 0)  # type: ignore[call-overload]


def find(view: View, iri: str) -> Item | None:
    """The item at `iri` if the reader may see it."""
    try:
        sparql = _query(view, Selection(), None, None, only=iri)
    except (ValueError, SyntaxError):
        return None  # not an IRI at all
    found = _items(view, sparql) if sparql else []
    return found[0] if found else None


def earliest(view: View) -> datetime:
    """The earliest datestamp among the reader's items (the epoch when there are none)."""
    first = _aggregate(view, Selection(), "(MIN(?stamp) AS ?x)")
    return utc(str(first)) if first else EPOCH


# -- sets ------------------------------------------------------------------------------------

_BLOCK_LABELS = """
SELECT ?c ?vi ?en WHERE {
  VALUES ?c { %s }
  ?c skos:prefLabel ?vi FILTER(lang(?vi) = "vi")
  OPTIONAL { ?c skos:prefLabel ?en FILTER(lang(?en) = "en") }
}"""
_UNIT_LABELS = """
SELECT ?u ?vi ?en ?begin ?end WHERE {
  VALUES ?u { %s }
  ?u skos:prefLabel ?vi FILTER(lang(?vi) = "vi")
  OPTIONAL { ?u skos:prefLabel ?en FILTER(lang(?en) = "en") }
  OPTIONAL { ?u rico:beginningDate ?begin }
  OPTIONAL { ?u rico:endDate ?end }
}"""
# The block and unit of items; sets are lineage-aware: harvesting a new ward also brings the
# records of the old wards merged into it (the units' vl:successor, materialised from transfers).
_ITEM_BLOCK_UNIT = """
SELECT DISTINCT ?item ?block ?own WHERE {
  %s
  OPTIONAL { ?item kho:block ?block }
  OPTIONAL { ?item kho:adminUnit ?own }
}"""
_BLOCKS_AND_UNITS = """
SELECT DISTINCT ?block ?own WHERE {
  %s
  OPTIONAL { ?item kho:block ?block }
  OPTIONAL { ?item kho:adminUnit ?own }
}"""
_ITEM_PATTERN = """
  VALUES ?class { rico:Record rico:RecordSet }
  ?item a ?class .
  FILTER(?class = rico:Record || EXISTS { ?item rico:hasRecordSetType ric-rst:File })"""


def unit_spec(view: View, unit: str) -> str | None:
    """The setSpec of a unit version's set, or None when its IRI is not a plain local id."""
    local = view.minter.local_path(unit)
    if not local or not local.startswith("id/unit/"):
        return None
    spec = "unit:" + local[len("id/unit/") :]
    return spec if SET_SPEC.match(spec) and spec.count(":") == 1 else None


def memberships(view: View, items: Iterable[str]) -> dict[str, list[str]]:
    """The setSpecs of each item: its block, its creator's unit and that unit's successors."""
    iris = list(items)
    specs: dict[str, set[str]] = {i: set() for i in iris}
    if not iris:
        return {}
    values = "VALUES ?item { " + " ".join(_iri(i) for i in iris) + " }"
    rows = view.store.select(_ITEM_BLOCK_UNIT % values, graphs=view.graphs)
    later = _successors(view, {str(r["own"]) for r in rows if r["own"]})
    for row in rows:
        item = str(row["item"])
        if row["block"] and str(row["block"]).startswith(KHOC + "block-"):
            specs[item].add("block:" + str(row["block"])[len(KHOC + "block-") :])
        if row["own"]:
            for unit in (str(row["own"]), *later.get(str(row["own"]), ())):
                spec = unit_spec(view, unit)
                if spec:
                    specs[item].add(spec)
    return {i: sorted(s) for i, s in specs.items()}


def _successors(view: View, units: set[str]) -> dict[str, set[str]]:
    """The unit versions each of `units` passed its territory to, at any remove."""
    found: dict[str, set[str]] = {}
    if not units:
        return found
    sparql = (
        f"SELECT DISTINCT ?own ?u WHERE {{ VALUES ?own {{ {' '.join(map(_iri, sorted(units)))} }} "
        "?own vl:successor+ ?u }"
    )
    for row in view.store.select(sparql, graphs=view.graphs):
        found.setdefault(str(row["own"]), set()).add(str(row["u"]))
    return found


def sets(view: View) -> list[OaiSet]:
    """Every set the reader's items fall in, with the two parent sets, ordered by setSpec."""
    found: dict[str, OaiSet] = {
        "block": OaiSet(
            "block",
            "Khối",
            "Blocks: records by the block of their creating agency — Party (Đảng), "
            "government (chính quyền), mass organisations (đoàn thể).",
        ),
        "unit": OaiSet(
            "unit",
            "Đơn vị hành chính",
            "Administrative units: records by the unit their creating agency served, and by "
            "the units its territory passed to in the 2025-07-01 reorganisation.",
        ),
    }
    rows = view.store.select(_BLOCKS_AND_UNITS % _ITEM_PATTERN, graphs=view.graphs)
    blocks = {str(r["block"]) for r in rows if r["block"]}
    own = sorted({str(r["own"]) for r in rows if r["own"]})
    units: dict[str, bool] = dict.fromkeys(own, False)  # unit -> holds predecessors' records
    for later in _successors(view, set(own)).values():
        units.update(dict.fromkeys(later, True))
    if blocks:
        values = " ".join(_iri(b) for b in sorted(blocks))
        for r in view.store.select(_BLOCK_LABELS % values, graphs=view.graphs):
            local = str(r["c"])[len(KHOC + "block-") :]
            if local in BLOCKS:
                en = str(r["en"] or r["vi"])
                found[f"block:{local}"] = OaiSet(
                    f"block:{local}",
                    nfc(str(r["vi"])),
                    f"{en}: records whose creating agency belongs to the {en}.",
                )
    if units:
        values = " ".join(_iri(u) for u in sorted(units))
        for r in view.store.select(_UNIT_LABELS % values, graphs=view.graphs):
            spec = unit_spec(view, str(r["u"]))
            if not spec:
                continue
            begin, end = r["begin"], r["end"]
            vi = nfc(str(r["vi"])) + _span_vi(begin, end)
            en = str(r["en"] or r["vi"]) + _span_en(begin, end)
            note = f"Records created by agencies that served {en}"
            if units[str(r["u"])]:
                note += ", and records of the units whose territory passed to it"
            found[spec] = OaiSet(spec, vi, note + ".")
    return [found[k] for k in sorted(found)]


def _span_vi(begin: object, end: object) -> str:
    def vn(d: object) -> str:
        y, m, dd = str(d).split("-")[:3] if str(d).count("-") >= 2 else (str(d), "", "")
        return f"{dd}/{m}/{y}" if m else y

    if begin and end:
        return f" ({vn(begin)}–{vn(end)})"
    if begin:
        return f" (từ {vn(begin)})"
    if end:
        return f" (đến {vn(end)})"
    return ""


def _span_en(begin: object, end: object) -> str:
    if begin and end:
        return f" ({begin} to {end})"
    if begin:
        return f" (from {begin})"
    if end:
        return f" (until {end})"
    return ""
