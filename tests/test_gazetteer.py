"""The gazetteer on the real data: counts, the reused code, and lineage both ways."""

from __future__ import annotations

from datetime import date

import pytest

from harvesters.units import HarvestReport, harvest_units
from repository import gazetteer
from repository.config import Settings
from repository.errors import BadRequest, NotFound
from repository.store import Store

TODAY = date(2026, 11, 26)
BEFORE, AFTER = date(2025, 6, 30), date(2025, 7, 1)


def _count(store: Store, where: str) -> int:
    return int(store.select(f"SELECT (COUNT(DISTINCT ?u) AS ?n) WHERE {{ {where} }}")[0]["n"])


def _valid(day: date, var: str = "u") -> str:
    d = day.isoformat()
    return (
        f"OPTIONAL {{ ?{var} rico:beginningDate ?f_{var} }} "
        f"OPTIONAL {{ ?{var} rico:endDate ?t_{var} }}"
        f' FILTER(!BOUND(?f_{var}) || ?f_{var} <= "{d}"^^xsd:date)'
        f' FILTER(!BOUND(?t_{var}) || ?t_{var} >= "{d}"^^xsd:date)'
    )


HANOI = '?hn skos:notation "01" ; kho:level khoc:level-province .'


def test_hanoi_before_the_reform(store: Store) -> None:
    districts = f"{HANOI} ?u rico:isOrWasContainedBy ?hn ; kho:level khoc:level-district . "
    communes = (
        f"{HANOI} ?d rico:isOrWasContainedBy ?hn ; kho:level khoc:level-district . "
        "?u rico:isOrWasContainedBy ?d ; kho:level khoc:level-commune . "
    )
    assert _count(store, districts + _valid(BEFORE)) == 30
    assert _count(store, communes + _valid(BEFORE)) == 526


def test_hanoi_after_the_reform(store: Store) -> None:
    base = f"{HANOI} ?u rico:isOrWasContainedBy ?hn ; kho:level khoc:level-commune . "
    assert _count(store, base + _valid(AFTER)) == 126
    assert (
        _count(store, base + "?u rico:hasOrHadPlaceType khoc:unittype-phuong ." + _valid(AFTER))
        == 51
    )
    assert (
        _count(store, base + "?u rico:hasOrHadPlaceType khoc:unittype-xa ." + _valid(AFTER)) == 75
    )
    district_after = f"{HANOI} ?u rico:isOrWasContainedBy ?hn ; kho:level khoc:level-district ."
    assert _count(store, district_after + _valid(AFTER)) == 0


def test_all_of_vietnam(store: Store) -> None:
    level = "?u a kho:AdminUnitVersion ; kho:level khoc:level-{} . "
    # 10,040 source rows before: 10,035 communes + 5 island districts without communes.
    assert _count(store, level.format("commune") + _valid(BEFORE)) == 10_035
    assert _count(store, level.format("district") + _valid(BEFORE)) == 696
    assert _count(store, level.format("province") + _valid(BEFORE)) == 63
    assert _count(store, level.format("commune") + _valid(AFTER)) == 3_321
    assert _count(store, level.format("province") + _valid(AFTER)) == 34


def test_reused_code_names_two_units(store: Store) -> None:
    before = gazetteer.lineage(store, "00004", BEFORE, TODAY)
    after = gazetteer.lineage(store, "00004", AFTER, TODAY)
    assert before["unit"]["name"] == "Phường Trúc Bạch"
    assert before["unit"]["valid_to"] == "2025-06-30"
    assert after["unit"]["name"] == "Phường Ba Đình"
    assert after["unit"]["valid_from"] == "2025-07-01"
    assert before["unit"]["iri"] != after["unit"]["iri"]
    # Without --on: the unit valid today.
    assert gazetteer.lineage(store, "00004", None, TODAY)["unit"] == after["unit"]


def test_merged_unit_both_ways(store: Store) -> None:
    truc_bach = gazetteer.lineage(store, "00004", BEFORE, TODAY)
    [succ] = truc_bach["successors"]
    assert (succ["name"], succ["portion"], succ["default"]) == ("Phường Ba Đình", "whole", True)
    assert [c["name"] for c in truc_bach["current"]] == ["Phường Ba Đình"]
    ba_dinh = gazetteer.lineage(store, "00004", AFTER, TODAY)
    preds = {p["name"]: p["portion"] for p in ba_dinh["predecessors"]}
    assert preds["Phường Trúc Bạch"] == "whole"
    assert preds["Phường Ngọc Hà"] == "part"
    assert ba_dinh["successors"] == []


def test_divided_unit_both_ways(store: Store) -> None:
    ngoc_ha = gazetteer.lineage(store, "00016", BEFORE, TODAY)  # old Phường Ngọc Hà
    assert ngoc_ha["unit"]["name"] == "Phường Ngọc Hà"
    succs = ngoc_ha["successors"]
    assert len(succs) >= 2 and {s["portion"] for s in succs} == {"part"}
    assert sum(s["default"] for s in succs) == 1
    assert {c["iri"] for c in ngoc_ha["current"]} == {s["iri"] for s in succs}
    for s in succs:
        back = gazetteer.lineage(store, s["code"], AFTER, TODAY)
        assert ngoc_ha["unit"]["iri"] in {p["iri"] for p in back["predecessors"]}


