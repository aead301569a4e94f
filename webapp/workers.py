"""Page workers: `kho serve` renders GET pages in processes of their own, so a 2-core machine
serves with both cores instead of one (Python runs one thread at a time per process).

The serving process keeps everything that writes or streams: forms (POST), file downloads and
the SPARQL endpoint (whose queries already run in a pool of processes). A GET or HEAD without a
body goes to an idle worker, preferring the one that answered the same URL last (its kept pages,
webapp.page_cache, are per process). Each worker runs the same app over a view of the store that
follows the serving process's writes (repository.store.open_store_follower): before each request
it reads what was committed, so a page asked after a form was sent shows what the form wrote.
The access rule runs in the worker's app exactly as in the serving process.

A worker that dies is replaced and its request answered by the serving process itself; one that
takes longer than REQUEST_SECONDS is killed and replaced (503 with Retry-After).
"""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import sys
import threading
import zlib
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection

from repository.config import Settings

REQUEST_SECONDS = 300.0
TOO_LONG = "Trang này mất quá lâu; hãy thử lại sau. / This page took too long; try again later.\n"
# Routes the serving process answers itself: writes, streamed files, SPARQL (its own pool).
_OWN_PREFIXES = ("/files/", "/sparql", "/curation", "/admin", "/account", "/login", "/logout")
StartResponse = Callable[..., object]
Answer = tuple[str, list[tuple[str, str]], bytes]


def dispatched(environ: dict[str, object]) -> bool:
    """Does this request go to a page worker?"""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return False
    if environ.get("CONTENT_LENGTH") not in (None, "", "0"):
        return False
    path = str(environ.get("PATH_INFO") or "/")
    return not path.startswith(_OWN_PREFIXES)


# -- in the worker -------------------------------------------------------------------------------


def _work(conn: Connection, settings: Settings) -> None:
    """A worker's loop: answer requests until the serving process goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the serving process
    from repository.store import open_store_follower
    from webapp import create_app

    store = open_store_follower(settings)
    app = create_app(settings, store=store)
    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        store.follow()
        try:
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
    return str(started[0]), list(started[1]), body  # type: ignore[arg-type]


# -- in the serving process ----------------------------------------------------------------------


class _Worker:
    def __init__(self, ctx: multiprocessing.context.BaseContext, settings: Settings) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(  # type: ignore[attr-defined]
            target=_work, args=(child, settings), name="kho-pages", daemon=True
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


class PageWorkers:
    """WSGI middleware in front of `app`: GET pages go to `count` worker processes."""

    def __init__(self, app: Callable[..., Iterable[bytes]], settings: Settings, count: int):
        self.app = app
        self.settings = settings
        self._ctx = multiprocessing.get_context("spawn")  # never fork a threaded server
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self.count = count
        self.answered = 0  # requests the workers answered
        for _ in range(count):
            self._add(_Worker(self._ctx, settings))
        self.pid = os.getpid()

    def _add(self, worker: _Worker) -> None:
        with self._cond:
            self._all.append(worker)
            self._idle.append(worker)
            self._cond.notify()

    def wait_ready(self, seconds: float = 120) -> int:
        """Wait for the workers to have built their apps; how many are ready."""
        return sum(w.wait_ready(seconds) for w in list(self._all))

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._all if w.process.pid is not None]

    def __call__(
        self, environ: dict[str, object], start_response: StartResponse
    ) -> Iterable[bytes]:
        if not dispatched(environ):
            return self.app(environ, start_response)
        request = {k: v for k, v in environ.items() if isinstance(v, str)}
        url = f"{request.get('PATH_INFO')}?{request.get('QUERY_STRING')}"
        worker = self._take(zlib.crc32(url.encode("utf-8", "replace")))
        try:
            answer = self._ask(worker, request)
        except _WorkerLost:
            return self.app(environ, start_response)  # answered here rather than not at all
        if answer is None:
            plain = ("Content-Type", "text/plain; charset=utf-8")
            start_response("503 Service Unavailable", [("Retry-After", "30"), plain])
            return [TOO_LONG.encode()]
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    def _take(self, affinity: int) -> _Worker:
        """An idle worker: the URL's own if it is idle (it may have the page kept), else any."""
        with self._cond:
            while not self._idle:
                self._cond.wait()
            preferred = self._all[affinity % len(self._all)]
            chosen = preferred if preferred in self._idle else self._idle[0]
            self._idle.remove(chosen)
            return chosen

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
            self._cond.notify()
        return answer

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            index = self._all.index(worker)
            fresh = _Worker(self._ctx, self.settings)
            self._all[index] = fresh
            self._idle.append(fresh)
            self._cond.notify()

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


class _WorkerLost(Exception):
    pass
