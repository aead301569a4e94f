"""What Kho's links to the national registries show (docs/registries.md; docs/model.md,
"Registry links"): the links of a record, hồ sơ, agency or unit; the record links that concern a
unit (parcels then or now) or an agency (its officials); a pseudonymous citizen's records; counts
per registry and status; the links that failed.

Every query takes `graphs` — the reader's visible graphs (repository.access) — so a link in a
record the reader may not see does not exist here either. A citizen's identification number is
read only from a `…/personal` graph, which access.py gives only to readers with the `personal`
grant: from any other graph it is dropped, whoever asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from repository import gazetteer
from repository.namespaces import KHO, KHOC, RICO
from repository.store import Store

KINDS = ("citizen", "land", "enterprise", "official", "agency", "unit")
STATUSES = ("verified", "not-found", "registry-error", "unchecked")
REGISTRIES = ("population", "land", "enterprise", "officials")
# Which registry a link asks when it does not say (kho:registry is the authority).
REGISTRY_OF_KIND = {
    "citizen": "population",
    "land": "land",
    "unit": "land",
    "enterprise": "enterprise",
    "official": "officials",
    "agency": "officials",
}
# kho: properties kept after a check, shown as they are (local name -> value).
FACTS = (
    "enterpriseName",
    "enterpriseShortName",
    "enterpriseForeignName",
    "enterpriseStatus",
    "enterpriseStatusLabel",
    "parcelId",
    "parcelArea",
    "landUse",
    "officialPosition",
    "officialAgencyName",
    "registryName",
)
_REGISTRY = KHOC + "registry/"
_STATUS = KHOC + "verification/"


@dataclass
class Link:
    """One kho:RegistryReference as one reader sees it."""

    iri: str
    subject: str  # the record, hồ sơ, agency or unit version that references it
    kind: str  # citizen | land | enterprise | official | agency | unit
    registry: str  # population | land | enterprise | officials
    source: str | None = None  # text | sheet | agency | unit
    status: str = "unchecked"
    checked_at: str | None = None
    note_vi: str | None = None
    note_en: str | None = None
    target: str | None = None  # the IRI in the registry's namespace (a citizen: the pseudonym)
    registry_id: str | None = None  # never a citizen's number
    number: str | None = None  # a citizen's number: from a personal graph only
    commune_code: str | None = None
    key_date: str | None = None
    sheet: str | None = None
    parcel: str | None = None
    facts: dict[str, object] = field(default_factory=dict)
    unit_then: gazetteer.UnitRef | None = None
    unit_now: gazetteer.UnitRef | None = None
    agency: tuple[str, str] | None = None  # (Kho agency IRI, name) of an official

    @property
    def verified(self) -> bool:
        return self.status == "verified"


@dataclass
class Subject:
    """A record or hồ sơ a link belongs to, as lists show it."""

    iri: str
    kind: str  # record | hoso
    identifier: str
    title: str
    level: str = "01"  # TT 05/2025 mode code


def _values(iris: list[str] | set[str]) -> str:
    return " ".join(str(ox.NamedNode(i)) for i in sorted(set(iris)))


_LINKS = """
SELECT ?s ?ref ?g ?p ?o (LANG(?o) AS ?lang) WHERE {
  %(pattern)s
  GRAPH ?g { ?ref ?p ?o }
} ORDER BY ?s ?ref"""


def _read(store: Store, pattern: str, graphs: list[str]) -> list[Link]:
    """Links matched by `pattern` (binding ?s and ?ref), assembled from their triples."""
    rows = store.select(_LINKS % {"pattern": pattern}, graphs=graphs)
    props: dict[tuple[str, str], dict[str, list[tuple[object, str, str]]]] = {}
    for r in rows:
        p = str(r["p"])
        local = p[len(KHO) :] if p.startswith(KHO) else p
        key = (str(r["s"]), str(r["ref"]))
        props.setdefault(key, {}).setdefault(local, []).append(
            (r["o"], str(r["lang"] or ""), str(r["g"]))
        )
    links = [_link(s, ref, p) for (s, ref), p in props.items() if "refKind" in p]
    _resolve(store, links)
    return links


def _first(p: dict[str, list[tuple[object, str, str]]], local: str) -> object | None:
    values = p.get(local)
    return values[0][0] if values else None


def _text(p: dict[str, list[tuple[object, str, str]]], local: str, lang: str) -> str | None:
    values = p.get(local) or []
    exact = [v for v, la, _ in values if la == lang]
    return str(exact[0]) if exact else None


def _link(subject: str, iri: str, p: dict[str, list[tuple[object, str, str]]]) -> Link:
    kind = str(_first(p, "refKind"))
    registry = str(_first(p, "registry") or "")
    status = str(_first(p, "verificationStatus") or "")
    link = Link(
        iri=iri,
        subject=subject,
        kind=kind,
        registry=registry[len(_REGISTRY) :]
        if registry.startswith(_REGISTRY)
        else REGISTRY_OF_KIND.get(kind, ""),
        source=str(_first(p, "refSource") or "") or None,
        status=status[len(_STATUS) :] if status.startswith(_STATUS) else "unchecked",
        checked_at=str(_first(p, "checkedAt") or "") or None,
        note_vi=_text(p, "verificationNote", "vi") or _text(p, "verificationNote", ""),
        note_en=_text(p, "verificationNote", "en"),
        target=str(_first(p, "linkTarget") or "") or None,
        commune_code=str(_first(p, "communeCode") or "") or None,
        key_date=str(_first(p, "keyDate") or "") or None,
        sheet=str(_first(p, "mapSheet") or "") or None,
        parcel=str(_first(p, "parcel") or "") or None,
    )
    for value, _, graph in p.get("registryId", []):
        if kind != "citizen":
            link.registry_id = str(value)
        elif graph.endswith("/personal"):  # ND 13/2023: the number lives there only
            link.number = str(value)
    for local in FACTS:
        if local in p:
            text = _text(p, local, "vi")
            link.facts[local] = text if text is not None else _first(p, local)
    for local, attr in (("parcelUnitThen", "unit_then"), ("parcelUnitNow", "unit_now")):
        if local in p:
            setattr(link, attr, str(_first(p, local)))  # resolved to a UnitRef below
    if "officialAgency" in p:
        link.agency = (str(_first(p, "officialAgency")), "")
    return link


def _resolve(store: Store, links: list[Link]) -> None:
    """Units (then, now) and officials' agencies as Kho knows them: names, codes, dates."""
    unit_iris = {u for lk in links for u in (lk.unit_then, lk.unit_now) if isinstance(u, str)}
    units = {}
    if unit_iris:
        found = gazetteer.units(store, f"VALUES ?u {{ {_values(unit_iris)} }}")
        units = {u.iri: u for u in found}
    agencies = gazetteer.labels_of(store, sorted({lk.agency[0] for lk in links if lk.agency}))
    for lk in links:
        for attr in ("unit_then", "unit_now"):
            iri = getattr(lk, attr)
            if isinstance(iri, str):
                setattr(lk, attr, units.get(iri) or gazetteer.UnitRef(iri, "", iri, "", None, None))
        if lk.agency:
            lk.agency = (lk.agency[0], agencies.get(lk.agency[0], lk.agency[0]))


