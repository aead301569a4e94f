"""Blueprint for the HTML pages: home, the lists of units valid on a day, and search."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, jsonify, render_template, request

from repository import access, gazetteer, record_index, search_index
from repository.errors import BadRequest
from repository.text import nfc
from webapp import negotiation, site
from webapp.auth import current_reader
from webapp.errors import wants_html
from webapp.examples import EXAMPLES
from webapp.listing import ListedUnit, province_name, units_on

bp = Blueprint("browse", __name__)

REFORM_EVE, REFORM_DAY = "2025-06-30", "2025-07-01"
SEARCH_LIMIT = 100


@bp.get("/")
def home() -> str:
    s = site()
    return render_template(
        "home.html",
        counts=s.counts(),
        eve=REFORM_EVE,
        day=REFORM_DAY,
        context_url=negotiation.context_url(s.settings.base_iri),
        examples_query=EXAMPLES[0].query,
    )


def _day(value: str | None) -> date:
    if not value:
        return site().today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-06-30."
        ) from None


@bp.get("/units")
def units() -> str:
    """Units valid on ?on= (default today): provinces, or those of ?province= at ?level=."""
    day = _day(request.args.get("on"))
    province = (request.args.get("province") or "").strip() or None
    level = (request.args.get("level") or "").strip() or None
    listed = units_on(site().store, day, province, level)
    # Grouped under their parents, in code order (GSO codes order units within a province).
    by_parent: dict[tuple[str | None, str | None], list[ListedUnit]] = {}
    for item in sorted(listed, key=lambda u: (len(u.unit.code), u.unit.code)):
        by_parent.setdefault((item.parent_iri, item.parent_name), []).append(item)
    groups = list(by_parent.items())
    return render_template(
        "units.html",
        day=day.isoformat(),
        province=province,
        level=level,
        groups=groups,
        total=len(listed),
        province_name=province_name(site().store, province, day) if province else None,
        eve=REFORM_EVE,
        reform=REFORM_DAY,
    )


@bp.get("/search")
def search() -> Response | str:
    """Accent-blind search over unit names and codes; JSON when the client asks for it."""
    q = nfc(request.args.get("q") or "").strip()
    level = request.args.get("level") or None
    era = request.args.get("era") or None
    s = site()
    hits: list[search_index.SearchHit] = []
    missing = not search_index.index_exists(s.settings)
    if q and not missing:
        hits = search_index.search(s.settings, q, SEARCH_LIMIT, level=level, era=era)
    if not wants_html():
        if missing:
            raise search_index.IndexMissing(
                "The search index has not been built yet. Run `kho index` to build it."
            )
        return jsonify({"ok": True, "q": q, "hits": [h.to_json() for h in hits]})
    grouped = {e: [h for h in hits if h.era == e] for e in ("before", "both", "after")}
    return render_template(
        "search.html",
        q=q,
        level=level,
        era=era,
        hits=hits,
        grouped=grouped,
        missing=missing,
        limit=SEARCH_LIMIT,
    )


FACET_NAMES = {
    "kind": ("Loại", "Kind"),
    "block": ("Khối", "Block"),
    "level": ("Cấp", "Level"),
    "doctype": ("Tên loại", "Document type"),
    "year": ("Năm", "Year"),
    "unit": ("Đơn vị hành chính", "Administrative unit"),
    "agency": ("Cơ quan", "Agency"),
    "access": ("Mức độ tiếp cận", "Access"),
}
FACET_VALUES = {
    "kind": {"hoso": ("Hồ sơ", "File"), "record": ("Tài liệu", "Record")},
    "block": {
        "chinh-quyen": ("Khối chính quyền", "Government"),
        "dang": ("Khối Đảng", "Party"),
        "doan-the": ("Khối đoàn thể", "Mass organisations"),
    },
    "level": {
        "province": ("Cấp tỉnh", "Province"),
        "district": ("Cấp huyện", "District"),
        "commune": ("Cấp xã", "Commune"),
    },
    "access": {"01": ("Công khai", "Public")},
}
PER_PAGE = 20


@bp.get("/records")
def records() -> Response | str:
    """Faceted, accent-blind search over hồ sơ and documents; JSON when the client asks for it."""
    s = site()
    q = nfc(request.args.get("q") or "").strip()
    filters = {name: (request.args.get(name) or "").strip() for name in record_index.FACETS}
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        raise BadRequest("page must be a whole number, e.g. page=2.") from None
    missing = not record_index.index_path(s.settings).is_dir()
    results = record_index.RecordResults(0, [])
    if not missing:
        results = record_index.search(
            s.settings,
            q,
            filters=filters,
            access=access.visible_access_levels(current_reader()),
            page=page,
            per_page=PER_PAGE,
        )
    if not wants_html():
        return jsonify({"ok": True, "q": q, "page": page, **results.to_json()})

    shown = [v for n in ("unit", "agency") for v, _ in results.facets.get(n, [])[:12]]
    names = gazetteer.labels_of(s.store, shown)

    def facet_label(name: str, value: str) -> str:
        pair = FACET_VALUES.get(name, {}).get(value)
        if name == "doctype":
            pair = s.vocabulary.code(value)
        if pair:
            return f"{pair[0]} / {pair[1]}"
        return names.get(value, value)

    return render_template(
        "records.html",
        q=q,
        filters=filters,
        active={k: v for k, v in filters.items() if v},
        results=results,
        missing=missing,
        page=page,
        per_page=PER_PAGE,
        FACET_NAMES=FACET_NAMES,
        FACET_VALUES=FACET_VALUES,
        facet_label=facet_label,
    )
