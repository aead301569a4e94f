"""OAI-PMH lists at scale: a page costs what the page costs. The list size is counted once and
rides in the signed resumption token; from/until and sets filter correctly when the datestamps are
worked out chunk by chunk (tiny chunks and pages here, so that pages straddle chunks)."""

from __future__ import annotations

import base64
import json

import pytest
from flask.testing import FlaskClient

from repository import oai
from repository.config import Settings
from tests.test_oai import NS, anonymous, app, ask, harvest, identifiers, level_items

__all__ = ["anonymous", "app"]  # module fixtures shared with tests/test_oai.py


def token_state(token: str) -> dict[str, object]:
    payload = token.partition(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_the_token_carries_the_list_size_so_later_pages_do_not_recount(
    anonymous: FlaskClient, demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oai, "PAGE_SIZE", 5)
    public = level_items(demo_settings, "public")
    root = ask(anonymous, verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = root.find("o:ListIdentifiers/o:resumptionToken", NS)
    assert token.get("completeListSize") == str(len(public))
    assert token_state(token.text)["n"] == len(public)
    # A later page shows the size its token carries: a token signed with another size (as if
    # the store had changed since the first page) is believed, not recounted.
    state = {**token_state(token.text), "n": 9999}
    altered = oai.tokens.sign(demo_settings.session_key().encode(), state)
    root = ask(anonymous, verb="ListIdentifiers", resumptionToken=altered)
    later = root.find("o:ListIdentifiers/o:resumptionToken", NS)
    assert later.get("completeListSize") == "9999" and later.get("cursor") == "5"
    assert token_state(later.text)["n"] == 9999
    # With from/until the size would take every item's datestamp: it is left out (optional).
    root = ask(anonymous, verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2000-01-01"})
    token = root.find("o:ListIdentifiers/o:resumptionToken", NS)
    assert token.get("completeListSize") is None and token_state(token.text)["n"] is None
    root = ask(anonymous, verb="ListIdentifiers", resumptionToken=token.text)
    assert root.find("o:ListIdentifiers/o:resumptionToken", NS).get("completeListSize") is None


def test_from_and_until_across_chunk_boundaries(
    anonymous: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = harvest(anonymous, metadataPrefix="oai_dc")
    stamp = {
        h.findtext("o:identifier", namespaces=NS): h.findtext("o:datestamp", namespaces=NS)
        for h in every
    }
    stamps = sorted(set(stamp.values()))
    # chunks of 2 candidates (growing to 4) under pages of 3: pages straddle chunks
    monkeypatch.setattr(oai.items, "CHUNK", 2)
    monkeypatch.setattr(oai.items, "MAX_CHUNK", 4)
    monkeypatch.setattr(oai, "PAGE_SIZE", 3)
    for first in stamps:
        got = identifiers(harvest(anonymous, metadataPrefix="oai_dc", **{"from": first}))
        assert got == [i for i in stamp if stamp[i] >= first]
        got = identifiers(harvest(anonymous, metadataPrefix="oai_dc", until=first))
        assert got == [i for i in stamp if stamp[i] <= first]
    got = identifiers(harvest(anonymous, metadataPrefix="oai_dc", **{"from": stamps[-1]}))
    assert got and len(got) < len(every)  # the dates reject some candidates in some chunks


def test_set_filtering_across_chunks(
    anonymous: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = harvest(anonymous, metadataPrefix="oai_dc")
    specs = {
        h.findtext("o:identifier", namespaces=NS): (
            set(h.xpath("o:setSpec/text()", namespaces=NS)),
            h.findtext("o:datestamp", namespaces=NS),
        )
        for h in every
    }
    monkeypatch.setattr(oai.items, "CHUNK", 2)
    monkeypatch.setattr(oai.items, "MAX_CHUNK", 2)
    monkeypatch.setattr(oai, "PAGE_SIZE", 2)
    last = max(s for _, s in specs.values())
    for spec in ("block:dang", "block:chinh-quyen", "unit:xa-hoa-lac-09988_2025-07-01"):
        want = [i for i, (sets, _) in specs.items() if spec in sets]
        assert want
        assert identifiers(harvest(anonymous, metadataPrefix="oai_dc", set=spec)) == want
        dated = harvest(anonymous, "ListRecords", metadataPrefix="oai_dc", set=spec, until=last)
        assert identifiers(dated) == want
        recent = [i for i in want if specs[i][1] >= last]
        got = harvest(anonymous, metadataPrefix="oai_dc", set=spec, **{"from": last})
        assert identifiers(got) == recent


def test_a_list_is_kept_between_writes_and_a_write_is_seen_at_once(
    anonymous: FlaskClient, demo_settings: Settings
) -> None:
    import pyoxigraph as ox

    from repository.store import open_store
    from tests.test_oai import M

    def size() -> int:
        root = ask(anonymous, verb="ListIdentifiers", metadataPrefix="oai_dc")
        token = root.find("o:ListIdentifiers/o:resumptionToken", NS)
        if token is not None:
            return int(token.get("completeListSize"))
        return len(root.findall("o:ListIdentifiers/o:header", NS))

    before = size()
    assert size() == before  # the same list, kept (repository.oai_items._LISTED)
    store = open_store(demo_settings)  # the app's store, as a form's write uses it
    new = ox.Quad(
        ox.NamedNode(M.base + "id/record/TEST.KEPT-LIST.1"),
        ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
        ox.NamedNode("https://www.ica.org/standards/RiC/ontology#Record"),
        ox.NamedNode(M.records_graph("public")),
    )
    store.add_quads([new])
    try:
        assert size() == before + 1  # a write: the list is made again
    finally:
        store.update_quads([new], [])
    assert size() == before
