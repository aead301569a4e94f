"""The population registry (CSDL quốc gia về dân cư): does a personal identification number exist?
(docs/registries.md, "Population"). The number is personal data: it goes only in a POST body,
the cache and the log know the citizen by the keyed pseudonym, and no fact is kept.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from harvesters.registry_client import NotFound, RegistryClient
from harvesters.registry_lookup import Lookup, invalid, lookup, need
from repository.identifiers import InvalidIdentifier, check_citizen, pseudonym

NOT_FOUND = (
    "CSDL quốc gia về dân cư không có số định danh cá nhân này. Kiểm tra lại số trên giấy tờ.",
    "The population registry has no such personal identification number; check it against the "
    "document.",
)


def parse_answer(body: Any) -> dict:
    """`{"number": ..., "exists": true}` → {} (Kho keeps no fact about a person); `exists: false`
    means not found. The one place to change for a registry whose JSON differs."""
    if not need(body, "exists", bool):
        raise NotFound
    return {}


def verify(
    client: RegistryClient,
    number: str,
    secret: bytes,
    on: date | None = None,
    refresh: bool = False,
) -> Lookup:
    """Whether the registry knows `number`; invalid numbers are 'not-found' without asking."""
    try:
        number = check_citizen(number, on)
    except InvalidIdentifier as e:
        return invalid(e)
    return lookup(
        client,
        "POST",
        "/citizens/verify",
        key=pseudonym(number, secret),
        parse=parse_answer,
        not_found=NOT_FOUND,
        json={"number": number},
        refresh=refresh,
    )
