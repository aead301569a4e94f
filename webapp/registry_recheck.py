"""Archivists re-check registry links from the web (issue 5): POST /registries/recheck with the
links selected on /registries, every link not verified there (its status filter applies), or the
"Kiểm tra lại / Check again" button of one link on a record or hồ sơ page.

Curators only (others: 404); CSRF-checked like every form (webapp.auth); only links living in
graphs the archivist sees (a secret record's links need the secret grant; a link they may not
see does not exist: 404, and nothing is checked). At most RECHECK_LIMIT links per request — more
is `kho registries verify`'s work. The registries are asked past their cache, the answers are
written in one transaction (repository.registry_verify.check: a registry error keeps what Kho
knew), the records whose links changed are re-indexed, the re-check is audited, and the archivist
goes back where they came from with a bilingual summary (statuses before → after; a registry that
did not answer, and what to do).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Response, jsonify, redirect, request, session
from whoosh.index import LockError

from harvesters.registries import Registries
from repository import link_detail, record_index, registry_verify
from repository.errors import BadRequest, NotFound
from repository.namespaces import RECORD_GRAPHS, Minter
from repository.registry_report import VerifyReport
from webapp import auth, site
from webapp.errors import wants_html
from webapp.registries import RECHECK_LIMIT, RECHECK_SUMMARY, bp

log = logging.getLogger("kho.registries")
GIVE_UP_AFTER = 3  # registry errors in a row before a re-check stops asking that registry
SHOWN = 8  # status changes listed one by one in the summary (the session cookie stays small)
NOTE_MAX = 240  # characters of a registry's message kept in the summary
INDEX_WAIT_SECONDS = 2.0  # a page waits this long for the records index (an ingest may hold it)


def _back(default: str) -> str:
    """Only local paths: never send an archivist to another site after a form."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def _requested(graphs: list[str]) -> list[str]:
    """The link IRIs the form names: the selected ones, or every link not verified (in the
    status filter of /registries) that the archivist sees."""
    if request.form.get("scope") == "failed":
        status = request.form.get("status") or None
        if status is not None and status not in link_detail.STATUSES:
            raise BadRequest(
                f"Trạng thái không hợp lệ «{status}» / unknown status {status!r}; "
                f"use one of {', '.join(link_detail.STATUSES)}."
            )
        found = link_detail.unverified(site().store, graphs, status, limit=RECHECK_LIMIT + 1)
        return sorted({lk.iri for lk in found})
    return sorted({i.strip() for i in request.form.getlist("link") if i.strip()})


@bp.post("/registries/recheck")
def recheck() -> Response:
    """Ask the registries again about the links the form names (fields: link…, or scope=failed
    [status]; next) and write their answers."""
    auth.require_curator()
    s = site()
    graphs = s.visible_graphs()
    iris = _requested(graphs)
    if not iris:
        raise BadRequest(
            "Chưa chọn liên kết nào để kiểm tra lại. / No link was chosen to check again: tick "
            "the links on /registries, or use a link's «Kiểm tra lại / Check again» button."
        )
    if len(iris) > RECHECK_LIMIT:
        raise BadRequest(
            f"Mỗi lần chỉ kiểm tra lại được tối đa {RECHECK_LIMIT} liên kết (đã chọn "
            f"{len(iris)}{'+' if request.form.get('scope') == 'failed' else ''}); chọn ít hơn, "
            "hoặc chạy «kho registries verify --status registry-error» trên máy chủ. / At most "
            f"{RECHECK_LIMIT} links can be checked again at once: choose fewer, or run "
            "`kho registries verify --status registry-error` (or `--status all`) on the server."
        )
    links = registry_verify.read_links(s.store, s.settings, only=iris, graphs=graphs)
    if len(links) < len(iris):
        raise NotFound(
            f"{len(iris) - len(links)} liên kết đã chọn không có (hoặc bạn không được xem); chưa "
            f"kiểm tra lại liên kết nào. / {len(iris) - len(links)} of the chosen registry links "
            "do not exist (or are not yours to see): no link was checked."
        )
    with Registries(s.settings) as registries:
        report = registry_verify.check(
            s.store,
            s.settings,
            registries,
            links,
            refresh=True,
            chunk=len(links),  # one transaction: all of the answers or none
            give_up_after=GIVE_UP_AFTER,
        )
    records = _records(report, links, s.minter)
    reindexed = _reindex(sorted(records))
    summary = _summary(report, links, reindexed)
    summary["index_stale"] = reindexed < len(records)
    auth.audit(
        "registry-recheck",
        links[0].iri if len(links) == 1 else f"{len(links)} registry links",
        _detail(summary),
    )
    if not wants_html():
        return jsonify({"ok": True, **summary})
    session[RECHECK_SUMMARY] = summary
    return redirect(_back("/registries#unverified"), code=303)  # type: ignore[return-value]


