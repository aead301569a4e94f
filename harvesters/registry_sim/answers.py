"""What the registry answers: (HTTP status, JSON body) for one identifier. Shared helpers for the
registry modules."""

from __future__ import annotations

import re
from datetime import date

Answer = tuple[int, dict]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def found(body: dict) -> Answer:
    return 200, body


def not_found(message: str) -> Answer:
    return 404, {"error": "not_found", "message": message}


def invalid(message: str) -> Answer:
    return 400, {"error": "invalid_identifier", "message": message}


def bad_request(message: str) -> Answer:
    return 400, {"error": "bad_request", "message": message}


def valid_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def day_between(first: str, last: str, fraction: float) -> str:
    """The day a `fraction` of the way from `first` to `last` (ISO dates)."""
    a, b = date.fromisoformat(first).toordinal(), date.fromisoformat(last).toordinal()
    return date.fromordinal(a + int((b - a) * fraction)).isoformat()
