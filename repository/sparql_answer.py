"""One SPARQL job answered on one store: the query run over the given dataset, at most
`max_rows` results read and serialised, citizens' numbers masked in string literals. A worker of
repository.query_pool runs it; so can anything in-process."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from repository.access import mask_personal
from repository.errors import KhoError, QueryError
from repository.namespaces import PREFIXES
from repository.sparql_text import without_dataset_clauses
from repository.store import GRAPH_FORMATS, RESULT_FORMATS

if TYPE_CHECKING:
    from repository.store_sparql import SparqlEngine

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
# Hashes (kho:sha256, content digests) are long runs of hex digits that may hold 9 or 12 decimal
# digits in a row; they are not identification numbers and are never masked.
_HASH = re.compile(r"[0-9A-Fa-f]{32,}")


@dataclass(frozen=True)
class QueryJob:
    """What the parent asks a worker: a checked query, its dataset, a format and a row cap.

    `fmt` is a result format (json, xml, csv, tsv) for SELECT/ASK or a graph format (turtle,
    ntriples...) for CONSTRUCT/DESCRIBE. With `mask`, citizens' identification numbers in string
    literals are masked (access.mask_personal)."""

    query: str
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]
    fmt: str
    max_rows: int
    mask: bool = True


@dataclass(frozen=True)
class QueryAnswer:
    form: str  # SELECT, ASK or GRAPH (CONSTRUCT and DESCRIBE)
    body: bytes
    rows: int
    truncated: bool
    seconds: float


def _masked(term: object, mask: bool) -> object:
    if not mask or not isinstance(term, ox.Literal):
        return term
    if term.datatype.value not in (XSD_STRING, RDF_LANGSTRING) or _HASH.search(term.value):
        return term
    value = mask_personal(term.value)
    if value == term.value:
        return term
    if term.language:
        return ox.Literal(value, language=term.language)
    return ox.Literal(value)


def _json_term(term: object) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {"type": "literal", "value": str(term)}  # an RDF-star triple term


def _select(solutions: ox.QuerySolutions, job: QueryJob) -> tuple[bytes, int, bool]:
    names = [v.value for v in solutions.variables]
    bindings: list[dict[str, dict[str, str]]] = []
    truncated = False
    for solution in solutions:
        if len(bindings) >= job.max_rows:
            truncated = True
            break
        row = {}
        for name in names:
            term = solution[name]
            if term is not None:
                row[name] = _json_term(_masked(term, job.mask))
        bindings.append(row)
    body = json.dumps(
        {"head": {"vars": names}, "results": {"bindings": bindings}}, ensure_ascii=False
    ).encode()
    if job.fmt != "json":
        # The other result formats are written by Oxigraph itself, from the capped JSON.
        parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        body = parsed.serialize(format=RESULT_FORMATS[job.fmt])  # type: ignore[union-attr]
    return body, len(bindings), truncated


def _graph(triples: Iterable[ox.Triple], job: QueryJob) -> tuple[bytes, int, bool]:
    kept: list[ox.Triple] = []
    truncated = False
    for t in triples:
        if len(kept) >= job.max_rows:
            truncated = True
            break
        kept.append(ox.Triple(t.subject, t.predicate, _masked(t.object, job.mask)))  # type: ignore[arg-type]
    body = ox.serialize(kept, format=GRAPH_FORMATS[job.fmt], prefixes=PREFIXES)
    return body, len(kept), truncated


def answer(store: ox.Store, job: QueryJob) -> QueryAnswer:
    """Run one job on `store` (in a worker, or in-process for a measurement)."""
    started = time.perf_counter()
    names = [ox.NamedNode(g) for g in job.named_graphs]
    default = [ox.NamedNode(g) for g in job.default_graphs]
    try:
        result = store.query(
            job.query, prefixes=PREFIXES, default_graph=default, named_graphs=names
        )
    except SyntaxError as exc:
        raise QueryError(f"SPARQL syntax error: {exc}") from exc
    return answer_result(result, job, started)


def answer_remote(
    engine: SparqlEngine, job: QueryJob, timeout: float, hold: dict[str, object] | None = None
) -> QueryAnswer:
    """Run one job on a server store, reading its answer as a stream: past `max_rows` results
    the rest is never read. `hold["response"]` lets another thread close it (a time limit)."""
    from repository.store import check_read_only  # noqa: PLC0415
    from repository.store_sparql import check_syntax  # noqa: PLC0415
    from repository.store_wire import ACCEPT_GRAPH, ACCEPT_RESULTS, parse_answer  # noqa: PLC0415

    started = time.perf_counter()
    form = check_read_only(job.query)
    query = job.query
    if engine.dialect == "virtuoso":
        # Virtuoso answers over a query's own FROM / FROM NAMED graphs even when the protocol's
        # dataset says otherwise. The job's dataset already holds what they name, cut down to the
        # reader's graphs (repository.sparql_dataset): the clauses go, the protocol says it.
        check_syntax(query)  # mistakes are reported at the user's own line and column
        query = without_dataset_clauses(query)
    response = engine.post_query(
        query,
        list(job.default_graphs),
        named=list(job.named_graphs),
        accept=ACCEPT_GRAPH if form in ("CONSTRUCT", "DESCRIBE") else ACCEPT_RESULTS,
        stream=True,
        timeout=timeout,
        server_timeout_ms=int(timeout * 1000),
    )
    if hold is not None:
        hold["response"] = response
    try:
        result = parse_answer(
            engine.stream(response), response.headers.get("Content-Type", ""), form
        )
        return answer_result(result, job, started)
    except SyntaxError as exc:
        raise KhoError(f"The triple store sent an answer Kho cannot read: {exc}") from exc
    finally:
        response.close()


def answer_result(result: object, job: QueryJob, started: float) -> QueryAnswer:
    """Cap, mask and serialise a query's result (pyoxigraph's objects, from either engine)."""
    if isinstance(result, ox.QueryBoolean):
        if job.fmt not in RESULT_FORMATS:
            raise QueryError(f"An ASK answer cannot be written as {job.fmt}.")
        body = result.serialize(format=RESULT_FORMATS[job.fmt])
        return QueryAnswer("ASK", body, 1, False, time.perf_counter() - started)
    if isinstance(result, ox.QuerySolutions):
        if job.fmt not in RESULT_FORMATS:
            raise QueryError(f"SELECT results cannot be written as {job.fmt}.")
        body, rows, truncated = _select(result, job)
        return QueryAnswer("SELECT", body, rows, truncated, time.perf_counter() - started)
    if job.fmt not in GRAPH_FORMATS:
        raise QueryError(f"A graph (CONSTRUCT, DESCRIBE) cannot be written as {job.fmt}.")
    body, rows, truncated = _graph(result, job)  # type: ignore[arg-type]
    return QueryAnswer("GRAPH", body, rows, truncated, time.perf_counter() - started)
