"""SPARQL as text: the read-only check, binding values into a query, result terms as Python
values. Shared by both store engines (repository.store re-exports them)."""

from __future__ import annotations

import re

import pyoxigraph as ox

from repository.errors import QueryError

# One pass over the query's lexemes, in linear time whatever the text (a query is a reader's
# input: a pattern that scans to the end of the text from every quote would let a 200 KB query
# hold the web process for minutes). A prefixed name's escape (ex:a\'b, ex:a\#b) is a lexeme, so
# its quote or '#' starts no string or comment; a string not closed runs to the end of its line
# (a long string: of the text) and is marked, for check_read_only to refuse.
_LEX = re.compile(
    r"(?P<esc>\\[_~.\-!$&'()*+,;=/?#@%])"
    r'|(?P<long>"""(?:[^"\\]|\\.|"(?!""))*+(?:"""|(?P<open_long>))'
    r"|'''(?:[^'\\]|\\.|'(?!''))*+(?:'''|(?P<open_long1>)))"
    r'|(?P<short>"(?:[^"\\\n]|\\.)*+(?:"|(?P<open_short>))'
    r"|'(?:[^'\\\n]|\\.)*+(?:'|(?P<open_short1>)))"
    r'|(?P<iri><[^<>"{}|^`\\\s]*>)'
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<stray><)"
)
_OPEN = ("open_long", "open_long1", "open_short", "open_short1")
# Keywords, not a variable (?insert), a prefix (select:) or part of a prefixed name (ex:do-add).
_KEYWORD = r"(?<![?$:\w.-])({})(?![\w:-])"
_UPDATE = re.compile(
    _KEYWORD.format("INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH"), re.IGNORECASE
)
_FORM = re.compile(_KEYWORD.format("SELECT|CONSTRUCT|DESCRIBE|ASK"), re.IGNORECASE)
_SERVICE = re.compile(_KEYWORD.format("SERVICE"), re.IGNORECASE)
# Deeper than any real query (a few levels; generated ones a few dozen); thousands of nested
# groups overflow the parser's stack and end the worker.
MAX_NESTING = 200


def _blanked(sparql: str, keep_iris: bool, stray: str = "<") -> str:
    """The query with strings and comments (and IRIs unless `keep_iris`) blanked to spaces of the
    same length, so that positions stay; an unclosed string is refused. `stray` replaces a '<'
    that starts no IRI (a comparison)."""

    def blank(m: re.Match[str]) -> str:
        kind = m.lastgroup
        if any(m.group(g) is not None for g in _OPEN):
            line = sparql.count("\n", 0, m.start()) + 1
            raise QueryError(
                f"Chuỗi ký tự mở ở dòng {line} chưa được đóng. / A string opened on line {line} "
                "is not closed: end it with the same quote (a one-line string cannot span lines)."
            )
        if kind == "esc" or (kind == "iri" and keep_iris):
            return m.group(0)
        if kind == "stray":
            return stray
        return " " * len(m.group(0))

    return _LEX.sub(blank, sparql)


def _nesting(bare: str) -> int:
    depth = deepest = 0
    for ch in bare:
        if ch in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")}]":
            depth -= 1
    return deepest


def check_read_only(sparql: str) -> str:
    """Refuse updates and federated SERVICE calls; return the query form (SELECT, ASK...)."""
    bare = _blanked(sparql, keep_iris=False)
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
    if _nesting(bare) > MAX_NESTING:
        raise QueryError(
            f"Truy vấn lồng quá {MAX_NESTING} cấp ngoặc. / The query nests brackets more than "
            f"{MAX_NESTING} levels deep; write it flatter."
        )
    return form.group(1).upper()


def dataset_text(sparql: str) -> str:
    """The query as a reader of its FROM clauses needs it: strings and comments blanked, IRIs
    kept, a '<' that starts no IRI made a space (so no pattern scans on from it to the end)."""
    return _blanked(sparql, keep_iris=True, stray=" ")


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
    bare = _blanked(sparql, keep_iris=True)
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
