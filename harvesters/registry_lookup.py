"""From a registry's answer (or trouble) to a Lookup: the statuses and messages every registry
module returns (docs/registries.md, "Kho's side"), and small checks for `parse_answer` adapters.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from harvesters.registry_cache import iso_utc
from harvesters.registry_client import Malformed, RegistryClient, RegistryError
from repository.identifiers import InvalidIdentifier

log = logging.getLogger("kho.registries")


@dataclass
class Lookup:
    status: str  # "verified" | "not-found" | "registry-error"
    checked_at: str  # ISO 8601 UTC, e.g. "2026-11-26T07:30:12Z"
    facts: dict  # parsed answer (docs/registries.md shapes); {} unless verified
    message_vi: str = ""  # what went wrong and what to do (empty when verified)
    message_en: str = ""
    from_cache: bool = False


def now_iso() -> str:
    return iso_utc(time.time())


def is_iso_date(value: str) -> bool:
    """A real YYYY-MM-DD date."""
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))


def invalid(error: InvalidIdentifier) -> Lookup:
    """An identifier that failed Kho's check: not found, with the reason, the registry not asked."""
    return Lookup("not-found", now_iso(), {}, error.message_vi, error.message_en)


def lookup(
    client: RegistryClient,
    method: str,
    path: str,
    *,
    key: str,
    parse: Callable[[Any], dict],
    not_found: tuple[str, str],
    params: dict[str, str] | None = None,
    json: dict | None = None,
    refresh: bool = False,
) -> Lookup:
    """Ask (or read the cache) and say the outcome as a Lookup; never raises for registry
    trouble. `key` is also what the log shows, so it must never be personal data."""
    try:
        answer = client.fetch(
            method, path, key=key, parse=parse, params=params, json=json, refresh=refresh
        )
    except RegistryError as e:
        client.stats.add("errors")
        if isinstance(e, Malformed):
            vi, en = _malformed_messages(client, e.what)
        else:
            vi, en = e.message_vi, e.message_en
        log.warning("%s %s: registry-error: %s", client.name, key, en)
        return Lookup("registry-error", now_iso(), {}, vi, en)
    status = "verified" if answer.found else "not-found"
    log.info("%s %s: %s%s", client.name, key, status, " (cache)" if answer.from_cache else "")
    if not answer.found:
        return Lookup(status, answer.checked_at, {}, *not_found, from_cache=answer.from_cache)
    return Lookup(status, answer.checked_at, answer.facts, from_cache=answer.from_cache)


def _malformed_messages(client: RegistryClient, what: str) -> tuple[str, str]:
    var = f"KHO_REGISTRY_{client.name.upper()}_URL"
    module = f"harvesters/registry_{client.name}.py"
    return (
        f"Câu trả lời của {client.label_vi} tại {client.base_url} không đúng định dạng đã thỏa "
        f"thuận ({what}). Kiểm tra {var} có trỏ đúng API (docs/registries.md) không, hoặc sửa "
        f"parse_answer trong {module}.",
        f"The {client.label_en} at {client.base_url} answered something other than the agreed "
        f"JSON ({what}); check that {var} points at its API (docs/registries.md), or adapt "
        f"parse_answer in {module}.",
    )


# -- small checks for parse_answer functions -----------------------------------------------------


def need(body: Any, key: str, kind: type | tuple[type, ...] = str, optional: bool = False) -> Any:
    """body[key] if it is a `kind` (None allowed when optional), else Malformed naming the field."""
    if not isinstance(body, dict):
        raise Malformed("the answer is not a JSON object")
    value = body.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise Malformed(f"field '{key}' is missing or not {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(
        {str: "a string", dict: "an object", list: "a list"}.get(k, k.__name__) for k in kinds
    )
