"""Home counts, browse lists, and the faceted, lineage-aware records search over the demo
repository: only what the reader may see is found or counted, a new unit finds the records of the
old units merged into it, a divided commune's records are marked, no citizen number is indexed."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from flask import Flask
from lxml import html as lxml_html

from repository import record_index
from repository.config import Settings
from repository.errors import BadRequest
from repository.store import open_store
from tests.search_engines import ENGINES, on_engine, stored, terms
from tests.web import client_as
from webapp import create_app

BASE = "https://kho.example.org/"
UNG_THIEN = BASE + "id/unit/xa-ung-thien-10369_2025-07-01"  # formed by merger, from 2025-07-01
TRUONG_THINH = BASE + "id/unit/xa-truong-thinh-10369_until-2025-06-30"  # merged into Ứng Thiên
HOA_LAC = BASE + "id/unit/xa-hoa-lac-09988_2025-07-01"
YEN_XUAN = BASE + "id/unit/xa-yen-xuan-04930_2025-07-01"
TIEN_XUAN = BASE + "id/unit/xa-tien-xuan-04936_until-2025-06-30"  # divided: Hòa Lạc, Yên Xuân ★
UBND_TRUONG_THINH = BASE + "id/agency/ubnd/xa-truong-thinh-10369_until-2025-06-30"
HANOI = BASE + "id/unit/thanh-pho-ha-noi-01_2008-08-01"

_RESTRICTED = """
SELECT ?r ?title WHERE { GRAPH ?g { ?r kho:accessLevel ?mode
  OPTIONAL { ?r rico:title ?title } OPTIONAL { ?r rico:scopeAndContent ?title } }
  FILTER(?mode != khoc:mode-01) }"""
_PUBLIC_TITLES = """
SELECT ?title WHERE { GRAPH <https://kho.example.org/graph/records/public> {
  { ?r rico:title ?title } UNION { ?r rico:scopeAndContent ?title } } }"""
_CITIZEN_NUMBERS = (
    'SELECT ?id WHERE { GRAPH ?g { ?ref kho:refKind "citizen" ; kho:registryId ?id } }'
)


@pytest.fixture(scope="module", params=ENGINES)
def search_engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def demo_settings(demo_settings: Settings, search_engine: str) -> Settings:
    """Each test of this module runs on both engines (the tantivy index is built once)."""
    return on_engine(demo_settings, search_engine)


@pytest.fixture(scope="module")
def app(demo_settings: Settings) -> Flask:
    # A demo directory kept from an earlier run may hold an index of an older schema.
    record_index.ensure_current(open_store(demo_settings), demo_settings)
    app = create_app(demo_settings)
    app.testing = True
    return app


def get_json(client, path: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.json  # type: ignore[no-any-return]


def get_page(client, path: str) -> lxml_html.HtmlElement:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return lxml_html.fromstring(response.data)


def test_home_counts_grow_with_clearance(app: Flask) -> None:
    totals = {}
    for who in ("anonymous", "researcher", "cleared"):
        doc = get_page(client_as(app, who), "/")
        totals[who] = [
            int(doc.find_class(f"total-{k}")[0].text_content()) for k in ("hoso", "records")
        ]
        groups = doc.find_class("holdings-priority")[0]
        assert len(groups.findall(".//tbody/tr")) == 5
        assert doc.find_class("holdings-block") and doc.find_class("holdings-level")
    assert all(a < r < c for a, r, c in zip(*totals.values(), strict=True))


def test_records_totals_and_facets_only_over_what_the_reader_may_see(app: Flask) -> None:
    seen = {}
    for who in ("anonymous", "researcher", "cleared"):
        body = get_json(client_as(app, who), "/records")
        seen[who] = body["total"]
        levels = {f["value"] for f in body["facets"]["access"]}
        kinds = sum(f["count"] for f in body["facets"]["kind"])
        assert kinds == body["total"]  # facet counts are of the same visible set
        if who == "anonymous":
            assert levels == {"01"}
    assert seen["anonymous"] < seen["researcher"] < seen["cleared"]


def test_no_restricted_record_reaches_anonymous_pages(app: Flask, demo_settings: Settings) -> None:
    store = open_store(demo_settings)
    public_titles = {str(r["title"]) for r in store.select(_PUBLIC_TITLES)}
    rows = store.select(_RESTRICTED)
    iris = {str(r["r"]) for r in rows}
    iris |= {i.replace(BASE, "/") for i in iris}  # pages link /id/... locally
    titles = {str(r["title"]) for r in rows if r["title"]} - public_titles
    assert iris and titles
    client = client_as(app, "anonymous")
    paths = ["/", "/records", "/records?q=ha+noi", "/records?q=khen+thuong", "/browse"]
    paths += [f"/browse/{name}" for name in ("units-old", "units-new", "agencies", "holders")]
    paths += [f"/browse/{name}" for name in ("fonds", "hoso", "types", "years")]
    paths += ["/dashboard", "/dashboard?format=json", f"/records?unit={HANOI}"]
    for path in paths:
        for accept in ("text/html", "application/json"):
            text = client.get(path, headers={"Accept": accept}).get_data(as_text=True)
            leaked = [i for i in iris if i in text] + [t for t in titles if t in text]
            assert not leaked, (path, accept, leaked[:3])
    # ... while a cleared reader finds them
    cleared = client_as(app, "cleared").get("/records?access=03").get_data(as_text=True)
    assert any(i in cleared for i in iris)


def test_new_unit_finds_the_records_of_the_old_commune_merged_into_it(app: Flask) -> None:
    client = client_as(app, "anonymous")
    body = get_json(client, f"/records?unit={UNG_THIEN}")
    assert body["total"] >= 2
    for hit in body["hits"]:
        assert hit["unit"] == TRUONG_THINH
        assert hit["lineage"]["former_unit"] == {"iri": TRUONG_THINH, "name": "Xã Trường Thịnh"}
    doc = get_page(client, f"/records?unit={UNG_THIEN}")
    badges = doc.find_class("former-unit")
    assert badges and all("Xã Trường Thịnh" in b.text_content() for b in badges)
    assert "thuộc đơn vị cũ" in badges[0].text_content()
    # a search by the new unit's name, typed without accents, finds them too
    found = get_json(client, "/records?q=ung+thien")
    assert {h["unit"] for h in found["hits"]} == {TRUONG_THINH}


def test_records_of_a_divided_commune_may_belong_to_several_new_units(app: Flask) -> None:
    client = client_as(app, "anonymous")
    for new_unit in (HOA_LAC, YEN_XUAN):
        body = get_json(client, f"/records?unit={new_unit}")
        assert body["total"] > 0
        for hit in body["hits"]:
            assert hit["unit"] == TIEN_XUAN
            several = {u["iri"]: u["default"] for u in hit["lineage"]["may_belong_to"]}
            assert several == {HOA_LAC: False, YEN_XUAN: True}
    doc = get_page(client, f"/records?unit={HOA_LAC}")
    marks = doc.find_class("several-units")
    assert marks and "có thể thuộc nhiều đơn vị mới" in marks[0].text_content()
    assert "Xã Yên Xuân" in marks[0].text_content()


def test_search_ignores_accents_and_tone_mark_placement(app: Flask) -> None:
    client = client_as(app, "anonymous")
    plain = get_json(client, "/records?q=truong+thinh")["total"]
    assert plain > 0 and plain == get_json(client, "/records?q=Trường+Thịnh")["total"]
    assert (
        get_json(client, "/records?q=Uỷ+ban")["total"]
        == get_json(client, "/records?q=Ủy+ban")["total"]
    )


def test_citizen_numbers_are_not_searchable(app: Flask, demo_settings: Settings) -> None:
    store = open_store(demo_settings)
    numbers = {str(r["id"]) for r in store.select(_CITIZEN_NUMBERS)}
    assert numbers
    cleared = client_as(app, "cleared")  # even with the personal grant
    for number in numbers:
        assert get_json(cleared, f"/records?q={number}")["total"] == 0
        assert record_index.search(demo_settings, number).total == 0
    words = terms(demo_settings, ("text", "title"))
    kept = " ".join(str(f) for f in stored(demo_settings))
    assert not numbers & words
    assert not any(n in kept for n in numbers)
    # snippets come from the masked text
    body = get_json(cleared, "/records?q=cccd")
    assert any(h["snippet"] and "******" in h["snippet"] for h in body["hits"])
    snippets = " ".join(h["snippet"] or "" for h in body["hits"])
    assert not re.search(r"\d{12}", snippets)


def test_filter_values_are_never_spliced_into_queries(app: Flask) -> None:
    client = client_as(app, "anonymous")
    evil = quote("x> } UNION { GRAPH ?g { ?s rico:title ?l } } #")
    for path in (f"/records?unit={evil}", "/records?access=03", f"/records?hoso={evil}"):
        assert get_json(client, path)["total"] == 0
        assert client.get(path).status_code == 200
    with pytest.raises(BadRequest):
        record_index.search(app.extensions["kho"].settings, "", filters={"colour": "red"})


def test_browse_lists_units_old_and_new_with_links(app: Flask) -> None:
    client = client_as(app, "anonymous")
    old = get_page(client, "/browse/units-old")
    links = {a.get("href") for a in old.iter("a")}
    assert any(TRUONG_THINH in (h or "") and "/records" in (h or "") for h in links)
    new = get_json(client, "/browse/units-new")["sections"]["units-new"]
    by_unit = {row["value"]: row["count"] for row in new}
    assert by_unit[UNG_THIEN] >= 2 and TRUONG_THINH not in by_unit
    overview = get_page(client, "/browse")
    for name in ("units-old", "units-new", "agencies", "fonds", "hoso", "types", "years"):
        assert overview.get_element_by_id(name) is not None
    assert client.get("/browse/nothing").status_code == 404


def test_unit_page_lists_its_records_and_those_of_its_predecessors(app: Flask) -> None:
    doc = get_page(client_as(app, "anonymous"), "/id/unit/xa-ung-thien-10369_2025-07-01")
    records = doc.find_class("unit-records")[0]
    assert "Xã Trường Thịnh" in records.text_content()
    assert any("unit=" in (a.get("href") or "") for a in records.iter("a"))
    assert records.find_class("hits")


def test_agency_page_shows_holdings_visible_only(app: Flask) -> None:
    doc = get_page(
        client_as(app, "anonymous"), "/id/agency/ubnd/xa-truong-thinh-10369_until-2025-06-30"
    )
    holdings = doc.find_class("agency-holdings")[0]
    created = holdings.find_class("created")[0]
    assert "1 hồ sơ" in created.text_content()
    assert any("agency=" in (a.get("href") or "") for a in created.iter("a"))
    # the city Party committee's hồ sơ are secret: none for anonymous, some for cleared
    agency = "/id/agency/dang-uy/thanh-pho-ha-noi-01_2008-08-01"
    anon = get_page(client_as(app, "anonymous"), agency).find_class("agency-holdings")
    cleared = get_page(client_as(app, "cleared"), agency).find_class("agency-holdings")
    assert "0 hồ sơ" in anon[0].find_class("created")[0].text_content()
    assert "0 hồ sơ" not in cleared[0].find_class("created")[0].text_content()


def test_browse_lists_are_kept_per_reader(app: Flask) -> None:
    """Lists are remembered, but never handed to a reader who may see less."""

    def years(who: str) -> int:
        rows = get_json(client_as(app, who), "/browse/years")["sections"]["years"]
        return sum(int(row["count"]) for row in rows)

    cleared = years("cleared")
    anonymous = years("anonymous")
    assert anonymous < cleared
    assert years("cleared") == cleared and years("anonymous") == anonymous


def test_index_generation_grows_with_each_commit(demo_settings: Settings) -> None:
    store = open_store(demo_settings)
    before = record_index.generation(demo_settings)
    some = sorted(record_index.indexed_iris(demo_settings))[:1]
    record_index.update(store, demo_settings, some)
    assert before is not None and (record_index.generation(demo_settings) or 0) > before
