"""The web app over the harvested store: pages, content negotiation, the context and errors."""

from __future__ import annotations

import json

import pytest
import rdflib
from flask.testing import FlaskClient
from lxml import html as lxml_html
from pyld import jsonld

from repository.config import Settings
from repository.errors import KhoError
from webapp import create_app, negotiation

BASE = "https://kho.example.org/"
TRUC_BACH = "id/unit/phuong-truc-bach-00004_until-2025-06-30"
BA_DINH = "id/unit/phuong-ba-dinh-00004_2025-07-01"
DIEN_BIEN = "id/unit/phuong-dien-bien-00019_until-2025-06-30"
UBND_TRUC_BACH = "id/agency/ubnd/phuong-truc-bach-00004_until-2025-06-30"
UBND_BA_DINH = "id/agency/ubnd/phuong-ba-dinh-00004_2025-07-01"
SKOS_PREF = rdflib.URIRef("http://www.w3.org/2004/02/skos/core#prefLabel")


@pytest.fixture(scope="module")
def client(harvested_settings: Settings) -> FlaskClient:
    return create_app(harvested_settings).test_client()


def page(client: FlaskClient, path: str, **headers: str) -> lxml_html.HtmlElement:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return lxml_html.fromstring(response.data)


def hrefs(element: lxml_html.HtmlElement) -> list[str]:
    return [a.get("href") for a in element.iter("a") if a.get("href")]


def section(doc: lxml_html.HtmlElement, css_class: str) -> lxml_html.HtmlElement:
    found = doc.find_class(css_class)
    assert found, f"no element of class {css_class}"
    return found[0]


# -- pages ---------------------------------------------------------------------------------------


def test_home_shows_counts_search_and_hanoi_lists(client: FlaskClient) -> None:
    doc = page(client, "/")
    assert doc.xpath("//form[@role='search']//input[@name='q']")
    links = hrefs(doc)
    assert "/units?province=01&on=2025-06-30&level=commune" in links
    assert "/units?province=01&on=2025-07-01&level=commune" in links
    assert "/context/v1.jsonld" in links and "/sparql" in links
    cells = [td.text_content().replace(".", "") for td in doc.find_class("num")]
    assert all(c.isdigit() for c in cells) and sum(int(c) for c in cells) > 10000


def test_units_lists_hanoi_before_and_after(client: FlaskClient) -> None:
    before = page(client, "/units?province=01&on=2025-06-30&level=commune")
    after = page(client, "/units?province=01&on=2025-07-01&level=commune")
    assert len(before.xpath("//ol[@class='units']/li")) == 526
    assert len(after.xpath("//ol[@class='units']/li")) == 126
    assert "/" + TRUC_BACH in hrefs(before) and "/" + BA_DINH in hrefs(after)
    # before the reform, communes are grouped under their districts
    assert "/id/unit/quan-ba-dinh-001_until-2025-06-30" in hrefs(before)


def test_units_rejects_a_bad_date(client: FlaskClient) -> None:
    response = client.get("/units?on=30/06/2025", headers={"Accept": "application/json"})
    assert response.status_code == 400 and "YYYY-MM-DD" in response.json["error"]  # type: ignore[index]


def test_old_truc_bach_shows_what_it_became(client: FlaskClient) -> None:
    doc = page(client, "/" + TRUC_BACH)
    assert doc.findtext(".//h1").strip().startswith("Phường Trúc Bạch")
    glance = section(doc, "glance")
    successors = glance.find_class("successors")[0]
    assert hrefs(successors) == ["/" + BA_DINH]
    assert "toàn bộ" in successors.text_content()
    # the lineage diagram: an inline SVG whose boxes link to the successor and the event
    svg = doc.xpath("//svg[contains(@class, 'lineage')]")
    assert svg
    svg_links = [a.get("href") for a in svg[0].iter("{*}a", "a")]
    assert "/" + BA_DINH in svg_links
    assert any(h.startswith("/id/event/2025-07-01/") for h in svg_links)
    assert "/id/unit/quan-ba-dinh-001_until-2025-06-30" in hrefs(doc)  # the parent


