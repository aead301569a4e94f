"""(filled in by issue 4)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("oai", __name__)
