"""Member summaries of records and hồ sơ for the read API: what identifies and dates each one, its
unit and creating agencies named from the public reference graphs, and when it last changed.

"Changed" (the `since` filter, Last-Modified) is the latest `prov:endedAtTime` among the
activities that wrote the resource (docs/model.md): the preservation events (ingestion, OCR,
fixity) of its digital files, for a hồ sơ also those of its documents' files and the appraisals
of its retention decision. Quality-flag reviews are curation data and do not count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pyoxigraph as ox

from repository.namespaces import DCT, KHO, RDF, RICO, SKOS, Minter
from repository.store import Store

KINDS = {"record": RICO + "Record", "hoso": RICO + "RecordSet"}
REFERENCE_GRAPHS = ("agencies", "gazetteer", "vocabulary")


@dataclass(frozen=True)
class Ref:
    """A unit or agency as a member summary names it."""

    iri: str
    names: dict[str, str] = field(default_factory=dict)
    code: str | None = None


@dataclass(frozen=True)
class Via:
    """An earlier unit through which a record matched a newer unit's lineage."""

    unit: Ref
    portion: str | None  # whole | part (of the first step from the old unit)
    default: bool | None  # is the asked unit the old unit's default successor (first step)


@dataclass
class Summary:
    """One member of a page: what identifies and dates a record or hồ sơ."""

    iri: str
    kind: str  # record | hoso
    identifier: str | None = None
    number_symbol: str | None = None
    title: dict[str, str] = field(default_factory=dict)
    subject: dict[str, str] = field(default_factory=dict)
    dates: dict[str, ox.Literal] = field(default_factory=dict)  # issued, beginningDate, endDate
    access_level: str | None = None
    hoso: str | None = None
    unit: Ref | None = None
    creators: list[Ref] = field(default_factory=list)
    modified: datetime | None = None
    matched_via: Via | None = None


def reference_graphs(graphs: list[str], minter: Minter) -> list[str]:
    """The public reference graphs among `graphs` (agencies, gazetteer, vocabulary)."""
    wanted = {minter.graph(name) for name in REFERENCE_GRAPHS}
    return [g for g in graphs if g in wanted]


def record_graphs(graphs: list[str], minter: Minter) -> list[str]:
    """The records graphs among `graphs` (queries about records need nothing else, and the
    reference graphs are large)."""
    return [g for g in graphs if g.startswith(minter.graph("records/"))]


# The end times ?t of the activities that wrote ?r (see the module's docstring); {r} is where a
# VALUES block binding ?r goes, inside each branch: Oxigraph evaluates a VALUES outside a UNION
# after scanning every branch over all records (31 ms against 4 ms for 100 records at 10k).
_CHANGE_TIMES = """
  {{ {r} ?r rico:hasOrHadInstantiation ?f . ?e prov:used ?f ; prov:endedAtTime ?t }}
  UNION {{ {r} ?d rico:isOrWasIncludedIn ?r ; rico:hasOrHadInstantiation ?f .
          ?e prov:used ?f ; prov:endedAtTime ?t }}
  UNION {{ {r} ?dec rico:regulatesOrRegulated ?r ; prov:wasGeneratedBy ?a .
          ?a prov:endedAtTime ?t }}
  UNION {{ {r} ?r a rico:Record ; rico:isOrWasIncludedIn ?h .
          ?dec rico:regulatesOrRegulated ?h ; prov:wasGeneratedBy ?a . ?a prov:endedAtTime ?t }}
"""
CHANGE_TIMES = _CHANGE_TIMES.format(r="")


_FIELDS = (
    RDF + "type",
    RICO + "identifier",
    KHO + "numberSymbol",
    RICO + "title",
    RICO + "scopeAndContent",
    DCT + "issued",
    RICO + "beginningDate",
    RICO + "endDate",
    KHO + "accessLevel",
    KHO + "adminUnit",
    RICO + "hasCreator",
    RICO + "isOrWasIncludedIn",
)
_LABELS = (SKOS + "prefLabel", SKOS + "notation")


