"""Page workers: `kho serve` renders GET pages in processes of their own, so a 2-core machine
serves with both cores instead of one (Python runs one thread at a time per process).

Every request enters the serving process's app. A kept answer (webapp.page_cache) is given there
at once; a GET or HEAD without a body that is not is rendered by any idle worker. Forms (POST),
file downloads and the SPARQL endpoint (whose queries already run in a pool of processes) stay in
the serving process. Each worker runs the
same app over a view of the store that follows the serving process's writes
(repository.store.open_store_follower): before each request it reads what was committed, so a
page asked after a form was sent shows what the form wrote. The access rule runs in the worker's
app exactly as in the serving process.

An answer that may be kept comes back with its account slot unfilled and the audit entries it
wrote, for the serving process to keep; any other comes back whole, session cookie included.
A worker that dies is replaced and its request answered by the serving process itself; one that
takes longer than REQUEST_SECONDS is killed and replaced (503 with Retry-After).

Answers for programs (JSON-LD and other RDF, the JSON API, OAI-PMH) have workers of their own,
which run at a lower CPU priority (settings.data_nice): on a busy machine a page a person reads
gets the CPU first and never waits for a worker behind a harvester's or an integrator's crawl;
on an idle one a program's answer takes all the CPU it needs. Each kind of request waits for a
worker of its own kind, first come first served. (Measured with 20 saturating clients and an
ingest beside, docs/benchmarks.md "Load": page views' p95 went from 236 to 107 ms; JSON-LD's
from 2.1 to 2.4 s, OAI-PMH's from 2.5 to 3.0 s.)
"""

from __future__ import annotations

import io
import multiprocessing
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from multiprocessing.connection import Connection

from flask import Flask, Response, g, request
from flask.sessions import SecureCookieSessionInterface

from repository.config import Settings
from repository.processes import lower_priority
from webapp.page_cache import AUDITS, RAW

REQUEST_SECONDS = 300.0
TOO_LONG = "Trang này mất quá lâu; hãy thử lại sau. / This page took too long; try again later.\n"
# Routes the serving process answers itself: writes, streamed files, SPARQL (its own pool).
_OWN_PREFIXES = ("/files/", "/sparql", "/curation", "/admin", "/account", "/login", "/logout")
Answer = tuple[str, list[tuple[str, str]], bytes, list[tuple[str, str, object]]]
_DATA_PREFIXES = ("/api/", "/oai")
_DATA_SUFFIXES = (".jsonld", ".json", ".ttl", ".nt", ".rdf", ".nq", ".trig")
_DATA_TYPES = ("json", "turtle", "n-triples", "rdf+xml", "n-quads", "trig")


def dispatched(environ: dict[str, object]) -> bool:
    """Does this request go to a page worker?"""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return False
    if environ.get("CONTENT_LENGTH") not in (None, "", "0"):
        return False
    path = str(environ.get("PATH_INFO") or "/")
    return not path.startswith(_OWN_PREFIXES)


def for_programs(environ: dict[str, object]) -> bool:
    """Does this request ask for data a program reads (by path, suffix or Accept), rather than a
    page a person reads?"""
    path = str(environ.get("PATH_INFO") or "/")
    if path.startswith(_DATA_PREFIXES) or path.endswith(_DATA_SUFFIXES):
        return True
    accept = str(environ.get("HTTP_ACCEPT") or "").lower()
    return bool(accept) and "html" not in accept and any(t in accept for t in _DATA_TYPES)


# -- in the worker -------------------------------------------------------------------------------


