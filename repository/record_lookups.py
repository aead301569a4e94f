"""Facts about agencies, units and the vocabulary that ingest looks up for every row and never
changes — the fonds and holder of an agency, the level of a unit, the labels of the document types —
memoised per store.
"""

from __future__ import annotations

import pyoxigraph as ox

from repository.resolve import IssuerMatch
from repository.store import Store


def type_labels(store: Store) -> dict[str, str]:
    """TT 05 typeName concept IRI → Vietnamese label, from the vocabulary in the store."""
    cache = _LOOKUPS.setdefault((id(store), "type-labels", ""), {})
    assert isinstance(cache, dict)
    if not cache:
        rows = store.select(
            "SELECT ?c ?l WHERE { ?c skos:inScheme khoc:type-name ; skos:prefLabel ?l "
            'FILTER(lang(?l) = "vi") }'
        )
        cache.update({str(r["c"]): str(r["l"]) for r in rows})
    return cache


_LOOKUPS: dict[tuple[int, str, str], object] = {}


def _cached(store: Store, kind: str, iri: str, compute: object) -> object:
    """Per-store memo of facts about agencies and units, which ingest never changes."""
    key = (id(store), kind, iri)
    if key not in _LOOKUPS:
        _LOOKUPS[key] = compute()  # type: ignore[operator]
    return _LOOKUPS[key]


def fonds_and_holder(store: Store, match: IssuerMatch) -> tuple[str | None, str | None]:
    return _cached(store, "fonds", match.agency_iri, lambda: _query_fonds(store, match))  # type: ignore[return-value]


def _query_fonds(store: Store, match: IssuerMatch) -> tuple[str | None, str | None]:
    rows = store.select(
        "SELECT ?f ?h WHERE { ?f a rico:RecordSet ; rico:hasOrganicProvenance ?a . "
        # Ordered, so every engine picks the same row: a fonds's archives (a holder other than
        # the agency itself) before the agency, then by IRI.
        "OPTIONAL { ?f rico:hasOrHadHolder ?h } } ORDER BY (?h = ?a) ?f ?h",
        substitutions={"a": ox.NamedNode(match.agency_iri)},
    )
    if not rows:
        return None, None
    return str(rows[0]["f"]), (str(rows[0]["h"]) if rows[0].get("h") else None)


def unit_level(store: Store, unit_iri: str) -> str:
    return _cached(store, "level", unit_iri, lambda: _query_level(store, unit_iri))  # type: ignore[return-value]


def _query_level(store: Store, unit_iri: str) -> str:
    rows = store.select(
        "SELECT ?l WHERE { ?u kho:level ?l }", substitutions={"u": ox.NamedNode(unit_iri)}
    )
    return str(rows[0]["l"]).rsplit("level-", 1)[-1] if rows else "commune"
