"""Lists for the browse pages: units valid on a day (the /units page), and the names, eras and
lineage notes of the units, hồ sơ and fonds that records are browsed and found by.

TODO(lead): units_on() is a gazetteer question; move it into repository/gazetteer.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import pyoxigraph as ox

from repository import record_index
from repository.errors import BadRequest
from repository.gazetteer import LEVEL_OF, UnitRef
from repository.holdings import UnitFacts, unit_facts
from repository.namespaces import XSD
from repository.store import Store

_UNITS_ON = """
SELECT DISTINCT ?u ?code ?name ?level ?from ?to ?p ?pname WHERE {
  %(scope)s
  ?u a kho:AdminUnitVersion ; kho:level ?level ; skos:notation ?code .
  %(level)s
  OPTIONAL { ?u skos:prefLabel ?name FILTER(lang(?name) = "vi") }
  OPTIONAL { ?u rico:beginningDate ?from } OPTIONAL { ?u rico:endDate ?to }
  FILTER(!BOUND(?from) || ?from <= %(day)s) FILTER(!BOUND(?to) || ?to >= %(day)s)
  OPTIONAL { ?u rico:isOrWasContainedBy ?p .
             OPTIONAL { ?p skos:prefLabel ?pname FILTER(lang(?pname) = "vi") } }
} ORDER BY ?code"""
_IN_PROVINCE = """?prov kho:level khoc:level-province ; skos:notation %(code)s .
  ?u rico:isOrWasContainedBy+ ?prov ."""


@dataclass
class ListedUnit:
    unit: UnitRef
    parent_iri: str | None
    parent_name: str | None


def units_on(
    store: Store, day: date, province: str | None = None, level: str | None = None
) -> list[ListedUnit]:
    """Units valid on `day`: of one province (by code) if given, else the provinces themselves."""
    if level and level not in LEVEL_OF.values():
        raise BadRequest(f"Unknown level {level!r}; use province, district or commune.")
    if province is not None and not province.isdigit():
        raise BadRequest(f"{province!r} is not a province code; codes are digits, e.g. 01.")
    if province:
        scope = _IN_PROVINCE % {"code": str(ox.Literal(province))}
    else:
        scope = ""
        level = level or "province"
    level_filter = f"?u kho:level khoc:level-{level} ." if level else ""
    day_lit = str(ox.Literal(day.isoformat(), datatype=ox.NamedNode(XSD + "date")))
    rows = store.select(_UNITS_ON % {"scope": scope, "level": level_filter, "day": day_lit})
    return [
        ListedUnit(
            UnitRef(
                iri=str(r["u"]),
                code=str(r["code"]),
                name=str(r["name"] or ""),
                level=LEVEL_OF.get(str(r["level"]), ""),
                valid_from=r["from"],  # type: ignore[arg-type]
                valid_to=r["to"],  # type: ignore[arg-type]
            ),
            str(r["p"]) if r["p"] else None,
            str(r["pname"]) if r["pname"] else None,
        )
        for r in rows
    ]


def province_name(store: Store, code: str, day: date) -> str | None:
    found = [u for u in units_on(store, day) if u.unit.code == code]
    return found[0].unit.name if found else None


# -- records: names, eras and lineage notes for the browse pages, the search and resource pages ----


@dataclass
class LineageNote:
    """How a record relates to today's units: from a former unit, and/or possibly several."""

    former: UnitFacts | None = None  # the creator's unit, when it has ended and has successors
    several: list[tuple[UnitFacts, bool]] = field(default_factory=list)  # (unit, is default)

    def to_json(self) -> dict[str, object]:
        return {
            "former_unit": {"iri": self.former.iri, "name": self.former.name}
            if self.former
            else None,
            "may_belong_to": [
                {"iri": u.iri, "name": u.name, "default": d} for u, d in self.several
            ],
        }


def lineage_notes(store: Store, hits: Iterable[record_index.RecordHit]) -> dict[str, LineageNote]:
    """Per hit: "thuộc đơn vị cũ / from former unit" when its creator's unit ended and today's
    units took it over, and the new units a divided unit's record may belong to (docs/model.md:
    portions part/whole, default successor)."""
    hits = list(hits)
    facts = unit_facts(store, [u for h in hits for u in (h.unit or "", *h.units_now)])
    notes: dict[str, LineageNote] = {}
    for h in hits:
        note = LineageNote()
        if h.unit and h.units_now and h.unit not in h.units_now and h.unit in facts:
            note.former = facts[h.unit]
        if len(h.units_now) > 1:
            note.several = [(facts[u], u == h.unit_default) for u in h.units_now if u in facts]
        if note.former or note.several:
            notes[h.iri] = note
    return notes
