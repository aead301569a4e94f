"""Registry links on the web (issue 5 §3, §4): record, hồ sơ, agency and unit pages, /registries,
pseudonymous citizens' pages, the SPARQL examples and the framed JSON-LD — for every demo reader.

The data is real: a copy of the demo repository (ingested links from texts and sheets), agencies'
and units' links added (`ensure_links`), all of them checked against the registry simulator
(`verify`), with one enterprise code failing every time so that a registry error is shown. What a
test needs (a public record with a verified parcel, a secret record's links...) is found by
query."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pyoxigraph as ox
import pytest
from flask import Flask
from lxml import html as lxml_html

from harvesters.registries import Registries
from repository.config import Settings
from repository.identifiers import pseudonym
from repository.namespaces import Minter
from repository.registry_links import ensure_links
from repository.registry_verify import verify
from repository.store import Store, open_store
from tests.conftest import TODAY
from tests.registry_sim_server import running_simulator, sim_settings
from tests.web import client_as
from webapp import create_app
from webapp.examples import EXAMPLES

REGISTRY_EXAMPLES = ("parcels-in-new-ward", "enterprises-cited", "links-failed", "officials-cited")
VERIFIED = "https://w3id.org/kho/code/verification/verified"


@pytest.fixture(scope="module")
def linked(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the demo repository whose links are all checked against the simulator."""
    data_dir = tmp_path_factory.mktemp("kho-registry-pages")
    open_store(demo_settings).backup(data_dir / "store")
    for name in ("index", "records-index", "files"):
        shutil.copytree(demo_settings.data_dir / name, data_dir / name)
    for name in ("users.sqlite3", "secret-key", "pseudonym-key"):
        if (demo_settings.data_dir / name).exists():
            shutil.copy(demo_settings.data_dir / name, data_dir / name)
    store = open_store(data_dir / "store")
    failing = one(store, ENTERPRISE_TO_FAIL)["code"]
    with running_simulator(fail_ids={failing: -1}) as url:
        settings = sim_settings(url, data_dir, registry_retries=0)
        ensure_links(store, settings)
        with Registries(settings) as registries:
            verify(store, settings, registries)
    linked = Settings(data_dir=data_dir, today=TODAY)
    linked.__dict__["_failing"] = failing
    return linked


def one(store: Store, sparql: str, graphs: list[str] | None = None) -> dict[str, str]:
    rows = store.select(sparql, graphs=graphs)
    assert rows, f"the demo data has nothing for {sparql}"
    return {k: str(v) for k, v in rows[0].items() if v is not None}


def graph(level: str, facet: str | None = None) -> str:
    return Minter("https://kho.example.org/").records_graph(level, facet)


ENTERPRISE_TO_FAIL = """SELECT ?code WHERE { GRAPH <https://kho.example.org/graph/records/public>
  { ?s dct:references ?ref . ?ref kho:refKind "enterprise" ; kho:registryId ?code } }
  ORDER BY DESC(?code) LIMIT 1"""


@pytest.fixture(scope="module")
def db(linked: Settings) -> Store:
    return open_store(linked)


def public_link(store: Store, where: str) -> dict[str, str]:
    """The first public record link (?s, ?ref) matching `where`."""
    return one(
        store,
        "SELECT * WHERE { GRAPH <https://kho.example.org/graph/records/public> { "
        f"?s dct:references ?ref . {where} }} }} ORDER BY ?s ?ref LIMIT 1",
    )


@pytest.fixture(scope="module")
def app(linked: Settings) -> Flask:
    return create_app(linked)


def page(app: Flask, who: str, path: str, status: int = 200) -> lxml_html.HtmlElement:
    response = client_as(app, who).get(path, headers={"Accept": "text/html"})
    assert response.status_code == status, (who, path, response.status_code)
    return lxml_html.fromstring(response.data)


def link_items(doc: lxml_html.HtmlElement) -> dict[str, lxml_html.HtmlElement]:
    """The registry links on a page, by link IRI."""
    return {li.get("data-link"): li for li in doc.find_class("registry-link")}


def text(el: lxml_html.HtmlElement) -> str:
    return " ".join(el.text_content().split())


