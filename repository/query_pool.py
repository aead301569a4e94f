"""Read-only SPARQL queries in worker processes, with a time limit and a row cap.

Oxigraph has no query timeout and a running query cannot be interrupted from Python, so each
query runs in a worker process that opens the store read-only (allowed while the web process
holds it read-write). The parent waits at most `timeout` seconds for the answer; past that it
kills the worker (SIGKILL) and starts a fresh one. A worker's address space is capped, so a
query that sorts a huge result ends its worker, not the server. The worker answers with
repository.sparql_answer (at most `max_rows` results, and whether more were left).

On a server store (KHO_STORE=sparql:...) RemoteQueryPool runs the same jobs over HTTP, in
threads: the server does the work and has its own limits (pool_for picks one).

A read-only store is a snapshot taken when it is opened, so a worker reopens it (about 10 ms)
when the store directory changed since: RocksDB appends every write to a log file, so the names,
sizes and modification times of the directory's files change with each write (0.1 ms to check).
"""

from __future__ import annotations

import atexit
import multiprocessing
import queue
import resource
import signal
import threading
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from repository.errors import KhoError, QueryError
from repository.sparql_answer import QueryAnswer, QueryJob, answer, answer_remote
from repository.store_oxigraph import FollowerEngine
from repository.store_wire import PartialAnswer, StoreTimeout

if TYPE_CHECKING:
    from repository.config import Settings
    from repository.store_sparql import SparqlEngine

__all__ = [
    "PoolBusy",
    "QueryAnswer",
    "QueryJob",
    "QueryPool",
    "QueryTimeout",
    "QueryTooBig",
    "RemoteQueryPool",
    "pool_for",
]


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


class QueryTooBig(KhoError):
    """A query needed more memory than a worker may take, and was stopped."""

    status = 503

    def __init__(self, memory_mb: int) -> None:
        super().__init__(
            f"Truy vấn cần quá {memory_mb} MB bộ nhớ nên đã bị dừng. Hãy thu hẹp truy vấn "
            "(ORDER BY, GROUP BY hay DISTINCT trên kết quả rất lớn, hoặc tích Đề-các). / The "
            f"query needed more than {memory_mb} MB of memory and was stopped. Narrow it: avoid "
            "ORDER BY, GROUP BY or DISTINCT over huge results and cross products. (Hoặc truy vấn "
            "lồng quá sâu / Or the engine ran out of stack on a very long chain of operators or "
            "nested expressions: write it simpler.)"
        )
        self.retry_after = 1


# -- in the worker -------------------------------------------------------------------------------


class _Snapshot:
    """The worker's read-only store, reopened when the directory changed (opened on first use:
    a worker that never queries never opens it)."""

    def __init__(self, path: Path, addition_lag: float = 0.0) -> None:
        self.path = path
        self.addition_lag = addition_lag
        self.engine: FollowerEngine | None = None

    def current(self) -> ox.Store:
        if self.engine is None:
            self.engine = FollowerEngine(self.path)
            self.engine.addition_lag = self.addition_lag
        else:
            self.engine.follow()
        return self.engine.ox