def _work(conn: Connection, settings: Settings, nice: int) -> None:
    """A worker's loop: answer requests until the serving process goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the serving process
    lower_priority(nice)
    from repository.store import open_store_follower
    from webapp import create_app

    store = open_store_follower(settings)
    app = create_app(replace(settings, page_cache_mb=0), store=store)  # the serving process keeps
    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:  # (the app reads what was committed first: create_app's follow_store)
            conn.send(_answer(app, request))
        except (EOFError, OSError):
            return


def _answer(app: Callable[..., Iterable[bytes]], request: dict[str, str]) -> Answer:
    environ: dict[str, object] = dict(request)
    environ.update(
        {
            "wsgi.version": (1, 0),
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
    )
    started: list[object] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None):
        started[:] = [status, headers]
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    status, headers = started
    return str(status), list(headers), body, list(environ.get(AUDITS) or [])  # type: ignore[call-overload]


# -- in the serving process ----------------------------------------------------------------------


class _Worker:
    def __init__(
        self, ctx: multiprocessing.context.BaseContext, settings: Settings, nice: int, name: str
    ) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(  # type: ignore[attr-defined]
            target=_work, args=(child, settings, nice), name=name, daemon=True
        )
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self, seconds: float) -> bool:
        if not self.ready and self.conn.poll(seconds):
            self.ready = self.conn.recv() == "ready"
        return self.ready

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class _Pool:
    """`count` worker processes rendering answers, each one request at a time, at `nice` below
    the serving process's CPU priority."""

    def __init__(
        self, settings: Settings, count: int, nice: int = 0, name: str = "kho-pages"
    ) -> None:
        self.settings = settings
        self.nice, self.name = nice, name
        self._ctx = multiprocessing.get_context("spawn")  # never fork a threaded server
        self._cond = threading.Condition()
        self._waiting: list[object] = []  # the requests waiting for a worker, in order
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self.answered = 0  # requests the workers answered
        for _ in range(count):
            self._add(self._new())

    def _new(self) -> _Worker:
        return _Worker(self._ctx, self.settings, self.nice, self.name)

    def _add(self, worker: _Worker) -> None:
        with self._cond:
            self._all.append(worker)
            self._idle.append(worker)
            self._cond.notify_all()

    def wait_ready(self, seconds: float = 120) -> int:
        """Wait for the workers to have built their apps; how many are ready."""
        return sum(w.wait_ready(seconds) for w in list(self._all))

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._all if w.process.pid is not None]

    def render(self, environ: dict[str, object], raw: bool) -> Answer | None:
        """The answer of a worker to the request `environ` (None: it took too long); raises
        _WorkerLost when the worker died on it."""
        asked = {k: v for k, v in environ.items() if isinstance(v, str)}
        if raw:
            asked[RAW] = "1"
        return self._ask(self._take(), asked)

    def _take(self) -> _Worker:
        """An idle worker, once the requests that came before have theirs (answers are kept by
        the serving process: any worker will do; the longest idle goes first, so all take
        turns)."""
        with self._cond:
            ticket = object()
            self._waiting.append(ticket)
            while not (self._idle and self._waiting[0] is ticket):
                self._cond.wait()
            self._waiting.pop(0)
            if len(self._idle) > 1 and self._waiting:
                self._cond.notify_all()  # the next in line may take another idle worker
            return self._idle.pop(0)

    def _ask(self, worker: _Worker, request: dict[str, str]) -> Answer | None:
        try:
            if not worker.wait_ready(REQUEST_SECONDS):
                raise EOFError("the worker did not start")
            worker.conn.send(request)
            if not worker.conn.poll(REQUEST_SECONDS):
                self._replace(worker)
                return None
            answer: Answer = worker.conn.recv()
        except (EOFError, OSError) as exc:
            self._replace(worker)
            raise _WorkerLost from exc
        with self._cond:
            self._idle.append(worker)
            self.answered += 1
            self._cond.notify_all()
        return answer

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            index = self._all.index(worker)
            fresh = self._new()
            self._all[index] = fresh
            self._idle.append(fresh)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            workers, self._all, self._idle = list(self._all), [], []
        for worker in workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
            worker.process.join(2)
            worker.kill()


class PageWorkers:
    """The workers of `kho serve`: `count` for pages, `programs` for answers to programs at
    `nice` below the serving process's CPU priority (none: pages' workers answer them too)."""

    def __init__(self, settings: Settings, count: int, programs: int = 0, nice: int = 0) -> None:
        self.pages = _Pool(settings, count)
        self.programs = _Pool(settings, programs, nice, "kho-data") if programs else self.pages

    def _pools(self) -> list[_Pool]:
        return [self.pages] + ([self.programs] if self.programs is not self.pages else [])

    @property
    def answered(self) -> int:
        return sum(p.answered for p in self._pools())

    def wait_ready(self, seconds: float = 120) -> int:
        """Wait for the workers to have built their apps; how many are ready."""
        return sum(p.wait_ready(seconds) for p in self._pools())

    def pids(self) -> list[int]:
        return [pid for p in self._pools() for pid in p.pids()]

    def render(self, environ: dict[str, object], raw: bool) -> Answer | None:
        """The answer of a worker of the request's kind (None: it took too long); raises
        _WorkerLost when the worker died on it."""
        pool = self.programs if for_programs(environ) else self.pages
        return pool.render(environ, raw)

    def close(self) -> None:
        for pool in self._pools():
            pool.close()


class _WorkerLost(Exception):
    pass


class _Sessions(SecureCookieSessionInterface):
    """The serving process's sessions: when a worker answered the whole request, its session
    cookie is the answer's (it may have made a CSRF token), so this process sends none."""

    def save_session(self, app: Flask, session: object, response: Response) -> None:
        if g.get("kho_delegated"):
            return
        super().save_session(app, session, response)  # type: ignore[arg-type]


def init_app(app: Flask, settings: Settings, count: int, programs: int = 0) -> PageWorkers:
    """Start `count` page workers for `app` (the serving process's) and send them its pages, and
    `programs` workers at settings.data_nice for answers to programs (none: the page workers
    answer them). Call after webapp.page_cache.init_app: kept answers are given before a
    worker is asked."""
    workers = PageWorkers(settings, count, programs, settings.data_nice)
    app.extensions["kho-workers"] = workers
    app.session_interface = _Sessions()

    @app.before_request
    def delegate() -> Response | None:
        if not dispatched(request.environ):
            return None
        raw = g.get("page_cache_key") is not None
        try:
            answer = workers.render(request.environ, raw)
        except _WorkerLost:
            return None  # answered here rather than not at all
        if answer is None:
            response = Response(TOO_LONG, status=503, mimetype="text/plain")
            response.headers["Retry-After"] = "30"
            return response
        status, headers, body, audits = answer
        if raw:  # to be kept: the slot is filled and the session saved here
            headers = [(k, v) for k, v in headers if k.lower() != "set-cookie"]
            g.page_cache_audits = audits
        else:
            g.kho_delegated = True
        return Response(body, status=status, headers=headers)

    return workers
