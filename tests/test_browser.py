"""The main journeys of each user, in a real browser: Playwright driving Debian's Chromium against
the production WSGI server (waitress) on 127.0.0.1, over the demo repository."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from repository.config import Settings
from repository.store import open_store
from tests.conftest import PASSWORD, TODAY

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not shutil.which("chromium"), reason="Debian's chromium is not installed (make browser)"
)


@pytest.fixture(scope="module")
def own_settings(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the demo repository (the archivist's journey writes a review into it)."""
    data = tmp_path_factory.mktemp("kho-browser")
    open_store(demo_settings).backup(data / "store")
    for name in ("users.sqlite3", "secret-key"):
        shutil.copy(Path(demo_settings.data_dir) / name, data / name)
    for index in ("index", "records-index"):  # units, records
        shutil.copytree(Path(demo_settings.data_dir) / index, data / index)
    return Settings(data_dir=data, files_path=demo_settings.files_path, today=TODAY)


@pytest.fixture(scope="module")
def server(own_settings: Settings) -> Iterator[str]:
    """The app under waitress on a free port of 127.0.0.1, as `make run` serves it."""
    import waitress

    from webapp import create_app

    app = create_app(own_settings)
    srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="vi-VN")
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


def sign_in(page: Page, server: str, name: str) -> None:
    page.goto(f"{server}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_selector("a.who")


def test_researcher_follows_a_dissolved_districts_record_to_todays_holder(
    page: Page, server: str
) -> None:
    """Browse the former units, open a record of Quận Nam Từ Liêm (dissolved on 2025-07-01), read
    its provenance chain and follow it to the archive that holds it today."""
    page.goto(server + "/browse/units-old")
    page.click("ul.browse-list a:has-text('Quận Nam Từ Liêm') >> nth=0")
    page.wait_for_url("**/records?**")
    page.click("[data-iri] > a >> nth=0")
    page.wait_for_url("**/id/**")
    assert page.locator(
        "section.provenance svg, section.provenance img, section.provenance object"
    ).count()
    holder = page.locator("ol.chain-steps li.now a.agency")
    name = holder.inner_text()
    assert "Lưu trữ" in name
    holder.click()
    page.wait_for_url("**/id/agency/**")
    assert name in page.inner_text("h1")


def test_archivist_resolves_a_duplicate_flag(page: Page, server: str) -> None:
    sign_in(page, server, "archivist")
    page.goto(server + "/curation/flags?status=xem-xet-huy")
    flag = page.locator("li.flag").first
    flag_iri = flag.get_attribute("data-flag")
    flag.locator("textarea, input[name=note]").first.fill("Bản trùng, đã đối chiếu bản gốc.")
    flag.locator("button[value=confirmed]").click()
    page.wait_for_load_state()
    page.goto(server + "/curation/flags?status=confirmed")
    done = page.locator(f"li.flag[data-flag='{flag_iri}']")
    assert done.count() == 1
    assert "archivist" in done.inner_text()


def test_administrator_traces_a_unit_across_the_merger(page: Page, server: str) -> None:
    """Search an old ward, open it, follow its lineage to the ward that replaced it."""
    page.goto(server + "/")
    page.fill("#site-q", "truc bach")  # accent-blind
    page.click("form.search button")
    page.click("main a:has-text('Phường Trúc Bạch') >> nth=0")
    page.wait_for_url("**/id/unit/**")
    assert "Trúc Bạch" in page.inner_text("h1")
    page.click("main a:has-text('Phường Ba Đình') >> nth=0")
    page.wait_for_url("**/id/unit/phuong-ba-dinh-*")
    assert "Ba Đình" in page.inner_text("h1")
    assert "2025-07-01" in page.content()


def test_researcher_runs_an_example_sparql_query(page: Page, server: str) -> None:
    sign_in(page, server, "researcher")
    page.goto(server + "/sparql")
    page.click("ul.examples a >> nth=0")
    page.click("form.sparql button[type=submit]")
    page.wait_for_selector("table.results tbody tr")
    assert page.locator("table.results tbody tr").count() > 0


def test_anonymous_sees_no_secret_record_anywhere(page: Page, server: str) -> None:
    secret = "H01.01.DU.2021.05.0000001"  # a Party committee's secret document in the demo
    page.goto(f"{server}/records?q={secret}")
    assert f"/id/record/{secret}" not in page.content()  # the query is echoed, no hit is listed
    response = page.goto(f"{server}/id/record/{secret}")
    assert response.status == 404  # the same answer as for a record that does not exist
    assert "Không tìm thấy" in page.inner_text("h1")
    query = f"SELECT * WHERE {{ GRAPH ?g {{ ?s ?p '{secret}' }} }}"
    page.goto(f"{server}/sparql?query={query}")
    page.wait_for_selector("table.results")
    assert page.locator("table.results tbody tr").count() == 0


def test_anonymous_finds_no_secret_record_in_lists_api_or_oai(page: Page, server: str) -> None:
    secret_hoso = "H01.01.DU.2021.05"  # the demo's secret hồ sơ of the city Party committee
    for path in (
        "/browse/hoso",
        "/dashboard",
        "/records?q=chuyen+doi+so",
        "/api/records?per_page=500",
        "/oai?verb=ListIdentifiers&metadataPrefix=oai_dc",
    ):
        response = page.goto(server + path)
        assert response is not None and response.status == 200, path
        assert secret_hoso not in page.content(), path


def test_the_english_switch(page: Page, server: str) -> None:
    page.goto(server + "/dashboard")
    assert page.inner_text("h1").startswith("Tiến độ")
    page.click("a.lang-switch")
    page.wait_for_load_state()
    assert page.inner_text("h1").startswith("Digitisation")
    assert page.url.endswith("/dashboard")


def test_a_cleared_reader_sees_the_secret_record(page: Page, server: str) -> None:
    sign_in(page, server, "cleared")
    response = page.goto(f"{server}/id/record/H01.01.DU.2021.05.0000001")
    assert response.status == 200