def audit_rows(settings: Settings, actor: str) -> list[tuple[str, str, str]]:
    with sqlite3.connect(settings.users_path) as db:  # type: ignore[arg-type]
        rows = db.execute("SELECT action, target, detail FROM audit WHERE actor = ?", (actor,))
        return list(rows)


def local(iri: str) -> str:
    return "/" + iri.split("/", 3)[3]


def citizen(store: Store, level: str) -> dict[str, str]:
    """A record of `level` with a citizen link: ?s, ?ref, ?person and the ?number."""
    return one(
        store,
        f"""SELECT ?s ?ref ?person ?number WHERE {{
          GRAPH <{graph(level)}> {{ ?s dct:references ?ref . ?ref kho:linkTarget ?person ;
                                    kho:refKind "citizen" }}
          GRAPH <{graph(level, "personal")}> {{ ?ref kho:registryId ?number }}
        }} ORDER BY ?ref LIMIT 1""",
    )


# -- record and hồ sơ pages -----------------------------------------------------------------------


def test_record_page_shows_a_parcel_then_and_now(app: Flask, db: Store) -> None:
    land = public_link(
        db,
        f'?ref kho:refKind "land" ; kho:verificationStatus <{VERIFIED}> ; '
        "kho:parcelUnitThen ?then ; kho:parcelUnitNow ?now ; kho:parcelId ?pid ; "
        "kho:mapSheet ?sheet ; kho:parcel ?parcel FILTER(?then != ?now)",
    )
    doc = page(app, "anonymous", local(land["s"]))
    section = doc.get_element_by_id("registry-links")
    assert "Liên kết sổ đăng ký" in text(section) and "Registry links" in text(section)
    li = link_items(doc)[land["ref"]]
    assert "status-verified" in li.get("class")
    assert li.find_class("badge")[0].text_content().startswith("đã xác minh")
    then, now = li.find_class("then")[0], li.find_class("now")[0]
    assert [a.get("href") for a in then.iter("a")] == [local(land["then"])]
    assert [a.get("href") for a in now.iter("a")] == [local(land["now"])]
    assert land["pid"] in text(li) and "m²" in text(li.find_class("area")[0])
    assert f"tờ / sheet {land['sheet']}, thửa / parcel {land['parcel']}" in text(li)
    target = li.find_class("target")[0].get("href")
    assert target == f"https://dat-dai.registry.example.vn/id/thua-dat/{land['pid']}"


def test_record_page_shows_enterprises_and_officials(app: Flask, db: Store) -> None:
    ent = public_link(
        db,
        f'?ref kho:refKind "enterprise" ; kho:verificationStatus <{VERIFIED}> ; '
        "kho:registryId ?code ; kho:enterpriseName ?name ; kho:enterpriseStatusLabel ?label",
    )
    li = link_items(page(app, "anonymous", local(ent["s"])))[ent["ref"]]
    assert ent["name"] in text(li) and ent["code"] in text(li) and ent["label"] in text(li)
    target = li.find_class("target")[0].get("href")
    assert target == f"https://doanh-nghiep.registry.example.vn/id/{ent['code']}"
    off = public_link(
        db,
        f'?ref kho:refKind "official" ; kho:verificationStatus <{VERIFIED}> ; '
        "kho:registryId ?code ; kho:officialPosition ?position ; kho:officialAgency ?agency",
    )
    li = link_items(page(app, "anonymous", local(off["s"])))[off["ref"]]
    assert off["position"] in text(li) and off["code"] in text(li)
    assert li.find_class("agency")[0].get("href") == local(off["agency"])


def test_failed_links_show_their_status_and_what_to_do(app: Flask, db: Store) -> None:
    missing = public_link(
        db,
        "?ref kho:verificationStatus <https://w3id.org/kho/code/verification/not-found> ; "
        'kho:verificationNote ?note FILTER(lang(?note) = "en")',
    )
    li = link_items(page(app, "anonymous", local(missing["s"])))[missing["ref"]]
    assert "không tìm thấy / not found" in text(li.find_class("badge")[0])
    assert missing["note"] in text(li.find_class("note")[0])
    assert li.findall(".//time")  # when it was checked
    error = public_link(
        db,
        "?ref kho:verificationStatus <https://w3id.org/kho/code/verification/registry-error>",
    )
    li = link_items(page(app, "anonymous", local(error["s"])))[error["ref"]]
    assert "lỗi sổ đăng ký / registry error" in text(li.find_class("badge")[0])
    assert li.find_class("note")


