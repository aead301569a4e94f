"""The land registry (CSDL quốc gia về đất đai): parcels by cadastral key or national parcel id,
and administrative units by code on a date (docs/registries.md, "Land")."""

from __future__ import annotations

import re
from typing import Any

from harvesters.registry_client import Malformed, RegistryClient
from harvesters.registry_lookup import Lookup, invalid, is_iso_date, lookup, need
from repository.identifiers import (
    InvalidIdentifier,
    ParcelKey,
    check_parcel,
    check_parcel_id,
)
from repository.text import nfc

UNIT_CODE = re.compile(r"^(\d{2}|\d{3}|\d{5})$")  # province, district, commune (QĐ 124, QĐ 19)


def _commune(body: Any, key: str, optional: bool) -> dict | None:
    value = need(body, key, dict, optional=optional)
    if value is None:
        return None
    return {"code": need(value, "code"), "name": nfc(need(value, "name")), "on": need(value, "on")}


def _text(body: Any, key: str) -> str:
    return str(need(body, key, (str, int)))


def parse_answer(body: Any) -> dict:
    """A parcel: {"parcel_id","sheet","parcel","area_m2","land_use","commune_then" (None for a
    lookup by id),"commune_now"}. The one place to change for a registry whose JSON differs."""
    return {
        "parcel_id": need(body, "parcel_id").lower(),
        "sheet": _text(body, "sheet"),
        "parcel": _text(body, "parcel"),
        "area_m2": need(body, "area_m2", (int, float), optional=True),
        "land_use": need(body, "land_use", optional=True),
        "commune_then": _commune(body, "commune_then", optional=True),
        "commune_now": _commune(body, "commune_now", optional=False),
    }


def parse_unit_answer(body: Any) -> dict:
    """A unit under a code on a date: {"code","name","level","province_code","valid_from",
    "valid_to"}."""
    facts = {
        "code": need(body, "code"),
        "name": nfc(need(body, "name")),
        "level": need(body, "level"),
        "province_code": need(body, "province_code", optional=True),
        "valid_from": need(body, "valid_from"),
        "valid_to": need(body, "valid_to", optional=True),
    }
    if not is_iso_date(facts["valid_from"]):
        raise Malformed("field 'valid_from' is not a YYYY-MM-DD date")
    return facts


def verify_parcel(client: RegistryClient, key: ParcelKey, refresh: bool = False) -> Lookup:
    """A parcel by its national id when it has one, else by its cadastral key on its date."""
    try:
        if key.parcel_id:
            parcel_id = check_parcel_id(key.parcel_id)
            key = ParcelKey(parcel_id=parcel_id)
        else:
            key = check_parcel(key.commune, key.sheet, key.parcel, key.on)
            if not is_iso_date(key.on):
                raise InvalidIdentifier(
                    f"Ngày của mã xã «{key.on}» không có thật.",
                    f"The date of the commune code «{key.on}» does not exist.",
                )
    except InvalidIdentifier as e:
        return invalid(e)
    not_found = (
        f"CSDL đất đai không có thửa đất {key.text()}. Kiểm tra lại mã xã, ngày, số tờ và số "
        "thửa trên văn bản.",
        f"The land registry has no parcel {key.text()}; check the commune code, its date, the "
        "map sheet and the parcel number in the document.",
    )
    if key.parcel_id:
        path, params, cache_key = f"/parcels/{key.parcel_id}", None, f"id:{key.parcel_id}"
    else:
        path = "/parcels"
        params = {"commune": key.commune, "sheet": key.sheet, "parcel": key.parcel, "on": key.on}
        cache_key = f"key:{key.commune}/{key.sheet}/{key.parcel}@{key.on}"
    return lookup(
        client,
        "GET",
        path,
        key=cache_key,
        parse=parse_answer,
        not_found=not_found,
        params=params,
        refresh=refresh,
    )


def verify_unit(client: RegistryClient, code: str, on: str, refresh: bool = False) -> Lookup:
    """The unit the registry knows under `code` on `on` (a code alone is not an identity)."""
    code, on = code.strip(), on.strip()
    if not UNIT_CODE.match(code) or not is_iso_date(on):
        return invalid(
            InvalidIdentifier(
                f"Mã đơn vị hành chính «{code}» ngày «{on}» không hợp lệ (cần 2, 3 hoặc 5 chữ số "
                "và một ngày YYYY-MM-DD).",
                f"Administrative unit code «{code}» on «{on}» is not valid (needs 2, 3 or 5 "
                "digits and a YYYY-MM-DD date).",
            )
        )
    return lookup(
        client,
        "GET",
        f"/units/{code}",
        key=f"unit:{code}@{on}",
        parse=parse_unit_answer,
        not_found=(
            f"CSDL đất đai không biết đơn vị hành chính mã {code} vào ngày {on}. Kiểm tra mã và "
            "ngày (mã được dùng lại sau 01/07/2025).",
            f"The land registry knows no administrative unit with code {code} on {on}; check "
            "the code and the date (codes were reused after 2025-07-01).",
        ),
        params={"on": on},
        refresh=refresh,
    )
