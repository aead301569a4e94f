"""The provenance chain of a record or hồ sơ: the agency that created it (and the unit it served
then) → who held it over time → the custody transfers at the 2025-07-01 reorganisation → who holds
it today.

Custody is never implied (docs/model.md, "Agencies"): the steps come from the hồ sơ's
rico:hasOrHadHolder and from the dated rico:RecordResourceHoldingRelation of its fonds in the
agencies graph (mappings/custody.csv); the legal act of a transfer is the one of the
reorganisation event that ended the previous holder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyoxigraph as ox

from repository.errors import NotFound
from repository.namespaces import Minter
from repository.store import Store

HOW = {
    "created": ("Hình thành", "Created"),
    "held": ("Quản lý", "Held"),
    "transferred": ("Chuyển giao khi sắp xếp", "Transferred at the reorganisation"),
}
MAX_HOPS = 6  # a holder that itself ended hands on at most this many times


@dataclass
class Step:
    """One holder in the chain."""

    agency: str
    name: str
    name_en: str | None
    unit: str | None
    unit_name: str | None
    begin: str | None  # from when this agency held (or created) the records
    end: str | None  # until when; None = still holds
    how: str  # created | held | transferred
    now: bool = False  # holds the records today
    act: str | None = None  # legal act of the transfer
    act_label: str | None = None
    note: str | None = None
    agency_end: str | None = None  # when the agency itself ended, if it did

    @property
    def how_label(self) -> tuple[str, str]:
        return HOW[self.how]


_ORIGIN = """
SELECT ?creator ?hoso ?holder WHERE {{
  {s} rico:hasCreator ?creator .
  OPTIONAL {{ {{ {s} a rico:RecordSet . BIND({s} AS ?hoso) }}
             UNION {{ {s} rico:isOrWasIncludedIn ?hoso .
                      ?hoso rico:hasRecordSetType ric-rst:File }} }}
  OPTIONAL {{ ?hoso rico:hasOrHadHolder ?holder }}
}}"""

# The IRIs are written into each branch of the UNION, with the whole pattern in each branch:
# bound by a VALUES block, or joined with a pattern outside the UNION, Oxigraph scans every
# record first (150-680 ms at 10k records, against 0.2 ms).
_FONDS = """
SELECT DISTINCT ?fonds WHERE {{
  {{ {hoso} rico:isOrWasIncludedIn ?fonds . ?fonds rico:hasRecordSetType ric-rst:Fonds }}
  UNION {{ ?fonds rico:hasOrganicProvenance {creator} ; rico:hasRecordSetType ric-rst:Fonds }}
}}"""
_HOLDINGS = """
SELECT ?source ?begin ?end ?note WHERE {
  ?rel a rico:RecordResourceHoldingRelation ; rico:relationHasTarget ?fonds ;
       rico:relationHasSource ?source .
  OPTIONAL { ?rel rico:beginningDate ?begin } OPTIONAL { ?rel rico:endDate ?end }
  OPTIONAL { ?rel rico:generalDescription ?note }
} ORDER BY ?begin"""
_AGENCY = """
SELECT ?vi ?en ?begin ?end ?unit ?unitName WHERE {
  OPTIONAL { ?a skos:prefLabel ?vi FILTER(lang(?vi) = "vi") }
  OPTIONAL { ?a skos:prefLabel ?en FILTER(lang(?en) = "en") }
  OPTIONAL { ?a rico:beginningDate ?begin } OPTIONAL { ?a rico:endDate ?end }
  OPTIONAL { ?a rico:hasOrHadJurisdiction ?unit .
             OPTIONAL { ?unit skos:prefLabel ?unitName FILTER(lang(?unitName) = "vi") } }
} LIMIT 1"""
_ACT = """
SELECT ?act ?id ?title ?made WHERE {
  ?old org:changedBy ?e .
  OPTIONAL { ?new org:resultedFrom ?e2 FILTER(?e2 = ?e) BIND(true AS ?made) }
  { ?e cv:hasFormalFramework ?act } UNION { ?e rico:isOrWasSubeventOf/cv:hasFormalFramework ?act }
  OPTIONAL { ?act rico:identifier ?id } OPTIONAL { ?act rico:title ?title }
} ORDER BY DESC(?made)"""


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _reference(minter: Minter) -> list[str]:
    return [minter.graph("agencies"), minter.graph("gazetteer")]


def _agency_step(store: Store, graphs: list[str], iri: str, how: str) -> Step:
    rows = store.select(_AGENCY, substitutions={"a": _n(iri)}, graphs=graphs)
    r = rows[0] if rows else {}
    return Step(
        agency=iri,
        name=str(r.get("vi") or iri.rsplit("/", 1)[-1]),
        name_en=str(r["en"]) if r.get("en") else None,
        unit=str(r["unit"]) if r.get("unit") else None,
        unit_name=str(r["unitName"]) if r.get("unitName") else None,
        begin=str(r["begin"]) if r.get("begin") else None,
        end=str(r["end"]) if r.get("end") else None,
        how=how,
        agency_end=str(r["end"]) if r.get("end") else None,
    )


def _act(store: Store, graphs: list[str], old: str, new: str) -> tuple[str, str] | None:
    rows = store.select(_ACT, substitutions={"old": _n(old), "new": _n(new)}, graphs=graphs)
    if not rows:
        return None
    r = rows[0]
    return str(r["act"]), str(r["id"] or r["title"] or r["act"])


def _holdings(store: Store, graphs: list[str], fonds: str) -> list[dict[str, object]]:
    return store.select(_HOLDINGS, substitutions={"fonds": _n(fonds)}, graphs=graphs)


def _valid(step: Step, today: date) -> bool:
    ends = [e for e in (step.end, step.agency_end) if e]
    return all(e >= today.isoformat() for e in ends)


def chain(store: Store, minter: Minter, iri: str, graphs: list[str], today: date) -> list[Step]:
    """The holders of the record or hồ sơ `iri` from its creation until today.

    `graphs` are the records graphs the reader may see (the resource must be in one of them, else
    NotFound); agencies and custody are public reference data.
    """
    rows = store.select(_ORIGIN.format(s=_n(iri)), graphs=graphs)
    if not rows:
        raise NotFound(f"Kho has no record or hồ sơ {iri}.")
    ref = _reference(minter)
    creator = str(rows[0]["creator"])
    hoso = next((str(r["hoso"]) for r in rows if r["hoso"]), None)
    holders = sorted({str(r["holder"]) for r in rows if r["holder"]} - {creator})

    steps = [_agency_step(store, ref, creator, "created")]
    seen = {s.agency for s in steps}
    fonds_rows = store.select(
        _FONDS.format(hoso=_n(hoso or iri), creator=_n(creator)), graphs=[*ref, *graphs]
    )
    current = creator
    for _ in range(MAX_HOPS):
        fonds = [str(r["fonds"]) for r in fonds_rows]
        moved = False
        for f in fonds:
            for h in _holdings(store, ref, f):
                source = str(h["source"])
                if source == current and not moved:
                    own = next((s for s in steps if s.agency == source), None)
                    if own is not None:
                        own.begin = own.begin or (str(h["begin"]) if h["begin"] else None)
                        own.end = str(h["end"]) if h["end"] else own.end
                    continue
                if source in seen:
                    continue
                step = _agency_step(store, ref, source, "transferred")
                step.begin = str(h["begin"]) if h["begin"] else step.begin
                step.end = str(h["end"]) if h["end"] else step.end
                step.note = str(h["note"]) if h["note"] else None
                act = _act(store, ref, current, source)
                if act:
                    step.act, step.act_label = act
                steps.append(step)
                seen.add(source)
                current = source
                moved = True
        last = steps[-1]
        if not moved or _valid(last, today):
            break
        # the holder itself ended: follow the custody of its own fonds
        fonds_rows = store.select(
            "SELECT ?fonds WHERE { ?fonds rico:hasOrganicProvenance ?a ; "
            "rico:hasRecordSetType ric-rst:Fonds }",
            substitutions={"a": _n(last.agency)},
            graphs=ref,
        )
    for holder in holders:  # a holder the batch named that the custody rules do not give
        if holder not in seen:
            step = _agency_step(store, ref, holder, "held")
            step.begin = step.end = None  # the batch gives no dates of its custody
            steps.append(step)
            seen.add(holder)
    last = steps[-1]
    last.now = _valid(last, today)
    return steps


def holder_today(steps: list[Step]) -> Step | None:
    """The step that holds the records today, if the chain reaches one."""
    return steps[-1] if steps and steps[-1].now else None