def test_a_citizen_shows_as_a_pseudonym_and_the_number_only_with_the_grant(
    app: Flask, db: Store, linked: Settings
) -> None:
    c = citizen(db, "public")
    assert c["person"] == Minter(linked.base_iri).person(
        pseudonym(c["number"], linked.pseudonym_secret())
    )
    for who in ("anonymous", "researcher", "archivist", "admin"):
        response = client_as(app, who).get(local(c["s"]), headers={"Accept": "text/html"})
        body = response.get_data(as_text=True)
        assert c["number"] not in body, who
        li = link_items(lxml_html.fromstring(body))[c["ref"]]
        assert "công dân (mã ẩn danh) / citizen (pseudonymous)" in text(li)
        assert li.find_class("person")[0].get("href") == local(c["person"])
        assert not li.find_class("personal-number")
    before = len(audit_rows(linked, "cleared"))
    li = link_items(page(app, "cleared", local(c["s"])))[c["ref"]]
    assert c["number"] in text(li.find_class("personal-number")[0])
    rows = audit_rows(linked, "cleared")[before:]
    assert any(
        a == "read-restricted" and t == c["s"] and d.startswith("personal") for a, t, d in rows
    ), rows


def test_hoso_page_shows_its_own_link_and_its_documents_links(app: Flask, db: Store) -> None:
    own = public_link(db, "?s a rico:RecordSet")
    doc = page(app, "anonymous", local(own["s"]))
    items = {li.get("data-link"): li for li in doc.find_class("registry-link")}
    assert not items[own["ref"]].find_class("subject")  # the page's own link names no document
    docs = db.select(
        "SELECT ?r ?ref WHERE { ?r rico:isOrWasIncludedIn ?h ; dct:references ?ref }",
        substitutions={"h": ox.NamedNode(own["s"])},
        graphs=[graph("public")],
    )
    for d in docs:
        subject = items[str(d["ref"])].find_class("subject")[0]
        assert subject.get("href") == local(str(d["r"]))


def test_a_secret_records_links_do_not_exist_for_who_may_not_see_it(app: Flask, db: Store) -> None:
    secret = one(
        db,
        f"SELECT ?s ?ref WHERE {{ GRAPH <{graph('secret')}> {{ ?s dct:references ?ref }} }} "
        "ORDER BY ?ref",
    )
    c = citizen(db, "secret")
    for who in ("anonymous", "researcher", "archivist", "admin"):
        page(app, who, local(secret["s"]), status=404)
        page(app, who, local(c["person"]), status=404)
        body = client_as(app, who).get("/registries", headers={"Accept": "text/html"})
        assert secret["ref"] not in body.get_data(as_text=True)
    doc = page(app, "cleared", local(c["s"]))
    assert c["number"] in text(link_items(doc)[c["ref"]])
    assert secret["ref"] in link_items(page(app, "cleared", local(secret["s"])))


# -- unit and agency pages ------------------------------------------------------------------------


def test_unit_page_shows_its_own_link_and_the_parcels_cited_in_it(app: Flask, db: Store) -> None:
    land = one(
        db,
        f"""SELECT ?s ?ref ?unit ?own ?code WHERE {{
          GRAPH <{graph("public")}> {{ ?s dct:references ?ref .
            {{ ?ref kho:parcelUnitThen ?unit }} UNION {{ ?ref kho:parcelUnitNow ?unit }} }}
          GRAPH <https://kho.example.org/graph/registries> {{ ?unit dct:references ?own .
            ?own kho:registryId ?code }}
        }} ORDER BY ?ref LIMIT 1""",
    )
    section = page(app, "anonymous", local(land["unit"])).get_element_by_id("registry-links")
    own = section.find_class("own")[0].find_class("registry-link")
    assert [li.get("data-link") for li in own] == [land["own"]]
    assert land["code"] in text(own[0]) and own[0].find_class("badge")
    cited = section.find_class("cited")[0]
    li = next(x for x in cited.find_class("registry-link") if x.get("data-link") == land["ref"])
    assert li.find_class("subject")[0].get("href") == local(land["s"])


