"""Blueprint for the read-only SPARQL 1.1 Protocol endpoint (GET and POST), its workbench, the
service description and the VoID description.

Every query runs in a worker process (repository.query_pool) within the time limit and the row
cap of the settings, over the reader's visible graphs only: FROM / FROM NAMED and the protocol's
default-graph-uri / named-graph-uri can narrow that dataset, never widen it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, render_template, request, url_for
from flask.blueprints import BlueprintSetupState

from repository import access
from repository.errors import BadRequest
from repository.namespaces import PREFIXES
from repository.query_pool import (
    PoolBusy,
    QueryAnswer,
    QueryJob,
    QueryPool,
    QueryTimeout,
    QueryTooBig,
    RemoteQueryPool,
    pool_for,
)
from repository.sparql_dataset import dataset_of
from repository.sparql_text import dataset_text
from repository.store import check_read_only
from webapp import negotiation, site
from webapp import sparql_description as describe
from webapp.auth import audit, csrf_exempt, current_reader
from webapp.examples import EXAMPLES, example
from webapp.views import resource_href

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
DOWNLOADS = {
    "SELECT": ["json", "xml", "csv", "tsv"],
    "ASK": ["json", "xml", "csv", "tsv"],
    "GRAPH": ["turtle", "ntriples", "jsonld"],
}
LABEL_LOOKUPS = 2000  # most IRIs of one HTML table whose labels are looked up
_IRIREF = re.compile(r'[^<>"{}|^`\\\x00-\x20]+')  # an IRI that can be written <...> in SPARQL
# The longest query text read (characters): far beyond any written or generated query, short
# enough that reading it (check_read_only, the dataset) stays well under a second.
MAX_QUERY_CHARS = 256 * 1024


class QueryTooLong(BadRequest):
    status = 413


@bp.record_once
def _start_pool(state: BlueprintSetupState) -> None:
    """One worker pool per app (workers start on the first query)."""
    from webapp import ADDITION_LAG_SECONDS

    settings = state.app.extensions["kho"].settings
    state.app.extensions["kho_sparql"] = pool_for(
        settings,
        workers=settings.sparql_workers,
        timeout=settings.sparql_timeout,
        wait=min(10, settings.sparql_timeout),
        # Address space of one worker; a `sparql_memory_mb` setting would go here.
        memory_mb=getattr(settings, "sparql_memory_mb", 3072),
        # another process's new ingest units read as late as pages read them
        addition_lag=min(settings.page_cache_lag_seconds, ADDITION_LAG_SECONDS),
    )


def query_pool(app: Flask | None = None) -> QueryPool | RemoteQueryPool:
    from flask import current_app

    return (app or current_app).extensions["kho_sparql"]  # type: ignore[no-any-return]


@bp.route("/sparql", methods=["GET", "POST"], endpoint="endpoint")
@csrf_exempt  # the SPARQL Protocol's POST is a read-only query sent by programs
def endpoint() -> Response:
    query = _read_query()
    if query is None:
        return _without_query()
    if len(query) > MAX_QUERY_CHARS:
        raise QueryTooLong(
            f"Truy vấn dài {len(query):,} ký tự, quá giới hạn {MAX_QUERY_CHARS:,}. / The query "
            f"is {len(query):,} characters long, over the limit of {MAX_QUERY_CHARS:,}: shorten "
            "it (a long VALUES list can often become a FILTER or several queries)."
        )
    form = check_read_only(query)
    fmt = _format(form)
    s = site()
    reader = current_reader()
    visible = s.visible_graphs(reader)
    default, named = dataset_of(
        dataset_text(query),  # read in linear time, whatever the text
        visible,
        request.values.getlist("default-graph-uri"),
        request.values.getlist("named-graph-uri"),
    )
    graph_form = form in ("CONSTRUCT", "DESCRIBE")
    wire = ("ntriples" if graph_form else "json") if fmt in ("html", "jsonld") else fmt
    limit = s.settings.sparql_max_rows
    if fmt == "html":
        limit = min(limit, s.settings.sparql_row_limit)
    job = QueryJob(query, tuple(default), tuple(named), wire, limit, not reader.sees_personal)
    try:
        answer = query_pool().run(job)
    except (QueryTimeout, QueryTooBig, PoolBusy) as exc:
        from webapp.errors import error_response

        response = error_response(exc.message, exc.status)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    _audit_restricted(answer, default + named, query)
    if fmt == "html":
        table = result_table(answer, reader)
        response = Response(
            render_template("sparql.html", **workbench_context(query, table)), mimetype="text/html"
        )
    elif fmt == "jsonld":
        triples = list(ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES))
        response = negotiation.rdf_response(triples, "jsonld", s.settings.base_iri)  # type: ignore[arg-type]
    else:
        response = Response(answer.body, mimetype=MEDIA[fmt])
        response.headers["Content-Type"] = f"{MEDIA[fmt]}; charset=utf-8"
    if answer.truncated:
        response.headers["Kho-Results-Truncated"] = "true"
    response.headers["Kho-Results-Count"] = str(answer.rows)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.update(("Accept", "Cookie"))  # the answer depends on who asks
    return response


def _without_query() -> Response:
    """The workbench for browsers, the service description for RDF clients."""
    best = request.accept_mimetypes.best_match(["text/html", *describe.RDF_MEDIA])
    if best == "text/html":
        return Response(render_template("sparql.html", **workbench_context()), mimetype="text/html")
    if best in describe.RDF_MEDIA:
        return describe.service_description(best)
    raise BadRequest(
        "Hãy gửi một truy vấn SPARQL. / Give a SPARQL query: GET /sparql?query=..., or POST it "
        "form-encoded (query=...) or as application/sparql-query. Ask for text/turtle without "
        "a query for the service description."
    )


@bp.get("/.well-known/void", endpoint="void")
def void() -> Response:
    """The VoID description of the dataset the reader may see (Turtle, or JSON-LD by Accept)."""
    best = request.accept_mimetypes.best_match(describe.RDF_MEDIA) or "text/turtle"
    return describe.void_description(best)


def _audit_restricted(answer: QueryAnswer, graphs: list[str], query: str) -> None:
    """A query over conditional, secret or personal graphs that answered something is logged."""
    if not answer.rows:
        return
    minter = site().minter
    restricted = sorted(
        {
            g
            for g in graphs
            if access.level_of(g, minter) in ("02", "03") or g.rstrip("/").endswith("/personal")
        }
    )
    if restricted:
        detail = f"sparql {answer.form} {answer.rows} rows over {', '.join(restricted)}: "
        audit("read-restricted", "sparql", detail + " ".join(query.split())[:300])


def _read_query() -> str | None:
    """The query of a GET or POST request; any SPARQL Update is refused here."""
    mimetype = request.mimetype
    if request.method == "POST" and mimetype == _UPDATE_TYPE:
        raise _update_refused(f"SPARQL Update requests ({_UPDATE_TYPE}) are refused.")
    if "update" in request.values:
        raise _update_refused("the 'update' parameter (SPARQL Update) is refused.")
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


def _update_refused(what: str) -> BadRequest:
    from repository.errors import QueryError

    return QueryError(
        f"Điểm truy vấn chỉ đọc. / This endpoint is read-only: {what} Send a SELECT, "
        "CONSTRUCT, DESCRIBE or ASK query with the 'query' parameter."
    )


def _format(form: str) -> str:
    """The output format: the `format` parameter if given, else the Accept header."""
    table = _RESULTS if form in ("SELECT", "ASK") else _GRAPHS
    asked = (request.values.get("format") or "").strip().lower()
    if asked:
        asked = _ALIASES.get(asked, asked)
        if asked == "json" and table is _GRAPHS:
            asked = "jsonld"  # a graph's JSON is JSON-LD
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
    iri: str | None = None


@dataclass
class ResultTable:
    form: str
    columns: list[str]
    rows: list[list[Cell | None]] = field(default_factory=list)
    boolean: bool | None = None
    truncated: bool = False
    limit: int = 0
    seconds: float = 0.0


def _short(iri: str) -> str:
    local = site().minter.local_path(iri)
    if local is not None:
        return "/" + local
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def _cell(term: object, reader: access.Reader) -> Cell | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        href = resource_href(term.value)
        if href is None and term.value.startswith(("http://", "https://")):
            href = term.value
        return Cell(_short(term.value), href, "iri", iri=term.value)
    if isinstance(term, ox.BlankNode):
        return Cell(f"_:{term.value}", None, "bnode")
    if not isinstance(term, ox.Literal):
        return Cell(str(term))
    note = f"@{term.language}" if term.language else _short(term.datatype.value)
    if note == "xsd:string":
        note = None
    return Cell(access.mask_personal(term.value, reader), None, "literal", note)


def result_table(answer: QueryAnswer, reader: access.Reader) -> ResultTable:
    """The answer (already capped at the HTML row limit) as a table with links and labels."""
    limit = site().settings.sparql_row_limit
    if answer.form == "ASK":
        boolean = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
        return ResultTable("ASK", [], boolean=bool(boolean), seconds=answer.seconds)
    if answer.form == "SELECT":
        solutions = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
        columns = [v.value for v in solutions.variables]  # type: ignore[union-attr]
        table = ResultTable("SELECT", columns, limit=limit, seconds=answer.seconds)
        for solution in solutions:  # type: ignore[union-attr]
            table.rows.append([_cell(solution[c], reader) for c in columns])
    else:
        table = ResultTable(answer.form, ["subject", "predicate", "object"], limit=limit)
        table.seconds = answer.seconds
        for t in ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES):
            table.rows.append([_cell(t.subject, reader), _cell(t.predicate, reader)])
            table.rows[-1].append(_cell(t.object, reader))
    table.truncated = answer.truncated
    _add_labels(table, reader)
    return table


def _add_labels(table: ResultTable, reader: access.Reader) -> None:
    """Show the label of each IRI (from the graphs the reader sees); the IRI stays as a note."""
    cells = [c for row in table.rows for c in row if c is not None and c.iri]
    wanted = list(dict.fromkeys(c.iri for c in cells if c.iri))[:LABEL_LOOKUPS]
    s = site()
    labels: dict[str, str] = {}
    for iri in wanted:
        known = s.vocabulary.get(iri)
        if known:
            labels[iri] = known[0]
    ours = [i for i in wanted if i not in labels and s.minter.local_path(i) is not None]
    if ours:
        values = " ".join(f"<{i}>" for i in ours if _IRIREF.fullmatch(i))
        rows = s.store.select(
            f"SELECT ?s (SAMPLE(?l) AS ?label) WHERE {{ VALUES ?s {{ {values} }} "
            "{ ?s skos:prefLabel ?l FILTER(lang(?l) = 'vi') } UNION { ?s rico:title ?l } "
            "} GROUP BY ?s",
            graphs=s.visible_graphs(reader),
        )
        labels.update({str(r["s"]): str(r["label"]) for r in rows if r["label"]})
    for cell in cells:
        label = labels.get(cell.iri or "")
        if label:
            cell.note, cell.text = cell.text, access.mask_personal(label, reader)


def download_links(query: str, form: str) -> list[tuple[str, str]]:
    """(format, URL) for each download of the query's results: the query re-run with format=."""
    kind = "GRAPH" if form in ("CONSTRUCT", "DESCRIBE", "GRAPH") else form
    extra = {
        k: request.values.getlist(k)
        for k in ("default-graph-uri", "named-graph-uri")
        if request.values.getlist(k)
    }
    return [
        (fmt, url_for("sparql.endpoint", query=query, format=fmt, **extra))  # type: ignore[arg-type]
        for fmt in DOWNLOADS.get(kind, [])
    ]


def workbench_context(
    query: str | None = None, table: ResultTable | None = None, error: str | None = None
) -> dict[str, object]:
    """What sparql.html shows: the query, its results or error, downloads and the examples."""
    if query is None:
        chosen = example(request.values.get("example", ""))
        query = chosen.query if chosen else request.values.get("query") or EXAMPLES[0].query
    settings = site().settings
    return {
        "query": query,
        "table": table,
        "error": error,
        "downloads": download_links(query, table.form) if table else [],
        "examples": EXAMPLES,
        "prefixes": PREFIXES,
        "timeout": settings.sparql_timeout,
        "max_rows": settings.sparql_max_rows,
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
