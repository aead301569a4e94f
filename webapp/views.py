"""What every page shares: links to our IRIs, label helpers for templates, and response headers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from flask import Flask, Response, abort, request, url_for

from repository.access import mask_personal
from repository.text import nfc
from webapp import labels, site
from webapp.auth import current_reader

_MASKED_TYPES = re.compile(
    r"^(text/|application/(json|ld\+json|xml|rdf\+xml|n-triples|n-quads|trig|turtle|"
    r"sparql-results\+(json|xml)|problem\+json))"
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Nothing on a page may come from the network: styles, images and forms stay on this host.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def local_href(iri: str | None) -> str | None:
    """The path this app serves `iri` at, when it is one of ours ({base}id/... -> /id/...)."""
    if not iri:
        return None
    path = site().minter.local_path(iri)
    return "/" + quote(path, safe="/-_.~:@!$&'()*+,;=") if path is not None else None


def resource_href(iri: str) -> str | None:
    """A link for any IRI the store describes: ours locally, vocabulary terms via /describe."""
    local = local_href(iri)
    if local:
        return local
    if site().vocabulary.get(iri):
        return url_for("resources.describe", iri=iri)
    return None


def hanoi_time(epoch: float) -> str:
    """A moment as Hanoi reads it (UTC+7, no daylight saving): 14:05:09 26/11/2026."""
    moment = datetime.fromtimestamp(epoch, timezone(timedelta(hours=7)))
    return moment.strftime("%H:%M:%S %d/%m/%Y")


def register(app: Flask) -> None:
    app.jinja_env.globals.update(
        href=local_href,
        resource_href=resource_href,
        LEVELS=labels.LEVELS,
        ERAS=labels.ERAS,
        RELATIONS=labels.RELATIONS,
        PORTIONS=labels.PORTIONS,
        TYPES=labels.TYPES,
        vocab=lambda: site().vocabulary,
        curie=labels.curie,
    )
    app.jinja_env.filters["nfc"] = lambda s: nfc(str(s)) if s is not None else ""
    app.jinja_env.filters["hanoi_time"] = hanoi_time
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.before_request
    def refuse_control_characters() -> None:
        """A path with a NUL or another control character names nothing Kho serves (record
        keys would otherwise fold it away and answer for the record without it)."""
        if _CONTROL.search(request.path):
            abort(404)

    @app.after_request
    def mask_personal_numbers(response: Response) -> Response:
        """The last guard of ND 13/2023: whatever a page, API or protocol answer carries (a flag's
        extracted value, a note, a literal nobody thought of), a citizen's number leaves masked
        unless the reader holds the `personal` grant. Files stream untouched (their routes mask or
        withhold them)."""
        if response.direct_passthrough or response.is_streamed:
            return response
        if not _MASKED_TYPES.match(response.mimetype or ""):
            return response
        reader = current_reader()
        if reader.sees_personal:
            return response
        text = response.get_data(as_text=True)
        masked = mask_personal(text, reader)
        if masked != text:
            response.set_data(masked)
        return response

    @app.after_request
    def headers(response: Response) -> Response:
        csp = response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # frame-ancestors for today's browsers, X-Frame-Options for older ones: only the record
        # page may frame a record's PDF; nothing else is framed, on any site.
        framed = "frame-ancestors 'self'" in csp
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN" if framed else "DENY")
        return response