def test_renamed_unit_both_ways(store: Store) -> None:
    old = gazetteer.lineage(store, "24235", BEFORE, TODAY)
    new = gazetteer.lineage(store, "24235", AFTER, TODAY)
    assert (old["unit"]["name"], new["unit"]["name"]) == ("Xã Krông Na", "Xã Buôn Đôn")
    assert [s["iri"] for s in old["successors"]] == [new["unit"]["iri"]]
    assert [p["iri"] for p in new["predecessors"]] == [old["unit"]["iri"]]
    detail = gazetteer.unit_detail(store, new["unit"]["iri"], TODAY)
    assert "change-rename" in detail.generated_by.types
    assert detail.ended_by == []


def test_dissolved_district_has_no_successor_but_an_event(store: Store) -> None:
    ba_dinh_district = gazetteer.lineage(store, "001", BEFORE, TODAY)
    assert ba_dinh_district["unit"]["name"] == "Quận Ba Đình"
    assert ba_dinh_district["successors"] == []
    detail = gazetteer.unit_detail(store, ba_dinh_district["unit"]["iri"], TODAY)
    assert [e.types for e in detail.ended_by] == [["change-level-abolition"]]
    assert len(detail.children) == 13  # Nguyễn Trung Trực merged into Trúc Bạch in 2020


def test_merged_province_reuses_a_code(store: Store) -> None:
    old = gazetteer.lineage(store, "24", BEFORE, TODAY)  # Bắc Giang until 2025-06-30
    new = gazetteer.lineage(store, "24", AFTER, TODAY)  # the new Bắc Ninh
    assert old["unit"]["name"] == "Tỉnh Bắc Giang" and new["unit"]["name"] == "Tỉnh Bắc Ninh"
    assert {p["name"] for p in new["predecessors"]} == {"Tỉnh Bắc Giang", "Tỉnh Bắc Ninh"}


def test_unknown_code_and_date_are_clear_errors(store: Store) -> None:
    with pytest.raises(NotFound, match="No unit has ever borne code 99999"):
        gazetteer.lineage(store, "99999", None, TODAY)
    with pytest.raises(NotFound, match="Phường Phúc Xá 2025-06-30|Phúc Xá"):
        gazetteer.lineage(store, "00001", date(2025, 7, 1), TODAY)  # Phúc Xá ended 2025-06-30
    with pytest.raises(BadRequest):
        gazetteer.lineage(store, "abc", None, TODAY)


def test_agency_succession_follows_the_transfers(store: Store) -> None:
    old = gazetteer.lineage(store, "00004", BEFORE, TODAY)["unit"]["iri"]
    ubnd = next(a for a in gazetteer.unit_detail(store, old, TODAY).agencies if a.kind == "ubnd")
    assert ubnd.name == "Ủy ban nhân dân phường Trúc Bạch"
    detail = gazetteer.agency_detail(store, ubnd.iri)
    assert [(s.name, s.relation) for s in detail.successors] == [
        ("Ủy ban nhân dân phường Ba Đình", "merged")
    ]
    assert detail.superior and detail.superior.name == "Ủy ban nhân dân quận Ba Đình"
    # Its fonds went to the default successor's committee on the reform day (mappings/custody.csv).
    [fonds] = detail.fonds
    holders = [(h.name, begin, end) for h, begin, end, _ in fonds.holders]
    assert ("Ủy ban nhân dân phường Ba Đình", "2025-07-01", None) in holders


def test_dissolved_district_records_holder_is_configured(store: Store) -> None:
    district = gazetteer.lineage(store, "001", BEFORE, TODAY)["unit"]["iri"]
    agencies = {a.kind: a for a in gazetteer.unit_detail(store, district, TODAY).agencies}
    ubnd = gazetteer.agency_detail(store, agencies["ubnd"].iri)
    party = gazetteer.agency_detail(store, agencies["dang-uy"].iri)
    assert ubnd.successors == [] and party.agency.name == "Quận ủy Ba Đình"
    now = lambda d: [h.name for h, begin, end, _ in d.fonds[0].holders if end is None]  # noqa: E731
    assert now(ubnd) == ["Trung tâm Lưu trữ lịch sử thành phố Hà Nội"]
    assert now(party) == ["Kho Lưu trữ Thành ủy Hà Nội"]


def test_reharvest_changes_nothing(
    store: Store, harvested_settings: Settings, first_harvest: HarvestReport
) -> None:
    before = store.count()
    again = harvest_units(store, harvested_settings)
    assert not again.changed
    assert store.count() == before
    assert first_harvest.counts["agencies"] > 100_000
