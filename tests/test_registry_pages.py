"""Registry links on the web (issue 5 §3, §4): record, hồ sơ, agency and unit pages, /registries,
pseudonymous citizens' pages, the SPARQL examples and the framed JSON-LD — for every demo reader.

The links are planted per the model (docs/registries.md, the brief's RDF model) into a copy of the
demo store until `kho registries verify` writes them in the demo fixture."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pyoxigraph as ox
import pytest
from flask import Flask
from lxml import html as lxml_html

from repository.config import Settings
from repository.identifiers import pseudonym
from repository.namespaces import DCT, KHO, KHOC, RDF, XSD, Minter
from repository.store import Store, open_store
from tests.conftest import TODAY
from tests.web import client_as
from webapp import create_app
from webapp.examples import EXAMPLES

R_PUB = "H01.10369.UBND.2019.01.0000001"  # public; Xã Trường Thịnh (10369) in 2019
HOSO_PUB = "H01.10369.UBND.2019.01"
R_COND = "H01.005.CCB.2016.06.0000002"  # conditional
R_SECRET = "H01.01.DU.2021.05.0000002"  # secret
NUMBER_PUB = "001156642176"  # the citizen number of R_PUB (demo data, personal graph)
NUMBER_SECRET = "019091160526"  # the citizen number of R_SECRET
UNIT_THEN = "xa-truong-thinh-10369_until-2025-06-30"
UNIT_NOW = "xa-ung-thien-10369_2025-07-01"
CHECKED = "2026-11-26T07:30:12Z"
REGISTRY_EXAMPLES = ("parcels-in-new-ward", "enterprises-cited", "links-failed", "officials-cited")


def _lit(value: str, lang: str | None = None, dt: str | None = None) -> ox.Literal:
    if lang:
        return ox.Literal(value, language=lang)
    if dt:
        return ox.Literal(value, datatype=ox.NamedNode(XSD + dt))
    return ox.Literal(value)


class Planter:
    """Writes link resources exactly as the model says (kho:RegistryReference and friends)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.m = Minter(settings.base_iri)
        self.quads: list[ox.Quad] = []

    def link(
        self,
        subject: str,
        iri: str,
        graph: str,
        kind: str,
        registry: str,
        source: str,
        status: str = "unchecked",
        **props: object,
    ) -> None:
        g, s, ref = ox.NamedNode(graph), ox.NamedNode(subject), ox.NamedNode(iri)
        add = self.quads.append
        add(ox.Quad(s, ox.NamedNode(DCT + "references"), ref, g))
        add(ox.Quad(ref, ox.NamedNode(RDF + "type"), ox.NamedNode(KHO + "RegistryReference"), g))
        add(ox.Quad(ref, ox.NamedNode(KHO + "refKind"), _lit(kind), g))
        add(
            ox.Quad(
                ref, ox.NamedNode(KHO + "registry"), ox.NamedNode(KHOC + f"registry/{registry}"), g
            )
        )
        add(ox.Quad(ref, ox.NamedNode(KHO + "refSource"), _lit(source), g))
        if status != "unchecked":
            st = ox.NamedNode(KHOC + f"verification/{status}")
            add(ox.Quad(ref, ox.NamedNode(KHO + "verificationStatus"), st, g))
            add(ox.Quad(ref, ox.NamedNode(KHO + "checkedAt"), _lit(CHECKED, dt="dateTime"), g))
        for local, value in props.items():
            values = value if isinstance(value, list) else [value]
            for v in values:
                add(ox.Quad(ref, ox.NamedNode(KHO + local), v, g))  # type: ignore[arg-type]