def _work(conn: Connection, path: str, memory_mb: int, lag: float) -> None:
    """A worker's loop: answer jobs until told to stop (None) or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    if memory_mb:
        # A sort or a group over a cross product grows by ~600 MB a second: cap the address
        # space, so such a query ends the worker (an allocation failure) instead of the server.
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    snapshot = _Snapshot(Path(path), lag)
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
    def __init__(
        self,
        ctx: multiprocessing.context.BaseContext,
        path: Path,
        memory: int,
        lag: float,
    ) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(  # type: ignore[attr-defined]
            target=_work, args=(child, str(path), memory, lag), name="kho-sparql", daemon=True
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
    PoolBusy; past `timeout` it raises QueryTimeout, past `memory_mb` of address space
    QueryTooBig, and its worker is replaced. Workers may leave another process's additions of
    new ingest units unread for up to `addition_lag` seconds, as page workers do (Store.follow):
    a view reopened after every commit of an ingest starts with a cold cache."""

    def __init__(
        self,
        store_path: Path | str,
        workers: int = 2,
        timeout: float = 20,
        wait: float = 10,
        memory_mb: int = 3072,
        addition_lag: float = 0.0,
    ) -> None:
        self.path = Path(store_path)
        self.addition_lag = addition_lag
        self.workers = max(1, workers)
        self.timeout = timeout
        self.wait = wait
        self.memory_mb = memory_mb
        self._busy = 0
        self._ctx = _context()
        self._slots = threading.BoundedSemaphore(self.workers)
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        _POOLS.add(self)

    def _start(self) -> _Worker:
        worker = _Worker(self._ctx, self.path, self.memory_mb, self.addition_lag)
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
        with self._lock:
            self._busy += 1
        try:
            worker = self._take()
            reply = self._ask(worker, job)
        finally:
            with self._lock:
                self._busy -= 1
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
            worker.process.join(5)
            code = worker.process.exitcode
            self._discard(worker)
            self._idle.put(self._start())
            if code in (-signal.SIGABRT, -signal.SIGKILL, -signal.SIGSEGV):
                raise QueryTooBig(self.memory_mb) from exc  # an allocation failed: too big
            raise KhoError(
                "Tiến trình chạy truy vấn đã dừng bất thường; hãy chạy lại. / The query worker "
                f"stopped unexpectedly (exit code {code}); run the query again."
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

    def busy(self) -> int:
        """How many queries are running or waiting for a worker now."""
        with self._lock:
            return self._busy

    def pids(self) -> list[int]:
        """Process ids of the running workers."""
        with self._lock:
            return [w.process.pid for w in self._all if w.process.pid is not None]


class RemoteQueryPool:
    """The same jobs on a server store (KHO_STORE=sparql:...), each in a thread of this process.

    The server runs the query; Kho waits at most `timeout` seconds (and tells Virtuoso the same
    limit with its `timeout` parameter), then closes the connection and raises QueryTimeout. The
    answer is read as a stream and capped at the job's `max_rows`, as a worker does."""

    def __init__(
        self, engine: SparqlEngine, workers: int = 2, timeout: float = 20, wait: float = 10
    ):
        self.engine = engine
        self.workers = max(1, workers)
        self.timeout = timeout
        self.wait = wait
        self._busy = 0
        self._slots = threading.BoundedSemaphore(self.workers)
        self._lock = threading.Lock()

    def run(self, job: QueryJob) -> QueryAnswer:
        """The answer to `job`; raises QueryError, QueryTimeout, PoolBusy or KhoError."""
        if not self._slots.acquire(timeout=self.wait):
            raise PoolBusy(max(1, round(min(self.timeout, 30))))
        with self._lock:
            self._busy += 1
        hold: dict[str, object] = {}

        def work() -> None:
            try:
                hold["answer"] = answer_remote(self.engine, job, self.timeout, hold)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                hold["error"] = exc

        try:
            thread = threading.Thread(target=work, name="kho-sparql-remote", daemon=True)
            thread.start()
            thread.join(self.timeout)
            if thread.is_alive():
                response = hold.get("response")
                if response is not None:
                    response.close()  # type: ignore[attr-defined]
                raise QueryTimeout(self.timeout)
        finally:
            with self._lock:
                self._busy -= 1
            self._slots.release()
        error = hold.get("error")
        if isinstance(error, (PartialAnswer, StoreTimeout)):
            # The request's own time limit may end it just before the wait above does.
            raise QueryTimeout(self.timeout) from error
        if isinstance(error, KhoError):
            raise error
        if error is not None:
            raise KhoError(f"The query failed on the triple store: {error}") from error  # type: ignore[arg-type]
        return hold["answer"]  # type: ignore[return-value]

    def close(self) -> None:
        pass  # threads end with their queries

    def busy(self) -> int:
        with self._lock:
            return self._busy

    def pids(self) -> list[int]:
        return []  # no worker processes: the server runs the queries


def pool_for(
    settings: Settings,
    workers: int = 2,
    timeout: float = 20,
    wait: float = 10,
    memory_mb: int = 3072,
    addition_lag: float = 0.0,
) -> QueryPool | RemoteQueryPool:
    """Worker processes on the embedded store's directory, or threads asking the server."""
    from repository.store import embedded_path, open_store  # noqa: PLC0415

    path = embedded_path(settings)
    if path is not None:
        return QueryPool(
            path,
            workers=workers,
            timeout=timeout,
            wait=wait,
            memory_mb=memory_mb,
            addition_lag=addition_lag,
        )
    engine = open_store(settings)._engine  # noqa: SLF001 - the pool speaks the engine's HTTP
    return RemoteQueryPool(engine, workers=workers, timeout=timeout, wait=wait)  # type: ignore[arg-type]


@atexit.register
def _close_all() -> None:
    for pool in list(_POOLS):
        pool.close()
