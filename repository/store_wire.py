"""What travels between Kho and a SPARQL server: media types, answers parsed into pyoxigraph's
objects, and the Virtuoso dialect's repairs (repository.store_sparql uses them)."""

from __future__ import annotations

import re
from typing import IO

import pyoxigraph as ox

from repository.errors import KhoError

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
XSD_DURATION = "http://www.w3.org/2001/XMLSchema#duration"
# Virtuoso 7 turns "P10Y"^^xsd:duration into "120"^^xsd:duration (months) or refuses it: such
# literals are stored under this datatype instead and given back as xsd:duration.
DURATION_ALIAS = "https://w3id.org/kho/ns#virtuosoDuration"
_DURATION_IN_QUERY = re.compile(r"<http://www\.w3\.org/2001/XMLSchema#duration>|\bxsd:duration\b")
_RDF_TYPES = {
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/n-quads": ox.RdfFormat.N_QUADS,
}
_RESULT_TYPES = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
}
ACCEPT_RESULTS = "application/sparql-results+json, application/sparql-results+xml;q=0.9"
ACCEPT_GRAPH = "application/n-triples, text/turtle;q=0.9"


def duration_aliased(sparql: str) -> str:
    return _DURATION_IN_QUERY.sub(f"<{DURATION_ALIAS}>", sparql)


def guess_dialect(query_url: str, update_url: str, gsp_url: str) -> str:
    if update_url.rstrip("/").endswith("/sparql-auth") or "sparql-graph-crud" in gsp_url:
        return "virtuoso"
    if (query_url, update_url, gsp_url) and gsp_url.rstrip("/").endswith("/store"):
        return "oxigraph"
    return "standard"


def escape_non_ascii(text: str) -> str:
    """Every non-ASCII character as a SPARQL \\u escape (valid in strings and IRIs)."""

    def one(m: re.Match[str]) -> str:
        c = ord(m.group())
        return f"\\u{c:04X}" if c <= 0xFFFF else f"\\U{c:08X}"

    return _NON_ASCII.sub(one, text)


class Unaliased:
    """A byte stream with one byte string replaced by another (also across read boundaries)."""

    def __init__(self, raw: IO[bytes], old: bytes, new: bytes) -> None:
        self.raw, self.old, self.new = raw, old, new
        self.pending = b""

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size if size and size > 0 else 65536)
        if not chunk:
            out, self.pending = self.pending, b""
            return out.replace(self.old, self.new)
        data = (self.pending + chunk).replace(self.old, self.new)
        keep = len(self.old) - 1  # a partial match may end the chunk
        self.pending = data[-keep:]
        return data[:-keep] or self.read(size)

    def readable(self) -> bool:
        return True


class PartialAnswer(KhoError):
    """The server answered only part of a query (Virtuoso's "anytime" answer past its timeout)."""

    status = 503


class StoreTimeout(KhoError):
    """The server did not answer within the time Kho gave the request."""

    status = 503


def content_type(header: str) -> str:
    return header.split(";")[0].strip().lower()


def parse_answer(body: bytes | IO[bytes], header: str, form: str) -> object:
    """A server's answer as the pyoxigraph object the embedded store would give."""
    kind = content_type(header)
    if form in ("CONSTRUCT", "DESCRIBE"):
        fmt = _RDF_TYPES.get(kind)
        if fmt is None:
            raise KhoError(f"The triple store answered a graph as {kind!r}, which Kho cannot read.")
        return list(ox.parse(body, format=fmt))
    fmt_r = _RESULT_TYPES.get(kind)
    if fmt_r is None:
        raise KhoError(f"The triple store answered results as {kind!r}, which Kho cannot read.")
    result = ox.parse_query_results(body, format=fmt_r)
    if form == "ASK" and isinstance(result, ox.QuerySolutions):
        # Virtuoso answers ASK as a table of one variable, __ASK_RETVAL: a row means true.
        found = any(True for _ in result)
        return ox.parse_query_results(
            b'{"head": {}, "boolean": %s}' % (b"true" if found else b"false"),
            format=ox.QueryResultsFormat.JSON,
        )
    return result
