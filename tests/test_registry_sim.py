"""The registry simulator over real HTTP (waitress on 127.0.0.1): every endpoint of
docs/registries.md found, not found, invalid and unauthorised, and each way it misbehaves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.registry_sim_server import TODAY, configure, running_simulator, sim_settings, sim_stats

AUTH = {"Authorization": "Bearer kho-demo-token"}


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with running_simulator(rate_limit=0) as url:
        yield url


@pytest.fixture
def url(sim: str) -> Iterator[str]:
    """The shared simulator, back to its starting configuration after each test."""
    yield sim
    requests.post(f"{sim}/_sim/reset", timeout=10)


def get(url: str, path: str, **params: str) -> requests.Response:
    return requests.get(f"{url}{path}", params=params, headers=AUTH, timeout=30)


def verify(url: str, number: object) -> requests.Response:
    return requests.post(
        f"{url}/dan-cu/v1/citizens/verify", json={"number": number}, headers=AUTH, timeout=30
    )


# -- units ----------------------------------------------------------------------------------------


def test_a_reused_code_is_the_unit_that_bore_it_on_the_date(url: str) -> None:
    before = get(url, "/dat-dai/v1/units/00004", on="2019-03-05")
    after = get(url, "/dat-dai/v1/units/00004", on="2026-11-26")
    assert before.status_code == after.status_code == 200
    assert before.json() == {
        "code": "00004",
        "name": "Phường Trúc Bạch",
        "level": "commune",
        "province_code": "01",
        "valid_from": "2008-08-01",
        "valid_to": "2025-06-30",
    }
    assert after.json()["name"] == "Phường Ba Đình"
    assert after.json()["valid_from"] == "2025-07-01" and after.json()["valid_to"] is None
    assert get(url, "/dat-dai/v1/units/00004", on="2025-06-30").json()["name"] == "Phường Trúc Bạch"


def test_units_of_every_level_and_their_absence(url: str) -> None:
    assert get(url, "/dat-dai/v1/units/01", on="2019-01-01").json()["name"] == "Thành phố Hà Nội"
    district = get(url, "/dat-dai/v1/units/001", on="2019-01-01").json()
    assert (district["name"], district["level"]) == ("Quận Ba Đình", "district")
    gone = get(url, "/dat-dai/v1/units/001", on="2026-01-01")  # no districts after the reform
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    assert get(url, "/dat-dai/v1/units/00004", on="2001-01-01").status_code == 404
    assert get(url, "/dat-dai/v1/units/4x", on="2019-01-01").json()["error"] == "invalid_identifier"


# -- parcels --------------------------------------------------------------------------------------


def test_a_parcel_by_cadastral_key_has_its_commune_then_and_now(url: str) -> None:
    r = get(url, "/dat-dai/v1/parcels", commune="10369", sheet="8", parcel="434", on="2019-03-05")
    assert r.status_code == 200
    p = r.json()
    assert p["commune_then"] == {"code": "10369", "name": "Xã Trường Thịnh", "on": "2019-03-05"}
    # Xã Trường Thịnh became part of Xã Ứng Thiên, which took over the code 10369
    assert p["commune_now"] == {"code": "10369", "name": "Xã Ứng Thiên", "on": TODAY}
    assert len(p["parcel_id"]) == 12 and p["parcel_id"].startswith("w")  # GeoHash near Hanoi
    assert (p["sheet"], p["parcel"]) == ("8", "434") and p["area_m2"] > 0 and p["land_use"]
    again = get(
        url, "/dat-dai/v1/parcels", commune="10369", sheet="8", parcel="434", on="2020-01-01"
    )
    assert again.json() == {**p, "commune_then": {**p["commune_then"], "on": "2020-01-01"}}
    by_id = get(url, f"/dat-dai/v1/parcels/{p['parcel_id']}").json()
    assert by_id == {k: v for k, v in p.items() if k != "commune_then"}


def test_parcels_not_found_and_invalid(url: str) -> None:
    def parcel(commune: str, sheet: str, parcel: str, on: str) -> requests.Response:
        return get(url, "/dat-dai/v1/parcels", commune=commune, sheet=sheet, parcel=parcel, on=on)

    assert parcel("10369", "151", "1", "2019-03-05").status_code == 404  # sheets ≤ 150
    assert parcel("99999", "1", "1", "2019-03-05").status_code == 404  # no such commune
    assert parcel("1036", "1", "1", "2019-03-05").json()["error"] == "invalid_identifier"
    assert parcel("10369", "1", "1", "").status_code == 400  # a commune code needs its date
    assert get(url, "/dat-dai/v1/parcels/w7er8u0g3k2n").status_code == 404
    assert get(url, "/dat-dai/v1/parcels/not-a-geohash").json()["error"] == "invalid_identifier"
    assert get(url, "/dat-dai/v1/parcels/w7er8u0g3k2m").json()["commune_now"]["code"] == "00070"


# -- enterprises ----------------------------------------------------------------------------------


def test_enterprises(url: str) -> None:
    viettel = get(url, "/doanh-nghiep/v1/enterprises/0100109106")
    assert viettel.json() == {
        "code": "0100109106",
        "name": "Tập đoàn Công nghiệp – Viễn thông Quân đội",
        "status": "dang-hoat-dong",
        "status_label": "Đang hoạt động",
        "founded": "2010-01-01",
        "province_code": "01",
    }
    branch = get(url, "/doanh-nghiep/v1/enterprises/0100109106-001").json()
    assert branch["name"].startswith("Chi nhánh Tập đoàn Công nghiệp")
    bad = get(url, "/doanh-nghiep/v1/enterprises/0100109107")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_identifier"


# -- citizens -------------------------------------------------------------------------------------


def test_citizens(url: str) -> None:
    assert verify(url, "001085012345").json() == {"number": "001085012345", "exists": True}
    bad = verify(url, "1234")
    assert bad.status_code == 400 and "1234" not in bad.text


# -- officials and agencies -----------------------------------------------------------------------


def test_officials_and_agencies(url: str) -> None:
    assert get(url, "/can-bo/v1/officials/CB01-004512").json() == {
        "code": "CB01-004512",
        "position": "Chủ tịch",
        "agency": {"code": "H01.26.04", "name": "Ủy ban nhân dân phường Ba Đình"},
        "since": "2025-07-01",
    }
    assert get(url, "/can-bo/v1/officials/CB01-009999").status_code == 404
    assert get(url, "/can-bo/v1/officials/XX").json()["error"] == "invalid_identifier"
    items = get(url, "/can-bo/v1/agencies", name="uỷ ban nhân dân phường ba  đình", on=TODAY)
    assert items.json()["items"] == [
        {
            "code": "H01.26.04",
            "name": "Ủy ban nhân dân phường Ba Đình",
            "unit_code": "00004",
            "valid_from": "2025-07-01",
            "valid_to": None,
        }
    ]


# -- auth and misbehaviour -----------------------------------------------------------------------


def test_a_missing_or_wrong_token_is_401(url: str) -> None:
    r = requests.get(f"{url}/doanh-nghiep/v1/enterprises/0100109106", timeout=30)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    wrong = {"Authorization": "Bearer nope"}
    r = requests.get(f"{url}/doanh-nghiep/v1/enterprises/0100109106", headers=wrong, timeout=30)
    assert r.status_code == 401


def test_down_and_back(url: str) -> None:
    configure(url, down=True)
    assert get(url, "/doanh-nghiep/v1/enterprises/0100109106").status_code == 503
    configure(url, down=False)
    assert get(url, "/doanh-nghiep/v1/enterprises/0100109106").status_code == 200
    assert sim_stats(url)["enterprise"] == {"requests": 2, "503": 1, "200": 1}


def test_sim_settings_points_every_registry_at_the_simulator(url: str, tmp_path) -> None:
    s = sim_settings(url, tmp_path)
    assert s.registry_land_url == f"{url}/dat-dai/v1" and s.today == TODAY
    assert get(s.registry_land_url, "/units/00004", on=TODAY).json()["name"] == "Phường Ba Đình"
