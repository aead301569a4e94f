"""Links to the national registries as RDF (docs/model.md, "Registry links (issue 5)").

A link is a `kho:RegistryReference` the subject points to with `dct:references`: a record's links
(from its text or its sheet) live in the record's own graph; a citizen's number only in the
personal graph beside it, the public side carrying a keyed pseudonymous IRI; agencies' and units'
links live in `{base}graph/registries`. Every new link starts `unchecked`;
`repository.registry_verify` checks them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import pyoxigraph as ox

from repository.identifiers import pseudonym
from repository.namespaces import (
    DCT,
    KHO,
    RDF,
    RECORD_GRAPHS,
    Minter,
    RegistryTargets,
    registry_concept,
    verification_concept,
)
from repository.rdf import Triples, text, xdate
from repository.store import Store

if TYPE_CHECKING:
    from repository.config import Settings

# refKind -> registry (docs/registries.md)
REGISTRY_OF = {
    "citizen": "population",
    "land": "land",
    "enterprise": "enterprise",
    "official": "officials",
    "agency": "officials",
    "unit": "land",
}
REF_KINDS = tuple(REGISTRY_OF)
REF_SOURCES = ("text", "sheet", "agency", "unit")
STATUSES = ("verified", "not-found", "registry-error", "unchecked")
REGISTRY_NAMES = ("population", "land", "enterprise", "officials")


def targets(settings: Settings) -> RegistryTargets:
    return RegistryTargets(
        land=settings.registry_land_namespace,
        enterprise=settings.registry_enterprise_namespace,
        officials=settings.registry_officials_namespace,
    )


@dataclass
class LinkTriples:
    """A link's triples for the subject's graph, and the part for the personal graph only."""

    public: list[ox.Triple] = field(default_factory=list)
    personal: list[ox.Triple] = field(default_factory=list)


def _head(t: Triples, subject: str, link: str, kind: str, source: str) -> None:
    t.iri(subject, DCT + "references", link)
    t.iri(link, RDF + "type", KHO + "RegistryReference")
    t.lit(link, KHO + "refKind", text(kind))
    t.iri(link, KHO + "registry", registry_concept(REGISTRY_OF[kind]))
    t.lit(link, KHO + "refSource", text(source))
    t.iri(link, KHO + "verificationStatus", verification_concept("unchecked"))


def record_link(
    record_iri: str,
    n: int,
    ref: dict[str, str],
    settings: Settings,
    *,
    source: str = "text",
    commune: str | None = None,
    key_date: str | None = None,
) -> LinkTriples:
    """The unchecked link for a record's n-th reference `ref` ({"kind", "id", "sheet", "parcel",
    "commune", "on", "parcel_id"}). A land key without a commune takes `commune`/`key_date` (the
    creating agency's commune and the document's date) when given; else they stay absent."""
    kind = ref.get("kind", "")
    if kind not in REGISTRY_OF or kind in ("agency", "unit"):
        raise ValueError(f"unknown reference kind {kind!r}; kinds are citizen, land, ...")
    if source not in ("text", "sheet"):
        raise ValueError(f"a record's reference comes from 'text' or 'sheet', not {source!r}")
    minter = Minter(settings.base_iri)
    link = Minter.registry_ref(record_iri, kind, n, source)
    t = Triples()
    _head(t, record_iri, link, kind, source)
    out = LinkTriples()
    ident = (ref.get("id") or "").strip()
    to = targets(settings)
    if kind == "citizen":
        # ND 13/2023: the number goes to the personal graph only; the public side is keyed.
        if ident:
            person = minter.person(pseudonym(ident, settings.pseudonym_secret()))
            t.iri(link, KHO + "linkTarget", person)
            p = Triples()
            p.iri(record_iri, DCT + "references", link)
            p.iri(link, RDF + "type", KHO + "RegistryReference")
            p.lit(link, KHO + "refKind", text(kind))
            p.lit(link, KHO + "registryId", text(ident))
            out.personal = sorted(p.triples, key=str)
    elif kind == "land":
        parcel_id = (ref.get("parcel_id") or "").strip().lower()
        if parcel_id:
            t.lit(link, KHO + "registryId", text(parcel_id))
            t.iri(link, KHO + "linkTarget", to.parcel(parcel_id))
        for key, pred in (("sheet", "mapSheet"), ("parcel", "parcel")):
            if (ref.get(key) or "").strip():
                t.lit(link, KHO + pred, text(ref[key].strip()))
        commune_code = (ref.get("commune") or "").strip() or commune
        day = (ref.get("on") or "").strip() or key_date
        if commune_code and (ref.get("sheet") or ref.get("parcel")):
            t.lit(link, KHO + "communeCode", text(commune_code))
            if day:
                t.lit(link, KHO + "keyDate", xdate(day[:10]))
    elif ident:
        t.lit(link, KHO + "registryId", text(ident))
        target = to.enterprise_iri(ident) if kind == "enterprise" else to.official(ident)
        t.iri(link, KHO + "linkTarget", target)
    out.public = sorted(t.triples, key=str)
    return out


# -- agencies' and units' links in graph/registries --------------------------------------------

_RECORD_AGENCIES = """
SELECT DISTINCT ?a WHERE { ?r rico:hasCreator|rico:hasOrHadHolder ?a }"""
_AGENCY_FACTS = """
SELECT ?a ?u ?from ?to WHERE { VALUES ?a { %s }
  OPTIONAL { ?a rico:hasOrHadJurisdiction ?u }
  OPTIONAL { ?a rico:beginningDate ?from } OPTIONAL { ?a rico:endDate ?to } }"""
# The first remove is a plain pattern: Virtuoso refuses a property path whose start only a VALUES
# block binds ("transitive start not given").
_SUCCESSORS_NOW = """
SELECT DISTINCT ?s WHERE { VALUES ?u { %s } ?u vl:successor ?n . ?n vl:successor* ?s .
  OPTIONAL { ?s rico:beginningDate ?from } OPTIONAL { ?s rico:endDate ?to }
  FILTER(!BOUND(?from) || ?from <= ?today) FILTER(!BOUND(?to) || ?to >= ?today) }"""
_UNIT_FACTS = """
SELECT ?u ?code ?from ?to WHERE { VALUES ?u { %s } ?u skos:notation ?code .
  OPTIONAL { ?u rico:beginningDate ?from } OPTIONAL { ?u rico:endDate ?to } }"""
_PROVINCE_UNITS = """
SELECT DISTINCT ?u WHERE { ?p a kho:AdminUnitVersion ; kho:level khoc:level-province ;
  skos:notation ?pcode . ?u rico:isOrWasContainedBy* ?p . ?u a kho:AdminUnitVersion }"""
_EXISTING = """
SELECT ?s WHERE { GRAPH ?g { ?s dct:references ?l . ?l a kho:RegistryReference } }"""


def _values(iris: list[str]) -> str:
    return " ".join(f"<{i}>" for i in iris)


def _chunks(items: list[str], size: int = 400) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def ask_date(valid_from: object, valid_to: object, today: date) -> str:
    """The day a code or name is asked on: today while valid, else the last day it was valid
    (codes and names were reused after 2025-07-01), else its first day."""
    iso = today.isoformat()
    start = str(valid_from)[:10] if valid_from else None
    end = str(valid_to)[:10] if valid_to else None
    if end and end < iso:
        return end
    if start and start > iso:
        return start
    return iso


@dataclass
class LinkSetup:
    """What `ensure_links` found and wrote."""

    agencies: int = 0
    units: int = 0
    added: int = 0


def ensure_links(
    store: Store,
    settings: Settings,
    *,
    all_units: bool = False,
    province: str = "01",
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> LinkSetup:
    """Unchecked links for the agencies records name (creators, holders), their units' versions
    and those units' successors valid today — or, with `all_units`, also every unit version of
    `province` — in `{base}graph/registries`. Links that exist keep their status."""
    minter = Minter(settings.base_iri)
    day = today or (date.fromisoformat(settings.today) if settings.today else date.today())
    graphs = [minter.records_graph(level) for level in RECORD_GRAPHS]
    agencies = sorted(str(r["a"]) for r in store.select(_RECORD_AGENCIES, graphs=graphs))
    agency_dates: dict[str, str] = {}
    unit_iris: set[str] = set()
    for chunk in _chunks(agencies):
        for r in store.select(_AGENCY_FACTS % _values(chunk)):
            agency_dates[str(r["a"])] = ask_date(r["from"], r["to"], day)
            if r["u"]:
                unit_iris.add(str(r["u"]))
    for chunk in _chunks(sorted(unit_iris)):
        rows = store.select(_SUCCESSORS_NOW % _values(chunk), substitutions={"today": xdate(day)})
        unit_iris |= {str(r["s"]) for r in rows}
    if all_units:
        rows = store.select(_PROVINCE_UNITS, substitutions={"pcode": ox.Literal(province)})
        unit_iris |= {str(r["u"]) for r in rows}
    units: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(sorted(unit_iris)):
        for r in store.select(_UNIT_FACTS % _values(chunk)):
            units[str(r["u"])] = (str(r["code"]), ask_date(r["from"], r["to"], day))
    registries = minter.registries_graph()
    existing = {str(r["s"]) for r in store.select(_EXISTING, graphs=[registries])}
    g = ox.NamedNode(registries)
    quads: list[ox.Quad] = []
    for iri, on in sorted(agency_dates.items()):
        if iri not in existing:
            quads += [_in(g, x) for x in _subject_link(iri, "agency", on)]
    for iri, (code_, on) in sorted(units.items()):
        if iri not in existing:
            quads += [_in(g, x) for x in _subject_link(iri, "unit", on, code_)]
    added = len({q.subject.value for q in quads if q.predicate.value == RDF + "type"})
    if quads:
        store.add_quads(quads)
    if progress:
        progress(f"registry links: {len(agency_dates)} agencies, {len(units)} units, {added} new")
    return LinkSetup(len(agency_dates), len(units), added)


def _subject_link(iri: str, kind: str, on: str, code_: str | None = None) -> list[ox.Triple]:
    link = Minter.registry_link(iri, REGISTRY_OF[kind])
    t = Triples()
    _head(t, iri, link, kind, kind)
    t.lit(link, KHO + "keyDate", xdate(on))
    if code_:
        t.lit(link, KHO + "registryId", text(code_))
    return sorted(t.triples, key=str)


def _in(g: ox.NamedNode, t: ox.Triple) -> ox.Quad:
    return ox.Quad(t.subject, t.predicate, t.object, g)


# -- counts -----------------------------------------------------------------------------------

_COUNTS = """
SELECT ?registry ?status (COUNT(DISTINCT ?l) AS ?n) WHERE {
  ?l a kho:RegistryReference ; kho:registry ?registry ; kho:verificationStatus ?status }
GROUP BY ?registry ?status"""


def link_graphs(minter: Minter) -> list[str]:
    """Where links live: every records graph (not the personal ones) and graph/registries."""
    return [minter.records_graph(level) for level in RECORD_GRAPHS] + [minter.registries_graph()]


def status_counts(
    store: Store, settings: Settings, graphs: list[str] | None = None
) -> dict[str, dict[str, int]]:
    """Links per registry and status, over `graphs` (default: every graph links live in)."""
    minter = Minter(settings.base_iri)
    out: dict[str, dict[str, int]] = {r: dict.fromkeys(STATUSES, 0) for r in REGISTRY_NAMES}
    rows = store.select(_COUNTS, graphs=graphs if graphs is not None else link_graphs(minter))
    for r in rows:
        registry = str(r["registry"]).rsplit("/", 1)[-1]
        status = str(r["status"]).rsplit("/", 1)[-1]
        out.setdefault(registry, dict.fromkeys(STATUSES, 0))[status] = int(r["n"])  # type: ignore[arg-type]
    return out
