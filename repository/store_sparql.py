"""The server engine of repository.store: any SPARQL 1.1 Query, Update and Graph Store Protocol
server over HTTP (Oxigraph server, Virtuoso, Fuseki, GraphDB), one keep-alive requests.Session.

Answers come back as pyoxigraph objects (SELECT/ASK parsed from SPARQL results JSON, CONSTRUCT
and DESCRIBE from N-Triples or Turtle), so every caller works the same on both engines.

Bookkeeping of its own, in the graph `kho:storeGraph` (never listed, queried or dumped):
* `<g> a kho:NamedGraph` for each graph Kho wrote: `named_graphs()` and the "all graphs" dataset
  are these, so a server's own graphs (Virtuoso's system graphs) never show up in Kho's answers;
* `kho:storeGraph kho:writeStamp "…"`, one more added by every write's own request: a Store in
  another process sees the count change (Store.generation); and `kho:changeStamp "…"`, one more
  by every write that does more than add new ingest units (Store.change_generation).
How writes go (one request each, new graphs by the Graph Store Protocol): store_sparql_writes.
tests/test_store_backends.py checks all of this.

Dialects (`store_dialect`; auto: /sparql-auth → virtuoso; .../store → oxigraph; else standard):
* virtuoso —
  - updates and GSP need the authenticated endpoints (/sparql-auth, /sparql-graph-crud-auth,
    HTTP digest, a user granted SPARQL_UPDATE); GSP takes `graph-uri`, not `graph`;
  - it commits each operation of a request on its own (`INSERT DATA {…}; CREATE GRAPH <g>` keeps
    the insert when CREATE fails): a write is one DELETE {…} INSERT {…} WHERE {} operation;
  - it refuses an update whose SQL passes 10,000 lines (about 2,000 quads): bigger writes go in
    chunks of 800 quads, stamp last, and a failure undoes the chunks already applied (readers may
    see such a write half-way while it runs);
  - non-ASCII text is sent as \\u escapes, ASCII only: Virtuoso 7.2 here decodes UTF-8 forms
    right, but how it decodes depends on its charset settings, and escapes need none;
  - xsd:duration: "P10Y" becomes "120" (months), or the insert fails: such literals are stored
    under DURATION_ALIAS and mapped back in queries and answers (store_wire);
  - ASK answers come as a table of one variable, __ASK_RETVAL; results say "typed-literal";
  - a boolean a query computes (`BIND(!BOUND(?to) AS ?now)`, `(?a = ?b AS ?same)`) comes back
    as xsd:integer 1/0: such expressions are sent cast to xsd:boolean (store_wire.booleans_cast;
    one under IF or COALESCE still comes back as an integer);
  - its GSP calls a body whose first triples hold a long literal text/plain: literals over 4,000
    characters (OCR text) are inserted by SPARQL instead;
  - "anytime" partial answers past its `timeout` (X-SQL-State header) are refused as timeouts;
  - xsd:string literals come back as simple literals (the same term in RDF 1.1); language tags,
    dates, dateTimes, decimals (canonical), booleans, 300 KB literals and non-BMP characters
    round-trip; blank nodes are renamed by the server (Kho writes none);
  - its system graphs are never listed: Kho's graphs are those it registered (above);
  - it answers over a query's own FROM / FROM NAMED even when the protocol's
    default-graph-uri / named-graph-uri say otherwise (a reader would read graphs they may not
    see): endpoint queries are sent without those clauses, the dataset they name (cut down to
    the reader's graphs) going as the protocol's parameters (sparql_answer.answer_remote);
  - it refuses a property path whose start only a VALUES block (or an earlier pattern) binds,
    "transitive start not given": values bound into a query are also written in place
    (sparql_text.bind_values), and the OAI sets follow vl:successor one remove per query.
* oxigraph — GSP loads of a new graph use `no_transaction` (the graph is dropped on failure).
* standard — the protocols as written (Fuseki, GraphDB).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from urllib.parse import urlencode

import pyoxigraph as ox
import requests
import urllib3
from requests.auth import HTTPBasicAuth, HTTPDigestAuth

from repository.config import Settings
from repository.errors import KhoError, QueryError
from repository.namespaces import PREFIXES
from repository.sparql_text import check_read_only
from repository.store_sparql_writes import _NAMED_GRAPH, STORE_GRAPH, ServerWrites
from repository.store_wire import (
    ACCEPT_GRAPH,
    ACCEPT_RESULTS,
    DURATION_ALIAS,
    XSD_DURATION,
    PartialAnswer,
    StoreTimeout,
    Unaliased,
    booleans_cast,
    duration_aliased,
    escape_non_ascii,
    guess_dialect,
    parse_answer,
)

# Virtuoso's JSON results write xsd:boolean values as "1"/"0" (valid lexical forms, but not the
# canonical ones every other engine gives, which Kho compares and converts): made canonical here.
_BOOLEAN = b'"datatype": "http://www.w3.org/2001/XMLSchema#boolean", "value": '
VIRTUOSO_REPAIRS = [
    (DURATION_ALIAS.encode(), XSD_DURATION.encode()),
    (_BOOLEAN + b'"1"', _BOOLEAN + b'"true"'),
    (_BOOLEAN + b'"0"', _BOOLEAN + b'"false"'),
]
_NOTHING = "urn:kho:no-graph"  # an empty dataset: the protocol has no other way to say it
_PROLOGUE = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())


_PARSER = ox.Store()  # empty: only parses


def check_syntax(sparql: str) -> None:
    """Parse the query as the embedded store would, so a mistake reads the same on every back-end
    (with the line and column the user wrote, not the server's) and a server's own extensions
    of SPARQL are not accepted by one back-end and refused by another."""
    try:
        _PARSER.query(sparql, prefixes=PREFIXES)
    except SyntaxError as exc:
        raise QueryError(f"SPARQL syntax error: {exc}") from exc


class _Answer:
    """A whole answer read by urllib3, with the parts of requests.Response Kho reads."""

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status_code, self.headers, self.content = status, headers, content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def close(self) -> None:
        pass  # read whole: the connection is back in the pool


def _timed_out(url: str, seconds: float) -> StoreTimeout:
    return StoreTimeout(
        f"The triple store at {url} did not answer within {seconds} s. Check the server's load, "
        "or raise KHO_STORE_TIMEOUT."
    )


def _unreachable(url: str, exc: Exception) -> KhoError:
    return KhoError(
        f"Cannot reach the triple store at {url}: {exc}. Check that the server runs and that "
        "KHO_STORE names its query, update and Graph Store endpoints."
    )


class SparqlEngine(ServerWrites):
    """A store on a SPARQL 1.1 server (the three endpoints of KHO_STORE=sparql:Q,U,G); its
    writes are repository.store_sparql_writes'."""

    kind = "sparql"

    def __init__(
        self,
        query_url: str,
        update_url: str,
        gsp_url: str,
        *,
        user: str = "",
        password: str = "",
        auth: str = "basic",
        dialect: str = "auto",
        timeout: float = 120,
    ) -> None:
        self.query_url, self.update_url, self.gsp_url = query_url, update_url, gsp_url
        if dialect in ("", "auto"):
            dialect = guess_dialect(query_url, update_url, gsp_url)
        if dialect not in ("standard", "oxigraph", "virtuoso"):
            raise KhoError(
                f"KHO_STORE_DIALECT={dialect!r} is unknown: use auto, standard, oxigraph or "
                "virtuoso."
            )
        self.dialect = dialect
        # Virtuoso refuses a property path whose start only a VALUES block binds.
        self.binds_in_place = dialect == "virtuoso"
        self.timeout = timeout
        self.path = None
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "Kho (SPARQL store client)"
        if user:
            if auth not in ("basic", "digest"):
                raise KhoError(f"KHO_STORE_AUTH={auth!r} is unknown: use basic or digest.")
            self.session.auth = (HTTPDigestAuth if auth == "digest" else HTTPBasicAuth)(
                user, password
            )
        # Queries (not streamed) go by urllib3, which requests is built on: a page asks 15-20 of
        # them, and requests spent 1.2 ms of CPU on each against urllib3's 0.3 (ASK {} on
        # Oxigraph server). Digest authentication (Virtuoso) stays with requests.
        self._pool: urllib3.PoolManager | None = None
        self._pool_headers = {"User-Agent": "Kho (SPARQL store client)"}
        if auth != "digest" or not user:
            self._pool = urllib3.PoolManager(maxsize=32, retries=False)
            if user:
                self._pool_headers |= urllib3.make_headers(basic_auth=f"{user}:{password}")
            # An engine let go closes its idle connections (not left to the garbage collector).
            weakref.finalize(self, self._pool.clear)
        self._graphs: list[str] | None = None  # Kho's graphs, cached until the next write
        self._check()

    @classmethod
    def from_settings(cls, target: str, settings: Settings) -> SparqlEngine:
        query_url, update_url, gsp_url = (u.strip() for u in target.split(","))
        return cls(
            query_url,
            update_url,
            gsp_url,
            user=settings.store_user or "",
            password=settings.store_password or "",
            auth=settings.store_auth or "basic",
            dialect=settings.store_dialect or "auto",
            timeout=settings.store_timeout,
        )

    def describe(self) -> str:
        return f"sparql:{self.query_url} ({self.dialect})"

    # -- HTTP ------------------------------------------------------------------------------
    def _check(self) -> None:
        self.post_query("ASK { ?s ?p ?o }", None, accept=ACCEPT_RESULTS).close()

    def _send(self, method: str, url: str, **kwargs: object) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(method, url, **kwargs)  # type: ignore[arg-type]
        except requests.Timeout as exc:
            raise _timed_out(url, kwargs["timeout"]) from exc  # type: ignore[arg-type]
        except requests.RequestException as exc:
            raise _unreachable(url, exc) from exc
        if response.status_code >= 400:
            body = response.text[:600].strip()
            response.close()
            raise self._refused(url, response.status_code, body)
        return response

    def _refused(self, url: str, status: int, body: str) -> KhoError:
        if status in (401, 403):
            return KhoError(
                f"The triple store at {url} refused Kho ({status}): {body}. Check "
                "KHO_STORE_USER, KHO_STORE_PASSWORD and KHO_STORE_AUTH (Virtuoso: digest, a user "
                "with SPARQL_UPDATE)."
            )
        if status == 400 and url == self.query_url:
            return QueryError(f"SPARQL error from the triple store: {body}")
        return KhoError(f"The triple store at {url} answered {status}: {body}")

    def _post_form(
        self, form: list[tuple[str, str]], accept: str, timeout: float
    ) -> _Answer | requests.Response:
        """A whole answer to a query form POSTed to the query endpoint."""
        if self._pool is None:
            return self._send(
                "POST", self.query_url, data=form, headers={"Accept": accept}, timeout=timeout
            )
        url = self.query_url
        try:
            got = self._pool.request(
                "POST",
                url,
                body=urlencode(form),
                headers={
                    **self._pool_headers,
                    "Accept": accept,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
            )
        except urllib3.exceptions.NewConnectionError as exc:  # (a ConnectTimeoutError too)
            raise _unreachable(url, exc) from exc
        except urllib3.exceptions.TimeoutError as exc:
            raise _timed_out(url, timeout) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise _unreachable(url, exc) from exc
        answer = _Answer(got.status, got.headers, got.data)
        if answer.status_code >= 400:
            raise self._refused(url, answer.status_code, answer.text[:600].strip())
        return answer

    def dataset(
        self, graphs: list[str] | None, named: list[str] | None = None
    ) -> list[tuple[str, str]]:
        """Protocol parameters limiting a query to `graphs` (None: all of Kho's graphs) as the
        default graph and the named graphs, or to `named` as the named graphs if given."""
        default = self.named_graphs() if graphs is None else graphs
        named = default if named is None else named
        return [("default-graph-uri", g) for g in default or [_NOTHING]] + [
            ("named-graph-uri", g) for g in named or [_NOTHING]
        ]

    def text(self, sparql: str) -> str:
        if self.dialect != "virtuoso":
            return sparql
        return escape_non_ascii(duration_aliased(sparql))

    def body(self, response: _Answer | requests.Response) -> bytes:
        """A whole answer, with the dialect's aliases and quirks undone."""
        if self.dialect != "virtuoso":
            return response.content
        data = response.content
        for old, new in VIRTUOSO_REPAIRS:
            data = data.replace(old, new)
        return data

    def stream(self, response: requests.Response) -> IO[bytes]:
        """An answer to read as it comes, with the dialect's aliases and quirks undone."""
        response.raw.decode_content = True
        if self.dialect != "virtuoso":
            return response.raw  # type: ignore[no-any-return]
        raw: IO[bytes] = response.raw
        for old, new in VIRTUOSO_REPAIRS:
            raw = Unaliased(raw, old, new)  # type: ignore[assignment]
        return raw

    def post_query(
        self,
        sparql: str,
        graphs: list[str] | None,
        *,
        accept: str,
        named: list[str] | None = None,
        stream: bool = False,
        timeout: float | None = None,
        server_timeout_ms: int | None = None,
    ) -> _Answer | requests.Response:
        check_syntax(sparql)
        if self.dialect == "virtuoso":
            sparql = booleans_cast(sparql)
        form = [("query", self.text(_PROLOGUE + sparql)), *self.dataset(graphs, named)]
        if server_timeout_ms and self.dialect == "virtuoso":
            form.append(("timeout", str(server_timeout_ms)))
        response: _Answer | requests.Response
        if stream:
            response = self._send(
                "POST",
                self.query_url,
                data=form,
                headers={"Accept": accept},
                stream=True,
                timeout=timeout or self.timeout,
            )
        else:
            response = self._post_form(form, accept, timeout or self.timeout)
        if self.dialect == "virtuoso" and response.headers.get("X-SQL-State"):
            message = response.headers.get("X-SQL-Message", "")
            response.close()
            raise PartialAnswer(f"Virtuoso gave a partial answer: {message}")
        return response

    def update(self, body: str) -> None:
        self._send(
            "POST",
            self.update_url,
            data={"update": self.text(body)},
            headers={"Accept": "*/*"},
        ).close()

    # -- reading ---------------------------------------------------------------------------
    def query(self, sparql: str, graphs: list[str] | None) -> object:
        form = check_read_only(sparql)
        graph_form = form in ("CONSTRUCT", "DESCRIBE")
        response = self.post_query(
            sparql, graphs, accept=ACCEPT_GRAPH if graph_form else ACCEPT_RESULTS
        )
        return parse_answer(self.body(response), response.headers.get("Content-Type", ""), form)

    def select(self, sparql: str, graphs: list[str] | None = None) -> ox.QuerySolutions:
        return self.query(sparql, graphs)  # type: ignore[return-value]

    def quads(
        self, s: object = None, p: object = None, o: object = None, g: object = None
    ) -> Iterator[ox.Quad]:
        if g == STORE_GRAPH:
            return iter(())
        if s is None and p is None and o is None and isinstance(g, ox.NamedNode):
            triples = self._graph_triples(g.value)
            return (ox.Quad(t.subject, t.predicate, t.object, g) for t in triples)
        terms = [
            str(t) if t is not None else f"?{v}" for t, v in zip((s, p, o), "spo", strict=True)
        ]
        graph = str(g) if g is not None else "?g"
        projected = (
            " ".join(f"?{v}" for t, v in zip((s, p, o, g), "spog", strict=True) if t is None) or "*"
        )
        sparql = f"SELECT {projected} WHERE {{ GRAPH {graph} {{ {' '.join(terms)} }} }}"
        if projected == "*":
            sparql = f"ASK {{ GRAPH {graph} {{ {' '.join(terms)} }} }}"
            found = bool(self.query(sparql, None if g is None else [g.value]))  # type: ignore[attr-defined]
            return iter([ox.Quad(s, p, o, g)] if found else [])  # type: ignore[arg-type]
        rows = self.select(sparql, None if g is None else [g.value])  # type: ignore[attr-defined]
        return (
            ox.Quad(s or row["s"], p or row["p"], o or row["o"], g or row["g"])  # type: ignore[arg-type]
            for row in rows
        )

    def _graph_triples(self, graph: str) -> list[ox.Triple]:
        # CONSTRUCT works the same on every server (Virtuoso's GSP GET answers Turtle only).
        response = self.post_query(
            "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", [graph], accept=ACCEPT_GRAPH
        )
        return list(
            parse_answer(self.body(response), response.headers.get("Content-Type", ""), "CONSTRUCT")
        )  # type: ignore[call-overload]

    def contains(self, quad: ox.Quad) -> bool:
        return any(
            True for _ in self.quads(quad.subject, quad.predicate, quad.object, quad.graph_name)
        )

    def named_graphs(self) -> list[str]:
        if self._graphs is None:
            rows = self.select(
                f"SELECT ?g WHERE {{ GRAPH {STORE_GRAPH} {{ ?g a {_NAMED_GRAPH} }} }}",
                [STORE_GRAPH.value],
            )
            self._graphs = sorted(row["g"].value for row in rows)  # type: ignore[union-attr]
        return list(self._graphs)

    def size(self) -> int:
        return self._count("GRAPH ?g { ?s ?p ?o }", None)

    def count(self, graph: str) -> int:
        return self._count("GRAPH ?g { ?s ?p ?o }", [graph])

    def _count(self, pattern: str, graphs: list[str] | None) -> int:
        for row in self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}", graphs):
            return int(row["n"].value)  # type: ignore[union-attr]
        return 0

    def dump(self, path: Path) -> int:
        n = 0
        with path.open("wb") as out:
            for graph in self.named_graphs():
                quads = list(self.quads(None, None, None, ox.NamedNode(graph)))
                out.write(ox.serialize(quads, format=ox.RdfFormat.N_QUADS))
                n += len(quads)
        return n

    def graph_ntriples(self, graph: str | None) -> str:
        if graph is None:
            return ""  # Kho writes only named graphs (a server's default graph may be the union)
        return ox.serialize(self._graph_triples(graph), format=ox.RdfFormat.N_TRIPLES).decode()

    def backup(self, target: Path) -> None:
        raise KhoError(
            f"A store on a server ({self.query_url}) is backed up by the server's own tools; "
            "`kho dump` writes its N-Quads."
        )

    def flush(self) -> None:
        pass  # the server decides when to write out

    @contextmanager
    def writing(self) -> Iterator[None]:
        yield  # the server orders concurrent writers itself
