"""The officials registry (CSDL cán bộ, công chức, viên chức): an official's position and agency
by personnel code, and agencies by name on a date (docs/registries.md, "Officials"). Kho keeps
position and agency, never the person's other data."""

from __future__ import annotations

from typing import Any

from harvesters.registry_client import NotFound, RegistryClient
from harvesters.registry_lookup import Lookup, invalid, is_iso_date, lookup, need
from repository.identifiers import InvalidIdentifier, check_official
from repository.text import fold, nfc


def parse_answer(body: Any) -> dict:
    """{"code","position","agency": {"code","name"},"since"}. The one place to change for a
    registry whose JSON differs."""
    agency = need(body, "agency", dict)
    return {
        "code": need(body, "code"),
        "position": nfc(need(body, "position")),
        "agency": {"code": need(agency, "code"), "name": nfc(need(agency, "name"))},
        "since": need(body, "since", optional=True),
    }


def parse_agencies_answer(body: Any, name: str = "") -> dict:
    """The agency among `{"items": [...]}` whose name matches `name` (accents and case folded),
    else the first: {"code","name","unit_code","valid_from","valid_to"}; no items: not found."""
    items = need(body, "items", list)
    if not items:
        raise NotFound
    chosen = next((i for i in items if fold(str(need(i, "name"))) == fold(name)), items[0])
    return {
        "code": need(chosen, "code"),
        "name": nfc(need(chosen, "name")),
        "unit_code": need(chosen, "unit_code", optional=True),
        "valid_from": need(chosen, "valid_from", optional=True),
        "valid_to": need(chosen, "valid_to", optional=True),
    }


def verify_official(client: RegistryClient, code: str, refresh: bool = False) -> Lookup:
    try:
        code = check_official(code)
    except InvalidIdentifier as e:
        return invalid(e)
    return lookup(
        client,
        "GET",
        f"/officials/{code}",
        key=code,
        parse=parse_answer,
        not_found=(
            f"CSDL cán bộ, công chức, viên chức không có mã cán bộ {code}. Kiểm tra lại mã "
            "trên văn bản.",
            f"The officials registry has no personnel code {code}; check the code in the document.",
        ),
        refresh=refresh,
    )


def verify_agency(client: RegistryClient, name: str, on: str, refresh: bool = False) -> Lookup:
    """The agency the registry knows under `name` on `on`."""
    name, on = " ".join(nfc(name).split()), on.strip()
    if not name or not is_iso_date(on):
        return invalid(
            InvalidIdentifier(
                f"Cần tên cơ quan và một ngày YYYY-MM-DD (nhận «{name}», «{on}»).",
                f"An agency needs a name and a YYYY-MM-DD date (got «{name}», «{on}»).",
            )
        )
    return lookup(
        client,
        "GET",
        "/agencies",
        key=f"agency:{name.casefold()}@{on}",
        parse=lambda body: parse_agencies_answer(body, name),
        not_found=(
            f"CSDL cán bộ, công chức, viên chức không có cơ quan «{name}» vào ngày {on}. Kiểm tra "
            "tên cơ quan và ngày.",
            f"The officials registry knows no agency named «{name}» on {on}; check the name and "
            "the date.",
        ),
        params={"name": name, "on": on},
        refresh=refresh,
    )
