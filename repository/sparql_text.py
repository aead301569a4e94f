"""SPARQL as text: the read-only check, binding values into a query, result terms as Python
values. Shared by both store engines (repository.store re-exports them)."""

from __future__ import annotations

import re

import pyoxigraph as ox

from repository.errors import QueryError

# Strings, IRIs and comments are blanked before looking for forbidden keywords, so a literal
# "SERVICE" in a label does not trip the check.
_STRIP = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*',
)
_UPDATE = re.compile(
    r"\b(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b", re.IGNORECASE
)
_FORM = re.compile(r"\b(SELECT|CONSTRUCT|DESCRIBE|ASK)\b", re.IGNORECASE)
_SERVICE = re.compile(r"\bSERVICE\b", re.IGNORECASE)


def check_read_only(sparql: str) -> str:
    """Refuse updates and federated SERVICE calls; return the query form (SELECT, ASK...)."""
    bare = _STRIP.sub(" ", sparql)
    form = _FORM.search(bare)
    update = _UPDATE.search(bare)
    if update and (not form or update.start() < form.start()):
        raise QueryError(
            f"This endpoint is read-only: SPARQL Update ({update.group(1).upper()}) is refused. "
            "Send a SELECT, CONSTRUCT, DESCRIBE or ASK query."
        )
    if _SERVICE.search(bare):
        raise QueryError(
            "SERVICE (federated query) is not allowed here: Kho does not call other endpoints "
            "on a user's behalf. Query the remote endpoint directly."
        )
    if not form:
        raise QueryError("Not a SPARQL query: expected SELECT, CONSTRUCT, DESCRIBE or ASK.")
    return form.group(1).upper()


# Strings and comments blanked to spaces of the same length (IRIs kept: they may hold '#'), so
# that positions in the blanked text are positions in the query.
_LEXEME = re.compile(
    r'(<[^<>"{}|^`\\\s]*>)|"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*'
)
# A dataset clause: FROM or FROM NAMED and an IRI or a prefixed name (not a variable ?from).
_FROM_CLAUSE = re.compile(
    r"(?<![?$\w])FROM\s+(?:NAMED\s+)?(?:<[^<>\s]*>|(?:[^\W\d][\w.-]*)?:[^\s{}()<>,;]*)",
    re.IGNORECASE,
)
_FROM_WORD = re.compile(r"(?<![?$\w])FROM\b", re.IGNORECASE)


def without_dataset_clauses(sparql: str) -> str:
    """The query without its FROM and FROM NAMED clauses, for a server that would otherwise read
    them over the protocol's dataset (Virtuoso): the caller sends the dataset they name (cut down
    to the reader's graphs) as default-graph-uri / named-graph-uri instead. Only clauses outside
    braces count (a `?from` variable or a FROM in a string stays); a FROM left that could not be
    read is refused."""
    bare = _LEXEME.sub(lambda m: m.group(1) or " " * len(m.group(0)), sparql)
    depth, outside = 0, []
    for ch in bare:
        depth += (ch == "{") - (ch == "}")
        outside.append(depth == 0 and ch not in "{}")
    cuts = [m.span() for m in _FROM_CLAUSE.finditer(bare) if outside[m.start()]]
    if not cuts:
        left = [m for m in _FROM_WORD.finditer(bare) if outside[m.start()]]
        if left:
            raise QueryError(
                "FROM phải ghi tên đồ thị bằng IRI (<…>) hoặc tên có tiền tố. / FROM must "
                "name a graph by its IRI (<…>) or a prefixed name."
            )
        return sparql
    kept, at = [], 0
    for start, end in cuts:
        kept.append(sparql[at:start])
        at = end
    kept.append(sparql[at:])
    return without_dataset_clauses("".join(kept))


def bind_values(
    sparql: str, values: dict[str, ox.NamedNode | ox.Literal], *, in_place: bool = False
) -> str:
    """Bind variables to terms with a VALUES block at the start of the WHERE clause.

    (pyoxigraph's own `substitutions` only accepts projected variables.) Terms are written in
    N-Triples syntax by pyoxigraph, so a value can never inject query text. `in_place` also
    writes each term where its variable stands in the WHERE body: Virtuoso refuses a property
    path (`?me kho:defaultSuccessor+ ?d`) whose start only a VALUES block binds.
    """
    where = re.search(r"\bWHERE\s*\{", sparql, re.IGNORECASE)
    if where is None:
        raise QueryError("Internal query without a WHERE clause cannot take bound values.")
    names = " ".join(f"?{k}" for k in values)
    terms = " ".join(str(v) for v in values.values())
    block = f" VALUES ({names}) {{ ({terms}) }} "
    body = sparql[where.end() :]
    if in_place:
        body = _written_in(body, values)
    return sparql[: where.end()] + block + body


# Where a term cannot stand in for a variable: projections, GROUP BY and ORDER BY.
_PROJECTION = re.compile(r"\b(?:SELECT|GROUP\s+BY|ORDER\s+BY)\b[^{}]*", re.IGNORECASE)


def _written_in(body: str, values: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """The terms written in place of their variables in a WHERE body, except in a subquery's
    projection, GROUP BY and ORDER BY, where a term cannot stand."""
    keep = [m.span() for m in _PROJECTION.finditer(body)]
    pattern = re.compile(r"[?$](" + "|".join(re.escape(k) for k in values) + r")\b")

    def term(m: re.Match[str]) -> str:
        if any(a <= m.start() < b for a, b in keep):
            return m.group(0)
        return str(values[m.group(1)])

    return pattern.sub(term, body)


def to_python(term: object) -> object:
    """A query-result term as a plain Python value: IRIs and strings as str, numbers as numbers."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        dt = term.datatype.value
        if dt.endswith(("#integer", "#int", "#long", "#nonNegativeInteger")):
            return int(term.value)
        if dt.endswith(("#decimal", "#double", "#float")):
            return float(term.value)
        if dt.endswith("#boolean"):
            return term.value == "true"
        return term.value
    return term.value  # type: ignore[attr-defined]
