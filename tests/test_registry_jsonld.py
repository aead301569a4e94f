"""Framed JSON-LD of records and hồ sơ names what their registry links point to (issue 5): the unit
versions of a parcel's commune then and now (name, code, valid from/to) and the agency an official's
registry entry names, so that an integrator needs no second request; and a citizen's number only
for readers with the `personal` grant. Over the demo repository (every link checked against the
registry simulator, tests/conftest.py), through the real app with `Accept: application/ld+json`;
scenarios are found by query."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pyld import jsonld

from repository.config import Settings
from repository.store import Store, open_store
from tests.web import ROLES_UNDER_TEST, client_as
from webapp import create_app, negotiation

BASE = "https://kho.example.org/"
KHO = "https://w3id.org/kho/ns#"
SKOS_PREF = "http://www.w3.org/2004/02/skos/core#prefLabel"
LINKED = ("parcelUnitThen", "parcelUnitNow", "officialAgency")
WITHOUT_PERSONAL = [r for r in ROLES_UNDER_TEST if r != "cleared"]


@pytest.fixture(scope="module")
def app(demo_settings: Settings) -> Flask:
    return create_app(demo_settings)


@pytest.fixture(scope="module")
def db(demo_settings: Settings) -> Store:
    return open_store(demo_settings)


@pytest.fixture(scope="module")
def cleared(app: Flask) -> FlaskClient:
    return client_as(app, "cleared")  # sees every level and the personal graphs


def get_doc(client: FlaskClient, iri: str) -> dict | None:
    """The framed JSON-LD of `iri` by content negotiation; None when the reader gets a 404."""
    response = client.get("/" + iri[len(BASE) :], headers={"Accept": "application/ld+json"})
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/ld+json"
    return json.loads(response.data)  # type: ignore[no-any-return]


def nodes(value: object) -> Iterator[dict]:
    """Every node object in a JSON-LD tree."""
    if isinstance(value, dict):
        if "id" in value:
            yield value
        for v in value.values():
            yield from nodes(v)
    elif isinstance(value, list):
        for v in value:
            yield from nodes(v)


def described(doc: dict) -> dict[str, dict]:
    """The nodes of `doc` that carry more than their id, by id."""
    out: dict[str, dict] = {}
    for n in nodes(doc):
        if len(n) > 1:
            out.setdefault(n["id"], {}).update(n)
    return out


def ref_id(value: object) -> str:
    return str(value["id"] if isinstance(value, dict) else value)


def linking_subjects(db: Store, prop: str) -> dict[str, set[tuple[str, str]]]:
    """Records and hồ sơ with a link carrying `prop`: {subject: {(link, target)}}."""
    rows = db.select(
        f"""SELECT DISTINCT ?s ?ref ?o WHERE {{ GRAPH ?g {{
          ?s dct:references ?ref . ?ref a kho:RegistryReference ; <{KHO}{prop}> ?o }}
          FILTER(STRSTARTS(STR(?g), "{BASE}graph/records/")) }}"""
    )
    out: dict[str, set[tuple[str, str]]] = {}
    for r in rows:
        out.setdefault(str(r["s"]), set()).add((str(r["ref"]), str(r["o"])))
    assert out, f"the demo data has no link with kho:{prop}"
    return out


def reference_facts(db: Store, iri: str) -> dict[str, str]:
    """Name (vi), code and dates of a unit version or agency in the public reference graphs."""
    rows = db.select(
        f"""SELECT ?name ?code ?from ?to WHERE {{ GRAPH ?g {{
          <{iri}> skos:prefLabel ?name . FILTER(LANG(?name) = "vi")
          OPTIONAL {{ <{iri}> skos:notation ?code }}
          OPTIONAL {{ <{iri}> rico:beginningDate ?from }}
          OPTIONAL {{ <{iri}> rico:endDate ?to }} }}
          FILTER(?g IN (<{BASE}graph/gazetteer>, <{BASE}graph/agencies>)) }}"""
    )
    assert rows, f"{iri} is in no reference graph"
    return {k: str(v) for k, v in rows[0].items() if v is not None}


def citizens(db: Store) -> dict[str, tuple[str, str, str]]:
    """Citizen links: {link: (subject, pseudonymous target, number)}."""
    rows = db.select(
        f"""SELECT ?s ?ref ?person ?number WHERE {{
          GRAPH ?g {{ ?s dct:references ?ref . ?ref kho:refKind "citizen" ;
                        kho:linkTarget ?person }}
          GRAPH ?p {{ ?ref kho:registryId ?number }}
          FILTER(STRSTARTS(STR(?p), "{BASE}graph/records/") && STRENDS(STR(?p), "/personal")) }}"""
    )
    assert rows, "the demo data cites no citizen"
    return {str(r["ref"]): (str(r["s"]), str(r["person"]), str(r["number"])) for r in rows}


# -- what links point to, named in the document ---------------------------------------------------


@pytest.mark.parametrize("prop", ["parcelUnitThen", "parcelUnitNow"])
def test_a_parcels_communes_come_with_name_code_and_dates(
    cleared: FlaskClient, db: Store, prop: str
) -> None:
    for subject, links in sorted(linking_subjects(db, prop).items()):
        doc = get_doc(cleared, subject)
        assert doc is not None, subject
        refs = {r["id"]: r for r in doc["references"]}
        have = described(doc)
        for link, unit in links:
            assert ref_id(refs[link][prop]) == unit, (subject, link)
            node, facts = have.get(unit), reference_facts(db, unit)
            assert node is not None, f"{subject}: {prop} {unit} is not described"
            assert node["type"] == "AdminUnitVersion" and node["name"]["vi"] == facts["name"]
            assert node["code"] == facts["code"]
            assert node.get("beginningDate") == facts.get("from"), unit
            assert node.get("endDate") == facts.get("to"), unit


def test_an_officials_agency_comes_with_its_name(cleared: FlaskClient, db: Store) -> None:
    for subject, links in sorted(linking_subjects(db, "officialAgency").items()):
        doc = get_doc(cleared, subject)
        assert doc is not None, subject
        refs = {r["id"]: r for r in doc["references"]}
        have = described(doc)
        for link, agency in links:
            assert ref_id(refs[link]["officialAgency"]) == agency, (subject, link)
            node = have.get(agency)
            assert node is not None, f"{subject}: officialAgency {agency} is not described"
            assert node["name"]["vi"] == reference_facts(db, agency)["name"]
            assert "CorporateBody" in node["type"]


def test_a_merged_communes_parcel_reads_then_and_now(cleared: FlaskClient, db: Store) -> None:
    """A parcel keyed in a commune abolished on 2025-07-01: the commune then ends on 2025-06-30,
    the commune now begins on 2025-07-01, each with its own code and name."""
    then = linking_subjects(db, "parcelUnitThen")
    now = linking_subjects(db, "parcelUnitNow")
    pairs = [
        (s, link, u_then, u_now)
        for s, links in sorted(then.items())
        for link, u_then in sorted(links)
        for link2, u_now in sorted(now.get(s, ()))
        if link == link2 and u_then != u_now
    ]
    assert pairs, "the demo data has no parcel whose commune was merged"
    subject, link, u_then, u_now = pairs[0]
    have = described(get_doc(cleared, subject) or {})
    assert have[u_then]["endDate"] == "2025-06-30"
    assert have[u_now]["beginningDate"] == "2025-07-01" and "endDate" not in have[u_now]
    assert have[u_then]["name"]["vi"] and have[u_now]["name"]["vi"]


def test_an_integrator_frames_the_links_with_pyld(cleared: FlaskClient, db: Store) -> None:
    """The document is plain JSON-LD: pyld expands it (the unit's name under kho:parcelUnitNow's
    IRI) and an integrator's own frame pulls each link out with its units and agency embedded."""
    subjects = set(linking_subjects(db, "parcelUnitNow")) & set(
        linking_subjects(db, "officialAgency")
    )
    subject = min(subjects or set(linking_subjects(db, "parcelUnitNow")))
    doc = get_doc(cleared, subject)
    assert doc is not None
    loader = negotiation.document_loader(BASE)
    flat = jsonld.flatten(doc, None, {"documentLoader": loader})
    by_id = {n["@id"]: n for n in flat}
    units = [o["@id"] for n in flat for o in n.get(KHO + "parcelUnitNow", [])]
    assert units and all(by_id[u][SKOS_PREF] for u in units)
    framed = jsonld.frame(
        doc,
        {
            "@context": negotiation.context_url(BASE, "v2"),
            "@type": "RegistryReference",
            "@embed": "@always",
        },
        {"documentLoader": loader, "omitGraph": False},
    )
    links = framed["@graph"]
    assert {lk["id"] for lk in links} == {r["id"] for r in doc["references"]}
    for lk in links:
        for prop in LINKED:
            if prop in lk:
                assert lk[prop]["name"]["vi"], (lk["id"], prop)