def plant(store: Store, settings: Settings) -> dict[str, str]:
    p = Planter(settings)
    m, base = p.m, settings
    public, cond, secret = (m.records_graph(g) for g in ("public", "conditional", "secret"))
    registries = m.graph("registries")
    r_pub, r_cond, r_secret = m.record(R_PUB), m.record(R_COND), m.record(R_SECRET)
    then, now = m.unit(UNIT_THEN), m.unit(UNIT_NOW)
    agency = m.agency("ubnd", UNIT_NOW)
    land_ns, ent_ns = base.registry_land_namespace, base.registry_enterprise_namespace
    off_ns = base.registry_officials_namespace
    key = settings.pseudonym_secret()
    person_pub = m.from_path(f"id/person/{pseudonym(NUMBER_PUB, key)}")
    person_secret = m.from_path(f"id/person/{pseudonym(NUMBER_SECRET, key)}")
    N = ox.NamedNode  # noqa: N806
    parcel = {
        "communeCode": _lit("10369"),
        "keyDate": _lit("2019-03-05", dt="date"),
        "mapSheet": _lit("8"),
        "parcel": _lit("434"),
    }
    verified_parcel = {
        **parcel,
        "parcelId": _lit("w7er8u0g3k2m"),
        "parcelArea": _lit("152.4", dt="decimal"),
        "landUse": _lit("ONT"),
        "parcelUnitThen": N(then),
        "parcelUnitNow": N(now),
        "linkTarget": N(land_ns + "thua-dat/w7er8u0g3k2m"),
    }
    p.link(r_pub, f"{r_pub}/ref/land-1", public, "land", "land", "text", "verified",
           **verified_parcel)  # fmt: skip
    p.link(
        r_pub, f"{r_pub}/ref/enterprise-s1", public, "enterprise", "enterprise", "sheet",
        "verified", registryId=_lit("0100109106"),
        enterpriseName=_lit("Tập đoàn Công nghiệp – Viễn thông Quân đội", "vi"),
        enterpriseStatus=_lit("dang-hoat-dong"),
        enterpriseStatusLabel=_lit("Đang hoạt động", "vi"),
        linkTarget=N(ent_ns + "0100109106"),
    )  # fmt: skip
    p.link(
        r_pub, f"{r_pub}/ref/official-s2", public, "official", "officials", "sheet", "verified",
        registryId=_lit("CB01-004512"), officialPosition=_lit("Chủ tịch", "vi"),
        officialAgency=N(agency), linkTarget=N(off_ns + "official/CB01-004512"),
    )  # fmt: skip
    p.link(
        r_pub, f"{r_pub}/ref/enterprise-s3", public, "enterprise", "enterprise", "sheet",
        "not-found", registryId=_lit("0101243150"), linkTarget=N(ent_ns + "0101243150"),
        verificationNote=[
            _lit("Sổ đăng ký không có mã số doanh nghiệp này. Kiểm tra lại bảng kê.", "vi"),
            _lit("The registry has no such enterprise code. Check the sheet.", "en"),
        ],
    )  # fmt: skip
    p.link(r_pub, f"{r_pub}/ref/citizen-2", public, "citizen", "population", "text", "verified",
           linkTarget=N(person_pub))  # fmt: skip
    hoso = m.hoso(HOSO_PUB)
    p.link(hoso, f"{hoso}/ref/enterprise-s1", public, "enterprise", "enterprise", "sheet",
           registryId=_lit("0100109106"), linkTarget=N(ent_ns + "0100109106"))  # fmt: skip
    p.link(
        r_cond, f"{r_cond}/ref/land-s1", cond, "land", "land", "sheet", "registry-error",
        **parcel,
        verificationNote=[
            _lit("Sổ đăng ký đất đai không trả lời (hết thời gian chờ). Chạy lại "
                 "«kho registries verify --status registry-error».", "vi"),
            _lit("The land registry did not answer (timed out). Run "
                 "`kho registries verify --status registry-error` again.", "en"),
        ],
    )  # fmt: skip
    p.link(
        r_cond, f"{r_cond}/ref/official-s1", cond, "official", "officials", "sheet", "verified",
        registryId=_lit("CB01-000777"), officialPosition=_lit("Phó Chủ tịch", "vi"),
        officialAgency=N(agency), linkTarget=N(off_ns + "official/CB01-000777"),
    )  # fmt: skip
    p.link(
        r_secret,
        f"{r_secret}/ref/land-1",
        secret,
        "land",
        "land",
        "text",
        "verified",
        **{**verified_parcel, "parcel": _lit("999"), "parcelId": _lit("w7er8u0g3zzz")},
    )
    p.link(r_secret, f"{r_secret}/ref/enterprise-s1", secret, "enterprise", "enterprise",
           "sheet", "verified", registryId=_lit("0100109106"),
           enterpriseName=_lit("Tập đoàn Công nghiệp – Viễn thông Quân đội", "vi"),
           enterpriseStatus=_lit("dang-hoat-dong"),
           enterpriseStatusLabel=_lit("Đang hoạt động", "vi"))  # fmt: skip
    p.link(r_secret, f"{r_secret}/ref/citizen-1", secret, "citizen", "population", "text",
           "verified", linkTarget=N(person_secret))  # fmt: skip
    p.link(now, f"{now}/ref/land", registries, "unit", "land", "unit", "verified",
           registryId=_lit("10369"), registryName=_lit("Xã Ứng Thiên", "vi"),
           linkTarget=N(land_ns + "don-vi/10369/2025-07-01"))  # fmt: skip
    p.link(then, f"{then}/ref/land", registries, "unit", "land", "unit")
    p.link(agency, f"{agency}/ref/officials", registries, "agency", "officials", "agency",
           "verified", registryId=_lit("H01.10369.01"),
           registryName=_lit("Ủy ban nhân dân xã Ứng Thiên", "vi"),
           linkTarget=N(off_ns + "agency/H01.10369.01"))  # fmt: skip
    store.add_quads(p.quads)
    return {"person_pub": person_pub, "person_secret": person_secret}


