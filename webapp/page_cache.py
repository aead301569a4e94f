"""Rendered answers kept per audience: a page asked again by a reader who sees the same things is
answered from memory, not rebuilt from the store.

What a page shows depends on the URL, the representation asked for (Accept, the language
cookie), the reader's role, grants and visible graphs (repository.access's rule), and the state
of the store and the records index. All of these make the key, so a kept answer is only ever
given to a reader the core would have given the same answer. A write that changes what was there
(an edit, a restriction, a deletion, a rebuilt index) makes every kept answer unreachable at
once. A commit that only adds new ingest units (Store.change_generation, record_index.changes)
lets them lag behind it for up to KHO_PAGE_CACHE_LAG_SECONDS: since what a reader may see is
decided by named graphs and additions never take a resource out of one, an answer from before an
addition shows less, never something the reader may no longer see. So `kho ingest` beside
`kho serve` does not rebuild every page at every commit. Nothing is kept for
archivists and administrators (their pages carry forms), for conditional or non-GET requests, or
for routes not listed in ENDPOINTS (files, sign-in, curation, the dashboard, OAI-PMH, SPARQL).

The one part of a page that is the reader's own, the account links with the sign-out form and
its CSRF token, is never kept: pages render a slot there (account_slot) which is filled per
request. The audit entries a page writes (a restricted record read) are kept with the answer and
written again, under the reader's name, each time it is given.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from flask import Flask, Response, g, render_template, request
from markupsafe import Markup

from repository import record_index

SLOT = "<!--kho:account-->"
# A page worker's request from the serving process: answer with the slot unfilled, and note the
# audit entries written (webapp.workers); environ keys no HTTP request can set.
RAW, AUDITS = "kho.raw", "kho.audits"
_SLOT_BYTES = SLOT.encode()
# Routes whose GET answers are the same for every reader of one audience.
ENDPOINTS = frozenset(
    {
        "browse.home",
        "browse.units",
        "browse.search",
        "browse.records",
        "browse.browse",
        "browse.browse_section",
        "resources.resource",
        "resources.describe",
        "resources.provenance_svg",
        "api.records",
        "api.units",
    }
)  # not OAI-PMH (every answer carries its responseDate, tokens their expiry) nor SPARQL (NOW())
KEPT_STATUSES = (200, 404)
MAX_ENTRY_BYTES = 2 << 20  # one answer larger than this is not kept
_DROPPED_HEADERS = frozenset({"set-cookie", "content-length", "x-kho-cache"})


@dataclass(frozen=True)
class Kept:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    audits: tuple[tuple[str, str, object], ...]  # (action, target or "", detail or targets)
    state: State | None = None  # the store's and the index's state it was built from
    at: float = 0.0  # when (time.monotonic())


# (what was changed, what was added): (Store.change_generation, record_index.changes) and
# (Store.generation, record_index.generation)
State = tuple[Hashable, Hashable]
_STATES_SEEN = 256


class PageCache:
    """An LRU of answers bounded by their total size in bytes. An answer built from another
    state of the store and index is no answer, unless the store and the index only had things
    added since, and the first of those additions is at most `lag_s` seconds old."""

    def __init__(self, max_bytes: int, lag_s: float = 0.0) -> None:
        self.max_bytes = max_bytes
        self.lag_s = lag_s
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, Kept] = OrderedDict()
        # every state seen, in order, with when a later one was first seen (None: none yet)
        self._seen: OrderedDict[State, float | None] = OrderedDict()

    def _observe(self, state: State, now: float) -> None:
        if state in self._seen:
            return
        for old, after in self._seen.items():
            if after is None:
                self._seen[old] = now
        self._seen[state] = None
        while len(self._seen) > _STATES_SEEN:
            self._seen.popitem(last=False)

    def _lagging(self, kept: State, state: State, now: float) -> bool:
        """May an answer of state `kept` be given in state `state`?"""
        if self.lag_s <= 0 or kept[0] != state[0] or kept not in self._seen:
            return False
        after = self._seen[kept]
        return after is None or now - after <= self.lag_s

    def get(self, key: Hashable, state: State) -> Kept | None:
        with self._lock:
            now = time.monotonic()
            self._observe(state, now)
            kept = self._kept.get(key)
            if kept is not None and kept.state != state:
                if kept.state is None or not self._lagging(kept.state, state, now):
                    kept = None
            if kept is None:
                self.misses += 1
                return None
            self._kept.move_to_end(key)
            self.hits += 1
            return kept

    def put(self, key: Hashable, kept: Kept) -> None:
        if len(kept.body) > min(MAX_ENTRY_BYTES, self.max_bytes):
            return
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self.size -= len(old.body)
            self._kept[key] = kept
            self.size += len(kept.body)
            while self.size > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self.size -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._kept)


def account_slot() -> Markup:
    """The account links of the page header: a slot filled per request on kept pages."""
    if g.get("page_cache_key") is not None:
        return Markup(SLOT)
    return Markup(render_template("_account.html"))


def record_audit(action: str, target: str, detail: object) -> None:
    """Note an audit entry the page being kept writes (webapp.auth.audit and audit_many)."""
    kept = g.get("page_cache_audits")
    if kept is not None:
        kept.append((action, target, detail))


def _key() -> tuple[Hashable, State] | None:
    """(who asks for what, the state of the store and the index), or None: not kept."""
    from webapp import site
    from webapp.auth import current_reader, ui_language

    if request.method != "GET" or request.endpoint not in ENDPOINTS:
        return None
    headers = request.headers
    if any(h in headers for h in ("If-None-Match", "If-Modified-Since", "Range", "If-Range")):
        return None
    reader = current_reader()
    if reader.curates or reader.administers:
        return None
    s = site()
    return (
        request.host,
        request.path,
        request.query_string,
        headers.get("Accept", ""),
        headers.get("Origin", ""),
        ui_language(),
        reader.role,
        reader.grants,
        tuple(s.visible_graphs(reader)),
        s.today(),
    ), (
        (s.store.change_generation, record_index.changes(s.settings)),
        (s.store.generation, record_index.generation(s.settings)),
    )


def init_app(app: Flask, max_bytes: int, lag_s: float = 0.0) -> PageCache | None:
    """Keep answers of `app` in at most `max_bytes` (0: keep nothing, but still render the
    account slot of answers that could be kept, as a page worker does for the serving process).
    Call after every other before/after-request hook is registered: the kept body is the view's
    own, before masking and headers, which run again on every answer."""
    app.jinja_env.globals["account_slot"] = account_slot
    cache = PageCache(max_bytes, lag_s) if max_bytes > 0 else None
    if cache is not None:
        app.extensions["kho-pages"] = cache

    @app.before_request
    def answer_kept() -> Response | None:
        asked = _key()
        if asked is None:
            return None
        g.page_cache_key, g.page_cache_state = asked
        g.page_cache_audits = []
        kept = cache.get(*asked) if cache is not None else None
        if kept is None:
            return None
        g.page_cache_hit = True
        _replay(kept.audits)
        response = Response(kept.body, status=kept.status)
        response.headers.clear()
        for name, value in kept.headers:
            response.headers.add(name, value)
        return response

    @app.after_request
    def keep(response: Response) -> Response:
        key = g.get("page_cache_key")
        if key is None or response.direct_passthrough or response.is_streamed:
            return response
        body = response.get_data()
        hit = bool(g.get("page_cache_hit"))
        response.headers["X-Kho-Cache"] = "hit" if hit else "miss"  # as Varnish's X-Cache
        if cache is not None and not hit and response.status_code in KEPT_STATUSES:
            headers = tuple(
                (k, v) for k, v in response.headers.items() if k.lower() not in _DROPPED_HEADERS
            )
            audits = tuple(g.get("page_cache_audits") or ())
            state, at = g.get("page_cache_state"), time.monotonic()
            cache.put(key, Kept(response.status_code, headers, body, audits, state, at))
        if request.environ.get(RAW):  # a page worker's answer to the serving process, which
            request.environ[AUDITS] = list(g.get("page_cache_audits") or ())  # keeps it
            return response
        if _SLOT_BYTES in body:
            g.page_cache_key = None  # the slot's own rendering is the reader's
            own = render_template("_account.html").encode()
            response.set_data(body.replace(_SLOT_BYTES, own))
        return response

    return cache


def _replay(audits: tuple[tuple[str, str, object], ...]) -> None:
    from webapp.auth import audit, audit_many

    for action, target, detail in audits:
        if isinstance(detail, list):
            audit_many(action, detail)
        else:
            audit(action, target, str(detail))