# -- the links of one resource ------------------------------------------------------------------


def links_of(store: Store, subjects: list[str], graphs: list[str]) -> list[Link]:
    """The links of `subjects` (records, hồ sơ, agencies, units), in subject order."""
    if not subjects:
        return []
    pattern = f"VALUES ?s {{ {_values(subjects)} }} ?s dct:references ?ref ."
    found = _read(store, pattern, graphs)
    order = {s: i for i, s in enumerate(subjects)}
    return sorted(found, key=lambda lk: (order.get(lk.subject, 0), _ref_order(lk.iri)))


def _ref_order(iri: str) -> tuple[str, int, str]:
    """…/ref/land-2 before …/ref/land-10; sheet refs (-s1) after text refs."""
    tail = iri.rsplit("/", 1)[-1]
    stem, _, n = tail.rpartition("-")
    digits = n.lstrip("s")
    return (stem, int(digits) if digits.isdigit() else 0, n)


_DOCUMENTS = """
SELECT ?r WHERE { ?r rico:isOrWasIncludedIn ?s ; a rico:Record } ORDER BY ?r"""


def record_links(store: Store, iri: str, graphs: list[str]) -> list[Link]:
    """A record's links; for a hồ sơ, its own and those of its documents the reader may see."""
    docs = store.select(_DOCUMENTS, substitutions={"s": ox.NamedNode(iri)}, graphs=graphs)
    return links_of(store, [iri, *(str(d["r"]) for d in docs)], graphs)


# -- links that concern a unit or an agency -------------------------------------------------------


def parcels_in_unit(store: Store, unit_iri: str, graphs: list[str]) -> list[Link]:
    """Record links to parcels registered in `unit_iri` on their key date, or lying in it today."""
    u = str(ox.NamedNode(unit_iri))
    pattern = (
        f"{{ ?ref kho:parcelUnitThen {u} }} UNION {{ ?ref kho:parcelUnitNow {u} }} "
        "?s dct:references ?ref ."
    )
    return _read(store, pattern, graphs)


def officials_of_agency(store: Store, agency_iri: str, graphs: list[str]) -> list[Link]:
    """Record links to officials the officials registry places in `agency_iri`."""
    pattern = f"?ref kho:officialAgency {ox.NamedNode(agency_iri)} . ?s dct:references ?ref ."
    return _read(store, pattern, graphs)


