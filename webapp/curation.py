"""Archivists' actions in the UI: the quality-flag list, confirming or overturning a flag, editing a
hồ sơ's retention decision. Each change is recorded as provenance (who, when, what) by the core
(repository.dedup.set_review, repository.retention.confirm); researchers and the public get 404.
An archivist acts only on what the curation graphs they see hold: a secret record's flags need the
secret grant.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request

from repository import dedup, record_detail, retention
from repository.errors import BadRequest, NotFound
from repository.preservation import VN_TZ
from repository.text import nfc
from webapp import auth, site

bp = Blueprint("curation", __name__)
NOTE_MAX = 500


def _curation_graphs() -> list[str]:
    return [g for g in site().visible_graphs() if g.endswith("/curation")]


def _back(default: str) -> str:
    """Only local paths: never send an archivist to another site after a form."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def _note() -> str | None:
    note = nfc(request.form.get("note", "")).strip()
    if len(note) > NOTE_MAX:
        raise BadRequest(
            f"Ghi chú quá dài / The note is too long: keep it under {NOTE_MAX} characters."
        )
    return note or None


@bp.get("/curation/flags")
def flags() -> str:
    """Every flag the archivist may see, by review status and kind."""
    auth.require_curator()
    status = request.args.get("status") or None
    kind = request.args.get("kind") or None
    statuses = (*dedup.FLAG_STATUSES, *dedup.REVIEW_OUTCOMES)
    if status and status not in statuses:
        raise BadRequest(f"Unknown status {status!r}: use one of {', '.join(statuses)}.")
    if kind and kind not in dedup.FLAG_KINDS:
        raise BadRequest(f"Unknown kind {kind!r}: use one of {', '.join(dedup.FLAG_KINDS)}.")
    graphs = _curation_graphs()
    s = site()
    found = dedup.list_flags(s.store, status=status, kind=kind, graphs=graphs) if graphs else []
    record_detail.attach_reviews(s.store, found, graphs)
    names = record_detail.identifiers(s.store, [f["resource"] for f in found], s.visible_graphs())
    return render_template(
        "flags.html",
        flags=found,
        names=names,
        status=status,
        kind=kind,
        statuses=statuses,
        kinds=dedup.FLAG_KINDS,
    )


@bp.post("/curation/flags/review")
def review() -> Response:
    """Confirm or overturn one flag (form: flag, outcome, note, next)."""
    reader = auth.require_curator()
    flag = request.form.get("flag", "")
    outcome = request.form.get("outcome", "")
    if outcome not in dedup.REVIEW_OUTCOMES:
        raise BadRequest(
            "Chọn Xác nhận hoặc Bác bỏ. / Choose Confirm or Overturn (outcome must be confirmed "
            "or overturned)."
        )
    graphs = _curation_graphs()
    if not flag or not graphs:
        raise NotFound(f"Không có cờ này / No quality flag {flag}.")
    dedup.set_review(
        site().store,
        flag,
        outcome,
        reader.name or "",
        datetime.now(VN_TZ),
        graphs=graphs,
        note=_note(),
    )
    auth.audit("flag-review", flag, outcome)
    return redirect(_back("/curation/flags"), code=303)  # type: ignore[return-value]


@bp.post("/curation/retention", endpoint="retention")
def retention_edit() -> Response:
    """A new appraisal of a hồ sơ's retention (form: hoso, code, years, basis, note, next)."""
    reader = auth.require_curator()
    s = site()
    hoso = request.form.get("hoso", "")
    graphs = s.visible_graphs()
    kind, _, _ = record_detail.locate(s.store, s.minter, hoso, graphs) if hoso else ("", "", "")
    if kind != "hoso":
        raise NotFound(f"Không có hồ sơ này / No hồ sơ {hoso}.")
    code_ = request.form.get("code", "")
    years_text = request.form.get("years", "").strip()
    try:
        years = int(years_text) if years_text else None
    except ValueError as exc:
        raise BadRequest(
            f"Số năm phải là số / Years must be a whole number, not {years_text!r}."
        ) from exc
    basis = nfc(request.form.get("basis", "")).strip()
    if not basis:
        raise BadRequest(
            "Ghi căn cứ của quyết định. / Give the basis of the decision (the rule or document "
            "it follows)."
        )
    retention.confirm(
        s.store,
        hoso,
        code_,
        reader.name or "",
        datetime.now(VN_TZ),
        basis,
        years=years,
        graphs=graphs,
        note=_note(),
    )
    auth.audit("retention-edit", hoso, code_)
    default = "/" + (s.minter.local_path(hoso) or "") + "#retention"
    return redirect(_back(default), code=303)  # type: ignore[return-value]
