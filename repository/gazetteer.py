"""Questions about units and agencies in time: which unit bore a code on a day, what it came from
and became, and the details the web pages and the CLI show. Every query lives here, not in
the views.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date

import pyoxigraph as ox

from repository.errors import BadRequest, NotFound
from repository.namespaces import KHOC
from repository.store import Store

LEVEL_OF = {
    KHOC + "level-province": "province",
    KHOC + "level-district": "district",
    KHOC + "level-commune": "commune",
}

_UNIT_VARS = """
  ?u skos:notation ?code ; kho:level ?level .
  OPTIONAL { ?u skos:prefLabel ?name FILTER(lang(?name) = "vi") }
  OPTIONAL { ?u rico:beginningDate ?from }
  OPTIONAL { ?u rico:endDate ?to }
"""


def _valid_on(var: str, day: str) -> str:
    return (
        f'FILTER(!BOUND(?from_{var}) || ?from_{var} <= "{day}"^^xsd:date) '
        f'FILTER(!BOUND(?to_{var}) || ?to_{var} >= "{day}"^^xsd:date)'
    )


@dataclass
class UnitRef:
    iri: str
    code: str
    name: str
    level: str
    valid_from: str | None
    valid_to: str | None
    portion: str | None = None
    default: bool | None = None

    def to_json(self, with_portion: bool = False) -> dict[str, object]:
        d = asdict(self)
        if not with_portion:
            d.pop("portion")
            d.pop("default")
        return d

    def valid_on(self, day: date) -> bool:
        iso = day.isoformat()
        return (self.valid_from is None or self.valid_from <= iso) and (
            self.valid_to is None or self.valid_to >= iso
        )


@dataclass
class EventRef:
    iri: str
    label: str
    date: str
    types: list[str]
    legal_iri: str | None
    legal_label: str | None


@dataclass
class AgencyRef:
    iri: str
    name: str
    kind: str
    block: str
    valid_from: str | None
    valid_to: str | None
    relation: str | None = None


@dataclass
class FondsRef:
    iri: str
    title: str
    holders: list[tuple[AgencyRef, str | None, str | None, str | None]] = field(
        default_factory=list
    )


@dataclass
class UnitDetail:
    unit: UnitRef
    name_en: str | None
    place_type_label: str | None
    parent: UnitRef | None
    children: list[UnitRef]
    predecessors: list[UnitRef]
    successors: list[UnitRef]
    generated_by: EventRef | None
    ended_by: list[EventRef]
    agencies: list[AgencyRef]
    current: list[UnitRef]
    lat: float | None
    lon: float | None


@dataclass
class AgencyDetail:
    agency: AgencyRef
    name_en: str | None
    jurisdiction: UnitRef
    superior: AgencyRef | None
    predecessors: list[AgencyRef]
    successors: list[AgencyRef]
    fonds: list[FondsRef]


def _iri(value: str) -> ox.NamedNode:
    return ox.NamedNode(value)


def _unit_row(row: dict[str, object], prefix: str = "") -> UnitRef:
    return UnitRef(
        iri=str(row[prefix + "u"]),
        code=str(row[prefix + "code"]),
        name=str(row.get(prefix + "name") or ""),
        level=LEVEL_OF.get(str(row[prefix + "level"]), ""),
        valid_from=row.get(prefix + "from"),
        valid_to=row.get(prefix + "to"),  # type: ignore[arg-type]
    )


def units(
    store: Store, where: str, substitutions: dict[str, ox.NamedNode] | None = None, extra: str = ""
) -> list[UnitRef]:
    """Units matching a graph pattern over ?u; `extra` projects ?portion and ?default."""
    rows = store.select(
        f"SELECT DISTINCT ?u ?code ?level ?name ?from ?to {extra} WHERE {{ {where} {_UNIT_VARS} }}"
        " ORDER BY ?name ?from",
        substitutions=substitutions,
    )
    out = []
    for row in rows:
        ref = _unit_row(row)
        if "portion" in row:
            ref.portion = str(row["portion"]).rsplit("-", 1)[-1] if row["portion"] else None
            ref.default = row.get("default")  # type: ignore[assignment]
        out.append(ref)
    return out


def units_with_code(store: Store, code: str, on: date | None = None) -> list[UnitRef]:
    """Every version that bore `code`, or only those valid on `on`."""
    found = units(store, "?u a kho:AdminUnitVersion ; skos:notation ?c .", {"c": ox.Literal(code)})
    return [u for u in found if on is None or u.valid_on(on)]


def unit_ref(store: Store, iri: str) -> UnitRef:
    found = units(store, "?u a kho:AdminUnitVersion .", {"u": _iri(iri)})
    if not found:
        raise NotFound(f"No administrative unit {iri}.")
    return found[0]


def predecessors(store: Store, iri: str) -> list[UnitRef]:
    return units(
        store,
        "?t kho:toUnit ?me ; kho:fromUnit ?u ; kho:portion ?portion ; "
        "kho:isDefaultSuccessor ?default .",
        {"me": _iri(iri)},
        "?portion ?default",
    )


def successors(store: Store, iri: str) -> list[UnitRef]:
    return units(
        store,
        "?t kho:fromUnit ?me ; kho:toUnit ?u ; kho:portion ?portion ; "
        "kho:isDefaultSuccessor ?default .",
        {"me": _iri(iri)},
        "?portion ?default",
    )


def current_units(store: Store, iri: str, today: date) -> list[UnitRef]:
    """Units valid `today` that hold any part of the territory of `iri` (following successors)."""
    found = units(store, "?me vl:successor* ?u .", {"me": _iri(iri)})
    return [u for u in found if u.valid_on(today)]


def lineage(store: Store, code: str, on: date | None, today: date) -> dict[str, object]:
    """The CLI's answer for one code: the unit that bore it on `on` (default today), its lineage."""
    day = on or today
    if not code.strip().isdigit():
        raise BadRequest(
            f"{code!r} is not an administrative unit code: codes are digits, "
            "e.g. 01 (province), 001 (district), 00004 (commune)."
        )
    found = units_with_code(store, code.strip(), day)
    if not found:
        others = units_with_code(store, code.strip())
        if not others:
            raise NotFound(
                f"No unit has ever borne code {code}. Check the code (GSO codes: 2 digits "
                "for provinces, 3 for districts, 5 for communes)."
            )
        spans = "; ".join(f"{u.name} {u.valid_from or '…'} → {u.valid_to or 'now'}" for u in others)
        raise NotFound(
            f"No unit bore code {code} on {day.isoformat()}. It was borne by: {spans}. "
            "Pick a date inside one of these periods with --on."
        )
    unit = found[0]
    return {
        "query": code,
        "on": day.isoformat(),
        "unit": unit.to_json(),
        "predecessors": [u.to_json(with_portion=True) for u in predecessors(store, unit.iri)],
        "successors": [u.to_json(with_portion=True) for u in successors(store, unit.iri)],
        "current": [u.to_json() for u in current_units(store, unit.iri, today)],
    }