def _values(iris: list[str]) -> str:
    return " ".join(str(ox.NamedNode(i)) for i in iris)


def _select(iris: list[str], predicates: tuple[str, ...]) -> str:
    # FILTER, not VALUES ?p: with two VALUES blocks Oxigraph scans ?p before binding ?s.
    wanted = ", ".join(f"<{p}>" for p in predicates)
    return (
        f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {_values(iris)} }} ?s ?p ?o "
        f"FILTER(?p IN ({wanted})) }}"
    )


def _rows(store: Store, sparql: str, graphs: list[str]) -> list[tuple[str, str, ox.Term]]:
    result = store.query(sparql, graphs=graphs).result
    return [(s["s"].value, s["p"].value, s["o"]) for s in result]  # type: ignore[attr-defined]


def summaries(
    store: Store,
    iris: list[str],
    graphs: list[str],
    minter: Minter,
    lineage: Mapping[str, Via | None] | None = None,
) -> list[Summary]:
    """Member summaries of `iris` (records or hồ sơ), in the same order."""
    if not iris:
        return []
    rows = _rows(store, _select(iris, _FIELDS), record_graphs(graphs, minter))
    found = {i: Summary(i, "record") for i in iris}
    refs: set[str] = set()
    for s, p, o in rows:
        item = found[s]
        value = o.value
        if p == RDF + "type":
            item.kind = "hoso" if value == KINDS["hoso"] else item.kind
        elif p == RICO + "identifier":
            item.identifier = value
        elif p == KHO + "numberSymbol":
            item.number_symbol = value
        elif p in (RICO + "title", RICO + "scopeAndContent"):
            target = item.title if p == RICO + "title" else item.subject
            target[getattr(o, "language", None) or "vi"] = value
        elif p in (DCT + "issued", RICO + "beginningDate", RICO + "endDate"):
            item.dates[p.rsplit("/", 1)[-1].rsplit("#", 1)[-1]] = o  # type: ignore[assignment]
        elif p == KHO + "accessLevel":
            item.access_level = value
        elif p == KHO + "adminUnit":
            item.unit = Ref(value)
            refs.add(value)
        elif p == RICO + "hasCreator":
            item.creators.append(Ref(value))
            refs.add(value)
        elif p == RICO + "isOrWasIncludedIn" and value.startswith(minter.base + "id/hoso/"):
            item.hoso = value
    labels = _labels(store, sorted(refs), reference_graphs(graphs, minter))
    for item in found.values():
        if item.unit:
            item.unit = labels.get(item.unit.iri, item.unit)
            if lineage:
                item.matched_via = lineage.get(item.unit.iri)
        item.creators = sorted((labels.get(c.iri, c) for c in item.creators), key=lambda c: c.iri)
    for iri, moment in modified_times(store, iris, record_graphs(graphs, minter)).items():
        found[iri].modified = moment
    return [found[i] for i in iris]


def _labels(store: Store, iris: list[str], graphs: list[str]) -> dict[str, Ref]:
    if not iris:
        return {}
    rows = _rows(store, _select(iris, _LABELS), graphs)
    names: dict[str, dict[str, str]] = {}
    codes: dict[str, str] = {}
    for s, p, o in rows:
        if p == SKOS + "prefLabel":
            names.setdefault(s, {})[getattr(o, "language", None) or "vi"] = o.value
        else:
            codes[s] = o.value
    return {i: Ref(i, names.get(i, {}), codes.get(i)) for i in iris}


def modified_times(store: Store, iris: list[str], graphs: list[str]) -> dict[str, datetime]:
    """When each of `iris` last changed (see the module's docstring), where known."""
    if not iris:
        return {}
    bound = f"VALUES ?r {{ {_values(iris)} }}"
    rows = store.select(
        f"SELECT ?r (MAX(?t) AS ?m) WHERE {{ {_CHANGE_TIMES.format(r=bound)} }} GROUP BY ?r",
        graphs=graphs,
    )
    return {str(r["r"]): datetime.fromisoformat(str(r["m"])) for r in rows if r["m"]}
