"""The digitisation progress dashboard over the demo repository: per priority group and per unit of
today (rolling up former units), counted over what the reader may see; flags for curators only."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date

import pyoxigraph as ox
import pytest
from flask import Flask
from lxml import html as lxml_html

from repository import access, holdings, progress
from repository.config import Settings
from repository.memo import Memo
from repository.namespaces import KHO, RIC_RST, RICO, Minter
from repository.store import open_store
from tests.web import client_as
from webapp import create_app

BASE = "https://kho.example.org/"
UNG_THIEN = BASE + "id/unit/xa-ung-thien-10369_2025-07-01"
TRUONG_THINH = BASE + "id/unit/xa-truong-thinh-10369_until-2025-06-30"
YEN_XUAN = BASE + "id/unit/xa-yen-xuan-04930_2025-07-01"  # default successor of Tiến Xuân
TIEN_XUAN = BASE + "id/unit/xa-tien-xuan-04936_until-2025-06-30"
HANOI = BASE + "id/unit/thanh-pho-ha-noi-01_2008-08-01"  # its only hồ sơ is secret


@pytest.fixture(scope="module")
def app(demo_settings: Settings) -> Flask:
    app = create_app(demo_settings)
    app.testing = True
    return app


def board(app: Flask, who: str, accept: str | None = None) -> dict:  # type: ignore[type-arg]
    client = client_as(app, who)
    if accept:
        response = client.get("/dashboard", headers={"Accept": accept})
    else:
        response = client.get("/dashboard?format=json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json  # type: ignore[no-any-return]


def test_counts_grow_with_clearance(app: Flask) -> None:
    totals = [board(app, who)["total"]["hoso"] for who in ("anonymous", "researcher", "cleared")]
    assert totals[0] < totals[1] < totals[2]
    assert board(app, "anonymous", accept="application/json")["total"]["hoso"] == totals[0]


def test_groups_and_measures(app: Flask) -> None:
    body = board(app, "cleared")
    assert set(body["groups"]) >= {"1", "2", "3", "4", "5"}
    total = body["total"]
    assert sum(g["hoso"] for g in body["groups"].values()) == total["hoso"]
    assert 0 < total["hoso_ocr"] <= total["hoso_digitised"] <= total["hoso"]
    assert 0 < total["pages_ocr"] <= total["pages_digitised"]


def test_units_roll_up_their_predecessors(app: Flask) -> None:
    units = board(app, "anonymous")["units"]
    assert TRUONG_THINH in units[UNG_THIEN]["former"] and TRUONG_THINH not in units
    assert TIEN_XUAN in units[YEN_XUAN]["former"]  # a divided commune: its default successor
    assert units[UNG_THIEN]["name"] == "Xã Ứng Thiên"
    assert HANOI not in units  # the city's only hồ sơ is secret
    assert HANOI in board(app, "cleared")["units"]


def test_flags_only_for_curators(app: Flask) -> None:
    assert board(app, "anonymous")["total"]["hoso_flagged"] is None
    assert board(app, "researcher")["total"]["hoso_flagged"] is None
    curated = board(app, "archivist")
    assert curated["flags_visible"] and curated["total"]["flags"] > 0
    doc = lxml_html.fromstring(client_as(app, "anonymous").get("/dashboard").data)
    assert {td.text_content().strip() for td in doc.find_class("flagged")} == {"—"}


def test_page_has_progress_bars_and_no_inline_styles(app: Flask) -> None:
    response = client_as(app, "archivist").get("/dashboard")
    assert response.status_code == 200 and response.mimetype == "text/html"
    doc = lxml_html.fromstring(response.data)
    bars = doc.findall(".//progress")
    assert bars and all(float(b.get("value")) <= float(b.get("max")) for b in bars)
    assert not doc.xpath("//*[@style]") and not doc.findall(".//style")
    links = [a.get("href") or "" for a in doc.iter("a")]
    assert any("/records?priority=2" in h for h in links)
    assert any("/records?unit=" in h for h in links)


def test_core_query_over_the_visible_graphs(demo_settings: Settings) -> None:
    store = open_store(demo_settings)
    minter = Minter(demo_settings.base_iri)
    graphs = access.visible_graphs(store.named_graphs(), minter, access.PUBLIC)
    public = progress.dashboard(store, graphs, date(2026, 11, 26), with_flags=False)
    everything = progress.dashboard(store, store.named_graphs(), date(2026, 11, 26), True)
    assert public.total.hoso < everything.total.hoso
    assert public.total.hoso_flagged is None and (everything.total.hoso_flagged or 0) > 0


def test_a_write_to_the_store_refreshes_dashboard_and_home_counts(
    app: Flask, demo_settings: Settings
) -> None:
    store = open_store(demo_settings)  # the app's own store object
    minter = Minter(demo_settings.base_iri)
    graphs = access.visible_graphs(store.named_graphs(), minter, access.PUBLIC)
    today = date(2026, 11, 26)
    kept = progress.dashboard(store, graphs, today, with_flags=False)
    assert progress.dashboard(store, graphs, today, with_flags=False) is kept  # remembered
    before = (board(app, "anonymous")["total"], holdings.holdings(store, graphs).total.hoso)
    hoso = ox.NamedNode(f"{BASE}id/hoso/cache-test-{uuid.uuid4().hex[:8]}")
    public = ox.NamedNode(minter.records_graph("public"))
    quads = [
        ox.Quad(
            hoso, ox.NamedNode(RICO + "hasRecordSetType"), ox.NamedNode(RIC_RST + "File"), public
        ),
        ox.Quad(hoso, ox.NamedNode(KHO + "numberOfPage"), ox.Literal("7", datatype=_INT), public),
    ]
    store.add_quads(quads)
    try:
        after = board(app, "anonymous")["total"]
        assert after["hoso"] == before[0]["hoso"] + 1
        assert after["pages"] == before[0]["pages"] + 7
        assert holdings.holdings(store, graphs).total.hoso == before[1] + 1
        assert progress.dashboard(store, graphs, today, with_flags=False) is not kept
    finally:
        store.update_quads(quads, [])
    assert board(app, "anonymous")["total"] == before[0]
    assert holdings.holdings(store, graphs).total.hoso == before[1]


_INT = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


def test_memo_computes_once_for_threads_asking_together_and_forgets_failures() -> None:
    memo: Memo[int] = Memo(size=2)
    calls: list[str] = []

    def slow() -> int:
        calls.append("x")
        time.sleep(0.05)
        return 42

    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(memo.get("k", slow))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [42] * 8 and len(calls) == 1

    def fail() -> int:
        raise RuntimeError("store closed")

    with pytest.raises(RuntimeError):
        memo.get("bad", fail)
    assert memo.get("bad", lambda: 1) == 1  # the failure was not kept
    memo.get("third", lambda: 3)
    assert len(memo) == 2 and memo.get("k", lambda: 0) == 0  # least recently used went first


def test_memo_keeps_answers_put_by_other_work_and_peeks_without_computing() -> None:
    """Memo.peek / put: the search engines keep counts that come with a page of hits."""
    memo: Memo[int] = Memo(size=2)
    assert memo.peek("a") is None
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.peek("a") == 1  # used: "b" is now the least recently used
    memo.put("c", 3)
    assert memo.peek("b") is None and memo.peek("a") == 1 and memo.get("c", lambda: 0) == 3
    release = threading.Event()
    waiting = threading.Thread(target=lambda: memo.get("d", lambda: release.wait(10) and 4))
    waiting.start()
    time.sleep(0.05)
    assert memo.peek("d") is None  # being computed: peek does not wait
    release.set()
    waiting.join()
    assert memo.peek("d") == 4
    with pytest.raises(RuntimeError):
        memo.get("e", lambda: (_ for _ in ()).throw(RuntimeError("store closed")))
    assert memo.peek("e") is None


def test_slow_answers_are_served_stale_while_the_new_one_is_computed() -> None:
    """Memo.recent: fast answers always belong to the present generation; once a family's answer
    took slow_s or more, a newer generation gets the last answer (not current) at once, one
    background computation per family, and the new answer once it is there."""
    fast: Memo[str] = Memo(size=4, slow_s=60.0)
    assert fast.recent("f", 1, lambda: "one").value == "one"
    got = fast.recent("f", 2, lambda: "two")
    assert got.value == "two" and got.current and got.generation == 2

    slow: Memo[str] = Memo(size=4, slow_s=0.0)  # every answer counts as slow
    first = slow.recent("f", 1, lambda: "one")
    assert first.current and first.value == "one"  # nothing to serve yet: computed inline
    release, calls = threading.Event(), []

    def counting() -> str:
        calls.append(1)
        release.wait(10)
        return "two"

    stale = [slow.recent("f", 2, counting) for _ in range(5)]
    assert all(k.value == "one" and not k.current and k.generation == 1 for k in stale)
    release.set()
    slow.settle(10)
    fresh = slow.recent("f", 2, counting)
    assert fresh.value == "two" and fresh.current and calls == [1]

    def broken() -> str:
        raise RuntimeError("store closed")

    assert slow.recent("f", 3, broken).value == "two"  # the failure stays in the background
    slow.settle(10)
    assert slow.recent("f", 3, lambda: "three").value == "two"  # tried again, in the background
    slow.settle(10)
    assert slow.recent("f", 3, lambda: "never").value == "three"


def test_home_and_dashboard_say_when_their_counts_are_being_updated(
    app: Flask, demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On an archive where counting is slow, a write shows the last counts, marked with their
    time, until the new ones are there (the page never waits for a whole-archive count). The
    real counts run, held back until the stale answers have been seen."""
    store = open_store(demo_settings)
    minter = Minter(demo_settings.base_iri)
    graphs = access.visible_graphs(store.named_graphs(), minter, access.PUBLIC)
    memos = (holdings._MEMO, progress._MEMO)
    saved = [m.slow_s for m in memos]
    hoso = ox.NamedNode(f"{BASE}id/hoso/stale-test-{uuid.uuid4().hex[:8]}")
    kind = ox.NamedNode(RICO + "hasRecordSetType")
    quads = [
        ox.Quad(
            hoso, kind, ox.NamedNode(RIC_RST + "File"), ox.NamedNode(minter.records_graph("public"))
        )
    ]
    gate = threading.Event()
    for module, name in ((holdings, "_holdings"), (progress, "_dashboard")):
        real = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _real=real: (gate.wait(30) or True) and _real(*a)
        )
    try:
        for m in memos:
            m.slow_s = 0.0
        gate.set()
        # answers of this generation (on a server the generation follows the write stamp, read
        # at most once a second: it may move once more after a count, as at the end below)
        for _ in range(5):
            before = holdings.holdings(store, graphs)
            if before.current and board(app, "anonymous")["current"]:
                break
            for m in memos:
                m.settle(60)
        assert before.current and board(app, "anonymous")["current"] is True
        gate.clear()
        store.add_quads(quads)
        stale = holdings.holdings(store, graphs)
        assert not stale.current and stale.total.hoso == before.total.hoso
        body = board(app, "anonymous")
        assert body["current"] is False and body["as_of"].endswith("Z")
        page = client_as(app, "anonymous").get("/").get_data(as_text=True)
        assert "đang được cập nhật" in page and "being updated" in page
        gate.set()
        for m, slow_s in zip(memos, saved, strict=True):
            m.settle(60)
            m.slow_s = slow_s  # counting the demo is quick again: answers of the present store
        # (On a server the generation follows the write stamp, so it may move once more after
        # the background count; and the held-back count took as long as the gate was shut.)
        for _ in range(5):
            fresh = holdings.holdings(store, graphs)
            if fresh.current and board(app, "anonymous")["current"]:
                break
            for m in memos:
                m.settle(60)
        assert fresh.current and fresh.total.hoso == before.total.hoso + 1
        assert board(app, "anonymous")["current"] is True
    finally:
        gate.set()
        for m, s in zip(memos, saved, strict=True):
            m.settle(60)
            m.slow_s = s
        store.update_quads(quads, [])
