"""The generic description of any resource: its triples for RDF output and rows for the HTML page.

This is the one place besides /sparql where the web layer writes SPARQL: a description is a
generic, type-blind view of the graph, not a question about units or agencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyoxigraph as ox

from repository.errors import NotFound
from repository.namespaces import RDF, SKOS
from repository.store import Store
from webapp.labels import Vocabulary, curie

INCOMING_LIMIT = 50
_PREF_LABEL = SKOS + "prefLabel"
_TYPE = RDF + "type"

_DESCRIBE = """
CONSTRUCT { ?s ?p ?o . ?o skos:prefLabel ?l . }
WHERE { VALUES ?s { %(s)s } ?s ?p ?o OPTIONAL { ?o skos:prefLabel ?l } }"""
# A unit's events carry the territory transfers that say what became of it (or what it came from).
_TRANSFERS = """
CONSTRUCT { ?t ?tp ?to . ?to skos:prefLabel ?tl . }
WHERE { VALUES ?s { %(s)s } ?e prov:generated|prov:invalidated ?s ; kho:transfer ?t .
        ?t ?tp ?to OPTIONAL { ?to skos:prefLabel ?tl } }"""
_INCOMING = """
SELECT ?x ?p ?l WHERE { VALUES ?o { %(s)s } ?x ?p ?o
  OPTIONAL { ?x skos:prefLabel ?l FILTER(lang(?l) = "vi") } } LIMIT %(limit)d"""
_INCOMING_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { VALUES ?o { %(s)s } ?x ?p ?o }"


def resource_triples(
    store: Store, iri: str, graphs: list[str], with_transfers: bool = False
) -> list[ox.Triple]:
    """Every triple with `iri` as subject, the labels of what it links to, and (for units) the
    transfer nodes of its events. Raises NotFound when `iri` is the subject of nothing."""
    node = {"s": str(ox.NamedNode(iri))}
    triples = store.triples(_DESCRIBE % node, graphs=graphs)
    if not triples:
        raise NotFound(f"Kho has no resource {iri}.")
    if with_transfers:
        triples += store.triples(_TRANSFERS % node, graphs=graphs)
    # CONSTRUCT repeats a triple once per solution (an object with two labels gives two rows)
    return list(dict.fromkeys(triples))


@dataclass
class Value:
    """One object of a triple, ready to show: text, optional link and language."""

    text: str
    href: str | None = None
    iri: str | None = None
    lang: str | None = None
    datatype: str | None = None
    en: str | None = None


@dataclass
class Row:
    """One property and its values."""

    iri: str
    name: str
    label: tuple[str, str] | None
    values: list[Value] = field(default_factory=list)


@dataclass
class Description:
    iri: str
    label_vi: str | None
    label_en: str | None
    types: list[Value]
    rows: list[Row]
    incoming: list[tuple[Row, Value]]
    incoming_total: int


def describe(
    store: Store,
    iri: str,
    graphs: list[str],
    vocabulary: Vocabulary,
    href: Callable[[str], str | None],
) -> Description:
    """The HTML-ready description of `iri`: its properties, with labels and links."""
    triples = resource_triples(store, iri, graphs)
    labels: dict[str, dict[str, str]] = {}
    for t in triples:
        if t.predicate.value == _PREF_LABEL and isinstance(t.object, ox.Literal):
            labels.setdefault(t.subject.value, {})[t.object.language or ""] = t.object.value

    def value(term: object) -> Value:
        if isinstance(term, ox.Literal):
            dt = term.datatype.value if not term.language else None
            return Value(
                term.value,
                lang=term.language,
                datatype=curie(dt) if dt and not dt.endswith("#string") else None,
            )
        name = term.value  # type: ignore[attr-defined]
        known = labels.get(name, {})
        vi = known.get("vi") or known.get("") or (vocabulary.get(name) or (None, None))[0]
        en = known.get("en") or (vocabulary.get(name) or (None, None))[1]
        return Value(vi or curie(name), href=href(name), iri=name, en=en if en != vi else None)

    rows: dict[str, Row] = {}
    types: list[Value] = []
    for t in triples:
        if t.subject.value != iri:
            continue
        if t.predicate.value == _TYPE:
            types.append(value(t.object))
            continue
        p = t.predicate.value
        row = rows.setdefault(p, Row(p, curie(p), vocabulary.get(p)))
        row.values.append(value(t.object))
    for row in rows.values():
        row.values.sort(key=lambda v: (v.lang or "", v.text))
    own = labels.get(iri, {})
    node = {"s": str(ox.NamedNode(iri)), "limit": INCOMING_LIMIT}
    incoming = []
    for r in store.select(_INCOMING % node, graphs=graphs):
        p = str(r["p"])
        x = str(r["x"])
        incoming.append(
            (
                Row(p, curie(p), vocabulary.get(p)),
                Value(str(r["l"] or curie(x)), href=href(x), iri=x),
            )
        )
    incoming.sort(key=lambda pair: (pair[0].name, pair[1].text))
    total = len(incoming)
    if total >= INCOMING_LIMIT:
        total = int(store.select(_INCOMING_COUNT % node, graphs=graphs)[0]["n"])  # type: ignore[call-overload]
    return Description(
        iri=iri,
        label_vi=own.get("vi") or own.get(""),
        label_en=own.get("en"),
        types=types,
        rows=sorted(rows.values(), key=lambda r: r.name),
        incoming=incoming,
        incoming_total=total,
    )
