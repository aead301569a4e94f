"""The registry journeys in a real browser (issue 5): Playwright driving Debian's Chromium against
waitress on 127.0.0.1, over a copy of the demo repository whose links were all checked against the
registry simulator (tests/conftest.py). What each journey needs (a public record citing a verified
parcel whose commune was merged, a public record citing a citizen) is found by query."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from repository.config import Settings
from repository.store import open_store
from tests.conftest import TODAY
from tests.test_browser import CHROMIUM, browser, page, server, sign_in

__all__ = ["browser", "page", "server"]  # fixtures shared with tests/test_browser.py

pytestmark = pytest.mark.skipif(
    not shutil.which("chromium"), reason=f"Debian's chromium is not installed ({CHROMIUM})"
)
PUBLIC = "https://kho.example.org/graph/records/public"


@pytest.fixture(scope="module")
def own_settings(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the demo repository for this module's server (the keys only when they exist)."""
    data = tmp_path_factory.mktemp("kho-browser-registries")
    demo = Path(demo_settings.data_dir)
    open_store(demo_settings).backup(data / "store")
    for name in ("users.sqlite3", "secret-key", "pseudonym-key"):
        if (demo / name).exists():
            shutil.copy(demo / name, data / name)
    for index in ("index", "records-index"):  # units, records
        shutil.copytree(demo / index, data / index)
    return Settings(data_dir=data, files_path=demo_settings.files_path, today=TODAY)


def first(settings: Settings, sparql: str) -> dict[str, str]:
    rows = open_store(settings).select(sparql)
    assert rows, f"the demo data has nothing for {sparql}"
    return {k: str(v) for k, v in rows[0].items() if v is not None}


def path_of(iri: str) -> str:
    return "/" + iri.split("/", 3)[3]


@pytest.fixture(scope="module")
def merged_parcel(own_settings: Settings) -> dict[str, str]:
    """A public record citing a verified parcel whose commune of then is not the one of now."""
    return first(
        own_settings,
        f"""SELECT ?s ?id ?ref ?then ?now ?nowName WHERE {{ GRAPH <{PUBLIC}> {{
          ?s dct:references ?ref ; rico:identifier ?id .
          ?ref kho:refKind "land" ; kho:parcelUnitThen ?then ; kho:parcelUnitNow ?now ;
               kho:verificationStatus <https://w3id.org/kho/code/verification/verified> .
          FILTER(?then != ?now) }}
          ?now skos:prefLabel ?nowName . FILTER(LANG(?nowName) = "vi")
        }} ORDER BY ?s ?ref LIMIT 1""",
    )


@pytest.fixture(scope="module")
def cited_citizen(own_settings: Settings) -> dict[str, str]:
    """A public record citing a citizen: the link, its pseudonymous target and the number."""
    return first(
        own_settings,
        f"""SELECT ?s ?ref ?person ?number WHERE {{
          GRAPH <{PUBLIC}> {{ ?s dct:references ?ref . ?ref kho:refKind "citizen" ;
                                 kho:linkTarget ?person }}
          GRAPH <{PUBLIC}/personal> {{ ?ref kho:registryId ?number }}
        }} ORDER BY ?s ?ref LIMIT 1""",
    )


def test_researcher_follows_a_parcels_commune_to_todays_unit(
    page: Page, server: str, merged_parcel: dict[str, str]
) -> None:
    """Search a record, see its parcel verified, follow 'commune then → now' to today's unit and
    find the parcel and the record listed there."""
    p = merged_parcel
    sign_in(page, server, "researcher")
    page.click("nav a:has-text('Tài liệu')")
    page.wait_for_url("**/records**")
    page.fill("#q", p["id"])
    page.click("form.search.big button[type=submit]")
    page.click(f"[data-iri='{p['s']}'] > a")
    page.wait_for_url(f"**{path_of(p['s'])}")
    link = page.locator(f"li.registry-link[data-link='{p['ref']}']")
    badge = link.locator(".badge.status")
    assert "status-verified" in (badge.get_attribute("class") or "")
    assert "đã xác minh" in badge.inner_text() and "verified" in badge.inner_text()
    assert link.locator("dd.communes .then a.unit").get_attribute("href") == path_of(p["then"])
    link.locator("dd.communes .now a.unit").click()
    page.wait_for_url(f"**{path_of(p['now'])}")
    assert p["nowName"] in page.inner_text("h1")
    cited = page.locator(f"#registry-links ul.cited li.registry-link[data-link='{p['ref']}']")
    assert cited.count() == 1
    record = cited.locator("a.subject")
    assert record.get_attribute("href") == path_of(p["s"])
    record.click()
    page.wait_for_url(f"**{path_of(p['s'])}")


