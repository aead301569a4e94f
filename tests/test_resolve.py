"""Issuer resolution against the real harvested agencies, on the document's date."""

from __future__ import annotations

from datetime import date

import pytest

from repository.resolve import candidates, normalise, resolve_issuer, syllables
from repository.store import Store

OLD, NEW = date(2021, 5, 24), date(2025, 8, 1)


def test_old_commune_on_an_old_date(store: Store) -> None:
    m = resolve_issuer(store, "Ủy ban nhân dân xã Song Phượng", OLD)
    assert m is not None
    assert (m.agency_kind, m.block, m.unit_code, m.unit_name) == (
        "ubnd",
        "chinh-quyen",
        "09829",
        "Xã Song Phượng",
    )
    assert m.agency_iri.endswith("/ubnd/xa-song-phuong-09829_until-2025-06-30")


def test_same_code_different_unit_after_the_reform(store: Store) -> None:
    m = resolve_issuer(store, "UBND phường Ba Đình", NEW)
    assert m is not None and m.unit_code == "00004" and m.agency_iri.endswith("_2025-07-01")
    assert resolve_issuer(store, "UBND phường Ba Đình", OLD) is None  # did not exist yet


@pytest.mark.parametrize(
    ("name", "kind", "agency"),
    [
        ("UỶ BAN NHÂN DÂN XÃ SONG PHƯỢNG", "ubnd", "Ủy ban nhân dân xã Song Phượng"),
        ("HĐND xã Song Phượng", "hdnd", "Hội đồng nhân dân xã Song Phượng"),
        ("ĐẢNG ỦY XÃ SONG PHƯỢNG", "dang-uy", "Đảng ủy xã Song Phượng"),
        ("UBMTTQ VN xã Song Phượng", "mttq", "Ủy ban Mặt trận Tổ quốc Việt Nam xã Song Phượng"),
        ("Đoàn TNCS Hồ Chí Minh xã Song Phượng", "doan-tn", None),
        ("Hội LHPN xã Song Phượng", "hoi-lhpn", "Hội Liên hiệp Phụ nữ xã Song Phượng"),
        ("Hội CCB xã Song Phượng", "hoi-ccb", "Hội Cựu chiến binh xã Song Phượng"),
        ("HUYỆN ỦY ĐAN PHƯỢNG", "dang-uy", "Huyện ủy Đan Phượng"),
        ("BCH HUYỆN ĐOÀN ĐAN PHƯỢNG", "doan-tn", None),
    ],
)
def test_abbreviations_case_and_tone_placement(
    store: Store, name: str, kind: str, agency: str | None
) -> None:
    m = resolve_issuer(store, name, OLD)
    assert m is not None and m.agency_kind == kind and m.score == 1.0
    if agency:
        assert m.agency_name == agency


def test_party_and_city_level_after_the_reform(store: Store) -> None:
    m = resolve_issuer(store, "THÀNH ỦY HÀ NỘI", NEW)
    assert m is not None and (m.block, m.unit_code) == ("dang", "01")
    m = resolve_issuer(store, "Đảng ủy phường Ba Đình", NEW)
    assert m is not None and m.unit_code == "00004"


def test_ocr_noise_is_matched_fuzzily(store: Store) -> None:
    m = resolve_issuer(store, "Uy ban nhán dàn xa Song Phuọng", OLD)
    assert m is not None and m.unit_code == "09829" and m.score == 1.0
    m = resolve_issuer(store, "ỦY BAN NHẨN DÂN XÃ SONG PHƯỢNC", OLD)
    assert m is not None and m.unit_code == "09829" and m.score < 1.0


def test_tones_separate_names_that_fold_alike(store: Store) -> None:
    # Song Phượng (Đan Phượng) and Song Phương (Hoài Đức) fold to the same letters.
    assert resolve_issuer(store, "UBND xã Song Phượng", OLD).unit_code == "09829"  # type: ignore[union-attr]
    assert resolve_issuer(store, "UBND xã Song Phương", OLD).unit_code == "09874"  # type: ignore[union-attr]


def test_parent_line_and_place_disambiguate(store: Store) -> None:
    # Xã Tân Minh existed in Sóc Sơn and in Thường Tín.
    assert resolve_issuer(store, "Đảng ủy xã Tân Minh", OLD) is None
    by_parent = resolve_issuer(store, "Đảng ủy xã Tân Minh", OLD, parent="ĐẢNG BỘ HUYỆN SÓC SƠN")
    assert by_parent is not None and by_parent.unit_code == "00406"
    other = resolve_issuer(store, "Đảng ủy xã Tân Minh", OLD, parent="Đảng bộ huyện Thường Tín")
    assert other is not None and other.unit_code not in ("00406", None)


def test_unknown_names_give_none(store: Store) -> None:
    assert resolve_issuer(store, "Công ty TNHH Hồng Hà", OLD) is None
    assert resolve_issuer(store, "", OLD) is None


def test_candidates_are_read_once(store: Store) -> None:
    assert candidates(store) is candidates(store)


def test_normalise_and_syllables() -> None:
    assert normalise("UBND xã Song Phượng") == normalise("Uỷ ban nhân dân Xã SONG PHƯỢNG")
    assert normalise("Đoàn TNCS Hồ Chí Minh xã A") == normalise(
        "Đoàn Thanh niên Cộng sản Hồ Chí Minh xã A"
    )
    assert syllables("Uỷ ban Hoà Bình") == syllables("Ủy ban Hòa Bình")
