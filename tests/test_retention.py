"""Retention suggestions, decisions, the due list and priority groups, on a real store."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pyoxigraph as ox
import pytest

from repository.cli import main
from repository.config import Settings
from repository.errors import BadRequest, NotFound
from repository.namespaces import KHO, RDF, RICO, XSD, Minter, code
from repository.preservation import VN_TZ
from repository.retention import (
    confirm,
    decision_triples,
    due,
    load_rules,
    priority_counts,
    priority_group,
    review_date,
    reviewed_subjects,
    suggest,
)
from repository.store import Store, open_store

M = Minter("https://kho.example.org/")
H1 = M.hoso("H01.151.2021.01.TH")
H2 = M.hoso("H01.151.2019.02.BC")
H3 = M.hoso("H01.151.2020.03.DD")
PUBLIC = M.records_graph("public")
AT = datetime(2026, 11, 26, 10, 0, tzinfo=VN_TZ)


def test_every_rule_is_cited_and_marked() -> None:
    rules = load_rules()
    assert len(rules) >= 25
    assert len({r.rule_id for r in rules}) == len(rules)
    for r in rules:
        assert r.citation and r.status in ("verified", "unverified"), r.rule_id
        assert r.title_keywords or r.doc_types, r.rule_id


@pytest.mark.parametrize(
    ("title", "types", "block", "expected", "years", "rule"),
    [
        (
            "Hồ sơ hội nghị tổng kết công tác năm 2021",
            ["Báo cáo", "02"],
            "block-chinh-quyen",
            "01",
            None,
            "G-TONG-KET-NAM",
        ),
        (
            "Báo cáo tháng 5 năm 2021 về tình hình kinh tế - xã hội",
            ["14"],
            "chinh-quyen",
            "06",
            10,
            "G-THANG-QUY",
        ),
        (
            "Báo cáo sơ kết 6 tháng đầu năm 2021",
            ["Báo cáo"],
            "chinh-quyen",
            "05",
            20,
            "G-SO-KET-6-THANG",
        ),
        # the one TT 10/2022 item quoted in the reference: 20 years, even when issued by a QĐ
        (
            "Hồ sơ ban hành Quy chế làm việc của UBND xã",
            ["Quyết định"],
            "chinh-quyen",
            "05",
            20,
            "G-DIEU-LE-QUY-CHE",
        ),
        (
            "Công văn trao đổi về công tác văn thư",
            ["Công văn"],
            "chinh-quyen",
            "06",
            10,
            "G-CONG-VAN",
        ),
        (
            "Hồ sơ cấp Giấy chứng nhận quyền sử dụng đất cho hộ ông Nguyễn Văn A",
            ["02"],
            "chinh-quyen",
            "01",
            None,
            "L-GCN-QSDD",
        ),
        (
            "Hồ sơ khen thưởng thành tích phong trào thi đua năm 2020",
            ["Quyết định"],
            "chinh-quyen",
            "05",
            20,
            "G-THI-DUA",
        ),
        (
            "Hồ sơ Đại hội Đảng bộ xã lần thứ XX, nhiệm kỳ 2020-2025",
            ["Nghị quyết"],
            "block-dang",
            "01",
            None,
            "D-DAI-HOI",
        ),
        (
            "Tập nghị quyết của Ban Thường vụ Đảng ủy năm 2019",
            ["Nghị quyết"],
            "dang",
            "01",
            None,
            "D-VAN-BAN-CAP-UY",
        ),
        ("Hồ sơ Đại hội Hội Nông dân xã", ["Báo cáo"], "doan-the", "01", None, "M-DAI-HOI"),
        ("Giấy mời họp", ["Giấy mời"], "chinh-quyen", "07", 5, "G-GIAY-TO-NGAN-HAN"),
    ],
)
def test_suggestions_carry_their_citation(
    title: str, types: list[str], block: str, expected: str, years: int | None, rule: str
) -> None:
    s = suggest(title, types, block=block, level="commune")
    assert s is not None
    assert (s.code, s.years, s.rule_id) == (expected, years, rule)
    assert rule in s.basis and "unverified" in s.basis and "xác nhận" in s.basis


def test_highest_period_of_the_contents_wins() -> None:
    # a hồ sơ of monthly reports that also holds the annual one: permanent
    s = suggest(
        "Báo cáo tháng và báo cáo tổng kết năm 2021",
        ["Báo cáo"],
        block="chinh-quyen",
        level="district",
    )
    assert s is not None and s.code == "01"
    # a Party rule does not apply to government files
    assert suggest("Tập lưu", ["Nghị quyết"], block="chinh-quyen", level=None).rule_id == (  # type: ignore[union-attr]
        "G-VAN-BAN-CO-QUAN"
    )
    assert suggest("Tập lưu", ["Khác"], block="dang", level="commune") is None
    assert (
        "Thông tư 10/2022/TT-BNV"
        in suggest(  # type: ignore[union-attr]
            "Hồ sơ ban hành Điều lệ", [], block=None, level=None
        ).basis
    )


def test_review_dates() -> None:
    assert review_date(date(2021, 12, 28), "06") == date(2032, 1, 1)
    assert review_date(date(2021, 1, 4), "05") == date(2042, 1, 1)
    assert review_date(date(2021, 12, 28), "02") == date(2092, 1, 1)
    assert review_date(date(2021, 12, 28), "01") is None
    assert review_date(date(2021, 12, 28), "07", 5) == date(2027, 1, 1)
    with pytest.raises(BadRequest):
        review_date(date(2021, 1, 1), "07")
    with pytest.raises(BadRequest):
        review_date(date(2021, 1, 1), "09")


def _hoso(iri: str, title: str, end: str, group: int, pages: int, graph: str = PUBLIC) -> list:
    g, n = ox.NamedNode(graph), ox.NamedNode
    end_type = XSD + ("gYear" if len(end) == 4 else "date")
    return [
        ox.Quad(n(iri), n(RDF + "type"), n(RICO + "RecordSet"), g),
        ox.Quad(n(iri), n(RICO + "title"), ox.Literal(title, language="vi"), g),
        ox.Quad(n(iri), n(RICO + "endDate"), ox.Literal(end, datatype=n(end_type)), g),
        ox.Quad(n(iri), n(KHO + "priorityGroup"), n(code(f"priority-{group}")), g),
        ox.Quad(
            n(iri), n(KHO + "numberOfPage"), ox.Literal(str(pages), datatype=n(XSD + "integer")), g
        ),
    ]


def _decision(iri: str, code_: str, end: date | None, status: str = "confirmed") -> list:
    triples = decision_triples(
        iri, code_, status=status, basis="Theo bảng kê nộp lưu", end=end, decided_by="kho", at=AT
    )
    return [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(PUBLIC)) for t in triples]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s")
    s.add_quads(
        _hoso(H1, "Hồ sơ công văn trao đổi năm 2021", "2021-12-28", 2, 58)
        + _hoso(H2, "Báo cáo tháng năm 2019", "2019", 2, 12)
        + _hoso(H3, "Hồ sơ cấp GCN quyền sử dụng đất", "2020-06-30", 1, 30)
        + _decision(H1, "06", date(2021, 12, 28))
        + _decision(H2, "06", date(2019, 12, 31), status="suggested")
        + _decision(H3, "01", date(2020, 6, 30))
    )
    return s


def test_decision_triples_follow_the_model() -> None:
    triples = decision_triples(
        H1,
        "06",
        status="suggested",
        basis="Đề xuất",
        end=date(2021, 12, 28),
        decided_by="kho",
        at=AT,
    )
    by_p = {(t.subject.value, t.predicate.value.split("#")[-1]): t.object for t in triples}
    d = Minter.retention(H1)
    assert by_p[(d, "retentionPeriod")].value == "P10Y"
    assert by_p[(d, "reviewDate")].value == "2032-01-01"
    assert by_p[(d, "decisionStatus")].value == code("decision-suggested")
    assert by_p[(d, "wasGeneratedBy")].value == Minter.appraisal(H1, 1)
    assert by_p[(Minter.appraisal(H1, 1), "wasAssociatedWith")].value == "kho"
    permanent = decision_triples(
        H3, "01", status="confirmed", basis="x", end=None, decided_by="kho", at=AT
    )
    assert not any(t.predicate.value.endswith(("retentionPeriod", "reviewDate")) for t in permanent)


def test_due_lists_expiring_files(store: Store) -> None:
    items = due(store, date(2032, 1, 1))
    assert [(i.hoso_iri, i.review_date, i.code, i.status) for i in items] == [
        (H2, date(2030, 1, 1), "06", "suggested"),
        (H1, date(2032, 1, 1), "06", "confirmed"),
    ]
    assert items[1].title == "Hồ sơ công văn trao đổi năm 2021"
    assert [i.hoso_iri for i in due(store, date(2031, 12, 31))] == [H2]
    assert due(store, date(2029, 12, 31)) == []


def test_confirm_writes_a_second_appraisal(store: Store) -> None:
    user = "https://kho.example.org/id/user/lan"
    confirm(store, H2, "05", user, datetime(2026, 12, 1, 9, 0, tzinfo=VN_TZ), "Lưu trữ viên")
    rows = store.select(
        "SELECT ?p ?o WHERE { ?d ?p ?o }",
        substitutions={"d": ox.NamedNode(Minter.retention(H2))},
    )
    values = {(str(r["p"]).split("#")[-1], str(r["o"])) for r in rows}
    assert ("maintenance", code("maintenance-05")) in values
    assert ("decisionStatus", code("decision-confirmed")) in values
    assert ("reviewDate", "2040-01-01") in values  # gYear end 2019 + 20
    assert ("wasGeneratedBy", Minter.appraisal(H2, 2)) in values
    assert len([v for v in values if v[0] in ("maintenance", "decisionStatus", "basis")]) == 3
    apps = store.select(
        "SELECT ?a ?who ?prev WHERE { ?a a kho:Appraisal ; prov:wasAssociatedWith ?who . "
        "OPTIONAL { ?a prov:wasInformedBy ?prev } } ORDER BY ?a"
    )
    mine = [r for r in apps if str(r["a"]).startswith(H2)]
    assert [r["a"] for r in mine] == [Minter.appraisal(H2, 1), Minter.appraisal(H2, 2)]
    assert mine[1]["who"] == user and mine[1]["prev"] == Minter.appraisal(H2, 1)
    hoso_m = store.select(
        "SELECT ?m WHERE { ?h kho:maintenance ?m }", substitutions={"h": ox.NamedNode(H2)}
    )
    assert [r["m"] for r in hoso_m] == [code("maintenance-05")]
    assert [i.hoso_iri for i in due(store, date(2032, 1, 1))] == [H1]
    confirm(store, H2, "05", user, datetime(2026, 12, 2, tzinfo=VN_TZ), "Lần hai")
    assert store.ask(
        "ASK WHERE { ?d prov:wasGeneratedBy ?a }",
        substitutions={
            "d": ox.NamedNode(Minter.retention(H2)),
            "a": ox.NamedNode(Minter.appraisal(H2, 3)),
        },
    )
    with pytest.raises(NotFound):
        confirm(store, M.hoso("nope"), "01", user, AT, "x")


@pytest.mark.parametrize(
    ("kind", "level", "group"),
    [
        ("dang-uy", "district", 1),
        ("hdnd", "district", 1),
        ("ubnd", "district", 1),
        ("dang-uy", "commune", 2),
        ("hdnd", "commune", 2),
        ("ubnd", "commune", 2),
        ("dang-uy", "province", 3),
        ("luu-tru-dang", "province", 3),
        ("hdnd", "province", 4),
        ("ubnd", "province", 4),
        ("luu-tru-lich-su", "province", 4),
        *[
            (k, lvl, 5)
            for k in ("mttq", "doan-tn", "hoi-lhpn", "hoi-nong-dan", "hoi-ccb", "ldld")
            for lvl in ("province", "district", "commune")
        ],
        ("https://w3id.org/kho/code/agency-ubnd", "https://w3id.org/kho/code/level-commune", 2),
    ],
)
def test_priority_group(kind: str, level: str, group: int) -> None:
    assert priority_group(kind, level) == group


def test_priority_group_refuses_unknowns() -> None:
    with pytest.raises(BadRequest):
        priority_group("ubnd", "ward")
    with pytest.raises(BadRequest):
        priority_group("toa-an", "province")


def test_priority_counts(store: Store) -> None:
    counts = priority_counts(store)
    assert set(counts) == {1, 2, 3, 4, 5}
    assert (counts[1]["hoso"], counts[1]["pages"]) == (1, 30)
    assert (counts[2]["hoso"], counts[2]["pages"]) == (2, 70)
    assert counts[5]["hoso"] == 0 and counts[3]["label_en"] == "City Party"


def test_cli_retention_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path)
    monkeypatch.setenv("KHO_DATA_DIR", str(tmp_path))
    store = open_store(settings)  # type: ignore[arg-type]
    store.add_quads(
        _hoso(H1, "Hồ sơ công văn trao đổi năm 2021", "2021-12-28", 2, 58)
        + _decision(H1, "06", date(2021, 12, 28))
    )
    assert main(["retention", "due", "--before", "2032-01-01"]) == 0
    out = capsys.readouterr().out
    assert out.index("Hồ sơ đến hạn") < out.index("files due") and "2032-01-01" in out
    assert "Hồ sơ công văn trao đổi năm 2021" in out and H1 in out
    assert main(["retention", "due", "--before", "2032-01-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["hoso_iri"] == H1
    assert main(["retention", "due", "--before", "2031-12-31", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_reviewed_subjects_survive_a_reingest(store: Store) -> None:
    from repository.dedup import flag_triples, set_review

    assert reviewed_subjects(store, H1) == set()  # decided by kho from the sheet
    doc = M.record("H01.151.2021.01.TH.0000001")
    flag = Minter.flag(doc, "near-duplicate")
    curation = ox.NamedNode(M.records_graph("public", "curation"))
    store.add_quads(
        [
            ox.Quad(
                ox.NamedNode(doc),
                ox.NamedNode(RICO + "isOrWasIncludedIn"),
                ox.NamedNode(H1),
                ox.NamedNode(PUBLIC),
            )
        ]
        + [
            ox.Quad(t.subject, t.predicate, t.object, curation)
            for t in flag_triples(doc, "near-duplicate", duplicate_of=H2, at=AT)
        ]
    )
    set_review(store, flag, "overturned", "https://kho.example.org/id/user/lan", AT)
    confirm(store, H1, "05", "https://kho.example.org/id/user/lan", AT, "Lưu trữ viên")
    assert reviewed_subjects(store, H1) == {
        Minter.retention(H1),
        Minter.appraisal(H1, 1),
        Minter.appraisal(H1, 2),
        flag,
        f"{flag}/review-1",
    }
