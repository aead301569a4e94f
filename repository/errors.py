"""Exceptions of the core, each with a message for people and an HTTP status for the web layer."""

from __future__ import annotations


class KhoError(Exception):
    """Base of every error Kho raises on purpose."""

    status = 500

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(KhoError):
    status = 404


class BadRequest(KhoError):
    status = 400


class Forbidden(KhoError):
    status = 403


class QueryError(BadRequest):
    """A SPARQL query that cannot be parsed or is not allowed."""


class ValidationFailed(KhoError):
    status = 422


class HarvestError(KhoError):
    status = 502


class ConfigError(KhoError):
    status = 500


class DamagedFile(KhoError):
    """A file that cannot be read: not a PDF, encrypted, or without pages."""

    status = 422


class OcrError(KhoError):
    """A PDF that could not be OCR'd into PDF/A: unreadable, encrypted, empty, or too slow."""

    status = 422
