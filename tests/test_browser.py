"""The main journeys of each user, in a real browser: Playwright driving Debian's Chromium against
the production WSGI server (waitress) on 127.0.0.1, over the demo repository."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from repository.config import Settings
from tests.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not shutil.which("chromium"), reason="Debian's chromium is not installed (make browser)"
)


@pytest.fixture(scope="module")
def server(demo_settings: Settings) -> Iterator[str]:
    """The app under waitress on a free port of 127.0.0.1, as `make run` serves it."""
    import waitress

    from webapp import create_app

    app = create_app(demo_settings)
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
    assert response.status == 404
    assert secret not in page.inner_text("main")
    query = f"SELECT * WHERE {{ GRAPH ?g {{ ?s ?p '{secret}' }} }}"
    page.goto(f"{server}/sparql?query={query}")
    page.wait_for_selector("table.results")
    assert page.locator("table.results tbody tr").count() == 0


def test_a_cleared_reader_sees_the_secret_record(page: Page, server: str) -> None:
    sign_in(page, server, "cleared")
    response = page.goto(f"{server}/id/record/H01.01.DU.2021.05.0000001")
    assert response.status == 200