def lineage_text(result: dict[str, object]) -> str:
    """The readable form of one lineage answer."""

    def line(u: dict[str, object]) -> str:
        span = f"{u['valid_from'] or '…'} → {u['valid_to'] or 'nay/now'}"
        mark = ""
        if u.get("portion"):
            mark = " [toàn bộ/whole]" if u["portion"] == "whole" else " [một phần/part]"
            mark += " [mặc định/default]" if u.get("default") and u["portion"] == "part" else ""
        return f"{u['name']} ({u['code']}, {u['level']}, {span}){mark}"

    unit = result["unit"]
    out = [f"{result['query']} on {result['on']}: {line(unit)}", f"  IRI: {unit['iri']}"]  # type: ignore[index]
    for title, key in (
        ("Trước đó / predecessors", "predecessors"),
        ("Kế tiếp / successors", "successors"),
        ("Hiện nay / current", "current"),
    ):
        items = result[key]
        out.append(f"  {title}: {'—' if not items else ''}")
        out += [f"    - {line(u)}" for u in items]  # type: ignore[attr-defined]
    return "\n".join(out)


def _events(store: Store, pattern: str, iri: str) -> list[EventRef]:
    rows = store.select(
        f"""
        SELECT ?e ?label ?date (GROUP_CONCAT(DISTINCT STR(?type); separator=" ") AS ?types)
               ?act ?actLabel
        WHERE {{ {pattern} ?e dct:date ?date ; rico:hasEventType ?type .
          OPTIONAL {{ ?e skos:prefLabel ?label }}
          OPTIONAL {{ ?e cv:hasFormalFramework ?act .
                      OPTIONAL {{ ?act rico:identifier ?actLabel }} }}
        }} GROUP BY ?e ?label ?date ?act ?actLabel ORDER BY ?date""",
        substitutions={"me": _iri(iri)},
    )
    return [
        EventRef(
            str(r["e"]),
            str(r["label"] or ""),
            str(r["date"]),
            [t.rsplit("/", 1)[-1] for t in str(r["types"]).split()],
            r["act"],
            r["actLabel"],
        )
        for r in rows
    ]  # type: ignore[arg-type]