def person_links(store: Store, person_iri: str, graphs: list[str]) -> list[Link]:
    """Record links whose target is the pseudonymous citizen `person_iri`."""
    pattern = (
        f'?ref kho:linkTarget {ox.NamedNode(person_iri)} ; kho:refKind "citizen" . '
        "?s dct:references ?ref ."
    )
    return _read(store, pattern, graphs)


_SUBJECTS = """
SELECT ?s ?t ?id ?title ?subject ?number ?mode WHERE {
  VALUES ?s { %s } ?s a ?t FILTER(?t IN (rico:Record, rico:RecordSet))
  OPTIONAL { ?s rico:identifier ?id }
  OPTIONAL { ?s rico:title ?title FILTER(lang(?title) = "vi" || lang(?title) = "") }
  OPTIONAL { ?s rico:scopeAndContent ?subject }
  OPTIONAL { ?s kho:numberSymbol ?number }
  OPTIONAL { ?s kho:accessLevel ?mode }
}"""


def subjects(store: Store, iris: list[str], graphs: list[str]) -> dict[str, Subject]:
    """The records and hồ sơ among `iris` the reader may see: identifier and title."""
    if not iris:
        return {}
    out: dict[str, Subject] = {}
    for r in store.select(_SUBJECTS % _values(iris), graphs=graphs):
        kind = "record" if str(r["t"]) == RICO + "Record" else "hoso"
        head = " — ".join(str(x) for x in (r["number"], r["subject"] or r["title"]) if x)
        out.setdefault(
            str(r["s"]),
            Subject(
                str(r["s"]),
                kind,
                str(r["id"] or ""),
                head or str(r["id"] or r["s"]),
                str(r["mode"] or "mode-01").rsplit("-", 1)[-1],
            ),
        )
    return out


# -- counts and failures --------------------------------------------------------------------------

_COUNTS = """
SELECT ?kind ?registry ?status (COUNT(DISTINCT ?ref) AS ?n) WHERE {
  ?ref kho:refKind ?kind .
  OPTIONAL { ?ref kho:registry ?registry }
  OPTIONAL { ?ref kho:verificationStatus ?status }
} GROUP BY ?kind ?registry ?status"""


def counts(store: Store, graphs: list[str]) -> dict[str, dict[str, int]]:
    """Links per registry and status (unchecked when no status), over `graphs`."""
    out = {r: dict.fromkeys(STATUSES, 0) for r in REGISTRIES}
    for r in store.select(_COUNTS, graphs=graphs):
        registry = str(r["registry"] or "")
        registry = (
            registry[len(_REGISTRY) :]
            if registry.startswith(_REGISTRY)
            else REGISTRY_OF_KIND.get(str(r["kind"]), "")
        )
        status = str(r["status"] or "")
        status = status[len(_STATUS) :] if status.startswith(_STATUS) else "unchecked"
        row = out.setdefault(registry, dict.fromkeys(STATUSES, 0))
        row[status] = row.get(status, 0) + int(r["n"])  # type: ignore[call-overload]
    return out


def unverified(
    store: Store, graphs: list[str], status: str | None = None, limit: int = 500
) -> list[Link]:
    """Links that are not verified (or only those with `status`), failures first."""
    if status in STATUSES:
        cond = (
            "OPTIONAL { ?ref kho:verificationStatus ?st } "
            f"FILTER(COALESCE(?st, {ox.NamedNode(_STATUS + 'unchecked')}) = "
            f"{ox.NamedNode(_STATUS + status)})"
        )
    else:
        cond = (
            "FILTER NOT EXISTS { ?ref kho:verificationStatus "
            f"{ox.NamedNode(_STATUS + 'verified')} }}"
        )
    pattern = (
        "{ SELECT DISTINCT ?s ?ref WHERE { ?s dct:references ?ref . "
        f"?ref kho:refKind ?kind . {cond} }} ORDER BY ?ref LIMIT {int(limit)} }}"
    )
    found = _read(store, pattern, graphs)
    rank = {"registry-error": 0, "not-found": 1, "unchecked": 2}
    return sorted(found, key=lambda lk: (rank.get(lk.status, 3), lk.registry, lk.iri))


_PERSON = """
CONSTRUCT { ?s dct:references ?ref . ?ref ?p ?o } WHERE {
  ?ref kho:linkTarget ?person ; kho:refKind "citizen" . ?s dct:references ?ref .
  GRAPH ?g { ?ref ?p ?o }
  FILTER(?p != kho:registryId || STRENDS(STR(?g), "/personal"))
}"""


def person_triples(store: Store, person: str, graphs: list[str]) -> list[ox.Triple]:
    """The links to the pseudonymous citizen `person` and who references them, as RDF (the
    number only from a personal graph among `graphs`)."""
    return store.triples(_PERSON, substitutions={"person": ox.NamedNode(person)}, graphs=graphs)