def _records(report: VerifyReport, links: list[registry_verify.Link], minter: Minter) -> set[str]:
    """The records and hồ sơ among the changed subjects (agencies and units are not indexed)."""
    graphs = {minter.records_graph(level) for level in RECORD_GRAPHS}
    return report.changed_subjects & {lk.subject for lk in links if lk.graph in graphs}


def _reindex(records: list[str]) -> int:
    """Re-index the records whose links changed; 0 when the index is busy (another writer holds
    it): the links are written, and the summary says to run `kho reindex`."""
    if not records:
        return 0
    s = site()
    try:
        record_index.update(s.store, s.settings, records, wait=INDEX_WAIT_SECONDS)
    except (record_index.IndexBusy, LockError, OSError) as exc:
        log.warning("registry re-check: the records index was not updated (%s)", exc)
        return 0
    return len(records)


def _summary(
    report: VerifyReport, links: list[registry_verify.Link], reindexed: int
) -> dict[str, object]:
    """What the archivist is told, JSON-ready (kept in the session until shown)."""
    after: dict[str, int] = {}
    for by_status in report.counts.values():
        for status, n in by_status.items():
            if n:
                after[status] = after.get(status, 0) + n
    failing: dict[str, dict[str, str]] = {}  # registries that did not answer, first message
    for e in report.errors:
        failing.setdefault(
            e["registry"],
            {
                "registry": e["registry"],
                "message_vi": e["message_vi"][:NOTE_MAX],
                "message_en": e["message_en"][:NOTE_MAX],
            },
        )
    for e in report.skipped:
        failing.setdefault(e["registry"], {"registry": e["registry"]})
    transitions = []
    for key, n in sorted(report.transitions.items()):
        before, _, later = key.partition(" → ")
        transitions.append({"before": before, "after": later, "n": n})
    return {
        "requested": len(links),
        "checked": report.links,
        "statuses": after,
        "transitions": transitions,
        "unchanged": report.links - len(report.changes),
        "changes": [
            {k: c[k] for k in ("link", "subject", "before", "after")}
            for c in report.changes[:SHOWN]
        ],
        "more_changes": max(0, len(report.changes) - SHOWN),
        "failing": sorted(failing.values(), key=lambda d: d["registry"]),
        "skipped": len(report.skipped),
        "reindexed": reindexed,
    }


def _detail(summary: dict[str, object]) -> str:
    """The audit entry's detail: counts only (no identifier, so never a citizen's number)."""
    moved = "; ".join(
        f"{t['before']} → {t['after']} {t['n']}"
        for t in summary["transitions"]  # type: ignore[attr-defined]
    )
    down = ", ".join(d["registry"] for d in summary["failing"])  # type: ignore[attr-defined]
    return (
        f"checked {summary['checked']} of {summary['requested']}"
        + (f"; {moved}" if moved else "; no status changed")
        + (f"; registry not answering: {down}" if down else "")
        + (f"; not asked {summary['skipped']}" if summary["skipped"] else "")
    )
