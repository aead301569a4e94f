"""Blueprint for the digitisation progress dashboard: per priority group and per unit valid today,
hồ sơ and pages landed (validated), digitised, OCR'd and flagged, over what the reader may see."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, render_template, request

from repository import gazetteer, progress
from repository.priority import GROUP_LABELS
from webapp import site
from webapp.auth import current_reader
from webapp.errors import wants_html

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard", endpoint="progress")
def progress_page() -> Response | str:
    """HTML, or JSON with ?format=json or an Accept header that prefers it."""
    s = site()
    reader = current_reader()
    started = time.perf_counter()
    board = progress.dashboard(s.store, s.visible_graphs(), s.today(), with_flags=reader.curates)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    names = gazetteer.labels_of(s.store, sorted({*board.units, *_former(board)}))
    units = sorted(board.units.values(), key=lambda p: (-p.hoso, names.get(p.key, p.key)))
    if request.args.get("format") == "json" or not wants_html():
        body = board.to_json()
        for iri, row in body["units"].items():  # type: ignore[attr-defined]
            row["name"] = names.get(iri, iri)
        return jsonify({"ok": True, "elapsed_ms": elapsed_ms, **body})
    return render_template(
        "dashboard.html",
        board=board,
        units=units,
        names=names,
        GROUP_LABELS=GROUP_LABELS,
        elapsed_ms=elapsed_ms,
    )


def _former(board: progress.Dashboard) -> set[str]:
    return {iri for p in board.units.values() for iri in p.former}
