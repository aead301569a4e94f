"""Picks HTML, Turtle, N-Triples or JSON-LD from the URL suffix or the Accept header, then renders.

JSON-LD is compacted with PyLD against Kho's published, versioned contexts, which are served from
disk; PyLD never fetches anything over the network. /context/v1.jsonld is frozen as first
published (units, events, agencies); /context/v2.jsonld is v1 plus the terms of records, hồ sơ,
files, events, flags, retention and paged collections, so a v1 document means the same under v2.
Records and hồ sơ come out framed (one tree: agency, unit, hồ sơ, files and their events
embedded) against v2; everything else stays compacted against v1, as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import pyoxigraph as ox
from flask import Response, request
from pyld import jsonld

from repository import access, record_triples
from repository.config import PROJECT_DIR
from repository.errors import KhoError
from repository.namespaces import KHO, PREFIXES, Minter

CONTEXT_FILE = PROJECT_DIR / "mappings" / "context.jsonld"  # v1, frozen
CONTEXT_FILES = {"v1": CONTEXT_FILE, "v2": PROJECT_DIR / "mappings" / "context-v2.jsonld"}
CONTEXT_PATH = "context/v1.jsonld"
RECORDS_CONTEXT = "v2"  # the version records, hồ sơ and the API's collections are written in

# suffix -> media type; a suffix in the URL wins over the Accept header.
MEDIA_TYPES = {
    "html": "text/html",
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
}
# What the Accept header may ask for, in order of preference when q-values tie.
_ACCEPTABLE = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/turtle": "ttl",
    "application/x-turtle": "ttl",
    "application/ld+json": "jsonld",
    "application/json": "jsonld",
    "application/n-triples": "nt",
    "text/plain": "nt",
}
_OX_FORMATS = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
# Machine strings that look like digit runs but are no one's identity number.
_NOT_PERSONAL = {KHO + "sha256", KHO + "textSignature", KHO + "textBand"}
_HEX_RUN = re.compile(r"([0-9A-Fa-f]{32,})")  # digests quoted inside notes ("sha256 9F86…")

# How records and hồ sơ are framed: what points at them is embedded too (files' events, flags
# and their reviews, a hồ sơ's retention decision with its appraisals and its documents).
_ALWAYS = {"@embed": "@always"}
# Units and agencies are embedded wherever they are named (a record's own unit and a parcel link's
# commune may be the same node: with "@once" the second place would get a bare IRI).
_NAMED_IN_PLACE = {
    "references": _ALWAYS,
    "adminUnit": _ALWAYS,
    "creator": _ALWAYS,
    "holder": _ALWAYS,
}
FRAMES: dict[str, dict[str, Any]] = {
    "record": {
        "instantiation": {"@embed": "@always", "usedBy": {}},
        "flags": {"usedBy": {}},
        **_NAMED_IN_PLACE,
    },
    "hoso": {
        "retention": {"generatedBy": {}},
        "records": {},
        "flags": {"usedBy": {}},
        **_NAMED_IN_PLACE,
    },
}


def best_format(ext: str | None = None) -> str:
    """'html', 'ttl', 'nt' or 'jsonld': the suffix if known, else the Accept header; never 406."""
    if ext in MEDIA_TYPES:
        return ext  # type: ignore[return-value]
    match = request.accept_mimetypes.best_match(list(_ACCEPTABLE))
    return _ACCEPTABLE.get(match or "", "html")


def split_suffix(path: str) -> tuple[str, str | None]:
    """('id/unit/x', 'ttl') for 'id/unit/x.ttl'; the path unchanged when it has no known suffix."""
    stem, dot, ext = path.rpartition(".")
    if dot and ext in MEDIA_TYPES and "/" not in ext:
        return stem, ext
    return path, None


@lru_cache(maxsize=4)
def context_document(version: str = "v1") -> dict[str, Any]:
    """Kho's JSON-LD context `version`, as published at /context/<version>.jsonld."""
    with CONTEXT_FILES[version].open(encoding="utf-8") as f:
        return json.load(f)  # type: ignore[no-any-return]


def context_url(base_iri: str, version: str = "v1") -> str:
    return f"{base_iri}context/{version}.jsonld"


def document_loader(base_iri: str) -> Any:
    """A PyLD document loader that serves our contexts from disk and refuses everything else."""
    ours = {context_url(base_iri, v): v for v in CONTEXT_FILES}

    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        if url in ours:
            return {"contextUrl": None, "documentUrl": url, "document": context_document(ours[url])}
        raise KhoError(f"Refusing to fetch the remote JSON-LD document {url}: Kho works offline.")

    return load


def _pyld_term(term: object) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "IRI", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "blank node", "value": f"_:{term.value}"}
    assert isinstance(term, ox.Literal)
    if term.language:
        return {
            "type": "literal",
            "value": term.value,
            "language": term.language,
            "datatype": "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString",
        }
    return {"type": "literal", "value": term.value, "datatype": term.datatype.value}