def test_every_linked_unit_and_agency_is_embedded_in_place(cleared: FlaskClient, db: Store) -> None:
    """An integrator reads doc['references'][i]['parcelUnitNow']['name'] and doc['adminUnit']
    ['name'] directly, whichever other property also points to that unit."""
    subjects = set()
    for prop in LINKED:
        subjects |= set(linking_subjects(db, prop))
    for subject in sorted(subjects):
        doc = get_doc(cleared, subject)
        assert doc is not None
        if "adminUnit" in doc:
            assert isinstance(doc["adminUnit"], dict), (subject, "adminUnit")
        for r in doc["references"]:
            for prop in LINKED:
                if prop in r:
                    assert isinstance(r[prop], dict) and r[prop]["name"], (r["id"], prop)


# -- a citizen's number ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", WITHOUT_PERSONAL)
def test_no_citizens_number_without_the_personal_grant(app: Flask, db: Store, who: str) -> None:
    client = client_as(app, who)
    found = citizens(db)
    numbers = re.compile("|".join(rf"(?<!\d){n}(?!\d)" for _, _, n in found.values()))
    seen = 0
    for link, (subject, person, _) in sorted(found.items()):
        for path in ("/" + subject[len(BASE) :], "/" + subject[len(BASE) :] + ".jsonld"):
            response = client.get(path, headers={"Accept": "application/ld+json"})
            if response.status_code == 404:
                continue
            text = response.get_data(as_text=True)
            assert not numbers.search(text), (who, path)
            ref = {r["id"]: r for r in json.loads(text)["references"]}[link]
            assert ref["linkTarget"] == person and ref["refKind"] == "citizen"
            assert "registryId" not in ref, (who, link)
            seen += 1
    assert seen, f"{who} sees no record citing a citizen"


def test_the_cleared_reader_gets_the_number_from_the_personal_graph(
    cleared: FlaskClient, db: Store
) -> None:
    for link, (subject, person, number) in sorted(citizens(db).items()):
        doc = get_doc(cleared, subject)
        assert doc is not None, subject
        ref = {r["id"]: r for r in doc["references"]}[link]
        assert ref["registryId"] == number and ref["linkTarget"] == person
