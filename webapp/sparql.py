"""Blueprint for the read-only SPARQL 1.1 Protocol endpoint (GET and POST) and its workbench."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request

from repository.errors import BadRequest, QueryError
from repository.namespaces import PREFIXES
from repository.store import QueryResult
from webapp import negotiation, site
from webapp.auth import csrf_exempt
from webapp.examples import EXAMPLES
from webapp.views import local_href

bp = Blueprint("sparql", __name__)

MEDIA = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
    "html": "text/html",
}
# Accepted media types -> format, in order of preference when q-values tie (JSON for */*).
_RESULTS = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "text/html": "html",
}
_GRAPHS = {
    "text/turtle": "turtle",
    "application/n-triples": "ntriples",
    "application/ld+json": "jsonld",
    "application/json": "jsonld",
    "text/html": "html",
}
_ALIASES = {"ttl": "turtle", "nt": "ntriples", "srj": "json", "srx": "xml"}
_UPDATE_TYPE = "application/sparql-update"
_QUERY_TYPE = "application/sparql-query"


@bp.route("/sparql", methods=["GET", "POST"], endpoint="endpoint")
@csrf_exempt  # the SPARQL Protocol's POST is a read-only query sent by programs
def endpoint() -> Response:
    s = site()
    query = _read_query()
    if query is None:
        if negotiation.best_format() == "html":
            return Response(
                render_template("sparql.html", **workbench_context()), mimetype="text/html"
            )
        raise BadRequest(
            "Give a SPARQL query: GET /sparql?query=..., or POST it form-encoded "
            "(query=...) or as application/sparql-query."
        )
    started = time.perf_counter()
    result = s.store.query(query, graphs=_dataset(s.visible_graphs()))
    fmt = _format(result.form)
    if fmt == "html":
        table = result_table(result, s.settings.sparql_row_limit)
        table.seconds = time.perf_counter() - started
        response = Response(
            render_template("sparql.html", **workbench_context(query, table)), mimetype="text/html"
        )
    elif fmt == "jsonld":
        triples = list(result.result)  # type: ignore[call-overload]
        response = negotiation.rdf_response(triples, "jsonld", s.settings.base_iri)
    else:
        response = Response(result.serialize(fmt), mimetype=MEDIA[fmt])
        response.headers["Content-Type"] = f"{MEDIA[fmt]}; charset=utf-8"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    return response


def _read_query() -> str | None:
    """The query of a GET or POST request; any SPARQL Update is refused here."""
    mimetype = request.mimetype
    if request.method == "POST" and mimetype == _UPDATE_TYPE:
        raise QueryError(
            "This endpoint is read-only: SPARQL Update requests "
            f"({_UPDATE_TYPE}) are refused. Send a SELECT, CONSTRUCT, DESCRIBE or "
            "ASK query."
        )
    if "update" in request.values:
        raise QueryError(
            "This endpoint is read-only: the 'update' parameter (SPARQL Update) is "
            "refused. Send a query with the 'query' parameter."
        )
    if request.method == "POST" and mimetype == _QUERY_TYPE:
        return request.get_data(as_text=True) or None
    if request.method == "POST" and mimetype not in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "",
    ):
        raise BadRequest(
            f"Cannot read a query from a POST of {mimetype}; send it form-encoded "
            f"(query=...) or as {_QUERY_TYPE}."
        )
    query = request.values.get("query")
    return query if query and query.strip() else None


def _dataset(visible: list[str]) -> list[str]:
    """The graphs a query sees: all visible ones, or those named by default-graph-uri."""
    asked = request.values.getlist("default-graph-uri") + request.values.getlist("named-graph-uri")
    if not asked:
        return visible
    unknown = [g for g in asked if g not in visible]
    if unknown:
        raise BadRequest(f"No such graph here: {', '.join(unknown)}. Graphs: {', '.join(visible)}.")
    return asked


def _format(form: str) -> str:
    """The output format: the `format` parameter if given, else the Accept header."""
    table = _RESULTS if form in ("SELECT", "ASK") else _GRAPHS
    asked = (request.values.get("format") or "").strip().lower()
    if asked:
        asked = _ALIASES.get(asked, asked)
        if asked not in table.values():
            raise BadRequest(
                f"Format {asked!r} does not fit a {form} query; use one of "
                f"{', '.join(sorted(set(table.values())))}."
            )
        return asked
    best = request.accept_mimetypes.best_match(list(table))
    return table.get(best or "", "json" if form in ("SELECT", "ASK") else "turtle")


@dataclass
class Cell:
    text: str
    href: str | None = None
    kind: str = "literal"
    note: str | None = None


@dataclass
class ResultTable:
    form: str
    columns: list[str]
    rows: list[list[Cell | None]] = field(default_factory=list)
    boolean: bool | None = None
    truncated: bool = False
    limit: int = 0
    seconds: float = 0.0


def _cell(term: object) -> Cell | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        local = local_href(term.value)
        external = term.value if term.value.startswith(("http://", "https://")) else None
        return Cell(_short(term.value), local or external, "iri")
    if isinstance(term, ox.BlankNode):
        return Cell(f"_:{term.value}", None, "bnode")
    assert isinstance(term, ox.Literal)
    note = f"@{term.language}" if term.language else _short(term.datatype.value)
    if note in ("xsd:string",):
        note = None
    return Cell(term.value, None, "literal", note)


def _short(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def result_table(result: QueryResult, limit: int) -> ResultTable:
    """At most `limit` rows of a result, for the HTML page."""
    if result.form == "ASK":
        return ResultTable("ASK", [], boolean=bool(result.result))
    if result.form == "SELECT":
        columns = [v.value for v in result.result.variables]  # type: ignore[attr-defined]
        table = ResultTable("SELECT", columns, limit=limit)
        for i, solution in enumerate(result.result):  # type: ignore[attr-defined]
            if i >= limit:
                table.truncated = True
                break
            table.rows.append([_cell(solution[c]) for c in columns])
        return table
    table = ResultTable(result.form, ["subject", "predicate", "object"], limit=limit)
    for i, t in enumerate(result.result):  # type: ignore[attr-defined]
        if i >= limit:
            table.truncated = True
            break
        table.rows.append([_cell(t.subject), _cell(t.predicate), _cell(t.object)])
    return table


def workbench_context(
    query: str | None = None, table: ResultTable | None = None, error: str | None = None
) -> dict[str, object]:
    """What sparql.html shows: the query, its results or error, and the examples."""
    if query is None:
        query = request.values.get("query") or EXAMPLES[0].query
    return {
        "query": query,
        "table": table,
        "error": error,
        "examples": EXAMPLES,
        "prefixes": PREFIXES,
        "chosen_format": request.values.get("format") or "html",
        "formats": [
            ("html", "Bảng / Table (HTML)"),
            ("json", "SPARQL JSON"),
            ("xml", "SPARQL XML"),
            ("csv", "CSV"),
            ("tsv", "TSV"),
            ("turtle", "Turtle (CONSTRUCT)"),
            ("jsonld", "JSON-LD (CONSTRUCT)"),
            ("ntriples", "N-Triples (CONSTRUCT)"),
        ],
    }