def _agencies(store: Store, pattern: str, iri: str, relation: str | None = None) -> list[AgencyRef]:
    rows = store.select(
        f"""
        SELECT DISTINCT ?a ?name ?kind ?block ?from ?to ?rel WHERE {{ {pattern}
          ?a kho:agencyKind ?kind ; rico:hasOrHadCorporateBodyType ?block .
          OPTIONAL {{ ?a skos:prefLabel ?name FILTER(lang(?name) = "vi") }}
          OPTIONAL {{ ?a rico:beginningDate ?from }} OPTIONAL {{ ?a rico:endDate ?to }}
        }} ORDER BY ?block ?kind ?name""",
        substitutions={"me": _iri(iri)},
    )
    return [
        AgencyRef(
            str(r["a"]),
            str(r["name"] or ""),
            str(r["kind"]).rsplit("agency-", 1)[-1],
            str(r["block"]).rsplit("/", 1)[-1],
            r["from"],
            r["to"],  # type: ignore[arg-type]
            _relation(r.get("rel")) or relation,
        )
        for r in rows
    ]


def _relation(rel: object) -> str | None:
    if not rel:
        return None
    return {
        "wasMergedInto": "merged",
        "resultedFromTheMergerOf": "merged",
        "wasSplitInto": "split",
        "resultedFromTheSplitOf": "split",
    }.get(str(rel).rsplit("#", 1)[-1], "successor")


def _label(store: Store, iri: str, lang: str) -> str | None:
    rows = store.select(
        f'SELECT ?l WHERE {{ ?s skos:prefLabel ?l FILTER(lang(?l) = "{lang}") }}',
        substitutions={"s": _iri(iri)},
    )
    return str(rows[0]["l"]) if rows else None


def unit_detail(store: Store, iri: str, today: date) -> UnitDetail:
    unit = unit_ref(store, iri)
    facts = store.select(
        """SELECT ?type ?lat ?lon WHERE {
        OPTIONAL { ?me rico:hasOrHadPlaceType ?type } OPTIONAL { ?me geo:lat ?lat }
        OPTIONAL { ?me geo:long ?lon } }""",
        substitutions={"me": _iri(iri)},
    )[0]
    parents = units(store, "?me rico:isOrWasContainedBy ?u .", {"me": _iri(iri)})
    generated = _events(store, "?e prov:generated ?me .", iri)
    return UnitDetail(
        unit=unit,
        name_en=_label(store, iri, "en"),
        place_type_label=_label(store, str(facts["type"]), "vi") if facts["type"] else None,
        parent=parents[0] if parents else None,
        children=units(store, "?u rico:isOrWasContainedBy ?me .", {"me": _iri(iri)}),
        predecessors=predecessors(store, iri),
        successors=successors(store, iri),
        generated_by=generated[0] if generated else None,
        ended_by=_events(store, "?e prov:invalidated ?me .", iri),
        agencies=_agencies(store, "?a rico:hasOrHadJurisdiction ?me .", iri),
        current=current_units(store, iri, today) if unit.valid_to else [],
        lat=facts["lat"],
        lon=facts["lon"],  # type: ignore[arg-type]
    )


def agency_detail(store: Store, iri: str) -> AgencyDetail:
    found = _agencies(store, "BIND(?me AS ?a)", iri)
    if not found:
        raise NotFound(f"No agency {iri}.")
    jurisdiction = units(store, "?me rico:hasOrHadJurisdiction ?u .", {"me": _iri(iri)})
    superior = _agencies(store, "?me rico:isOrWasSubordinateTo ?a .", iri)
    succ = "VALUES ?rel { rico:wasMergedInto rico:wasSplitInto rico:hasSuccessor } ?me ?rel ?a ."
    pred = (
        "VALUES ?rel { rico:resultedFromTheMergerOf rico:resultedFromTheSplitOf "
        "rico:isSuccessorOf } ?me ?rel ?a ."
    )
    return AgencyDetail(
        agency=found[0],
        name_en=_label(store, iri, "en"),
        jurisdiction=jurisdiction[0],
        superior=superior[0] if superior else None,
        predecessors=_strongest(_agencies(store, pred, iri)),
        successors=_strongest(_agencies(store, succ, iri)),
        fonds=_fonds(store, iri),
    )


