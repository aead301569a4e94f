"""The search index: accent folding, both tone-mark placements, codes, filters, the page."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient

from repository.config import Settings
from repository.search_index import (
    IndexMissing,
    build_index,
    folding_analyzer,
    index_exists,
    search,
)
from repository.store import Store
from tests.search_engines import ENGINES, on_engine
from webapp import create_app

DATA = Path(__file__).parent / "data"
TRUC_BACH = "https://kho.example.org/id/unit/phuong-truc-bach-00004_until-2025-06-30"
BA_DINH = "https://kho.example.org/id/unit/phuong-ba-dinh-00004_2025-07-01"


@pytest.fixture(scope="module", params=ENGINES)
def search_engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def harvested_settings(harvested_settings: Settings, search_engine: str) -> Settings:
    """Each test of this module runs on both engines (the tantivy indexes are built once)."""
    return on_engine(harvested_settings, search_engine)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def tokens(text: str) -> list[str]:
    return [t.text for t in folding_analyzer()(text)]


@pytest.mark.parametrize(
    ("old_style", "new_style"),
    [("Uỷ ban", "Ủy ban"), ("Thuỷ", "Thủy"), ("hoà bình", "hòa bình"), ("Khoá", "Khóa")],
)
def test_both_tone_mark_placements_fold_alike(old_style: str, new_style: str) -> None:
    assert tokens(old_style) == tokens(new_style)


def test_analyzer_folds_accents_and_d_stroke() -> None:
    assert tokens("Phường Trúc Bạch") == ["phuong", "truc", "bach"]
    assert tokens("ĐỐNG ĐA đường") == ["dong", "da", "duong"]
    assert tokens("Văn Miếu - Quốc Tử Giám") == ["van", "mieu", "quoc", "tu", "giam"]


def test_decomposed_input_folds_like_composed() -> None:
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Hoàn Kiếm")
    assert tokens(nfd) == tokens("Hoàn Kiếm") == ["hoan", "kiem"]


def test_unaccented_query_finds_truc_bach(harvested_settings: Settings) -> None:
    hits = search(harvested_settings, "truc bach", limit=10)
    assert hits[0].iri == TRUC_BACH
    assert hits[0].name == "Phường Trúc Bạch" and hits[0].era == "before"


def test_hoan_kiem_finds_the_old_district_and_the_new_ward(harvested_settings: Settings) -> None:
    hits = search(harvested_settings, "hoan kiem", limit=5)
    found = {(h.name, h.era) for h in hits}
    assert ("Quận Hoàn Kiếm", "before") in found
    assert ("Phường Hoàn Kiếm", "after") in found


def test_code_finds_both_bearers_with_their_dates(harvested_settings: Settings) -> None:
    hits = search(harvested_settings, "00004", limit=10)
    by_iri = {h.iri: h for h in hits}
    assert set(by_iri) == {TRUC_BACH, BA_DINH}
    assert by_iri[TRUC_BACH].valid_to == "2025-06-30" and by_iri[TRUC_BACH].valid_from is None
    assert by_iri[BA_DINH].valid_from == "2025-07-01" and by_iri[BA_DINH].valid_to is None


def test_tone_mark_placement_does_not_change_results(harvested_settings: Settings) -> None:
    old = [h.iri for h in search(harvested_settings, "Thuỵ Khuê", limit=20)]
    new = [h.iri for h in search(harvested_settings, "Thụy Khuê", limit=20)]
    assert old == new and old


def test_level_and_era_filters(harvested_settings: Settings) -> None:
    hits = search(harvested_settings, "ba dinh", limit=50, level="district")
    assert hits and all(h.level == "district" for h in hits)
    after = search(harvested_settings, "ba dinh", limit=50, era="after")
    assert BA_DINH in [h.iri for h in after]
    assert all(h.era == "after" for h in after)


def test_prefix_fallback_finds_a_half_typed_name(harvested_settings: Settings) -> None:
    assert TRUC_BACH in [h.iri for h in search(harvested_settings, "truc ba", limit=10)]


def test_build_index_reports_progress_and_swaps_in(tmp_path: Path, engine: str) -> None:
    store = Store(tmp_path / "store")
    store.load_file(
        DATA / "gazetteer_sample.ttl",
        "https://kho.example.org/graph/gazetteer",
        ox.RdfFormat.TURTLE,
    )
    settings = Settings(data_dir=tmp_path, search=engine)
    assert not index_exists(settings)
    seen: list[int] = []
    count = build_index(store, settings, progress=seen.append)
    assert count == seen[-1] and count > 0
    assert index_exists(settings)
    assert [h.iri for h in search(settings, "Trúc Bạch")] == [TRUC_BACH]
    assert build_index(store, settings) == count  # rebuilding replaces the index in place
    assert not list(tmp_path.glob(".index-*")) and not list(tmp_path.glob("index*.old"))


def test_search_without_index_raises_a_helpful_error(tmp_path: Path, engine: str) -> None:
    with pytest.raises(IndexMissing, match="kho index"):
        search(Settings(data_dir=tmp_path, search=engine), "truc bach")


# -- the /search page --------------------------------------------------------------------------


class Links(HTMLParser):
    """Collects the links of a page, and the text of its h2 headings."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        self._in_h2 = self._in_h2 or tag == "h2"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data: str) -> None:
        if self._in_h2 and data.strip():
            self.headings.append(data.strip())


@pytest.fixture(scope="module")
def client(harvested_settings: Settings) -> FlaskClient:
    return create_app(harvested_settings).test_client()


def test_search_page_groups_by_reform_and_links_units(client: FlaskClient) -> None:
    response = client.get("/search?q=00004")
    assert response.status_code == 200
    page = Links()
    page.feed(response.get_data(as_text=True))
    assert "/id/unit/phuong-truc-bach-00004_until-2025-06-30" in page.links
    assert "/id/unit/phuong-ba-dinh-00004_2025-07-01" in page.links
    assert any(h.startswith("Trước 01/7/2025") for h in page.headings)
    assert any(h.startswith("Từ 01/7/2025") for h in page.headings)


def test_search_json_for_clients_that_ask(client: FlaskClient) -> None:
    response = client.get("/search?q=truc%20bach", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.json["hits"][0]["iri"] == TRUC_BACH  # type: ignore[index]


def test_search_page_explains_a_missing_index(harvested_settings: Settings, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=harvested_settings.data_dir,
        index_path=tmp_path / "none",
        store_path=harvested_settings.store_path,
        today=harvested_settings.today,
        search=harvested_settings.search,
    )
    response = create_app(settings).test_client().get("/search?q=truc")
    assert response.status_code == 200
    assert "kho index" in response.get_data(as_text=True)
