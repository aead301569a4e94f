"""Blueprint answering for every IRI under the base (/id/...), with content negotiation, plus the
published JSON-LD context and /describe for vocabulary terms that live elsewhere."""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request

from repository import gazetteer
from repository.errors import BadRequest, NotFound
from webapp import lineage, negotiation, record_pages, site
from webapp.description import describe as describe_resource
from webapp.description import resource_triples
from webapp.views import local_href, resource_href

bp = Blueprint("resources", __name__)

BLOCK_ORDER = ("block-dang", "block-chinh-quyen", "block-doan-the")


@bp.get("/id/<path:rest>")
def resource(rest: str) -> Response:
    """The resource {base}id/<rest>: HTML by default, RDF by suffix or Accept."""
    path, ext = negotiation.split_suffix("id/" + rest)
    iri = site().minter.from_path(path)
    response = _negotiate(iri, ext)
    stem = "/" + path
    response.headers["Link"] = ", ".join(
        f'<{stem}.{sfx}>; rel="alternate"; type="{mt}"'
        for sfx, mt in negotiation.MEDIA_TYPES.items()
    )
    return response


@bp.get("/describe")
def describe() -> Response:
    """Any IRI the store describes, including vocabulary terms outside the base."""
    iri = (request.args.get("iri") or "").strip()
    if not iri:
        raise BadRequest("Give the IRI to describe: /describe?iri=https://...")
    local = local_href(iri)
    if local:
        return Response(status=303, headers={"Location": local})
    return _negotiate(iri, request.args.get("format"))


@bp.get("/files/<key>/<name>")
def record_file(key: str, name: str) -> Response:
    """A record's files: original.pdf, pdfa.pdf (the searchable PDF/A) or text.txt (its text)."""
    return record_pages.download(key, name)


@bp.get("/provenance/<kind>/<key>.svg")
def provenance_svg(kind: str, key: str) -> Response:
    """The provenance chain of a record or hồ sơ as an SVG picture."""
    return record_pages.provenance_svg_response(kind, key)


@bp.get("/context/v1.jsonld")
def context() -> Response:
    """The frozen v1 context (ETag, CORS, long cache: webapp.api serves every version alike)."""
    from webapp import api

    return api.context_response(negotiation.CONTEXT_FILE.read_bytes())


def _negotiate(iri: str, ext: str | None) -> Response:
    s = site()
    try:
        ox.NamedNode(iri)  # a path or parameter that makes no IRI names nothing Kho holds
    except ValueError:
        raise NotFound(f"Kho has no resource {iri}.") from None
    kind = gazetteer.resource_type(s.store, iri, s.visible_graphs())
    if kind is None:
        raise NotFound(f"Kho has no resource {iri}.")
    fmt = negotiation.best_format(ext)
    if fmt == "html" and kind == "record":
        response = record_pages.record_page(iri)
    elif fmt == "html" and kind == "hoso":
        response = record_pages.hoso_page(iri)
    elif fmt == "html":
        response = Response(_page(kind, iri), mimetype="text/html")
    else:
        triples = resource_triples(s.store, iri, s.visible_graphs(), with_transfers=kind == "unit")
        response = negotiation.rdf_response(triples, fmt, s.settings.base_iri, main=iri)
    response.vary.add("Accept")
    return response


def _page(kind: str, iri: str) -> str:
    s = site()
    if kind == "unit":
        detail = gazetteer.unit_detail(s.store, iri, s.today())
        blocks: dict[str, list[gazetteer.AgencyRef]] = {b: [] for b in BLOCK_ORDER}
        for agency in detail.agencies:
            blocks.setdefault(agency.block, []).append(agency)
        diagram = lineage.build(detail, local_href, s.vocabulary)
        return render_template(
            "unit.html",
            d=detail,
            iri=iri,
            blocks=blocks,
            diagram=diagram,
            today=s.today().isoformat(),
        )
    if kind == "agency":
        try:
            agency = gazetteer.agency_detail(s.store, iri)
        except NotFound:
            pass  # a body without a kind or block: the generic page still shows it
        else:
            return render_template("agency.html", d=agency, iri=iri)
    desc = describe_resource(s.store, iri, s.visible_graphs(), s.vocabulary, resource_href)
    return render_template("description.html", d=desc, kind=kind)