def test_new_ba_dinh_lists_predecessors_with_part_markers(client: FlaskClient) -> None:
    doc = page(client, "/" + BA_DINH)
    preds = section(doc, "predecessors")
    items = preds.findall("li")
    assert len(items) == 10
    by_link = {hrefs(li)[0]: li for li in items}
    truc = by_link["/" + TRUC_BACH]
    assert truc.find_class("portion-whole") and not truc.find_class("portion-part")
    dien_bien = by_link["/" + DIEN_BIEN]
    assert dien_bien.find_class("portion-part") and dien_bien.find_class("default")
    assert sum(1 for li in items if li.find_class("portion-part")) == 8
    svg = doc.xpath("//svg[contains(@class, 'lineage')]")[0]
    dashed = [p for p in svg.iter("{*}path", "path") if "part" in (p.get("class") or "")]
    assert len(dashed) == 8
    assert any("một phần" in (t.text or "") for t in svg.iter("{*}text", "text"))


def test_divided_ward_shows_each_successor_and_its_default(client: FlaskClient) -> None:
    doc = page(client, "/" + DIEN_BIEN)
    successors = section(doc, "successors").findall("li")
    assert len(successors) == 4
    defaults = [hrefs(li)[0] for li in successors if li.find_class("default")]
    assert defaults == ["/" + BA_DINH]


def test_agency_page_shows_jurisdiction_succession_and_custody(client: FlaskClient) -> None:
    doc = page(client, "/" + UBND_TRUC_BACH)
    assert "Ủy ban nhân dân phường Trúc Bạch" in doc.findtext(".//h1")
    assert hrefs(section(doc, "jurisdiction")) == ["/" + TRUC_BACH]
    successors = section(doc, "successors")
    assert "/" + UBND_BA_DINH in hrefs(successors)
    assert successors.find_class("relation-merged")
    custody = doc.xpath("//table[@class='custody']//tr/td[1]/a/@href")
    assert custody == ["/" + UBND_TRUC_BACH, "/" + UBND_BA_DINH]


def test_event_page_is_a_generic_description_with_links(client: FlaskClient) -> None:
    doc = page(client, "/id/event/2025-07-01/phuong-ba-dinh-00004_2025-07-01")
    rows = {
        th.findtext("code"): th.getparent() for th in doc.xpath("//table[@class='properties']//th")
    }
    assert "/" + BA_DINH in hrefs(rows["prov:generated"])
    assert "/id/legal/1656-nq-ubtvqh15" in hrefs(rows["cv:hasFormalFramework"])
    assert len(hrefs(rows["kho:transfer"])) == 10


def test_vocabulary_terms_are_described_too(client: FlaskClient) -> None:
    doc = page(client, "/describe?iri=https://w3id.org/kho/code/portion-part")
    assert "Một phần" in doc.findtext(".//h1")


# -- content negotiation -------------------------------------------------------------------------


