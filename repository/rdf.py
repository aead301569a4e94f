"""A small builder of pyoxigraph triples, with the IRIs and literal types Kho writes."""

from __future__ import annotations

from datetime import date

import pyoxigraph as ox

from repository.namespaces import XSD
from repository.text import nfc

_XSD_DATE = ox.NamedNode(XSD + "date")
_XSD_BOOL = ox.NamedNode(XSD + "boolean")
_XSD_DECIMAL = ox.NamedNode(XSD + "decimal")
_XSD_DURATION = ox.NamedNode(XSD + "duration")


class Triples:
    """Collects triples; IRIs are given as strings and turned into terms once each."""

    def __init__(self) -> None:
        self._nodes: dict[str, ox.NamedNode] = {}
        self.triples: set[ox.Triple] = set()

    def node(self, iri: str) -> ox.NamedNode:
        n = self._nodes.get(iri)
        if n is None:
            n = self._nodes[iri] = ox.NamedNode(iri)
        return n

    def iri(self, s: str, p: str, o: str) -> None:
        self.triples.add(ox.Triple(self.node(s), self.node(p), self.node(o)))

    def lit(self, s: str, p: str, o: ox.Literal | None) -> None:
        if o is not None:
            self.triples.add(ox.Triple(self.node(s), self.node(p), o))

    def __len__(self) -> int:
        return len(self.triples)


def text(value: str, lang: str | None = None) -> ox.Literal:
    return ox.Literal(nfc(value), language=lang) if lang else ox.Literal(nfc(value))


def xdate(value: str | date | None) -> ox.Literal | None:
    if value is None:
        return None
    return ox.Literal(value if isinstance(value, str) else value.isoformat(), datatype=_XSD_DATE)


def boolean(value: bool) -> ox.Literal:
    return ox.Literal("true" if value else "false", datatype=_XSD_BOOL)


def decimal(value: float | None) -> ox.Literal | None:
    return (
        None
        if value is None
        else ox.Literal(f"{float(value):.6f}".rstrip("0").rstrip("."), datatype=_XSD_DECIMAL)
    )
