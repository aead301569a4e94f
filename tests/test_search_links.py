"""The records search finds records by what their registry links say (issue 5): enterprises by
name and code, parcels by id and cadastral key, officials by position and agency, accents ignored;
a hit found through a link names it; a "Sổ đăng ký / Registry" facet; link facts only from the
graph a record is filed in (a secret record's links are not found by anonymous or researcher);
no citizen's number or pseudonym anywhere in the index. Scenarios are found in the verified demo
repository by query, never planted."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from whoosh import index as windex
from whoosh.fields import Schema

from repository import record_index
from repository.config import Settings
from repository.namespaces import KHO
from repository.store import Store, open_store
from repository.text import fold
from tests.conftest import TODAY
from tests.search_engines import ENGINES, all_terms, on_engine, stored
from tests.web import client_as
from webapp import create_app

BASE = "https://kho.example.org/"
PUBLIC = BASE + "graph/records/public"
SECRET = BASE + "graph/records/secret"
VERIFIED = "https://w3id.org/kho/code/verification/verified"
_LINK = """
SELECT ?r ?ref ?id ?name ?pid ?commune ?sheet ?parcel ?pos ?agency ?agencyName WHERE {
  GRAPH <%(graph)s> { ?r dct:references ?ref . ?ref kho:refKind "%(kind)s" ;
      kho:verificationStatus <%(status)s> .
    OPTIONAL { ?ref kho:registryId ?id } OPTIONAL { ?ref kho:enterpriseName ?name }
    OPTIONAL { ?ref kho:parcelId ?pid } OPTIONAL { ?ref kho:communeCode ?commune }
    OPTIONAL { ?ref kho:mapSheet ?sheet } OPTIONAL { ?ref kho:parcel ?parcel }
    OPTIONAL { ?ref kho:officialPosition ?pos } }
  OPTIONAL { GRAPH <%(graph)s> { ?ref kho:officialAgency ?agency }
             ?agency skos:prefLabel ?agencyName FILTER(lang(?agencyName) = "vi") }
} ORDER BY ?ref"""


def links(store: Store, kind: str, graph: str = PUBLIC) -> list[dict[str, str]]:
    """Verified links of `kind` in `graph` with their keys and facts, as strings."""
    rows = store.select(_LINK % {"graph": graph, "kind": kind, "status": VERIFIED})
    return [{k: str(v) for k, v in r.items() if v is not None} for r in rows]


@pytest.fixture(scope="module", params=ENGINES)
def search_engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def demo_settings(demo_settings: Settings, search_engine: str) -> Settings:
    """Each test of this module runs on both engines (the tantivy index is built once)."""
    return on_engine(demo_settings, search_engine)


@pytest.fixture(scope="module")
def demo_store(demo_settings: Settings) -> Store:
    return open_store(demo_settings)


@pytest.fixture(scope="module")
def app(demo_settings: Settings, demo_store: Store) -> Flask:
    record_index.ensure_current(demo_store, demo_settings)
    app = create_app(demo_settings)
    app.testing = True
    return app


_CLIENTS: dict[tuple[int, str], FlaskClient] = {}


def signed_in(app: Flask, who: str) -> FlaskClient:
    """One client per reader for the module (signing in hashes a password: slow)."""
    key = (id(app), who)
    if key not in _CLIENTS:
        _CLIENTS[key] = client_as(app, who)
    return _CLIENTS[key]


def found(app: Flask, q: str, who: str = "anonymous", **filters: str) -> dict[str, list[str]]:
    """{hit IRI: the link labels it matched through} for `q`, as `who` searches the web app."""
    args = "&".join(f"{k}={quote(v)}" for k, v in {"q": q, **filters}.items())
    response = signed_in(app, who).get(f"/records?{args}", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = response.json
    assert body["total"] <= 20, "a page of 20 holds every hit on the demo"
    return {h["iri"]: h["via_links"] for h in body["hits"]}


def test_enterprise_by_name_and_code_accents_ignored(app: Flask, demo_store: Store) -> None:
    link = next(lk for lk in links(demo_store, "enterprise") if lk.get("name"))
    for q in (link["name"], fold(link["name"]).lower(), link["id"]):
        hits = found(app, q)
        assert link["r"] in hits, q
        assert any(link["id"] in label for label in hits[link["r"]]), (q, hits[link["r"]])
    by_name = found(app, fold(link["name"]).lower())[link["r"]]
    # its short and foreign names may follow: "… (0100109106) — VIETTEL, VIETTEL GROUP"
    assert len(by_name) == 1 and by_name[0].startswith(f"{link['name']} ({link['id']})"), by_name


def test_parcel_by_id_and_by_cadastral_key(app: Flask, demo_store: Store) -> None:
    land = [lk for lk in links(demo_store, "land") if lk.get("pid") and lk.get("commune")]
    assert land, "the verified demo has parcels keyed by commune, sheet and parcel"
    link = land[0]
    key = f"{link['commune']}/{link['sheet']}/{link['parcel']}"
    for q in (link["pid"], key, link["pid"].upper()):
        hits = found(app, q)
        assert link["r"] in hits, q
        assert any(key in label and link["pid"] in label for label in hits[link["r"]]), q


def test_parcel_by_its_commune_then(app: Flask, demo_store: Store) -> None:
    """A parcel's commune as the registry placed it on its key date is searchable too."""
    rows = demo_store.select(
        f"SELECT ?r ?then WHERE {{ GRAPH <{PUBLIC}> {{ ?r dct:references ?ref . "
        "?ref kho:parcelUnitThen ?u } ?u skos:prefLabel ?then FILTER(lang(?then) = 'vi') }"
    )
    assert rows
    record, then = str(rows[0]["r"]), str(rows[0]["then"])
    hits = found(app, fold(then).lower())
    assert record in hits