def test_unit_page_hides_parcels_of_records_the_reader_may_not_see(app: Flask, db: Store) -> None:
    hidden = one(
        db,
        f"""SELECT ?ref ?unit WHERE {{ GRAPH <{graph("conditional")}> {{
          {{ ?ref kho:parcelUnitThen ?unit }} UNION {{ ?ref kho:parcelUnitNow ?unit }} }}
        }} ORDER BY ?ref LIMIT 1""",
    )
    anonymous = page(app, "anonymous", local(hidden["unit"]))
    assert hidden["ref"] not in [
        li.get("data-link") for li in anonymous.find_class("registry-link")
    ]
    researcher = page(app, "researcher", local(hidden["unit"]))
    assert hidden["ref"] in [li.get("data-link") for li in researcher.find_class("registry-link")]


def test_agency_page_shows_its_link_and_the_officials_cited(app: Flask, db: Store) -> None:
    agency = one(
        db,
        """SELECT ?agency ?own ?code ?name WHERE {
          GRAPH <https://kho.example.org/graph/registries> { ?agency dct:references ?own .
            ?own kho:refKind "agency" ; kho:registryId ?code ; kho:registryName ?name }
        } ORDER BY ?agency LIMIT 1""",
    )
    section = page(app, "anonymous", local(agency["agency"])).get_element_by_id("registry-links")
    own = section.find_class("own")[0]
    assert agency["code"] in text(own) and agency["name"] in text(own)
    off = public_link(db, '?ref kho:refKind "official" ; kho:officialAgency ?agency')
    section = page(app, "anonymous", local(off["agency"])).get_element_by_id("registry-links")
    cited = section.find_class("cited")[0].find_class("registry-link")
    li = next(x for x in cited if x.get("data-link") == off["ref"])
    assert li.find_class("subject")[0].get("href") == local(off["s"])


# -- pseudonymous citizens ------------------------------------------------------------------------


def test_person_page_lists_the_visible_records_and_the_number_only_with_the_grant(
    app: Flask, db: Store, linked: Settings
) -> None:
    c = citizen(db, "public")
    path = local(c["person"])
    for who in ("anonymous", "researcher", "archivist", "admin"):
        response = client_as(app, who).get(path, headers={"Accept": "text/html"})
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert c["number"] not in body and "personal-number" not in body
        subjects = [a.get("href") for a in lxml_html.fromstring(body).find_class("subject")]
        assert local(c["s"]) in subjects
    before = len(audit_rows(linked, "cleared"))
    doc = page(app, "cleared", path)
    assert c["number"] in text(doc.find_class("personal-number")[0])
    assert any(d.startswith("personal") for _, _, d in audit_rows(linked, "cleared")[before:])
    page(app, "anonymous", "/id/person/" + "a" * 26, status=404)  # nobody
    page(app, "anonymous", "/id/person/not-a-pseudonym", status=404)


def test_person_as_rdf_never_carries_the_number_without_the_grant(app: Flask, db: Store) -> None:
    c = citizen(db, "public")
    path = local(c["person"])
    anonymous = client_as(app, "anonymous")
    ttl = anonymous.get(path + ".ttl")
    assert ttl.status_code == 200 and ttl.mimetype == "text/turtle"
    assert "linkTarget" in ttl.get_data(as_text=True)
    assert c["number"] not in ttl.get_data(as_text=True)
    jsonld = anonymous.get(path, headers={"Accept": "application/ld+json"})
    assert jsonld.status_code == 200 and c["number"] not in jsonld.get_data(as_text=True)
    assert c["number"] in client_as(app, "cleared").get(path + ".nt").get_data(as_text=True)


# -- /registries ----------------------------------------------------------------------------------


