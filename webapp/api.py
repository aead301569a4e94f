"""The read API for integrators: paged collections of records (JSON-LD or Turtle) with ETag,
Last-Modified and CORS, the versioned JSON-LD contexts, and the OpenAPI description with its page.

Cross-origin requests (an Origin that is not this host) are answered as the anonymous public,
so a response every site may read (`Access-Control-Allow-Origin: *`) never holds what only a
signed-in reader may see.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request
from pyld import jsonld

from repository import access, api_records
from repository.api_records import RecordPage
from repository.api_summaries import Ref, Summary
from repository.errors import BadRequest, NotFound
from repository.namespaces import KHOC, PREFIXES
from webapp import negotiation, site
from webapp.auth import audit, current_reader
from webapp.listing import units_on
from webapp.openapi import openapi_document

bp = Blueprint("api", __name__)

_FORMATS = {
    "application/ld+json": "jsonld",
    "application/json": "jsonld",
    "text/turtle": "ttl",
    "application/n-triples": "nt",
}
_XSD_DATE = "http://www.w3.org/2001/XMLSchema#date"
CONTEXT_MAX_AGE = 365 * 86400  # a published context version never changes


@bp.after_request
def cors(response: Response) -> Response:
    """CORS for every API answer, errors and preflights included."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Accept, If-None-Match, If-Modified-Since"
    response.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified, Link"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


def api_reader() -> access.Reader:
    """Who the API answers as: the signed-in reader on our own pages, else the public."""
    return access.PUBLIC if negotiation.cross_origin() else current_reader()


def _format() -> str:
    wanted = request.args.get("format")
    if wanted:
        if wanted not in ("jsonld", "ttl", "nt"):
            raise BadRequest(
                f"format={wanted!r} không hợp lệ. / format={wanted!r} is not valid: use jsonld, "
                "ttl or nt, or send an Accept header (application/ld+json, text/turtle, "
                "application/n-triples)."
            )
        return wanted
    best = request.accept_mimetypes.best_match(list(_FORMATS))
    return _FORMATS.get(best or "", "jsonld")


# -- /api/records --------------------------------------------------------------------------------


@bp.get("/api/records")
def records() -> Response:
    """A page of the records and hồ sơ the reader may see, filtered by unit (with its lineage),
    agency and change time."""
    s = site()
    reader = api_reader()
    graphs = s.visible_graphs(reader)
    args = {k: v for k, v in request.args.items() if k != "format"}
    fmt = _format()
    query = api_records.parse_query(args, s.store, s.minter)
    page = api_records.list_records(s.store, query, graphs, s.minter)
    restricted = [i for i in page.items if i.access_level not in (None, KHOC + "mode-01")]
    if restricted:
        audit("read-restricted", request.full_path, f"{len(restricted)} restricted in a list")
    doc = collection(page, reader)
    if fmt == "jsonld":
        body = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
    else:
        body = to_rdf(doc, fmt)
    mimetype = negotiation.MEDIA_TYPES[fmt]
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    response.set_etag(hashlib.sha256(body).hexdigest()[:40])
    if page.last_modified:
        response.last_modified = page.last_modified
    links = [(rel, doc[rel]) for rel in ("first", "prev", "next", "last") if rel in doc]
    response.headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links)
    response.cache_control.no_cache = True
    if reader.signed_in:
        response.cache_control.private = True
    response.vary.update(["Accept", "Origin", "Cookie"])
    return response.make_conditional(request)


def _page_url(page: RecordPage, number: int) -> str:
    return f"{request.base_url}?{urlencode(page.query.args(number))}"


def collection(page: RecordPage, reader: access.Reader) -> dict[str, Any]:
    """The page as a Hydra collection in context v2."""
    number = page.query.page
    doc: dict[str, Any] = {
        "@context": negotiation.context_url(site().settings.base_iri, negotiation.RECORDS_CONTEXT),
        "id": _page_url(page, number),
        "type": "Collection",
        "totalItems": page.total,
        "first": _page_url(page, 1),
        "last": _page_url(page, page.last_page),
    }
    if number > 1:
        doc["prev"] = _page_url(page, min(number - 1, page.last_page))
    if number < page.last_page:
        doc["next"] = _page_url(page, number + 1)
    doc["member"] = [member(item, reader) for item in page.items]
    return doc


def _date(literal: ox.Literal) -> Any:
    if literal.datatype.value == _XSD_DATE:
        return literal.value
    return {"@value": literal.value, "@type": literal.datatype.value}


def _texts(texts: dict[str, str], reader: access.Reader) -> dict[str, str]:
    return {lang: negotiation.mask_text(t, reader) for lang, t in texts.items()}