def test_official_by_position_and_agency_and_by_code(app: Flask, demo_store: Store) -> None:
    officials = links(demo_store, "official")
    link = next(lk for lk in officials if lk.get("pos") and lk.get("agencyName"))
    q = f"{link['pos']} {link['agencyName']}"
    for text in (q, fold(q).lower(), link["id"], link["id"].lower()):
        hits = found(app, text)
        assert link["r"] in hits, text
        assert hits[link["r"]] == [f"{link['pos']}, {link['agencyName']} ({link['id']})"], text


def test_a_hit_found_otherwise_names_no_link(app: Flask, demo_store: Store) -> None:
    title = demo_store.select(
        f"SELECT ?r ?t WHERE {{ GRAPH <{PUBLIC}> {{ ?r rico:scopeAndContent ?t "
        "FILTER NOT EXISTS { ?r dct:references ?ref } } } LIMIT 1"
    )[0]
    hits = found(app, str(title["t"]))
    assert hits[str(title["r"])] == []


def test_secret_records_links_found_only_by_the_cleared(app: Flask, demo_store: Store) -> None:
    secret = [
        lk
        for kind in ("enterprise", "land", "official")
        for lk in links(demo_store, kind, SECRET)
        if lk["r"].startswith(BASE + "id/")
    ]
    assert secret, "the verified demo has links in secret records"
    for link in secret:
        for q in filter(None, (link.get("id"), link.get("pid"), link.get("name"))):
            for who in ("anonymous", "researcher", "archivist"):
                assert link["r"] not in found(app, q, who), (who, q)
            assert link["r"] in found(app, q, "cleared"), q


def test_registry_facet_counts_filters_and_labels(app: Flask, demo_store: Store) -> None:
    body = signed_in(app, "anonymous").get("/records", headers={"Accept": "application/json"})
    counts = {f["value"]: f["count"] for f in body.json["facets"]["registry"]}
    assert set(counts) == {"enterprise", "land", "official", "citizen"}
    for kind, count in counts.items():
        hits = found(app, "", registry=kind)
        assert 0 < len(hits) == count
        for iri in hits:  # each cites one in the graph it is filed in (a public one here)
            assert demo_store.ask(
                "ASK WHERE { GRAPH ?g { ?r kho:accessLevel ?m ; dct:references ?ref . "
                f'?ref kho:refKind "{kind}" }} }}',
                substitutions={"r": ox.NamedNode(iri)},
            )
    cleared = signed_in(app, "cleared").get("/records", headers={"Accept": "application/json"})
    more = {f["value"]: f["count"] for f in cleared.json["facets"]["registry"]}
    assert all(more[k] >= n for k, n in counts.items()) and more != counts
    page = lxml_html.fromstring(signed_in(app, "anonymous").get("/records").data)
    sections = page.xpath('//aside[@class="facets"]/section')
    facet = next(s for s in sections if "Sổ đăng ký" in s.text_content())
    assert "Dẫn chiếu công dân" in facet.text_content()
    assert facet.xpath('.//a[contains(@href, "registry=enterprise")]')


def test_the_hit_names_the_link_on_the_page(app: Flask, demo_store: Store) -> None:
    link = next(lk for lk in links(demo_store, "enterprise") if lk.get("name"))
    page = lxml_html.fromstring(signed_in(app, "anonymous").get(f"/records?q={link['id']}").data)
    hit = page.xpath(f'//ol[@class="hits"]/li[@data-iri="{link["r"]}"]')[0]
    badge = hit.xpath('.//*[contains(@class, "via-link")]')[0].text_content()
    assert "qua liên kết sổ đăng ký" in badge and f"{link['name']} ({link['id']})" in badge


