"""The enterprise registry (CSDL quốc gia về đăng ký doanh nghiệp): name and status of an
enterprise by its code (docs/registries.md, "Enterprises")."""

from __future__ import annotations

from typing import Any

from harvesters.registry_client import RegistryClient
from harvesters.registry_lookup import Lookup, invalid, lookup, need
from repository.identifiers import InvalidIdentifier, check_enterprise
from repository.text import nfc


def parse_answer(body: Any) -> dict:
    """{"code","name","short_name","foreign_name","status","status_label","founded",
    "province_code"}; the abbreviated (tên viết tắt) and foreign (tên nước ngoài) names may be
    absent (None), but not of another type. The one place to change for a registry whose JSON
    differs."""
    return {
        "code": need(body, "code"),
        "name": nfc(need(body, "name")),
        "short_name": _name(need(body, "short_name", optional=True)),
        "foreign_name": _name(need(body, "foreign_name", optional=True)),
        "status": need(body, "status"),
        "status_label": nfc(need(body, "status_label", optional=True) or ""),
        "founded": need(body, "founded", optional=True),
        "province_code": need(body, "province_code", optional=True),
    }


def _name(value: str | None) -> str | None:
    """A name as Kho keeps it (NFC, spaces collapsed); None when absent or blank."""
    if value is None:
        return None
    return " ".join(nfc(value).split()) or None


def verify(client: RegistryClient, code: str, refresh: bool = False) -> Lookup:
    try:
        code = check_enterprise(code)
    except InvalidIdentifier as e:
        return invalid(e)
    found = _ask(client, code, refresh)
    if found.from_cache and found.status == "verified" and "short_name" not in found.facts:
        # Cached before Kho kept the short and foreign names: ask again, else keep what it knew.
        fresh = _ask(client, code, True)
        found = fresh if fresh.status != "registry-error" else found
    return found


def _ask(client: RegistryClient, code: str, refresh: bool) -> Lookup:
    return lookup(
        client,
        "GET",
        f"/enterprises/{code}",
        key=code,
        parse=parse_answer,
        not_found=(
            f"CSDL đăng ký doanh nghiệp không có doanh nghiệp mã số {code}. Kiểm tra lại mã "
            "số trên văn bản.",
            f"The enterprise registry has no enterprise with code {code}; check the code in "
            "the document.",
        ),
        refresh=refresh,
    )
