"""The error handlers: the one place that turns exceptions into responses.

HTML requests get error.html (the SPARQL workbench shows its own errors in place). Everything else
gets one JSON shape: {"ok": false, "error": msg, "errors": [msg, ...], "status": N}.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from repository.errors import KhoError

log = logging.getLogger(__name__)

_HTML = ("text/html", "application/xhtml+xml")
_NOT_HTML = (
    "application/json",
    "application/ld+json",
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/turtle",
    "application/n-triples",
    "text/csv",
    "text/tab-separated-values",
)


def wants_html() -> bool:
    """True unless the client prefers a non-HTML type (no Accept or */* means a browser page)."""
    best = request.accept_mimetypes.best_match([*_HTML, *_NOT_HTML])
    return best is None or best in _HTML


def error_response(message: str, status: int, details: list[str] | None = None) -> Response:
    errors = [message, *(details or [])]
    if wants_html():
        template = "error.html"
        context: dict[str, object] = {
            "message": message,
            "details": details or [],
            "status": status,
        }
        if request.endpoint == "sparql.endpoint":
            from webapp.sparql import workbench_context

            template = "sparql.html"
            context = workbench_context(error=message)
        response = Response(
            render_template(template, **context), status=status, mimetype="text/html"
        )
    else:
        response = jsonify({"ok": False, "error": message, "errors": errors, "status": status})
        response.status_code = status
    response.vary.add("Accept")
    return response


def register(app: Flask) -> None:
    @app.errorhandler(KhoError)
    def kho_error(exc: KhoError) -> Response:
        if exc.status >= 500:
            log.error("%s: %s", request.path, exc.message)
        response = error_response(exc.message, exc.status, exc.details)
        retry_after = getattr(exc, "retry_after", None)  # busy, not broken: when to come back
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        messages = {
            404: f"Không có trang này / No page at {request.path}.",
            405: f"{request.method} is not allowed on {request.path}.",
            413: "Yêu cầu quá lớn. / The request is too large: Kho reads forms and SPARQL "
            "queries of at most a few megabytes; send less.",
        }
        return error_response(messages.get(status, exc.description or exc.name), status)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("Unexpected error on %s", request.path)
        return error_response(
            "Lỗi máy chủ / Internal error: the request could not be completed. "
            "It has been logged; try again, or report it with the URL.",
            500,
        )
