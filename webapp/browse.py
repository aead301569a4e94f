"""Blueprint for the HTML pages: home, the lists of units valid on a day, unit search, the faceted
records search and the browse pages (by unit old and new, agency, holder, fonds, hồ sơ, document
type, year). Every count and list is over what the reader may see."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from repository import access, gazetteer, holdings, record_index, search_index
from repository.errors import BadRequest, NotFound
from repository.memo import Memo, store_key
from repository.priority import GROUP_LABELS
from repository.text import nfc
from webapp import negotiation, site
from webapp.auth import audit_many, current_reader
from webapp.errors import wants_html
from webapp.examples import EXAMPLES
from webapp.listing import ListedUnit, lineage_notes, province_name, unit_facts, units_on

bp = Blueprint("browse", __name__)

REFORM_EVE, REFORM_DAY = "2025-06-30", "2025-07-01"
SEARCH_LIMIT = 100


# The longest search text read (characters): a long sentence; a page of words made each search
# take minutes of the web process (100,000 characters: 8 minutes).
MAX_SEARCH_CHARS = 500


def search_words() -> str:
    """The `q` of a search, NFC; longer than MAX_SEARCH_CHARS is refused, saying so."""
    q = nfc(request.args.get("q") or "").strip()
    if len(q) > MAX_SEARCH_CHARS:
        raise BadRequest(
            f"Từ khóa tìm kiếm dài {len(q):,} ký tự, quá giới hạn {MAX_SEARCH_CHARS}. / The "
            f"search text is {len(q):,} characters long, over the limit of {MAX_SEARCH_CHARS}: "
            "search for a few words and narrow the results with the filters."
        )
    return q


@bp.get("/")
def home() -> str:
    s = site()
    return render_template(
        "home.html",
        counts=s.counts(),
        held=holdings.holdings(s.store, s.visible_graphs()),
        GROUP_LABELS=GROUP_LABELS,
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
    q = search_words()
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
    "priority": ("Nhóm ưu tiên", "Priority group"),
    "doctype": ("Tên loại", "Document type"),
    "year": ("Năm", "Year"),
    "unit": ("Đơn vị hành chính", "Administrative unit"),
    "agency": ("Cơ quan tạo lập", "Creating agency"),
    "access": ("Mức độ tiếp cận", "Access"),
    "registry": ("Sổ đăng ký", "Registry"),
    "holder": ("Nơi giữ", "Holder"),
    "fonds": ("Phông", "Fonds"),
    "hoso": ("Hồ sơ", "File"),
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
    "access": {
        "01": ("Công khai", "Public"),
        "02": ("Sử dụng có điều kiện", "Conditional use"),
        "03": ("Mật", "Secret"),
    },
    "priority": {str(g): (f"{g}. {vi}", f"{g}. {en}") for g, (vi, en) in GROUP_LABELS.items()},
    # What a record cites (its registry links); a citizen only as yes/no, never who.
    "registry": {
        "enterprise": ("Dẫn chiếu doanh nghiệp", "Cites an enterprise"),
        "land": ("Dẫn chiếu thửa đất", "Cites a land parcel"),
        "official": ("Dẫn chiếu cán bộ, công chức", "Cites an official"),
        "citizen": ("Dẫn chiếu công dân", "Cites a citizen"),
    },
}
PER_PAGE = 20


def _access() -> set[str]:
    return access.visible_access_levels(current_reader())


def _search(q: str = "", **kwargs: object) -> record_index.RecordResults:
    """The records index, limited to the access levels of the reader *before* any counting."""
    return record_index.search(site().settings, q, access=_access(), **kwargs)  # type: ignore[arg-type]


def _audit_restricted(hits: list[record_index.RecordHit]) -> None:
    """Listing a conditional or secret record (its title) is reading restricted material."""
    audit_many(
        "read-restricted",
        [(h.iri, f"search hit, level {h.access}") for h in hits if h.access in ("02", "03")],
    )  # one transaction for the page


def _labeller(names: dict[str, str]):  # type: ignore[no-untyped-def]
    vocabulary = site().vocabulary

    def facet_label(name: str, value: str) -> str:
        pair = FACET_VALUES.get(name, {}).get(value)
        if name == "doctype":
            pair = vocabulary.code(value)
        if pair:
            return f"{pair[0]} / {pair[1]}"
        return names.get(value, value)

    return facet_label


def _names(results: record_index.RecordResults, extra: list[str]) -> dict[str, str]:
    """Labels of the units, agencies, hồ sơ and fonds a page shows (titles only where visible)."""
    s = site()
    shown = [v for n in ("unit", "agency", "holder") for v, _ in results.facets.get(n, [])[:50]]
    shown += [h.unit for h in results.hits if h.unit]
    names = gazetteer.labels_of(s.store, holdings.iris_only([*shown, *extra]))
    records = [v for n in ("hoso", "fonds") for v, _ in results.facets.get(n, [])] + extra
    names.update(holdings.titles(s.store, holdings.iris_only(records), s.visible_graphs()))
    return names


@bp.get("/records")
def records() -> Response | str:
    """Faceted, accent-blind, lineage-aware search over hồ sơ and documents; JSON on request."""
    s = site()
    q = search_words()
    filters = {name: (request.args.get(name) or "").strip() for name in record_index.FILTERS}
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        raise BadRequest("page must be a whole number, e.g. page=2.") from None
    # exact=1: every hit counted, never estimated on a sample (broad queries of a big archive)
    exact = (request.args.get("exact") or "").strip().lower() in ("1", "true", "yes", "on")
    missing = not record_index.index_path(s.settings).is_dir()
    results = record_index.RecordResults(0, [])
    if not missing:
        results = _search(
            q, filters=filters, page=page, per_page=PER_PAGE, snippets=bool(q), exact=exact
        )
    _audit_restricted(results.hits)
    notes = lineage_notes(s.store, results.hits)
    if not wants_html():
        body = results.to_json()
        for hit in body["hits"]:  # type: ignore[attr-defined]
            note = notes.get(hit["iri"])
            hit["lineage"] = note.to_json() if note else None
        return jsonify({"ok": True, "q": q, "page": page, "exact": exact, **body})
    active = {k: v for k, v in filters.items() if v}
    names = _names(results, list(active.values()))
    return render_template(
        "records.html",
        q=q,
        filters=filters,
        active=active,
        results=results,
        notes=notes,
        missing=missing,
        page=page,
        per_page=PER_PAGE,
        linked=dict(active, exact="1") if exact else active,  # what links to other pages keep
        FACET_NAMES=FACET_NAMES,
        FACET_VALUES=FACET_VALUES,
        SIDEBAR=record_index.FACETS,
        facet_label=_labeller(names),
    )


# -- browse ---------------------------------------------------------------------------------------

# section: (facet, Vietnamese, English)
SECTIONS = {
    "units-old": (
        "unit",
        "Đơn vị hành chính cũ (trước 01/7/2025)",
        "Former units (before 2025-07-01)",
    ),
    "units-new": ("unit", "Đơn vị hành chính hiện nay", "Units today (from 2025-07-01)"),
    "agencies": ("agency", "Cơ quan tạo lập", "Creating agencies"),
    "holders": ("holder", "Nơi giữ tài liệu", "Holders"),
    "fonds": ("fonds", "Phông lưu trữ", "Fonds"),
    "hoso": ("hoso", "Hồ sơ", "Files (hồ sơ)"),
    "types": ("doctype", "Tên loại văn bản", "Document types"),
    "years": ("year", "Năm", "Years"),
}


# Browse lists by (index generation, store generation, the reader's graphs and levels, lists):
# a commit to the index or a write to the store makes the kept ones unreachable.
_MEMO: Memo[dict[str, list[dict[str, object]]]] = Memo(size=16)


def _sections(names: list[str], limit: int | None) -> dict[str, list[dict[str, object]]]:
    s = site()
    key = store_key(
        s.store,
        s.visible_graphs(),
        str(record_index.index_path(s.settings)),
        record_index.generation(s.settings),
        tuple(sorted(_access())),
        tuple(names),
        limit,
    )
    return _MEMO.get(key, lambda: _count_sections(names, limit))


def _count_sections(names: list[str], limit: int | None) -> dict[str, list[dict[str, object]]]:
    facets = sorted({SECTIONS[n][0] for n in names} | {"kind"})
    results = _search("", per_page=1, facets=facets, exact=True)  # lists need every value
    units = unit_facts(site().store, [v for v, _ in results.facets.get("unit", [])])
    label = _labeller(_names(results, []))
    out: dict[str, list[dict[str, object]]] = {}
    for name in names:
        facet = SECTIONS[name][0]
        values = results.facets.get(facet, [])
        if name == "units-old":
            values = [(v, n) for v, n in values if v in units and units[v].former]
        elif name == "units-new":
            values = [(v, n) for v, n in values if v in units and not units[v].former]
        elif name == "years":
            values = sorted(values, reverse=True)
        rows = []
        for value, count in values[:limit] if limit else values:
            linked = facet in ("unit", "agency", "holder", "fonds", "hoso")
            rows.append(
                {
                    "value": value,
                    "label": label(facet, value),
                    "count": count,
                    "records": url_for("browse.records", **{facet: value}),
                    "page": value if linked else None,
                }
            )
        out[name] = rows
    return out


@bp.get("/browse")
def browse() -> Response | str:
    """Every way in: units old and new, agencies, holders, fonds, hồ sơ, types, years."""
    if not record_index.index_path(site().settings).is_dir():
        raise record_index.IndexMissing("The records index has not been built: run `kho reindex`.")
    sections = _sections(list(SECTIONS), limit=10)
    if not wants_html():
        return jsonify({"ok": True, "sections": sections})
    return render_template("browse.html", sections=sections, SECTIONS=SECTIONS, full=False)


@bp.get("/browse/<name>")
def browse_section(name: str) -> Response | str:
    if name not in SECTIONS:
        raise NotFound(
            f"Không có mục duyệt {name!r} / no browse list {name!r}; "
            f"use one of {', '.join(SECTIONS)}."
        )
    if not record_index.index_path(site().settings).is_dir():
        raise record_index.IndexMissing("The records index has not been built: run `kho reindex`.")
    sections = _sections([name], limit=None)
    if not wants_html():
        return jsonify({"ok": True, "sections": sections})
    return render_template("browse.html", sections=sections, SECTIONS=SECTIONS, full=True)


# -- holdings on the agency and unit pages (rendered by webapp/resources.py) ---------------------


def agency_extras(iri: str) -> dict[str, object]:
    """Hồ sơ and documents `iri` created and those it holds now, visible ones only."""
    if not record_index.index_path(site().settings).is_dir():
        return {}
    out: dict[str, object] = {}
    for role, facet in (("created", "agency"), ("held", "holder")):
        counts = dict(
            _search("", filters={facet: iri}, per_page=1, facets=("kind",), exact=True).facets[
                "kind"
            ]
        )
        out[role] = {
            "hoso": counts.get("hoso", 0),
            "records": counts.get("record", 0),
            "url": url_for("browse.records", **{facet: iri}),
        }
    return out


def unit_extras(iri: str) -> dict[str, object]:
    """The records of unit `iri` and of the former units whose territory it took over."""
    s = site()
    if not record_index.index_path(s.settings).is_dir():
        return {}
    results = _search("", filters={"unit": iri}, per_page=10, facets=("kind", "unit"), exact=True)
    _audit_restricted(results.hits)
    kinds = dict(results.facets.get("kind", []))
    units = unit_facts(s.store, [v for v, _ in results.facets.get("unit", [])] + [iri])
    former = [
        (units[v], n, url_for("browse.records", unit=v))
        for v, n in results.facets.get("unit", [])
        if v != iri and v in units and units[v].former
    ]
    return {
        "total": results.total,
        "hoso": kinds.get("hoso", 0),
        "records": kinds.get("record", 0),
        "hits": results.hits,
        "notes": lineage_notes(s.store, results.hits),
        "names": {u.iri: u.name for u in units.values()},
        "former": former,
        "url": url_for("browse.records", unit=iri),
    }


@bp.app_context_processor
def extras() -> dict[str, object]:
    return {"agency_extras": agency_extras, "unit_extras": unit_extras}