def test_no_citizen_number_or_pseudonym_in_the_index(
    app: Flask, demo_store: Store, demo_settings: Settings
) -> None:
    numbers = {
        str(r["id"])
        for r in demo_store.select(
            'SELECT ?id WHERE { GRAPH ?g { ?ref kho:refKind "citizen" ; kho:registryId ?id } }'
        )
    }
    persons = {
        str(r["t"]).rsplit("/", 1)[-1]
        for r in demo_store.select(
            'SELECT ?t WHERE { GRAPH ?g { ?ref kho:refKind "citizen" ; kho:linkTarget ?t } }'
        )
    }
    assert numbers and persons
    secrets = {s.lower() for s in numbers | persons}
    terms = 0
    for name, term in all_terms(demo_settings):
        assert not any(s in term.lower() for s in secrets), name
        terms += 1
    citing = 0
    for fields in stored(demo_settings):
        text = repr(fields).lower()
        assert not any(s in text for s in secrets), fields["iri"]
        citing += "citizen" in str(fields.get("registry") or "")
    assert terms > 1000 and citing == len({str(r["r"]) for r in demo_store.select(_CITING)}), (
        "every record citing a citizen is in the facet, and only as yes/no"
    )


_CITING = """SELECT DISTINCT ?r WHERE { GRAPH ?g { ?r kho:accessLevel ?m ; dct:references ?ref .
  ?ref kho:refKind "citizen" } FILTER(!STRENDS(STR(?g), "/personal")) }"""


def test_update_reindexes_what_a_check_changed(
    demo_store: Store, demo_settings: Settings, tmp_path: Path
) -> None:
    """record_index.update(store, settings, iris) — what `kho registries verify` calls — picks up
    a link's facts as they are now: a link whose names were dropped is found by code only."""
    demo_store.backup(tmp_path / "store")
    settings = Settings(data_dir=tmp_path, today=TODAY, search=demo_settings.search)
    copy = open_store(settings)
    record_index.rebuild(copy, settings)
    link = next(lk for lk in links(copy, "enterprise") if lk.get("name"))
    named = ox.Quad(
        ox.NamedNode(link["ref"]),
        ox.NamedNode(KHO + "enterpriseName"),
        ox.Literal(link["name"], language="vi"),
        ox.NamedNode(PUBLIC),
    )
    others = [  # its short and foreign names go with it (as when a check drops the facts)
        ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(PUBLIC))
        for t in copy.triples(
            f"CONSTRUCT {{ <{link['ref']}> ?p ?o }} WHERE {{ GRAPH <{PUBLIC}> {{ "
            f"<{link['ref']}> ?p ?o FILTER(?p IN (kho:enterpriseShortName, "
            "kho:enterpriseForeignName)) } }"
        )
    ]
    hits = record_index.search(settings, fold(link["name"]), access={"01"})
    assert link["r"] in {h.iri for h in hits.hits}
    copy.update_quads([named, *others], [])
    assert not [lk for lk in links(copy, "enterprise") if lk["ref"] == link["ref"] and "name" in lk]
    assert record_index.update(copy, settings, [link["r"]]) == 1
    after = record_index.search(settings, fold(link["name"]), access={"01"})
    assert link["r"] not in {h.iri for h in after.hits}
    by_code = record_index.search(settings, link["id"], access={"01"})
    assert [h.via_links for h in by_code.hits if h.iri == link["r"]] == [[link["id"]]]


def test_an_index_without_link_fields_is_rebuilt(
    demo_store: Store, demo_settings: Settings, tmp_path: Path
) -> None:
    demo_store.backup(tmp_path / "store")
    settings = Settings(data_dir=tmp_path, today=TODAY, search=demo_settings.search)
    copy = open_store(settings)
    current = record_index.schema()
    old = Schema(
        **{
            n: current[n]
            for n in current.names()
            if n not in ("links", "link_keys", "registry", "link_labels")
            and not n.startswith("format_")
        }
    )
    path = record_index.index_path(settings)
    path.mkdir()
    if settings.search == "tantivy":  # an index of an older format: the marker says which
        from repository.records_tantivy import layout
        from repository.search_tantivy import build

        build(path, layout(), [], "2026-10-before-links")
    else:
        windex.create_in(str(path), old)
    assert not record_index.is_current(settings)
    assert record_index.ensure_current(copy, settings)
    assert record_index.is_current(settings)
    assert record_index.search(settings, "", filters={"registry": "land"}, access={"01"}).total
