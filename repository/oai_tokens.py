"""OAI-PMH resumption tokens: the state of a list (verb, format, set, dates, the last identifier
shown, the cursor, the list size, the expiry) as URL-safe base64 JSON, signed with HMAC-SHA256
under the app's secret key so that a harvester can neither forge nor alter one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime

_DOMAIN = b"kho-oai:"  # the key also signs session cookies; tokens are a separate domain


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, state: dict[str, object]) -> str:
    """The token for `state` (plain JSON values)."""
    payload = _b64(json.dumps(state, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key, _DOMAIN + payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def read(key: bytes, token: str, verb: str, now: datetime) -> dict[str, object] | None:
    """The state in `token`, or None if it is not ours, was altered, has expired or belongs to
    another verb."""
    payload, _, mac = token.partition(".")
    try:
        sent = _unb64(mac)
        expected = hmac.new(key, _DOMAIN + payload.encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, sent):
            return None
        state = json.loads(_unb64(payload))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    if not isinstance(state, dict) or state.get("v") != verb:
        return None
    if int(state.get("x", 0)) < now.timestamp():
        return None
    return state
