"""Record and hồ sơ pages, file downloads and the provenance picture, for every role (issue 4)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from flask import Flask

from repository.config import Settings
from tests.web import client_as
from webapp import create_app

PUBLIC = "H01.019.UBND.2020.52.0000002"  # district UBND (dissolved), scanned + OCR, no citizen
PUBLIC_HOSO = "H01.019.UBND.2020.52"
CITIZEN = "H01.09931.DU.2025.02.0000003"  # public, its text names a citizen (CCCD)
CCCD = "038198360987"
CONDITIONAL = "H01.005.CCB.2016.06.0000001"
SECRET = "H01.01.DU.2021.05.0000001"
FLAGGED = "H01.04936.DTN.2021.99.0000001"  # duplicate flags in the public curation graph
COMMUNE_HOSO = "H01.04936.DTN.2021.51"  # Đoàn TN xã Tiến Xuân (ended 2025-06-30)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def app(demo_settings: Settings) -> Flask:
    return create_app(demo_settings)


class Page(HTMLParser):
    """The elements these tests look at: tags with their attributes, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        """Tags named `tag` whose attributes match (class_ matches one of the classes)."""

        def ok(a: dict[str, str | None]) -> bool:
            for k, v in attrs.items():
                if k == "class_":
                    if v not in (a.get("class") or "").split():
                        return False
                elif a.get(k) != v:
                    return False
            return True

        return [a for t, a in self.tags if t == tag and ok(a)]

    def classes(self) -> set[str]:
        return {c for _, a in self.tags for c in (a.get("class") or "").split()}


def get(app: Flask, who: str, url: str):  # type: ignore[no-untyped-def]
    """GET as `who`; the body is read and the response closed (file downloads hold a file)."""
    response = client_as(app, who).get(url)
    response.get_data()
    response.close()
    return response


