"""Registry links on the web (docs/registries.md, issue 5): the links shown on record, hồ sơ,
agency and unit pages (template helpers), /registries (counts for everyone; archivists: what
failed and why), archivists' re-checks (POST /registries/recheck, webapp.registry_recheck) and
pseudonymous citizens' pages /id/person/<pseudonym>.

Everything reads repository.link_detail over site().visible_graphs(): a link of a record the
reader may not see does not exist. A citizen's number is only ever read from a personal graph
(readers with the `personal` grant), and showing it writes an audit entry.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, jsonify, render_template, request, session

from repository import link_detail
from repository.errors import BadRequest, NotFound
from repository.link_detail import Link
from webapp import auth, negotiation, site
from webapp.errors import wants_html

bp = Blueprint("registries", __name__)

# (Vietnamese, English) words of these pages.
REGISTRY_NAMES = {
    "population": ("CSDL quốc gia về dân cư", "National population database"),
    "land": ("CSDL quốc gia về đất đai", "National land database"),
    "enterprise": (
        "CSDL quốc gia về đăng ký doanh nghiệp",
        "National business registration database",
    ),
    "officials": ("CSDL cán bộ, công chức, viên chức", "Officials and civil servants database"),
}
STATUS_LABELS = {
    "verified": ("đã xác minh", "verified"),
    "not-found": ("không tìm thấy", "not found"),
    "registry-error": ("lỗi sổ đăng ký", "registry error"),
    "unchecked": ("chưa kiểm tra", "not yet checked"),
}
KIND_LABELS = {
    "citizen": ("Công dân (mã ẩn danh)", "Citizen (pseudonymous)"),
    "land": ("Thửa đất", "Land parcel"),
    "enterprise": ("Doanh nghiệp", "Enterprise"),
    "official": ("Cán bộ, công chức", "Official"),
    "agency": ("Cơ quan", "Agency"),
    "unit": ("Đơn vị hành chính", "Administrative unit"),
}
SOURCE_LABELS = {
    "text": ("trích từ nội dung văn bản", "extracted from the text"),
    "sheet": ("từ bảng kê siêu dữ liệu", "from the metadata sheet"),
    "agency": ("từ danh mục cơ quan", "from Kho's agencies"),
    "unit": ("từ danh mục đơn vị hành chính", "from Kho's units"),
}
UNVERIFIED_LIMIT = 500
RECHECK_LIMIT = 200  # links one web request may re-check; more: `kho registries verify`
RECHECK_SUMMARY = "registry_recheck"  # session key of the last re-check's summary
PSEUDONYM = re.compile(r"[a-z2-7]{26}")  # repository.identifiers.pseudonym


def _audit_numbers(target: str, links: list[Link]) -> None:
    """Showing a citizen's number is reading personal data (ND 13/2023): one entry per page."""
    shown = [lk for lk in links if lk.number]
    if shown:
        auth.audit("read-restricted", target, f"personal: {len(shown)} citizen number(s) shown")


def _audit_subjects(subjects: dict[str, link_detail.Subject], what: str) -> None:
    """Listing a conditional or secret record (its title) is reading restricted material."""
    auth.audit_many(
        "read-restricted",
        [(s.iri, f"{what}, level {s.level}") for s in subjects.values() if s.level != "01"],
    )


def record_links(iri: str, links: list[Link]) -> dict[str, object]:
    """What a record or hồ sơ page shows of `links` (from record_detail): the links, and the
    documents they belong to when not the page's own; audited if they carry a citizen's number."""
    _audit_numbers(iri, links)
    others = [lk.subject for lk in links if lk.subject != iri]
    subjects = link_detail.subjects(site().store, others, site().visible_graphs()) if others else {}
    return {"links": links, "subjects": subjects}


def unit_registry(iri: str) -> dict[str, object]:
    """A unit page's registry section: its own link(s) and the record links to parcels
    registered in it (on their key date) or lying in it today, with the records citing them."""
    s = site()
    graphs = s.visible_graphs()
    own = link_detail.links_of(s.store, [iri], graphs)
    parcels = link_detail.parcels_in_unit(s.store, iri, graphs)
    subjects = link_detail.subjects(s.store, [lk.subject for lk in parcels], graphs)
    _audit_subjects(subjects, "parcel on a unit page")
    return {
        "own": own,
        "cited": [lk for lk in parcels if lk.subject in subjects],
        "subjects": subjects,
    }


def agency_registry(iri: str) -> dict[str, object]:
    """An agency page's registry section: its own link and the officials of this agency cited
    in records, with the records citing them."""
    s = site()
    graphs = s.visible_graphs()
    own = link_detail.links_of(s.store, [iri], graphs)
    officials = link_detail.officials_of_agency(s.store, iri, graphs)
    subjects = link_detail.subjects(s.store, [lk.subject for lk in officials], graphs)
    _audit_subjects(subjects, "official on an agency page")
    return {
        "own": own,
        "cited": [lk for lk in officials if lk.subject in subjects],
        "subjects": subjects,
    }