def _expanded(triples: Iterable[ox.Triple]) -> list[Any]:
    dataset = {
        "@default": [
            {
                "subject": _pyld_term(t.subject),
                "predicate": _pyld_term(t.predicate),
                "object": _pyld_term(t.object),
            }
            for t in triples
        ]
    }
    return jsonld.from_rdf(dataset, {"useNativeTypes": True})  # type: ignore[no-any-return]


def to_jsonld(triples: Iterable[ox.Triple], base_iri: str, main: str | None = None) -> dict:
    """The triples as JSON-LD compacted against context v1; `main` comes first in @graph."""
    compacted = jsonld.compact(
        _expanded(triples), context_url(base_iri), {"documentLoader": document_loader(base_iri)}
    )
    nodes = compacted.get("@graph")
    if main and isinstance(nodes, list):
        nodes.sort(key=lambda n: (n.get("id") != main, str(n.get("id"))))
    return compacted  # type: ignore[no-any-return]


def framed_jsonld(triples: Iterable[ox.Triple], base_iri: str, main: str, kind: str) -> dict:
    """A record or hồ sơ as one JSON-LD tree (FRAMES) against context v2."""
    frame = {
        "@context": context_url(base_iri, RECORDS_CONTEXT),
        "@id": main,
        "@embed": "@once",
        **FRAMES[kind],
    }
    return jsonld.frame(  # type: ignore[no-any-return]
        _expanded(triples),
        frame,
        {"documentLoader": document_loader(base_iri), "omitGraph": True, "omitDefault": True},
    )


def serialize(
    triples: list[ox.Triple],
    fmt: str,
    base_iri: str,
    main: str | None = None,
    kind: str | None = None,
) -> bytes:
    """Turtle, N-Triples or JSON-LD bytes for `triples` (framed when `kind` is record/hoso)."""
    if fmt == "jsonld":
        if main and kind in FRAMES:
            doc = framed_jsonld(triples, base_iri, main, kind)
        else:
            doc = to_jsonld(triples, base_iri, main)
        return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
    prefixes = PREFIXES if fmt == "ttl" else None
    return ox.serialize(triples, format=_OX_FORMATS[fmt], prefixes=prefixes)  # type: ignore[no-any-return]


def mask_text(text: str, reader: access.Reader) -> str:
    """`text` with citizens' numbers masked for `reader`, leaving digests quoted in it intact."""
    if reader.sees_personal or not text:
        return text
    return "".join(
        part if i % 2 else access.mask_personal(part, reader)
        for i, part in enumerate(_HEX_RUN.split(text))
    )


def mask_triples(triples: list[ox.Triple], reader: access.Reader) -> list[ox.Triple]:
    """Every text literal passed through the access rule's masking (no-op with `personal`)."""
    if reader.sees_personal:
        return triples
    out = []
    for t in triples:
        o = t.object
        if (
            isinstance(o, ox.Literal)
            and (o.language or o.datatype.value == _XSD_STRING)
            and t.predicate.value not in _NOT_PERSONAL
        ):
            masked = mask_text(o.value, reader)
            if masked != o.value:
                o = ox.Literal(masked, language=o.language) if o.language else ox.Literal(masked)
                t = ox.Triple(t.subject, t.predicate, o)
        out.append(t)
    return out


def cross_origin() -> bool:
    """Does the request come from a page of another site (an Origin that is not this host)?"""
    origin = request.headers.get("Origin")
    return bool(origin) and origin.rstrip("/") != request.host_url.rstrip("/")


def rdf_response(
    triples: list[ox.Triple], fmt: str, base_iri: str, main: str | None = None
) -> Response:
    """`triples` in `fmt`. When `main` is a record or hồ sơ, its full description (files, events,
    retention, embedded agency and unit) is added and JSON-LD is framed; text is masked for
    readers without the personal grant; restricted reads are audited."""
    from webapp import auth, site

    reader = auth.current_reader()
    kind = record_triples.kind_of(triples, main) if main else None
    if main and kind:
        s = site()
        graphs = s.visible_graphs()
        triples = list(
            dict.fromkeys(triples + record_triples.record_triples(s.store, main, graphs, s.minter))
        )
        _audit(triples, main, fmt, s.minter, reader)
    triples = mask_triples(triples, reader)
    mimetype = MEDIA_TYPES[fmt]
    response = Response(serialize(triples, fmt, base_iri, main, kind), mimetype=mimetype)
    response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    # A wildcard CORS answer only for what anyone may read: what a signed-in reader sees is not
    # handed to another site's scripts.
    if not (reader.signed_in and cross_origin()):
        response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Origin")
    return response


def _audit(
    triples: list[ox.Triple], main: str, fmt: str, minter: Minter, reader: access.Reader
) -> None:
    from webapp import auth

    level = next(
        (
            t.object.value.rsplit("-", 1)[-1]
            for t in triples
            if t.subject.value == main and t.predicate.value == KHO + "accessLevel"
        ),
        "01",
    )
    personal = reader.sees_personal and any(
        t.predicate.value == KHO + "refKind" and getattr(t.object, "value", "") == "citizen"
        for t in triples
    )
    if level != "01" or personal:
        detail = f"{level}{' personal' if personal else ''} {fmt}"
        auth.audit("read-restricted", main, detail)