def counts_of(app: Flask, who: str) -> dict[str, dict[str, int]]:
    response = client_as(app, who).get("/registries", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return json.loads(response.data)["counts"]


def test_registries_summary_counts_what_each_reader_may_see(app: Flask, db: Store) -> None:

    def total(counts: dict[str, dict[str, int]]) -> int:
        return sum(sum(row.values()) for row in counts.values())

    anonymous, researcher, cleared = (
        counts_of(app, w) for w in ("anonymous", "researcher", "cleared")
    )
    assert total(anonymous) < total(researcher) < total(cleared)
    public = db.select(
        "SELECT (COUNT(?ref) AS ?n) WHERE { ?ref kho:refKind ?k ; kho:registry "
        "<https://w3id.org/kho/code/registry/enterprise> ; kho:verificationStatus "
        f"<{VERIFIED}> }}",
        graphs=[graph("public"), "https://kho.example.org/graph/registries"],
    )
    assert anonymous["enterprise"]["verified"] == public[0]["n"]
    assert anonymous["enterprise"]["registry-error"] >= 1  # the code the simulator fails
    doc = page(app, "anonymous", "/registries")
    assert "Links per registry and status" in text(doc)
    assert not doc.find_class("unverified")  # archivists only
    row = doc.find_class("registry-enterprise")[0]
    cell = row.find_class("status-verified")[0]
    assert cell.text_content() == str(anonymous["enterprise"]["verified"])


def test_archivists_see_the_links_not_verified_with_their_notes(
    app: Flask, linked: Settings
) -> None:
    doc = page(app, "archivist", "/registries")
    items = doc.get_element_by_id("unverified").find_class("registry-link")
    statuses = [li.get("class").split("status-")[-1] for li in items]
    assert statuses and "verified" not in statuses
    assert statuses == sorted(statuses, key=["registry-error", "not-found", "unchecked"].index)
    assert linked.__dict__["_failing"] in text(items[0])  # registry errors first, with a note
    assert items[0].find_class("note")
    only = page(app, "archivist", "/registries?status=not-found")
    items = only.get_element_by_id("unverified").find_class("registry-link")
    assert items and all("status-not-found" in li.get("class") for li in items)
    assert client_as(app, "archivist").get("/registries?status=bogus").status_code == 400
    body = client_as(app, "researcher").get("/registries", headers={"Accept": "application/json"})
    assert json.loads(body.data)["unverified"] is None


# -- JSON-LD and SPARQL ---------------------------------------------------------------------------


def test_framed_record_jsonld_embeds_the_links_with_context_terms(app: Flask, db: Store) -> None:
    c = citizen(db, "public")
    response = client_as(app, "anonymous").get(local(c["s"]) + ".jsonld")
    assert response.status_code == 200
    doc = json.loads(response.data)
    refs = {r["id"]: r for r in doc["references"]}
    assert refs[c["ref"]]["linkTarget"] == c["person"] and "registryId" not in refs[c["ref"]]
    assert c["number"] not in response.get_data(as_text=True)
    for r in refs.values():
        assert r["type"] == "RegistryReference" and r["verificationStatus"].startswith("khoc:")
    terms = set(client_as(app, "anonymous").get("/context/v2.jsonld").json["@context"])
    land = public_link(db, "?ref kho:parcelUnitNow ?now ; kho:parcelArea ?area")
    doc = json.loads(client_as(app, "anonymous").get(local(land["s"]) + ".jsonld").data)
    ref = next(r for r in doc["references"] if r["id"] == land["ref"])
    assert ref["parcelUnitNow"]["id"] == land["now"] and float(ref["parcelArea"]) > 0
    used = {k for r in doc["references"] for k in r} | {k for r in refs.values() for k in r}
    assert used <= terms | {"id", "type"}, used - terms


@pytest.mark.parametrize("key", REGISTRY_EXAMPLES)
def test_registry_examples_answer_rows(app: Flask, key: str) -> None:
    example = next(e for e in EXAMPLES if e.key == key)
    response = client_as(app, "archivist").get(
        "/sparql", query_string={"query": example.query},
        headers={"Accept": "application/sparql-results+json"},
    )  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = json.loads(response.data)["results"]["bindings"]
    assert rows, key
    if key == "parcels-in-new-ward":
        names = {r["communeThenName"]["value"] for r in rows}
        assert "Xã Trường Thịnh" in names  # code 10369 before the reform, Xã Ứng Thiên after
