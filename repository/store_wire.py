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


def cut_short(body: bytes, last: bytes) -> None:
    """Refuse a results document that does not end as one: a server that stops a query after
    it began to answer (Oxigraph's --timeout-s) appends its error to what it had sent."""
    tail = body.rstrip()
    if not tail or tail.endswith(last):
        return
    said = tail[tail.rfind(last) + 1 :][-300:].decode("utf-8", "replace").strip()
    if "cancel" in said.lower() or "timeout" in said.lower():
        raise StoreTimeout(
            f"The triple store stopped the query at its time limit, after it began to answer "
            f"({said!r}). The store is busy or the query is heavy: try again later, narrow the "
            "query, or raise the server's time limit."
        )
    raise PartialAnswer(
        f"The triple store's answer was cut short ({said!r}). Try again; if it recurs, see the "
        "triple store's log."
    )


def parse_answer(body: bytes | IO[bytes], header: str, form: str) -> object:
    """A server's answer as the pyoxigraph object the embedded store would give."""
    kind = content_type(header)
    if form in ("CONSTRUCT", "DESCRIBE"):
        fmt = _RDF_TYPES.get(kind)
        if fmt is None:
            raise KhoError(f"The triple store answered a graph as {kind!r}, which Kho cannot read.")
        try:
            return list(ox.parse(body, format=fmt))
        except SyntaxError as exc:
            raise PartialAnswer(
                f"The triple store's answer could not be read ({exc}): it was cut short or "
                "garbled. Try again; if it recurs, see the triple store's log."
            ) from exc
    fmt_r = _RESULT_TYPES.get(kind)
    if fmt_r is None:
        raise KhoError(f"The triple store answered results as {kind!r}, which Kho cannot read.")
    if isinstance(body, bytes):
        cut_short(body, b"}" if fmt_r == ox.QueryResultsFormat.JSON else b">")
    result = ox.parse_query_results(body, format=fmt_r)
    if form == "ASK" and isinstance(result, ox.QuerySolutions):
        # Virtuoso answers ASK as a table of one variable, __ASK_RETVAL: a row means true.
        found = any(True for _ in result)
        return ox.parse_query_results(
            b'{"head": {}, "boolean": %s}' % (b"true" if found else b"false"),
            format=ox.QueryResultsFormat.JSON,
        )
    return result


# -- booleans a query computes -----------------------------------------------------------------
# Virtuoso answers a boolean a query computes (`BIND(!BOUND(?to) AS ?now)`, `(?a = ?b AS ?same)`,
# even `(true AS ?t)`) as xsd:integer 1/0; cast to xsd:boolean it answers a boolean (then made
# canonical, VIRTUOSO_REPAIRS). So such expressions are sent wrapped in xsd:boolean(...), when
# their form says they are boolean: a comparison, && / || / ! / IN at their top, a boolean
# function (BOUND, REGEX, CONTAINS...), EXISTS, true or false. Others (IF, COALESCE of booleans)
# still come back as integers on Virtuoso.
_LEXEMES = re.compile(
    r'<[^<>"{}|^`\\\s]*>|"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*'
)
_AS_VARIABLE = re.compile(r"\bAS\s+[?$]\w+\s*$", re.IGNORECASE)
_BOOLEAN_TOP = re.compile(r"\|\||&&|[!<>]=|[=<>]|(?<![?$\w:])IN\b", re.IGNORECASE)
_ARITHMETIC = re.compile(r"[-+*/]")
_BOOLEAN_ALONE = re.compile(
    r"(?:NOT\s+)?EXISTS|true|false|BOUND|isIRI|isURI|isBLANK|isLITERAL|isNUMERIC|REGEX|CONTAINS"
    r"|STRSTARTS|STRENDS|LANGMATCHES|sameTerm",
    re.IGNORECASE,
)
_XSD_BOOLEAN = "<http://www.w3.org/2001/XMLSchema#boolean>"


def _flat(text: str) -> str:
    """`text` with everything inside parentheses or braces blanked (the top level kept)."""
    out, depth = [], 0
    for ch in text:
        if ch in "({":
            depth += 1
        out.append(ch if depth == 0 else " ")
        if ch in ")}":
            depth -= 1
    return "".join(out)


def booleans_cast(sparql: str) -> str:
    """The query with each boolean expression bound to a variable (BIND, a projection, GROUP BY)
    wrapped in xsd:boolean(...), for Virtuoso (see above)."""
    bare = _LEXEMES.sub(lambda m: "§" * len(m.group(0)), sparql)
    opened: list[int] = []
    wraps: list[tuple[int, int]] = []
    for at, ch in enumerate(bare):
        if ch == "(":
            opened.append(at)
        elif ch == ")" and opened:
            start = opened.pop()
            inner = bare[start + 1 : at]
            named = _AS_VARIABLE.search(_flat(inner))
            if named is None:
                continue
            begin, end = start + 1, start + 1 + named.start()  # the expression's span
            while True:
                begin += len(bare[begin:end]) - len(bare[begin:end].lstrip())
                end -= len(bare[begin:end]) - len(bare[begin:end].rstrip())
                top = _flat(bare[begin:end]).strip()
                if top or end - begin < 2 or not (bare[begin] == "(" and bare[end - 1] == ")"):
                    break
                begin, end = begin + 1, end - 1  # ((?a < 3) AS ?x): the inner expression
            boolean = (
                bool(_BOOLEAN_TOP.search(top))
                or (top.startswith("!") and not _ARITHMETIC.search(top))
                or bool(_BOOLEAN_ALONE.fullmatch(top))
            )
            if boolean:
                wraps.append((begin, end))
    for begin, end in sorted(wraps, reverse=True):
        sparql = f"{sparql[:begin]}{_XSD_BOOLEAN}({sparql[begin:end]}){sparql[end:]}"
    return sparql