def _ref(ref: Ref, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": ref.iri, "type": kind}
    if ref.names:
        out["name"] = ref.names
    if ref.code:
        out["code"] = ref.code
    return out


def member(item: Summary, reader: access.Reader) -> dict[str, Any]:
    """A small framed summary of one record or hồ sơ."""
    out: dict[str, Any] = {
        "id": item.iri,
        "type": "Record" if item.kind == "record" else "RecordSet",
    }
    if item.kind == "hoso":
        out["recordSetType"] = "File"
    if item.identifier:
        out["identifier"] = item.identifier
    if item.number_symbol:
        out["numberSymbol"] = item.number_symbol
    if item.title:
        out["title"] = _texts(item.title, reader)
    if item.subject:
        out["subject"] = _texts(item.subject, reader)
    for name in ("issued", "beginningDate", "endDate"):
        if name in item.dates:
            out[name] = _date(item.dates[name])
    if item.access_level:
        out["accessLevel"] = "khoc:" + item.access_level.removeprefix(KHOC)
    if item.hoso:
        out["includedIn"] = item.hoso
    if item.creators:
        out["creator"] = [_ref(c, "CorporateBody") for c in item.creators]
    if item.unit:
        out["adminUnit"] = _ref(item.unit, "AdminUnitVersion")
    if item.matched_via:
        out["matchedVia"] = _ref(item.matched_via.unit, "AdminUnitVersion")
    if item.modified:
        out["modified"] = item.modified.isoformat()
    return out


def to_rdf(doc: dict[str, Any], fmt: str) -> bytes:
    """A JSON-LD document as Turtle or N-Triples (the same statements)."""
    nquads = jsonld.to_rdf(
        doc,
        {
            "format": "application/n-quads",
            "documentLoader": negotiation.document_loader(site().settings.base_iri),
        },
    )
    triples = list(ox.parse(nquads.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))
    prefixes = {**PREFIXES, "hydra": "http://www.w3.org/ns/hydra/core#"} if fmt == "ttl" else None
    fmt_ox = ox.RdfFormat.TURTLE if fmt == "ttl" else ox.RdfFormat.N_TRIPLES
    return ox.serialize(triples, format=fmt_ox, prefixes=prefixes)  # type: ignore[no-any-return]


# -- /api/units ----------------------------------------------------------------------------------


@bp.get("/api/units")
def units() -> Response:
    """Units valid on ?on= (default today): provinces, or those of ?province= at ?level=."""
    s = site()
    raw = request.args.get("on")
    try:
        day = date.fromisoformat(raw) if raw else s.today()
    except ValueError:
        raise BadRequest(
            f"on={raw!r} không phải ngày. / on={raw!r} is not a date: send YYYY-MM-DD, "
            "e.g. on=2025-06-30."
        ) from None
    province = (request.args.get("province") or "").strip() or None
    level = (request.args.get("level") or "").strip() or None
    listed = units_on(s.store, day, province, level)
    base = negotiation.context_url(s.settings.base_iri, negotiation.RECORDS_CONTEXT)
    doc = {
        "@context": base,
        "id": request.url,
        "type": "Collection",
        "totalItems": len(listed),
        "member": [
            {
                "id": u.unit.iri,
                "type": "AdminUnitVersion",
                "name": {"vi": u.unit.name},
                "code": u.unit.code,
                "level": f"level-{u.unit.level}",
                **({"beginningDate": u.unit.valid_from} if u.unit.valid_from else {}),
                **({"endDate": u.unit.valid_to} if u.unit.valid_to else {}),
                **({"partOf": u.parent_iri} if u.parent_iri else {}),
            }
            for u in listed
        ],
    }
    body = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
    response = Response(body, mimetype="application/ld+json")
    response.set_etag(hashlib.sha256(body).hexdigest()[:40])
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response.make_conditional(request)


# -- contexts, OpenAPI, the API page --------------------------------------------------------------


@bp.get("/context/<version>.jsonld")
def context(version: str) -> Response:
    """A published JSON-LD context version (immutable: long cache, strong ETag, CORS)."""
    if version not in negotiation.CONTEXT_FILES:
        raise NotFound(
            f"Không có ngữ cảnh {version}. / No JSON-LD context {version}: published versions "
            f"are {', '.join(negotiation.CONTEXT_FILES)}."
        )
    body = negotiation.CONTEXT_FILES[version].read_bytes()
    return context_response(body)


def context_response(body: bytes) -> Response:
    response = Response(body, mimetype="application/ld+json")
    response.set_etag(hashlib.sha256(body).hexdigest()[:40])
    response.cache_control.public = True
    response.cache_control.max_age = CONTEXT_MAX_AGE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response.make_conditional(request)


@bp.get("/api/openapi.json")
def openapi() -> Response:
    doc = openapi_document(request.host_url.rstrip("/"), site().settings.base_iri)
    response = Response(json.dumps(doc, ensure_ascii=False, indent=2), mimetype="application/json")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/api")
def page() -> str:
    s = site()
    return render_template(
        "api.html",
        host=request.host_url.rstrip("/"),
        base=s.settings.base_iri,
        context_v1=negotiation.context_url(s.settings.base_iri, "v1"),
        context_v2=negotiation.context_url(s.settings.base_iri, "v2"),
        example_unit=s.settings.base_iri + "id/unit/phuong-ba-dinh-00004_2025-07-01",
        per_page_max=api_records.PER_PAGE_MAX,
    )