def test_turtle_by_accept_holds_the_label(client: FlaskClient) -> None:
    response = client.get("/" + TRUC_BACH, headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    assert "Accept" in response.vary
    graph = rdflib.Graph().parse(data=response.data, format="turtle")
    unit = rdflib.URIRef(BASE + TRUC_BACH)
    assert (unit, SKOS_PREF, rdflib.Literal("Phường Trúc Bạch", lang="vi")) in graph
    # labels of what it links to, and the transfer that says what it became
    assert (
        rdflib.URIRef(BASE + BA_DINH),
        SKOS_PREF,
        rdflib.Literal("Phường Ba Đình", lang="vi"),
    ) in graph
    transfer = rdflib.URIRef(
        f"{BASE}id/transfer/phuong-truc-bach-00004_until-2025-06-30/phuong-ba-dinh-00004_2025-07-01"
    )
    assert (transfer, None, None) in graph


def test_jsonld_suffix_is_compacted_against_our_context(client: FlaskClient) -> None:
    response = client.get("/" + BA_DINH + ".jsonld", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    doc = json.loads(response.data)
    assert doc["@context"] == BASE + "context/v1.jsonld"
    main = doc["@graph"][0]
    assert main["id"] == BASE + BA_DINH
    assert main["type"] == "AdminUnitVersion"
    assert main["name"] == {"vi": "Phường Ba Đình", "en": "Ba Đình Ward"}
    assert main["level"] == "level-commune" and main["beginningDate"] == "2025-07-01"
    assert len(main["predecessor"]) == 10


def test_ntriples_suffix(client: FlaskClient) -> None:
    response = client.get("/" + TRUC_BACH + ".nt")
    assert response.mimetype == "application/n-triples"
    graph = rdflib.Graph().parse(data=response.data, format="nt")
    assert (rdflib.URIRef(BASE + TRUC_BACH), None, None) in graph


@pytest.mark.parametrize(
    ("accept", "mimetype"),
    [
        ("text/turtle;q=0.5, application/ld+json;q=0.9", "application/ld+json"),
        ("application/ld+json;q=0.2, text/turtle", "text/turtle"),
        ("text/html;q=0.1, application/n-triples;q=0.8", "application/n-triples"),
        ("image/png", "text/html"),  # never 406: fall back to HTML
        ("*/*", "text/html"),
    ],
)
def test_accept_q_values(client: FlaskClient, accept: str, mimetype: str) -> None:
    response = client.get("/" + TRUC_BACH, headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == mimetype


def test_suffix_wins_over_accept(client: FlaskClient) -> None:
    response = client.get("/" + TRUC_BACH + ".ttl", headers={"Accept": "application/ld+json"})
    assert response.mimetype == "text/turtle"


def test_unknown_iri_is_404_json_or_html(client: FlaskClient) -> None:
    as_json = client.get("/id/unit/no-such-unit", headers={"Accept": "application/json"})
    assert as_json.status_code == 404
    message = as_json.json["error"]  # type: ignore[index]
    assert as_json.json == {"ok": False, "error": message, "errors": [message], "status": 404}
    assert BASE + "id/unit/no-such-unit" in message
    as_html = client.get("/id/unit/no-such-unit")
    assert as_html.status_code == 404 and as_html.mimetype == "text/html"
    assert lxml_html.fromstring(as_html.data).find_class("error-message")


def test_unknown_route_is_404(client: FlaskClient) -> None:
    response = client.get("/nothing/here", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json["ok"] is False  # type: ignore[index]


def test_context_is_published(client: FlaskClient) -> None:
    response = client.get("/context/v1.jsonld")
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    ctx = json.loads(response.data)["@context"]
    assert ctx["@version"] == 1.1 and ctx["@protected"] is True
    assert ctx["name"] == {"@id": "skos:prefLabel", "@container": "@language"}
    assert ctx["successor"]["@type"] == "@id" and ctx["level"]["@type"] == "@vocab"


def test_jsonld_loader_serves_our_context_and_refuses_the_rest() -> None:
    loader = negotiation.document_loader(BASE)
    assert loader(BASE + "context/v1.jsonld")["document"]["@context"]["@protected"] is True
    with pytest.raises(KhoError, match="offline"):
        loader("https://schema.org/")
    with pytest.raises(jsonld.JsonLdError):
        jsonld.compact(
            {"@id": "x"}, "https://example.org/remote.jsonld", {"documentLoader": loader}
        )


def test_pages_load_nothing_from_the_network(client: FlaskClient) -> None:
    response = client.get("/" + BA_DINH)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    doc = lxml_html.fromstring(response.data)
    external = [
        u
        for u in doc.xpath("//link/@href | //script/@src | //img/@src")
        if u.startswith(("http:", "https:", "//"))
    ]
    assert external == []