def test_public_record_for_anonymous(app: Flask) -> None:
    r = get(app, "anonymous", f"/id/record/{PUBLIC}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    page = Page(html)
    assert "275/TTr-UBND" in "".join(page.text)
    viewer = page.find("object", class_="pdf-viewer")
    assert viewer and viewer[0]["data"] == f"/files/{PUBLIC}/pdfa.pdf"
    assert viewer[0]["type"] == "application/pdf"
    assert page.find("pre", class_="text")
    assert "flags" not in page.classes() and "review-form" not in page.classes()
    csp = r.headers["Content-Security-Policy"]
    assert "object-src 'self'" in csp and "frame-src 'self'" in csp
    assert "Trung tâm Lưu trữ lịch sử thành phố Hà Nội" in html  # who holds it today
    assert page.find("a", href=f"/id/record/{PUBLIC}.ttl")
    assert page.find("a", href=f"/id/hoso/{PUBLIC_HOSO}")
    assert page.find("a", href="/id/agency/ubnd/quan-nam-tu-liem-019_until-2025-06-30")


def test_citizen_numbers_masked_and_scan_withheld(app: Flask) -> None:
    r = get(app, "anonymous", f"/id/record/{CITIZEN}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert CCCD not in html
    assert CCCD[:3] + "******" + CCCD[-3:] in html  # the OCR text, masked
    page = Page(html)
    assert not page.find("object")
    assert page.find("p", class_="withheld") and "13/2023" in html
    for name in ("original.pdf", "pdfa.pdf"):
        assert get(app, "anonymous", f"/files/{CITIZEN}/{name}").status_code == 404
        assert get(app, "researcher", f"/files/{CITIZEN}/{name}").status_code == 404
    text = get(app, "anonymous", f"/files/{CITIZEN}/text.txt")
    assert text.status_code == 200 and CCCD not in text.get_data(as_text=True)


def test_cleared_reader_sees_the_number_and_the_scan(app: Flask) -> None:
    html = get(app, "cleared", f"/id/record/{CITIZEN}").get_data(as_text=True)
    assert CCCD in html
    assert Page(html).find("object", class_="pdf-viewer")
    pdf = get(app, "cleared", f"/files/{CITIZEN}/original.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert CCCD in get(app, "cleared", f"/files/{CITIZEN}/text.txt").get_data(as_text=True)


@pytest.mark.parametrize(
    ("who", "conditional", "secret"),
    [
        ("anonymous", 404, 404),
        ("researcher", 200, 404),
        ("archivist", 200, 404),
        ("cleared", 200, 200),
    ],
)
def test_restricted_records_by_role(app: Flask, who: str, conditional: int, secret: int) -> None:
    for key, expected in ((CONDITIONAL, conditional), (SECRET, secret)):
        page = get(app, who, f"/id/record/{key}")
        assert page.status_code == expected, (who, key)
        if expected == 404:  # no title of the hidden record
            assert "<h1>Không tìm thấy" in page.get_data(as_text=True)
        for name in ("original.pdf", "text.txt"):
            assert get(app, who, f"/files/{key}/{name}").status_code == expected, (who, name)
        svg = get(app, who, f"/provenance/record/{key}.svg")
        assert svg.status_code == expected


def test_restricted_reads_are_audited(app: Flask, demo_settings: Settings) -> None:
    from repository.users import Users

    assert get(app, "cleared", f"/id/record/{SECRET}").status_code == 200
    assert get(app, "cleared", f"/files/{SECRET}/original.pdf").status_code == 200
    log = Users(demo_settings.users_path).audit_log(  # type: ignore[arg-type]
        limit=20, actor="cleared", action="read-restricted"
    )
    details = [(e.target, e.detail) for e in log]
    iri = f"https://kho.example.org/id/record/{SECRET}"
    assert (iri, "03") in details
    assert any(t == iri and "download original.pdf" in d for t, d in details)


def test_download_headers(app: Flask) -> None:
    pdf = get(app, "anonymous", f"/files/{PUBLIC}/pdfa.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'self'" in pdf.headers["Content-Security-Policy"]
    assert pdf.headers["Content-Disposition"].startswith("inline")
    attached = get(app, "anonymous", f"/files/{PUBLIC}/original.pdf?download=1")
    assert attached.headers["Content-Disposition"].startswith("attachment")
    assert f"{PUBLIC}-original.pdf" in attached.headers["Content-Disposition"]
    text = get(app, "anonymous", f"/files/{PUBLIC}/text.txt")
    assert text.content_type == "text/plain; charset=utf-8"
    # nothing but the three names, and never a path
    for bad in ("x.pdf", "..%2F..%2Fsecret-key", "original.pdf/../x"):
        assert get(app, "anonymous", f"/files/{PUBLIC}/{bad}").status_code == 404
    assert get(app, "anonymous", "/files/..%2Fsecret-key/text.txt").status_code == 404


def test_archivist_sees_flags_with_forms(app: Flask) -> None:
    html = get(app, "archivist", f"/id/record/{FLAGGED}").get_data(as_text=True)
    page = Page(html)
    flags = page.find("li", class_="flag")
    assert len(flags) >= 3
    forms = page.find("form", class_="review-form")
    assert forms and all(f["action"] == "/curation/flags/review" for f in forms)
    assert page.find("input", name="csrf_token")
    assert (
        "flag"
        not in Page(
            get(app, "researcher", f"/id/record/{FLAGGED}").get_data(as_text=True)
        ).classes()
    )


def test_hoso_page(app: Flask) -> None:
    r = get(app, "anonymous", f"/id/hoso/{PUBLIC_HOSO}")
    assert r.status_code == 200
    page = Page(r.get_data(as_text=True))
    docs = [a["href"] for a in page.find("a") if (a.get("href") or "").startswith("/id/record/")]
    assert f"/id/record/{PUBLIC}" in docs
    assert page.find("dd", class_="period")  # retention decision
    assert not page.find("form", class_="retention-form")
    archivist = Page(get(app, "archivist", f"/id/hoso/{PUBLIC_HOSO}").get_data(as_text=True))
    assert archivist.find("form", class_="retention-form")


def _svg_of(html: str) -> ET.Element:
    match = re.search(r"<svg .*?</svg>", html, re.S)
    assert match
    return ET.fromstring(match.group(0))


def test_provenance_chain_reaches_todays_holder(app: Flask) -> None:
    # an old commune's records: created by its Youth Union, held since 2025-07-01 by the new one
    html = get(app, "anonymous", f"/id/hoso/{COMMUNE_HOSO}").get_data(as_text=True)
    svg = _svg_of(html)
    assert svg.find(f"{SVG}title") is not None and svg.find(f"{SVG}desc") is not None
    texts = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    assert "xã Tiến Xuân" in texts and "xã Yên Xuân" in texts
    assert "1656/NQ-UBTVQH15" in texts
    now = [g for g in svg.iter(f"{SVG}g") if "now" in (g.get("class") or "").split()]
    assert len(now) == 1
    assert "Yên Xuân" in " ".join(t.text or "" for t in now[0].iter(f"{SVG}text"))
    steps = Page(html).find("li", class_="step")
    assert len(steps) == 2
    # the standalone picture parses as XML and names today's holder of a dissolved district's file
    alone = get(app, "anonymous", f"/provenance/record/{PUBLIC}.svg")
    assert alone.mimetype == "image/svg+xml"
    root = ET.fromstring(alone.data)
    assert root.tag == f"{SVG}svg"
    assert "Trung tâm Lưu trữ lịch sử thành phố Hà Nội" in ET.tostring(root, encoding="unicode")


def test_provenance_core_chain(demo_settings: Settings) -> None:
    from datetime import date

    from repository import provenance
    from repository.namespaces import Minter
    from repository.store import open_store

    store = open_store(demo_settings)
    minter = Minter(demo_settings.base_iri)
    graphs = [g for g in store.named_graphs() if "/graph/records/" in g]
    today = date.fromisoformat(demo_settings.today or "2026-11-26")
    steps = provenance.chain(store, minter, minter.record(PUBLIC), graphs, today)
    assert [s.how for s in steps] == ["created", "transferred"]
    assert steps[0].end == "2025-06-30" and steps[0].unit_name == "Quận Nam Từ Liêm"
    assert steps[-1].now and steps[-1].begin == "2025-07-01" and steps[-1].end is None
    assert steps[-1].act_label == "72/2025/QH15"
    assert provenance.holder_today(steps) is steps[-1]