@pytest.fixture(scope="module")
def planted(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the demo repository with links planted (its own store: nothing leaks out)."""
    data_dir = tmp_path_factory.mktemp("kho-registry-pages")
    open_store(demo_settings.store_path).backup(data_dir / "store")
    for name in ("index", "records-index", "files"):
        shutil.copytree(demo_settings.data_dir / name, data_dir / name)
    for name in ("users.sqlite3", "secret-key"):
        shutil.copy(demo_settings.data_dir / name, data_dir / name)
    settings = Settings(data_dir=data_dir, today=TODAY)
    people = plant(open_store(settings.store_path), settings)
    settings.__dict__["_people"] = people
    return settings


@pytest.fixture(scope="module")
def app(planted: Settings) -> Flask:
    return create_app(planted)


def page(app: Flask, who: str, path: str, status: int = 200) -> lxml_html.HtmlElement:
    response = client_as(app, who).get(path, headers={"Accept": "text/html"})
    assert response.status_code == status, (who, path, response.status_code)
    return lxml_html.fromstring(response.data)


def link_items(doc: lxml_html.HtmlElement) -> dict[str, lxml_html.HtmlElement]:
    return {
        li.get("data-link").rsplit("/ref/", 1)[-1]: li for li in doc.find_class("registry-link")
    }


def text(el: lxml_html.HtmlElement) -> str:
    return " ".join(el.text_content().split())


def audit_rows(settings: Settings, actor: str) -> list[tuple[str, str, str]]:
    with sqlite3.connect(settings.users_path) as db:  # type: ignore[arg-type]
        rows = db.execute("SELECT action, target, detail FROM audit WHERE actor = ?", (actor,))
        return list(rows)


def people(settings: Settings) -> dict[str, str]:
    return settings.__dict__["_people"]


def local(iri: str) -> str:
    return "/" + iri.split("/", 3)[3]


# -- record and hồ sơ pages -----------------------------------------------------------------------


def test_record_page_shows_every_link_with_what_it_points_to(app: Flask) -> None:
    doc = page(app, "anonymous", f"/id/record/{R_PUB}")
    section = doc.get_element_by_id("registry-links")
    assert "Liên kết sổ đăng ký" in text(section) and "Registry links" in text(section)
    items = link_items(doc)
    assert set(items) == {"land-1", "enterprise-s1", "official-s2", "enterprise-s3", "citizen-2"}
    land = items["land-1"]
    assert "status-verified" in land.get("class")
    assert land.find_class("badge")[0].text_content().startswith("đã xác minh")
    hrefs = [a.get("href") for a in land.iter("a")]
    assert f"/id/unit/{UNIT_THEN}" in hrefs and f"/id/unit/{UNIT_NOW}" in hrefs  # then → now
    assert "w7er8u0g3k2m" in text(land) and "152.4 m²" in text(land) and "ONT" in text(land)
    assert "tờ / sheet 8, thửa / parcel 434" in text(land)
    enterprise = items["enterprise-s1"]
    assert "Tập đoàn Công nghiệp – Viễn thông Quân đội" in text(enterprise)
    assert "0100109106" in text(enterprise) and "Đang hoạt động" in text(enterprise)
    target = enterprise.find_class("target")[0]
    assert target.get("href") == "https://doanh-nghiep.registry.example.vn/id/0100109106"
    official = items["official-s2"]
    assert "Chủ tịch" in text(official)
    agency = official.find_class("agency")[0]
    assert agency.get("href") == f"/id/agency/ubnd/{UNIT_NOW}"
    assert agency.text_content() == "Ủy ban nhân dân xã Ứng Thiên"
    failed = items["enterprise-s3"]
    assert "không tìm thấy / not found" in text(failed.find_class("badge")[0])
    assert "Kiểm tra lại bảng kê" in text(failed) and "Check the sheet" in text(failed)
    assert failed.find_class("note") and "2026-11-26 07:30" in text(failed)


def test_a_citizen_shows_as_a_pseudonym_and_the_number_only_with_the_grant(
    app: Flask, planted: Settings
) -> None:
    person = people(planted)["person_pub"]
    for who in ("anonymous", "researcher", "archivist", "admin"):
        response = client_as(app, who).get(f"/id/record/{R_PUB}", headers={"Accept": "text/html"})
        body = response.get_data(as_text=True)
        assert NUMBER_PUB not in body and NUMBER_PUB[-3:] + "<" not in body, who
        citizen = link_items(lxml_html.fromstring(body))["citizen-2"]
        assert "công dân (mã ẩn danh) / citizen (pseudonymous)" in text(citizen)
        assert citizen.find_class("person")[0].get("href") == local(person)
        assert not citizen.find_class("personal-number")
    before = len(audit_rows(planted, "cleared"))
    doc = page(app, "cleared", f"/id/record/{R_PUB}")
    number = link_items(doc)["citizen-2"].find_class("personal-number")[0]
    assert NUMBER_PUB in text(number)
    rows = audit_rows(planted, "cleared")[before:]
    assert any(
        a == "read-restricted" and t.endswith(R_PUB) and d.startswith("personal")
        for a, t, d in rows
    ), rows


def test_hoso_page_shows_its_own_link_and_its_documents_links(app: Flask) -> None:
    doc = page(app, "anonymous", f"/id/hoso/{HOSO_PUB}")
    items = {li.get("data-link"): li for li in doc.find_class("registry-link")}
    own = next(li for iri, li in items.items() if iri.endswith(f"{HOSO_PUB}/ref/enterprise-s1"))
    assert "chưa kiểm tra / not yet checked" in text(own.find_class("badge")[0])
    assert not own.find_class("subject")  # the page's own link names no document
    land = next(li for iri, li in items.items() if iri.endswith(f"{R_PUB}/ref/land-1"))
    assert land.find_class("subject")[0].get("href") == f"/id/record/{R_PUB}"


def test_a_secret_records_links_do_not_exist_for_who_may_not_see_it(
    app: Flask, planted: Settings
) -> None:
    for who in ("anonymous", "researcher", "archivist", "admin"):
        page(app, who, f"/id/record/{R_SECRET}", status=404)
        unit = page(app, who, f"/id/unit/{UNIT_NOW}")
        assert not [
            li for li in unit.find_class("registry-link") if R_SECRET in li.get("data-link")
        ]
        assert (
            page(app, who, f"/id/person/{local(people(planted)['person_secret'])[11:]}", 404)
            is not None
        )
    doc = page(app, "cleared", f"/id/record/{R_SECRET}")
    assert set(link_items(doc)) == {"land-1", "enterprise-s1", "citizen-1"}
    assert NUMBER_SECRET in text(link_items(doc)["citizen-1"])


# -- unit and agency pages ------------------------------------------------------------------------


def test_unit_page_shows_its_own_link_and_the_parcels_cited_in_it(app: Flask) -> None:
    doc = page(app, "anonymous", f"/id/unit/{UNIT_NOW}")
    section = doc.get_element_by_id("registry-links")
    own = section.find_class("own")[0].find_class("registry-link")
    assert len(own) == 1 and "Xã Ứng Thiên" in text(own[0]) and "10369" in text(own[0])
    assert "đã xác minh / verified" in text(own[0].find_class("badge")[0])
    cited = section.find_class("cited")[0].find_class("registry-link")
    assert [li.get("data-link").rsplit("/ref/", 1)[0].rsplit("/", 1)[-1] for li in cited] == [R_PUB]
    assert cited[0].find_class("subject")[0].get("href") == f"/id/record/{R_PUB}"
    then = page(app, "anonymous", f"/id/unit/{UNIT_THEN}")  # the old commune: parcels then
    links = [li.get("data-link") for li in then.find_class("registry-link")]
    assert f"{R_PUB}/ref/land-1" in " ".join(links)
    assert any(li.endswith(f"{UNIT_THEN}/ref/land") for li in links)  # its own, unchecked
    cleared = page(app, "cleared", f"/id/unit/{UNIT_NOW}")
    cited = cleared.get_element_by_id("registry-links").find_class("cited")[0]
    assert R_SECRET in " ".join(li.get("data-link") for li in cited.find_class("registry-link"))


def test_agency_page_shows_its_link_and_its_officials_cited_by_level(app: Flask) -> None:
    path = f"/id/agency/ubnd/{UNIT_NOW}"
    doc = page(app, "anonymous", path)
    section = doc.get_element_by_id("registry-links")
    own = section.find_class("own")[0]
    assert "Ủy ban nhân dân xã Ứng Thiên" in text(own) and "H01.10369.01" in text(own)
    cited = [
        li.get("data-link") for li in section.find_class("cited")[0].find_class("registry-link")
    ]
    assert cited == [f"https://kho.example.org/id/record/{R_PUB}/ref/official-s2"]
    researcher = page(app, "researcher", path).get_element_by_id("registry-links")
    links = " ".join(li.get("data-link") for li in researcher.find_class("registry-link"))
    assert f"{R_COND}/ref/official-s1" in links and "Phó Chủ tịch" in text(researcher)


# -- pseudonymous citizens ------------------------------------------------------------------------


def test_person_page_lists_the_visible_records_and_the_number_only_with_the_grant(
    app: Flask, planted: Settings
) -> None:
    path = local(people(planted)["person_pub"])
    for who in ("anonymous", "researcher", "archivist", "admin"):
        response = client_as(app, who).get(path, headers={"Accept": "text/html"})
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert NUMBER_PUB not in body and "personal-number" not in body
        doc = lxml_html.fromstring(body)
        subjects = [a.get("href") for a in doc.find_class("subject")]
        assert subjects == [f"/id/record/{R_PUB}"]
    before = len(audit_rows(planted, "cleared"))
    doc = page(app, "cleared", path)
    assert NUMBER_PUB in text(doc.find_class("personal-number")[0])
    assert any(d.startswith("personal") for _, _, d in audit_rows(planted, "cleared")[before:])
    page(app, "anonymous", "/id/person/" + "a" * 26, status=404)  # nobody
    page(app, "anonymous", "/id/person/not-a-pseudonym", status=404)


def test_person_as_rdf_never_carries_the_number_without_the_grant(
    app: Flask, planted: Settings
) -> None:
    path = local(people(planted)["person_pub"])
    anonymous = client_as(app, "anonymous")
    ttl = anonymous.get(path + ".ttl")
    assert ttl.status_code == 200 and ttl.mimetype == "text/turtle"
    assert "linkTarget" in ttl.get_data(as_text=True) and NUMBER_PUB not in ttl.get_data(
        as_text=True
    )
    jsonld = anonymous.get(path, headers={"Accept": "application/ld+json"})
    assert jsonld.status_code == 200 and NUMBER_PUB not in jsonld.get_data(as_text=True)
    cleared = client_as(app, "cleared").get(path + ".nt")
    assert NUMBER_PUB in cleared.get_data(as_text=True)


# -- /registries ----------------------------------------------------------------------------------


def counts_of(app: Flask, who: str) -> dict[str, dict[str, int]]:
    response = client_as(app, who).get("/registries", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return json.loads(response.data)["counts"]


def test_registries_summary_counts_what_each_reader_may_see(app: Flask) -> None:
    anonymous, researcher, cleared = (
        counts_of(app, w) for w in ("anonymous", "researcher", "cleared")
    )
    assert anonymous["land"]["registry-error"] == 0 and researcher["land"]["registry-error"] == 1
    assert cleared["enterprise"]["verified"] == anonymous["enterprise"]["verified"] + 1  # secret
    assert anonymous["officials"]["verified"] >= 2  # the agency's link and R_PUB's official
    doc = page(app, "anonymous", "/registries")
    assert "Links per registry and status" in text(doc)
    assert not doc.find_class("unverified")  # archivists only
    row = doc.find_class("registry-enterprise")[0]
    assert row.find_class("status-not-found")[0].text_content() == "1"


def test_archivists_see_the_links_not_verified_with_their_notes(app: Flask) -> None:
    doc = page(app, "archivist", "/registries")
    listed = [
        li.get("data-link")
        for li in doc.get_element_by_id("unverified").find_class("registry-link")
    ]
    assert listed[0].endswith(f"{R_COND}/ref/land-s1")  # registry errors first
    assert any(x.endswith(f"{R_PUB}/ref/enterprise-s3") for x in listed)
    assert not any("/ref/land-1" in x for x in listed)  # verified ones are not listed
    assert "kho registries verify --status registry-error" in text(doc)
    only = page(app, "archivist", "/registries?status=not-found")
    listed = [
        li.get("data-link")
        for li in only.get_element_by_id("unverified").find_class("registry-link")
    ]
    assert listed == [f"https://kho.example.org/id/record/{R_PUB}/ref/enterprise-s3"]
    assert client_as(app, "archivist").get("/registries?status=bogus").status_code == 400


# -- JSON-LD and SPARQL ---------------------------------------------------------------------------


def test_framed_record_jsonld_embeds_the_links_with_context_terms(app: Flask) -> None:
    response = client_as(app, "anonymous").get(f"/id/record/{R_PUB}.jsonld")
    assert response.status_code == 200
    doc = json.loads(response.data)
    refs = {r["id"].rsplit("/ref/", 1)[-1]: r for r in doc["references"]}
    land = refs["land-1"]
    assert land["type"] == "RegistryReference" and land["refKind"] == "land"
    assert land["verificationStatus"] == "khoc:verification/verified"
    assert land["parcelUnitNow"] == f"https://kho.example.org/id/unit/{UNIT_NOW}"
    assert land["parcelId"] == "w7er8u0g3k2m" and land["keyDate"] == "2019-03-05"
    assert refs["enterprise-s1"]["enterpriseName"]["vi"].startswith("Tập đoàn")
    assert refs["enterprise-s3"]["verificationNote"]["en"].startswith("The registry has no")
    assert "registryId" not in refs["citizen-2"] and NUMBER_PUB not in response.get_data(
        as_text=True
    )
    terms = set(client_as(app, "anonymous").get("/context/v2.jsonld").json["@context"])
    used = {k for r in refs.values() for k in r}
    assert used <= terms | {"id", "type"}


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
        assert {r["record"]["value"].rsplit("/", 1)[-1] for r in rows} == {R_PUB}
        assert rows[0]["communeThenName"]["value"] == "Xã Trường Thịnh"
    if key == "links-failed":
        assert {r["link"]["value"].rsplit("/", 1)[-1] for r in rows} == {"enterprise-s3", "land-s1"}
