"""The OpenAPI 3.1 description of Kho's read API (served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any

from repository.api_records import PER_PAGE, PER_PAGE_MAX

_ERROR = {
    "description": "Tham số sai / bad parameter (the message says what to send)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_NOT_FOUND = {
    "description": "Không có hoặc không được xem / unknown, or not visible to the reader",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_JSONLD = {"schema": {"type": "object"}}
_TEXT = {"schema": {"type": "string"}}


def _param(name: str, desc: str, schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "in": "query", "description": desc, "schema": schema}
    if example is not None:
        p["example"] = example
    return p


def openapi_document(server: str, base_iri: str) -> dict[str, Any]:
    """The description, with `server` (this host) as the server to call."""
    unit = base_iri + "id/unit/phuong-ba-dinh-00004_2025-07-01"
    records = {
        "get": {
            "operationId": "listRecords",
            "summary": "Hồ sơ và tài liệu, theo trang / Records and hồ sơ, paged",
            "description": (
                "Only what the reader may see: anonymous (and every cross-origin request) sees "
                "access level 01 only. `unit` follows the units' succession: a unit valid after "
                "2025-07-01 also matches the records of the units merged into it (each member "
                "says through which in `matchedVia`). `since` compares with the latest "
                "prov:endedAtTime of the activities that wrote the record (ingestion, OCR and "
                "fixity events of its files; for a hồ sơ also its documents' files and its "
                "retention appraisals). Pages are Hydra collections in context v2, ordered by "
                "IRI, with Link rel=first/prev/next/last, a strong ETag and Last-Modified."
            ),
            "parameters": [
                _param(
                    "unit", "IRI (or path id/unit/...) of a unit version", {"type": "string"}, unit
                ),
                _param(
                    "agency", "IRI of an agency (rico:hasCreator by default)", {"type": "string"}
                ),
                _param(
                    "role",
                    "what the agency is to the record",
                    {"type": "string", "enum": ["creator", "holder", "any"], "default": "creator"},
                ),
                _param(
                    "type",
                    "record (tài liệu) or hoso (hồ sơ); both when absent",
                    {"type": "string", "enum": ["record", "hoso"]},
                ),
                _param(
                    "since",
                    "changed at or after (YYYY-MM-DD or ISO date-time; +07:00 when no offset)",
                    {"type": "string"},
                    "2026-01-01",
                ),
                _param(
                    "page", "page number, from 1", {"type": "integer", "minimum": 1, "default": 1}
                ),
                _param(
                    "per_page",
                    "members per page",
                    {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX, "default": PER_PAGE},
                ),
                _param(
                    "format",
                    "instead of Accept",
                    {"type": "string", "enum": ["jsonld", "ttl", "nt"]},
                ),
            ],
            "responses": {
                "200": {
                    "description": "Một trang / one page",
                    "headers": {
                        "ETag": {"schema": {"type": "string"}},
                        "Last-Modified": {"schema": {"type": "string"}},
                        "Link": {"schema": {"type": "string"}},
                    },
                    "content": {
                        "application/ld+json": {
                            "schema": {"$ref": "#/components/schemas/RecordCollection"}
                        },
                        "text/turtle": _TEXT,
                        "application/n-triples": _TEXT,
                    },
                },
                "304": {
                    "description": "Không đổi / not modified (If-None-Match, If-Modified-Since)"
                },
                "400": _ERROR,
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kho — API đọc / read API",
            "version": "1.0.0",
            "description": (
                "Dữ liệu liên kết của kho lưu trữ Hà Nội. / Linked data of Hanoi's archive: "
                "every resource at its IRI with content negotiation, paged collections of "
                "records, SPARQL, OAI-PMH. JSON-LD uses the versioned contexts at "
                "/context/v1.jsonld (units, agencies) and /context/v2.jsonld (v1 + records)."
            ),
            "license": {"name": "CC BY 4.0", "identifier": "CC-BY-4.0"},
        },
        "servers": [{"url": server}],
        "paths": {
            "/api/records": records,
            "/api/units": {
                "get": {
                    "operationId": "listUnits",
                    "summary": "Đơn vị hành chính hiệu lực vào một ngày / units valid on a day",
                    "parameters": [
                        _param(
                            "on",
                            "date (YYYY-MM-DD), default today",
                            {"type": "string"},
                            "2025-06-30",
                        ),
                        _param(
                            "province",
                            "province code (e.g. 01 for Hà Nội)",
                            {"type": "string"},
                            "01",
                        ),
                        _param(
                            "level",
                            "province, district or commune",
                            {"type": "string", "enum": ["province", "district", "commune"]},
                            "commune",
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "Collection",
                            "content": {"application/ld+json": _JSONLD},
                        },
                        "400": _ERROR,
                    },
                }
            },
            "/id/{path}": {
                "get": {
                    "operationId": "getResource",
                    "summary": "Tài nguyên tại IRI của nó / a resource at its IRI",
                    "description": (
                        f"{base_iri}id/... is served at /id/... . HTML by default; RDF by suffix "
                        "(.ttl, .nt, .jsonld) or Accept. Records and hồ sơ come out framed in "
                        "context v2 (creator agency and unit embedded, files with their events, "
                        "retention)."
                    ),
                    "parameters": [
                        {
                            "name": "path",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                            "example": "unit/phuong-ba-dinh-00004_2025-07-01.jsonld",
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The resource",
                            "content": {
                                "text/html": _TEXT,
                                "application/ld+json": _JSONLD,
                                "text/turtle": _TEXT,
                                "application/n-triples": _TEXT,
                            },
                        },
                        "404": _NOT_FOUND,
                    },
                }
            },
            "/context/v1.jsonld": _context("v1 (frozen): units, events, agencies"),
            "/context/v2.jsonld": _context(
                "v2: v1 + records, files, events, flags, retention, collections"
            ),
            "/sparql": {
                "get": {
                    "operationId": "sparql",
                    "summary": "SPARQL 1.1 Protocol (chỉ đọc / read-only)",
                    "parameters": [
                        {
                            "name": "query",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                            "example": "SELECT * WHERE { ?s ?p ?o } LIMIT 1",
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "Results",
                            "content": {
                                "application/sparql-results+json": _JSONLD,
                                "text/turtle": _TEXT,
                                "application/ld+json": _JSONLD,
                            },
                        },
                        "400": _ERROR,
                    },
                }
            },
            "/oai": {
                "get": {
                    "operationId": "oai",
                    "summary": "OAI-PMH 2.0",
                    "parameters": [
                        {
                            "name": "verb",
                            "in": "query",
                            "required": True,
                            "schema": {
                                "type": "string",
                                "enum": [
                                    "Identify",
                                    "ListMetadataFormats",
                                    "ListSets",
                                    "ListIdentifiers",
                                    "ListRecords",
                                    "GetRecord",
                                ],
                            },
                            "example": "Identify",
                        }
                    ],
                    "responses": {
                        "200": {"description": "OAI-PMH XML", "content": {"text/xml": _TEXT}}
                    },
                }
            },
            "/.well-known/void": {
                "get": {
                    "operationId": "void",
                    "summary": "Mô tả VoID của tập dữ liệu / VoID description of the dataset",
                    "responses": {
                        "200": {
                            "description": "VoID",
                            "content": {"text/turtle": _TEXT, "application/ld+json": _JSONLD},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["ok", "error", "errors", "status"],
                    "properties": {
                        "ok": {"const": False},
                        "error": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "string"}},
                        "status": {"type": "integer"},
                    },
                },
                "RecordCollection": {
                    "type": "object",
                    "required": ["@context", "id", "type", "totalItems", "member"],
                    "properties": {
                        "@context": {"type": "string", "format": "uri"},
                        "id": {"type": "string", "format": "uri"},
                        "type": {"const": "Collection"},
                        "totalItems": {"type": "integer", "minimum": 0},
                        "first": {"type": "string"},
                        "prev": {"type": "string"},
                        "next": {"type": "string"},
                        "last": {"type": "string"},
                        "member": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/RecordSummary"},
                        },
                    },
                },
                "RecordSummary": {
                    "type": "object",
                    "required": ["id", "type"],
                    "properties": {
                        "id": {"type": "string", "format": "uri"},
                        "type": {"enum": ["Record", "RecordSet"]},
                        "identifier": {"type": "string"},
                        "numberSymbol": {"type": "string"},
                        "title": {"type": "object"},
                        "subject": {"type": "object"},
                        "issued": {},
                        "beginningDate": {},
                        "endDate": {},
                        "accessLevel": {"type": "string"},
                        "includedIn": {"type": "string"},
                        "creator": {"type": "array"},
                        "adminUnit": {"type": "object"},
                        "matchedVia": {"type": "object"},
                        "modified": {"type": "string"},
                    },
                },
            }
        },
    }


def _context(what: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": f"JSON-LD @context {what}",
            "responses": {
                "200": {
                    "description": "Immutable; long cache, ETag, CORS",
                    "content": {"application/ld+json": _JSONLD},
                },
                "304": {"description": "Not modified"},
            },
        }
    }
