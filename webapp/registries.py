"""Registry links on the web: /registries (summary; archivists: what failed) and pseudonymous
citizens' pages /id/person/<pseudonym> (docs/registries.md)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("registries", __name__)