def test_a_citizen_only_by_pseudonym_and_the_number_only_for_the_cleared(
    browser: Browser, page: Page, server: str, cited_citizen: dict[str, str]
) -> None:
    """The researcher sees 'công dân (mã ẩn danh)', follows it to /id/person/… and never sees the
    number; the reader cleared for personal data sees it on the record page."""
    c = cited_citizen
    number = re.compile(rf"(?<!\d){c['number']}(?!\d)")
    sign_in(page, server, "researcher")
    page.goto(server + path_of(c["s"]))
    assert not number.search(page.content())
    link = page.locator(f"li.registry-link[data-link='{c['ref']}']")
    person = link.locator("a.person")
    assert "công dân (mã ẩn danh)" in person.inner_text()
    assert link.locator("dd.personal-number").count() == 0
    person.click()
    page.wait_for_url(f"**{path_of(c['person'])}")
    assert page.locator("article.person-page").get_attribute("data-iri") == c["person"]
    assert page.locator(f"a.subject[href='{path_of(c['s'])}']").count() >= 1
    assert page.locator("dd.personal-number").count() == 0
    assert not number.search(page.content())
    page.goto(server + path_of(c["person"]) + ".jsonld")
    assert not number.search(page.content())

    cleared = browser.new_context(locale="vi-VN")
    tab = cleared.new_page()
    try:
        sign_in(tab, server, "cleared")
        tab.goto(server + path_of(c["s"]))
        shown = tab.locator(f"li.registry-link[data-link='{c['ref']}'] dd.personal-number code")
        assert shown.inner_text() == c["number"]
    finally:
        cleared.close()


def test_archivist_sees_the_failed_links_and_anonymous_only_counts(page: Page, server: str) -> None:
    page.goto(server + "/registries")
    assert page.locator("table.registry-counts tbody tr").count() >= 4
    assert page.locator("#unverified").count() == 0
    assert page.locator("li.registry-link").count() == 0

    sign_in(page, server, "archivist")
    page.click("nav a:has-text('Sổ đăng ký')")
    page.wait_for_url("**/registries")
    failed = page.locator("#unverified li.registry-link")
    assert failed.count() > 0
    for i in range(failed.count()):
        item = failed.nth(i)
        assert "status-verified" not in (item.get_attribute("class") or "")
        note = item.locator("dd.note")
        assert note.count() == 1 and note.inner_text().strip(), item.get_attribute("data-link")
    counted = page.locator("table.registry-counts td.n.status-not-found").all_inner_texts()
    page.click("p.status-filter a:has-text('không tìm thấy')")
    page.wait_for_url("**status=not-found**")
    shown = page.locator("#unverified li.registry-link")
    assert shown.count() == sum(int(n) for n in counted) > 0
    assert all(
        "status-not-found" in (shown.nth(i).get_attribute("class") or "")
        for i in range(shown.count())
    )


def test_the_english_switch_on_registries(page: Page, server: str) -> None:
    page.goto(server + "/registries")
    assert page.inner_text("h1").startswith("Liên kết với các cơ sở dữ liệu quốc gia")
    page.click("a.lang-switch")
    page.wait_for_load_state()
    assert page.inner_text("h1").startswith("Links to the national registries")
    assert page.url.endswith("/registries")
    assert "Registry" in page.inner_text("table.registry-counts thead")
