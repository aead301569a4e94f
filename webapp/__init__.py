"""The web app: create_app(settings=None), the application factory, and serve() for `kho serve`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date

from flask import Flask, current_app
from werkzeug.serving import run_simple

from repository import access, gazetteer
from repository.config import Settings
from repository.errors import KhoError
from repository.namespaces import Minter
from repository.store import Store, open_store
from repository.users import Users
from webapp import labels

log = logging.getLogger("kho.store")
# Counts on the home page take about a second over the whole country; they change only when the
# store is re-harvested, so they are kept for a while.
COUNTS_TTL_SECONDS = 600
# The largest request body read (bytes): Kho takes no uploads over the web, only forms and SPARQL
# queries (webapp.sparql.MAX_QUERY_CHARS, percent-encoded); anything bigger is refused with 413
# before it is read.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
# A form waits this long for a write of another process (kho ingest commits, a harvest) to end:
# then a clear 503 with Retry-After, not a request hanging for ever.
WRITE_WAIT_SECONDS = 30.0
# Pages read another process's additions (kho ingest of new hồ sơ) at most this late (and no later
# than KHO_PAGE_CACHE_LAG_SECONDS): a view of the embedded store reopened after every commit starts
# with a cold cache each time. Any other write is read at the next request.
ADDITION_LAG_SECONDS = 10.0


@dataclass
class Site:
    """What every request of one app shares: its settings, its store and a few cached facts."""

    settings: Settings
    store: Store
    minter: Minter
    vocabulary: labels.Vocabulary
    users: Users
    _counts: tuple[float, dict[str, int]] | None = field(default=None, repr=False)
    _graphs: tuple[int, tuple[str, ...]] | None = field(default=None, repr=False)  # per generation

    def today(self) -> date:
        return date.fromisoformat(self.settings.today) if self.settings.today else date.today()

    def counts(self) -> dict[str, int]:
        if self._counts is None or time.monotonic() - self._counts[0] > COUNTS_TTL_SECONDS:
            counts = gazetteer.home_counts(self.store, self.reference_graphs())
            self._counts = (time.monotonic(), counts)
        return self._counts[1]

    def reference_graphs(self) -> list[str]:
        """The graphs of units and agencies: public to all, written only by harvests."""
        return [self.minter.graph("gazetteer"), self.minter.graph("agencies")]

    def visible_graphs(self, reader: access.Reader | None = None) -> list[str]:
        """The named graphs `reader` (default: who asks in this request) may read; the rule is
        repository.access's."""
        if reader is None:
            from webapp.auth import current_reader

            reader = current_reader()
        generation = self.store.generation
        if self._graphs is None or self._graphs[0] != generation:
            self._graphs = (generation, tuple(self.store.named_graphs()))
        return access.visible_graphs(self._graphs[1], self.minter, reader)


def create_app(settings: Settings | None = None, store: Store | None = None) -> Flask:
    """Build the Flask app over one store; settings default to the KHO_* environment, the store
    to the one they name (opened read-write)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    store = store or open_store(settings)
    app.extensions["kho"] = Site(
        settings=settings,
        store=store,
        minter=Minter(settings.base_iri),
        vocabulary=labels.Vocabulary.load(store),
        users=Users(settings.users_path),  # type: ignore[arg-type]
    )

    from webapp import (
        api,
        auth,
        browse,
        curation,
        dashboard,
        errors,
        oai,
        page_cache,
        registries,
        resources,
        sparql,
        views,
    )

    store.wait_for_writes(WRITE_WAIT_SECONDS)
    store.lag_behind_additions(min(settings.page_cache_lag_seconds, ADDITION_LAG_SECONDS))

    @app.before_request
    def follow_store() -> None:  # first: what other processes (kho ingest) committed since
        try:
            store.follow()
        except KhoError as exc:  # the store was being rewritten: the view it had, this time
            log.warning("%s", exc)

    auth.init_app(app)
    views.register(app)
    for module in (browse, resources, sparql, api, oai, dashboard, curation, registries):
        app.register_blueprint(module.bp)
    errors.register(app)
    # last: its hooks run first
    page_cache.init_app(app, settings.page_cache_mb << 20, settings.page_cache_lag_seconds)
    return app


def site() -> Site:
    """The Site of the app handling the current request."""
    return current_app.extensions["kho"]  # type: ignore[no-any-return]


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, dev: bool = False) -> None:
    """Serve the app: waitress (a production WSGI server, settings.serve_threads threads) with
    page workers (webapp.workers, settings.serve_processes) unless `dev`, which runs Werkzeug's
    development server (no debugger, no reloader, no workers)."""
    app = create_app(settings)
    store = app.extensions["kho"].store
    backend = store.backend
    if dev:
        print(f"Kho: http://{host}:{port}/ (store {backend})", flush=True)
        run_simple(host, port, app, threaded=True, use_debugger=False, use_reloader=False)
        return
    import os

    import waitress

    from webapp import workers

    processes = settings.serve_processes or (os.cpu_count() or 1)
    if not settings.serve_processes and store.on_server:
        processes *= 2  # a page over a server store waits on it about half its time
    if processes > 1:
        # answers for programs, at a lower CPU priority: one worker per core, also on a server
        # store (two per core there sent twice the programs' queries to the server pages wait on:
        # page views' p95 with an ingest beside 257 → 151 ms)
        programs = os.cpu_count() or 1
        started = workers.init_app(app, settings, processes, programs)
        pages, data = started.pages.wait_ready(), started.programs.wait_ready()
        backend += (
            f"; pages rendered by {pages} worker processes, answers for programs by {data} "
            f"(nice {settings.data_nice})"
        )
    print(f"Kho: http://{host}:{port}/ (store {backend})", flush=True)
    waitress.serve(
        app,
        host=host,
        port=port,
        threads=settings.serve_threads,
        ident="Kho",
        clear_untrusted_proxy_headers=True,
    )
