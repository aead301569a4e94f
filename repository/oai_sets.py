"""OAI-PMH sets: blocks (Đảng, chính quyền, đoàn thể) and administrative units, lineage-aware
(harvesting a new ward also brings the records of the old wards merged into it). The patterns that
select a set's items, each item's memberships, and the list of sets the reader's items fall in.
Every query runs over the reader's visible graphs only."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyoxigraph as ox

from repository.namespaces import KHOC
from repository.text import nfc

if TYPE_CHECKING:
    from repository.oai_items import View

BLOCKS = ("dang", "chinh-quyen", "doan-the")
# setSpec grammar (OAI-PMH 2.0, setSpecType): unreserved URI characters, levels joined by ':'.
SET_SPEC = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$")


@dataclass
class OaiSet:
    spec: str
    name: str  # Vietnamese (NFC)
    description: str  # English
    items: int = field(default=0, compare=False)


def _iri(value: str) -> str:
    return str(ox.NamedNode(value))  # N-Triples syntax; pyoxigraph refuses a malformed IRI


def set_filter(view: View, spec: str | None) -> str | None:
    """SPARQL patterns selecting the items (?item) of set `spec`; "" for every item, None when no
    item can be in it."""
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
    return sorted(_lineage(view, {unit}, forward=False).get(unit, ()))


def _lineage(view: View, units: set[str], *, forward: bool) -> dict[str, set[str]]:
    """For each of `units`, the unit versions its territory passed to (forward) or came from, at
    any remove: vl:successor followed one remove per query over the units just reached, then
    closed in Python. Not a property path (`?own vl:successor+ ?u`): Virtuoso refuses one whose
    start only a VALUES block binds ("transitive start not given"), and lineages are short."""
    step: dict[str, set[str]] = {}  # a unit -> the units one remove away
    frontier, seen = set(units), set(units)
    here, there = ("?a", "?b") if forward else ("?b", "?a")
    while frontier:
        values = " ".join(map(_iri, sorted(frontier)))
        sparql = (
            f"SELECT DISTINCT ?a ?b WHERE {{ VALUES {here} {{ {values} }} ?a vl:successor ?b }}"
        )
        frontier = set()
        for row in view.store.select(sparql, graphs=view.graphs):
            near, far = str(row[here[1:]]), str(row[there[1:]])
            step.setdefault(near, set()).add(far)
            if far not in seen:
                seen.add(far)
                frontier.add(far)
    found: dict[str, set[str]] = {}
    for unit in units:
        reached: set[str] = set()
        todo = list(step.get(unit, ()))
        while todo:
            u = todo.pop()
            if u not in reached:
                reached.add(u)
                todo.extend(step.get(u, ()))
        if reached:
            found[unit] = reached
    return found


# -- listing ------------------------------------------------------------------------------------

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
    return _lineage(view, units, forward=True)


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