def recheck_summary() -> dict[str, object] | None:
    """What the archivist's last re-check changed (shown once, on the page it came back to)."""
    return session.pop(RECHECK_SUMMARY, None)  # type: ignore[no-any-return]


@bp.app_context_processor
def helpers() -> dict[str, object]:
    return {
        "recheck_summary": recheck_summary,
        "RECHECK_LIMIT": RECHECK_LIMIT,
        "registry_links": record_links,
        "unit_registry": unit_registry,
        "agency_registry": agency_registry,
        "REGISTRY_NAMES": REGISTRY_NAMES,
        "STATUS_LABELS": STATUS_LABELS,
        "KIND_LABELS": KIND_LABELS,
        "SOURCE_LABELS": SOURCE_LABELS,
    }


# -- /registries ----------------------------------------------------------------------------------


@bp.get("/registries")
def summary() -> Response | str:
    """Links per registry and status over what the reader may see; archivists also get the
    links that are not verified, with what went wrong and what to do (?status= narrows it)."""
    s, reader = site(), auth.current_reader()
    graphs = s.visible_graphs()
    status = request.args.get("status") or None
    if status is not None and status not in link_detail.STATUSES:
        raise BadRequest(
            f"Trạng thái không hợp lệ «{status}» / unknown status {status!r}; "
            f"use one of {', '.join(link_detail.STATUSES)}."
        )
    counts = link_detail.counts(s.store, graphs)
    failed: list[Link] = []
    subjects: dict[str, link_detail.Subject] = {}
    if reader.curates:
        failed = link_detail.unverified(s.store, graphs, status, limit=UNVERIFIED_LIMIT)
        subjects = link_detail.subjects(s.store, [lk.subject for lk in failed], graphs)
        _audit_subjects(subjects, "unverified registry link")
    if not wants_html():
        return jsonify(
            {
                "ok": True,
                "counts": counts,
                "unverified": [_link_json(lk) for lk in failed] if reader.curates else None,
            }
        )
    return render_template(
        "registries.html",
        counts=counts,
        statuses=link_detail.STATUSES,
        failed=failed,
        subjects=subjects,
        status=status,
        limit=UNVERIFIED_LIMIT,
    )


def _link_json(lk: Link) -> dict[str, object]:
    return {
        "link": lk.iri,
        "subject": lk.subject,
        "kind": lk.kind,
        "registry": lk.registry,
        "source": lk.source,
        "status": lk.status,
        "checkedAt": lk.checked_at,
        "note": {"vi": lk.note_vi, "en": lk.note_en},
        "target": lk.target,
    }


# -- pseudonymous citizens ------------------------------------------------------------------------


@bp.get("/id/person/<pseudonym>")
def person(pseudonym: str) -> Response:
    """A pseudonymous citizen: the records the reader may see that reference them (404 when
    none); the number only for readers with the `personal` grant. HTML, Turtle, N-Triples or
    JSON-LD by suffix or Accept, like every other IRI."""
    s = site()
    stem, ext = negotiation.split_suffix(pseudonym)
    if not PSEUDONYM.fullmatch(stem):
        raise NotFound(f"Kho has no citizen {stem!r}: a pseudonym is 26 base32 characters.")
    iri = s.minter.person(stem)
    graphs = s.visible_graphs()
    links = link_detail.person_links(s.store, iri, graphs)
    subjects = link_detail.subjects(s.store, [lk.subject for lk in links], graphs)
    links = [lk for lk in links if lk.subject in subjects]
    if not links:
        raise NotFound(f"Kho has no resource {iri}.")
    fmt = negotiation.best_format(ext)
    _audit_subjects(subjects, "citizen's records")
    if fmt == "html":
        _audit_numbers(iri, links)
        response = Response(
            render_template(
                "person.html",
                iri=iri,
                links=links,
                subjects=subjects,
                numbers=sorted({lk.number for lk in links if lk.number}),
            ),
            mimetype="text/html",
        )
    else:
        triples = link_detail.person_triples(s.store, iri, graphs)
        if any(lk.number for lk in links):
            _audit_numbers(iri, links)
        response = negotiation.rdf_response(triples, fmt, s.settings.base_iri, main=iri)
    response.vary.add("Accept")
    response.headers["Link"] = ", ".join(
        f'<{request.path.rsplit(".", 1)[0] if ext else request.path}.{sfx}>; rel="alternate"; '
        f'type="{mt}"'
        for sfx, mt in negotiation.MEDIA_TYPES.items()
    )
    return response


from webapp import registry_recheck  # noqa: E402,F401  (its routes join this blueprint)
