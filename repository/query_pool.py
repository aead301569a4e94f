"""Read-only SPARQL queries in worker processes, with a time limit and a row cap.

Oxigraph has no query timeout and a running query cannot be interrupted from Python, so each
query runs in a worker process that opens the store read-only (allowed while the web process
holds it read-write). The parent waits at most `timeout` seconds for the answer; past that it
kills the worker (SIGKILL) and starts a fresh one. A worker reads at most `max_rows + 1` results,
serialises `max_rows` of them and says whether more were left.

A read-only store is a snapshot taken when it is opened, so a worker reopens it (about 10 ms)
when the store directory changed since: RocksDB appends every write to a log file, so the names,
sizes and modification times of the directory's files change with each write (0.1 ms to check).
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import queue
import re
import signal
import threading
import time
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from repository.access import mask_personal
from repository.errors import KhoError, QueryError
from repository.namespaces import PREFIXES
from repository.store import GRAPH_FORMATS, RESULT_FORMATS

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
# Hashes (kho:sha256, content digests) are long runs of hex digits that may hold 9 or 12 decimal
# digits in a row; they are not identification numbers and are never masked.
_HASH = re.compile(r"[0-9A-Fa-f]{32,}")


class QueryTimeout(KhoError):
    """A query ran past the time limit and was stopped."""

    status = 503

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"Truy vấn chạy quá {seconds:g} giây nên đã bị dừng. Hãy thu hẹp truy vấn: thêm "
            "điều kiện cụ thể (mã, tên, ngày), tránh tích Đề-các giữa các mẫu không nối với "
            "nhau, thêm LIMIT, bỏ ORDER BY trên kết quả lớn. / The query ran longer than "
            f"{seconds:g} seconds and was stopped. Narrow it: bind specific values (a code, a "
            "name, a date), join every pattern to the others (no cross products), add a LIMIT, "
            "and avoid ORDER BY over large results."
        )
        self.retry_after = max(1, round(seconds))


class PoolBusy(KhoError):
    """Every worker is busy and none came free in time."""

    status = 503

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Máy chủ đang chạy nhiều truy vấn khác; hãy thử lại sau ít giây. / The server is "
            f"busy running other queries; try again in {retry_after} seconds."
        )
        self.retry_after = retry_after


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


# -- the dataset a query sees ----------------------------------------------------------------------

# Strings and comments are blanked (IRIs kept whole: they may hold '#') before reading FROM clauses.
_LEXEME = re.compile(
    r'(<[^<>"{}|^`\\\s]*>)|"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*'
)
_PREFIX_DECL = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)
_FROM = re.compile(
    r"\bFROM\s+(NAMED\s+)?(?:<([^>]*)>|([A-Za-z][\w.-]*)?:([\w.:%-]*))", re.IGNORECASE
)


def query_dataset(sparql: str) -> tuple[list[str], list[str]]:
    """The graphs a query names with FROM and FROM NAMED (prefixed names resolved)."""
    bare = _LEXEME.sub(lambda m: m.group(1) or " ", sparql)
    prefixes = dict(PREFIXES)
    prefixes.update({(p or ""): ns for p, ns in _PREFIX_DECL.findall(bare)})
    default: list[str] = []
    named: list[str] = []
    for m in _FROM.finditer(bare):
        iri = m.group(2)
        if iri is None:
            ns = prefixes.get(m.group(3) or "")
            if ns is None:
                continue  # an undeclared prefix: the engine reports the syntax error
            iri = ns + m.group(4)
        (named if m.group(1) else default).append(iri)
    return default, named


def dataset_of(
    sparql: str,
    visible: list[str],
    default_param: list[str] | None = None,
    named_param: list[str] | None = None,
) -> tuple[list[str], list[str]]:
    """The default and named graphs a query runs over, always within `visible`.

    The protocol's default-graph-uri / named-graph-uri win over FROM / FROM NAMED (SPARQL 1.1
    Protocol, 2.1.4); with neither, the default graph is the union of the visible graphs and every
    visible graph is a named graph. A graph the reader may not see is dropped silently: it answers
    like an empty graph, neither an error nor a confirmation that it exists."""
    if default_param or named_param:
        default, named = list(default_param or []), list(named_param or [])
    else:
        default, named = query_dataset(sparql)
        if not default and not named:
            return list(visible), list(visible)
    allowed = set(visible)
    return [g for g in default if g in allowed], [g for g in named if g in allowed]


# -- in the worker -------------------------------------------------------------------------------


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


def _graph(triples: ox.QueryTriples, job: QueryJob) -> tuple[bytes, int, bool]:
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
    body, rows, truncated = _graph(result, job)
    return QueryAnswer("GRAPH", body, rows, truncated, time.perf_counter() - started)


def store_signature(path: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the store directory's files."""
    entries = []
    with os.scandir(path) as listing:
        for entry in listing:
            try:
                stat = entry.stat()
            except FileNotFoundError:  # removed by a compaction meanwhile
                continue
            entries.append((entry.name, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


class _Snapshot:
    """The worker's read-only store, reopened when the directory changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.signature: tuple[tuple[str, int, int], ...] | None = None
        self.store: ox.Store | None = None

    def current(self) -> ox.Store:
        signature = store_signature(self.path)
        if self.store is None or signature != self.signature:
            self.store = None  # close the old snapshot first
            try:
                self.store = ox.Store.read_only(str(self.path))
            except OSError:
                time.sleep(0.05)  # a write was rewriting the manifest: once more
                self.store = ox.Store.read_only(str(self.path))
            self.signature = signature
        return self.store


def _work(conn: Connection, path: str) -> None:
    """A worker's loop: answer jobs until told to stop (None) or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    snapshot = _Snapshot(Path(path))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            reply: tuple[str, object] = ("ok", answer(snapshot.current(), job))
        except KhoError as exc:
            reply = ("error", (type(exc).__name__, exc.message))
        except Exception as exc:  # noqa: BLE001 - everything goes back to the parent
            reply = ("error", ("KhoError", f"The query failed in the engine: {exc}"))
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return


# -- in the parent -------------------------------------------------------------------------------


def _context() -> multiprocessing.context.BaseContext:
    # The web server is threaded: never fork it. A fork server (started once, without threads,
    # with Kho's modules loaded) starts workers in milliseconds; spawn where it is missing.
    try:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["repository.query_pool"])
        return ctx
    except ValueError:
        return multiprocessing.get_context("spawn")


class _Worker:
    def __init__(self, ctx: multiprocessing.context.BaseContext, path: Path) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(  # type: ignore[attr-defined]
            target=_work, args=(child, str(path)), name="kho-sparql", daemon=True
        )
        self.process.start()
        child.close()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()  # SIGKILL: a query inside the engine ignores everything else
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(1)
        self.kill()


_POOLS: weakref.WeakSet[QueryPool] = weakref.WeakSet()


class QueryPool:
    """At most `workers` queries at once, each in its own process, each within `timeout` s.

    Workers start on first use. A query waits at most `wait` seconds for a free worker, else
    PoolBusy; past `timeout` it raises QueryTimeout and its worker is replaced."""

    def __init__(
        self, store_path: Path | str, workers: int = 2, timeout: float = 20, wait: float = 10
    ) -> None:
        self.path = Path(store_path)
        self.workers = max(1, workers)
        self.timeout = timeout
        self.wait = wait
        self._ctx = _context()
        self._slots = threading.BoundedSemaphore(self.workers)
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        _POOLS.add(self)

    def _start(self) -> _Worker:
        worker = _Worker(self._ctx, self.path)
        with self._lock:
            self._all.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def run(self, job: QueryJob) -> QueryAnswer:
        """The answer to `job`; raises QueryError, QueryTimeout, PoolBusy or KhoError."""
        if not self._slots.acquire(timeout=self.wait):
            raise PoolBusy(max(1, round(min(self.timeout, 30))))
        try:
            worker = self._take()
            reply = self._ask(worker, job)
        finally:
            self._slots.release()
        status, payload = reply
        if status == "ok":
            return payload  # type: ignore[return-value]
        kind, message = payload  # type: ignore[misc]
        raise (QueryError if kind in ("QueryError", "BadRequest") else KhoError)(message)

    def _take(self) -> _Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return self._start()
            if worker.process.is_alive():
                return worker
            self._discard(worker)  # died while idle (killed from outside): replace it

    def _ask(self, worker: _Worker, job: QueryJob) -> tuple[str, object]:
        try:
            worker.conn.send(job)
            if not worker.conn.poll(self.timeout):
                self._discard(worker)
                self._idle.put(self._start())  # the next query finds a fresh worker
                raise QueryTimeout(self.timeout)
            reply = worker.conn.recv()
        except (EOFError, OSError) as exc:
            self._discard(worker)
            raise KhoError(
                "Tiến trình chạy truy vấn đã dừng bất thường; hãy chạy lại. / The query worker "
                f"stopped unexpectedly ({exc or 'no answer'}); run the query again."
            ) from exc
        self._idle.put(worker)
        return reply  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop every worker (idle ones politely, busy ones by force)."""
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.stop()
        while not self._idle.empty():
            self._idle.get_nowait()

    def pids(self) -> list[int]:
        """Process ids of the running workers."""
        with self._lock:
            return [w.process.pid for w in self._all if w.process.pid is not None]


@atexit.register
def _close_all() -> None:
    for pool in list(_POOLS):
        pool.close()
