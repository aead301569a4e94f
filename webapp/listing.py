"""Lists of units valid on a day, by province and level, for the /units page.

TODO(lead): this is a gazetteer question; move units_on() into repository/gazetteer.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyoxigraph as ox

from repository.errors import BadRequest
from repository.gazetteer import LEVEL_OF, UnitRef
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