def _strongest(refs: list[AgencyRef]) -> list[AgencyRef]:
    """One entry per agency, keeping the most specific relation (merged/split over successor)."""
    best: dict[str, AgencyRef] = {}
    for r in refs:
        if r.iri not in best or best[r.iri].relation == "successor":
            best[r.iri] = r
    return list(best.values())


def _fonds(store: Store, iri: str) -> list[FondsRef]:
    rows = store.select(
        """
        SELECT ?f ?title ?h ?begin ?end ?note WHERE {
          ?f rico:hasOrganicProvenance ?me ; rico:title ?title FILTER(lang(?title) = "vi")
          ?rel rico:relationHasTarget ?f ; rico:relationHasSource ?h .
          OPTIONAL { ?rel rico:beginningDate ?begin } OPTIONAL { ?rel rico:endDate ?end }
          OPTIONAL { ?rel rico:generalDescription ?note }
        } ORDER BY ?f ?begin""",
        substitutions={"me": _iri(iri)},
    )
    out: dict[str, FondsRef] = {}
    for r in rows:
        f = out.setdefault(str(r["f"]), FondsRef(str(r["f"]), str(r["title"])))
        holder = _agencies(store, "BIND(?me AS ?a)", str(r["h"]))
        if holder:
            f.holders.append((holder[0], r["begin"], r["end"], r["note"]))  # type: ignore[arg-type]
    return list(out.values())


def home_counts(store: Store, graphs: list[str] | None = None) -> dict[str, int]:
    """Units per level and era, reorganisation events and agencies; `graphs` (the gazetteer's
    and the agencies') spares the store a union of every graph (2 s on a server, 0.2 here)."""
    rows = store.select(
        """
        SELECT ?level ?era (COUNT(?u) AS ?n) WHERE {
          ?u a kho:AdminUnitVersion ; kho:level ?level .
          OPTIONAL { ?u rico:beginningDate ?from } OPTIONAL { ?u rico:endDate ?to }
          BIND(IF(BOUND(?to), "before", IF(BOUND(?from) && ?from = "2025-07-01"^^xsd:date,
               "after", "both")) AS ?era)
        } GROUP BY ?level ?era""",
        graphs=graphs,
    )
    counts = {f"units_{LEVEL_OF[str(r['level'])]}_{r['era']}": int(r["n"]) for r in rows}  # type: ignore[call-overload]
    for key, cls in (("events", "kho:ReorganisationEvent"), ("agencies", "rico:CorporateBody")):
        count = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?x a {cls} }}"
        counts[key] = int(store.select(count, graphs=graphs)[0]["n"])  # type: ignore[call-overload]
    return counts


def all_units(store: Store) -> Iterator[UnitRef]:
    rows = store.select(
        f"SELECT ?u ?code ?level ?name ?from ?to WHERE {{ ?u a kho:AdminUnitVersion . "
        f"{_UNIT_VARS} }}"
    )
    return (_unit_row(r) for r in rows)


def resource_type(store: Store, iri: str, graphs: list[str] | None = None) -> str | None:
    """What kind of page `iri` gets, or None when it is unknown (or only in hidden `graphs`)."""
    rows = store.select(
        "SELECT ?t WHERE { ?s a ?t }", substitutions={"s": _iri(iri)}, graphs=graphs
    )
    types = {str(r["t"]) for r in rows}
    if any(t.endswith("#RecordSet") for t in types) and store.ask(
        "ASK WHERE { ?s rico:hasRecordSetType ric-rst:File }", substitutions={"s": _iri(iri)}
    ):
        return "hoso"
    for suffix, name in (
        ("AdminUnitVersion", "unit"),
        ("CorporateBody", "agency"),
        ("ReorganisationEvent", "event"),
        ("Mandate", "legal"),
        ("TerritoryTransfer", "transfer"),
        ("RecordSet", "fonds"),
        ("#Record", "record"),
        ("RecordResourceHoldingRelation", "holding"),
    ):
        if any(t.endswith(suffix) for t in types):
            return name
    if types or store.ask("ASK WHERE { ?s ?p ?o }", substitutions={"s": _iri(iri)}, graphs=graphs):
        return "resource"
    return None


def labels_of(store: Store, iris: list[str], lang: str = "vi") -> dict[str, str]:
    """Preferred labels of many resources at once (units, agencies...), by IRI."""
    if not iris:
        return {}
    values = " ".join(f"<{i}>" for i in iris)
    rows = store.select(
        f"SELECT ?s ?l WHERE {{ VALUES ?s {{ {values} }} ?s skos:prefLabel ?l "
        f'FILTER(lang(?l) = "{lang}") }}'
    )
    return {str(r["s"]): str(r["l"]) for r in rows}
