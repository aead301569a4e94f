"""Picks HTML, Turtle, N-Triples or JSON-LD from the URL suffix or the Accept header, then renders.

JSON-LD is compacted with PyLD against Kho's published context, which is served from disk; PyLD
never fetches anything over the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import pyoxigraph as ox
from flask import Response, request
from pyld import jsonld

from repository.config import PROJECT_DIR
from repository.errors import KhoError
from repository.namespaces import PREFIXES

CONTEXT_FILE = PROJECT_DIR / "mappings" / "context.jsonld"
CONTEXT_PATH = "context/v1.jsonld"

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


@lru_cache(maxsize=1)
def context_document() -> dict[str, Any]:
    """Kho's JSON-LD context, as published at /context/v1.jsonld."""
    with CONTEXT_FILE.open(encoding="utf-8") as f:
        return json.load(f)  # type: ignore[no-any-return]


def context_url(base_iri: str) -> str:
    return base_iri + CONTEXT_PATH


def document_loader(base_iri: str) -> Any:
    """A PyLD document loader that serves our context from disk and refuses everything else."""
    ours = context_url(base_iri)

    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        if url == ours:
            return {"contextUrl": None, "documentUrl": url, "document": context_document()}
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


def to_jsonld(triples: Iterable[ox.Triple], base_iri: str, main: str | None = None) -> dict:
    """The triples as JSON-LD compacted against Kho's context; `main` comes first in @graph."""
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
    expanded = jsonld.from_rdf(dataset, {"useNativeTypes": True})
    compacted = jsonld.compact(
        expanded, context_url(base_iri), {"documentLoader": document_loader(base_iri)}
    )
    nodes = compacted.get("@graph")
    if main and isinstance(nodes, list):
        nodes.sort(key=lambda n: (n.get("id") != main, str(n.get("id"))))
    return compacted  # type: ignore[no-any-return]


def serialize(triples: list[ox.Triple], fmt: str, base_iri: str, main: str | None = None) -> bytes:
    """Turtle, N-Triples or compacted JSON-LD bytes for `triples`."""
    if fmt == "jsonld":
        doc = to_jsonld(triples, base_iri, main)
        return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
    prefixes = PREFIXES if fmt == "ttl" else None
    return ox.serialize(triples, format=_OX_FORMATS[fmt], prefixes=prefixes)  # type: ignore[no-any-return]


def rdf_response(
    triples: list[ox.Triple], fmt: str, base_iri: str, main: str | None = None
) -> Response:
    mimetype = MEDIA_TYPES[fmt]
    response = Response(serialize(triples, fmt, base_iri, main), mimetype=mimetype)
    response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
