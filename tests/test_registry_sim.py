"""The registry simulator over real HTTP (waitress on 127.0.0.1): every endpoint of
docs/registries.md found, not found, invalid and unauthorised, and each way it misbehaves."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import requests

from harvesters import agencies, gazetteer
from harvesters.registry_sim.enterprises import STATUSES
from harvesters.registry_sim.units import units
from harvesters.units import CUSTODY_CSV
from harvesters.vn_units_source import read_reform
from repository.identifiers import MST_WEIGHTS
from repository.namespaces import SKOS, Minter
from tests.registry_sim_server import TODAY, configure, running_simulator, sim_settings, sim_stats

AUTH = {"Authorization": "Bearer kho-demo-token"}
HTTP = requests.Session()  # keep-alive, as Kho's client does


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
    return HTTP.get(f"{url}{path}", params=params, headers=AUTH, timeout=30)


def verify(url: str, number: object) -> requests.Response:
    return HTTP.post(
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
        "short_name": "VIETTEL",
        "foreign_name": "VIETTEL GROUP",
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


def test_sim_config_rejects_what_it_does_not_know(url: str) -> None:
    r = requests.post(f"{url}/_sim/config", json={"slow": 1}, timeout=10)
    assert r.status_code == 400 and "known: token, down" in r.json()["message"]
    r = requests.post(f"{url}/_sim/config", json={"down": ["cadastre"]}, timeout=10)
    assert r.status_code == 400


def test_one_registry_down(url: str) -> None:
    configure(url, down=["land"])
    assert get(url, "/dat-dai/v1/units/00004", on=TODAY).status_code == 503
    assert get(url, "/doanh-nghiep/v1/enterprises/0100109106").status_code == 200


def test_down_with_retry_after(url: str) -> None:
    configure(url, down=True, retry_after=3)
    r = verify(url, "001085012345")
    assert r.status_code == 503 and r.headers["Retry-After"] == "3"


def test_slow_answers(url: str) -> None:
    configure(url, delay=3)
    with pytest.raises(requests.Timeout):
        requests.get(f"{url}/can-bo/v1/officials/CB01-004512", headers=AUTH, timeout=0.5)


def test_rate_limit_is_429_with_retry_after(url: str) -> None:
    configure(url, rate_limit=0.01)  # one request, then one more every 100 s
    assert get(url, "/doanh-nghiep/v1/enterprises/0100109106").status_code == 200
    r = get(url, "/doanh-nghiep/v1/enterprises/0100109106")
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 100
    assert get(url, "/can-bo/v1/officials/CB01-004512").status_code == 200  # another registry


def test_malformed_bodies(url: str) -> None:
    configure(url, malformed=True)
    r = get(url, "/doanh-nghiep/v1/enterprises/0100109106")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(r.text)


def test_fail_ids_fail_so_many_times_then_answer(url: str) -> None:
    configure(url, fail_ids={"0100109106": 2, "CB01-004512": -1, "001085012345": 1})
    codes = [get(url, "/doanh-nghiep/v1/enterprises/0100109106").status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert get(url, "/doanh-nghiep/v1/enterprises/0101248141").status_code == 200
    always = [get(url, "/can-bo/v1/officials/CB01-004512").status_code for _ in range(3)]
    assert always == [503, 503, 503]
    assert [verify(url, "001085012345").status_code for _ in range(2)] == [503, 200]


def test_flaky_is_random_but_seeded(url: str) -> None:
    def run() -> list[int]:
        configure(url, flaky=0.5, seed=7)
        return [get(url, "/dat-dai/v1/units/01", on=TODAY).status_code for _ in range(30)]

    first = run()
    assert set(first) == {200, 503}
    requests.post(f"{url}/_sim/reset", timeout=10)
    assert run() == first


def test_stats_count_per_registry_and_status_without_identifiers(url: str) -> None:
    verify(url, "001085012345")
    verify(url, "1234")
    get(url, "/can-bo/v1/officials/CB01-004512")
    stats = sim_stats(url)
    assert stats == {
        "population": {"requests": 2, "200": 1, "400": 1},
        "officials": {"requests": 1, "200": 1},
    }
    requests.post(f"{url}/_sim/reset", timeout=10)
    assert sim_stats(url) == {}


def test_a_citizens_number_is_never_logged(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    number = "001085012345"
    assert verify(url, number).status_code == 200
    configure(url, down=True)
    verify(url, number)
    assert number not in caplog.text
    assert number not in json.dumps(sim_stats(url))


# -- realistic data ------------------------------------------------------------------------------


def test_generated_registries_answer_most_valid_identifiers(url: str) -> None:
    def enterprise_code(seq: int) -> str:
        digits = f"01{seq:07d}"
        check = 10 - sum(w * int(d) for w, d in zip(MST_WEIGHTS, digits, strict=True)) % 11
        return digits + str(check) if check < 10 else ""

    codes = [c for c in map(enterprise_code, range(1000, 1200)) if c]
    answers = [get(url, f"/doanh-nghiep/v1/enterprises/{c}") for c in codes]
    found = [a.json() for a in answers if a.status_code == 200]
    assert {a.status_code for a in answers} == {200, 404}
    assert 0.75 < len(found) / len(codes) < 0.95
    for e in found:
        assert e["province_code"] == "01" and e["status"] in STATUSES
        assert e["name"].startswith(("Công ty", "Doanh nghiệp tư nhân", "Hợp tác xã"))
        assert "1995-01-01" <= e["founded"] <= TODAY

    numbers = [f"00108{n:07d}" for n in range(100)]
    exist = [verify(url, n).status_code for n in numbers]
    assert 80 <= exist.count(200) <= 98 and exist.count(404) == 100 - exist.count(200)


def test_parcels_of_an_old_commune_lie_in_its_real_successor_today(url: str) -> None:
    reform = read_reform()
    old = {u.code: k for k, u in reform.old.items() if k.startswith("thanhphohanoi_")}
    for code in ("10105", "00004"):  # Xã Đồng Lạc (whole), Phường Trúc Bạch
        (succ,) = reform.successors[old[code]]
        new = reform.new[succ.new_key]
        p = first_parcel(url, code, "2020-01-01")
        assert p["commune_now"] == {"code": new.code, "name": new.name, "on": TODAY}
    divided = next(
        k for k, s in reform.successors.items() if len(s) > 1 and k.startswith("thanhphohanoi_")
    )
    heirs = {reform.new[s.new_key].code for s in reform.successors[divided]}
    p = first_parcel(url, reform.old[divided].code, "2020-01-01")
    assert p["commune_now"]["code"] in heirs
    assert first_parcel(url, reform.old[divided].code, "2020-01-01") == p


def first_parcel(url: str, commune: str, on: str) -> dict:
    for n in range(1, 20):
        r = get(url, "/dat-dai/v1/parcels", commune=commune, sheet="1", parcel=str(n), on=on)
        if r.status_code == 200:
            return r.json()
    raise AssertionError(f"no parcel found in {commune}")


def test_officials_work_in_todays_agencies_which_the_registry_finds_by_name(url: str) -> None:
    for n in range(1, 30):
        o = get(url, f"/can-bo/v1/officials/CB01-{n:06d}").json()
        assert o["position"] and "2008-08-01" <= o["since"] <= TODAY
        items = get(url, "/can-bo/v1/agencies", name=o["agency"]["name"], on=TODAY).json()["items"]
        assert o["agency"]["code"] in [a["code"] for a in items]
    assert get(url, "/can-bo/v1/officials/CB79-000001").status_code == 404  # only Hanoi's


def test_agencies_by_the_names_kho_gives_them_on_their_dates(url: str) -> None:
    old = get(url, "/can-bo/v1/agencies", name="Đảng ủy phường Trúc Bạch", on="2019-03-05")
    assert [(a["unit_code"], a["valid_to"]) for a in old.json()["items"]] == [
        ("00004", "2025-06-30")
    ]
    gone = get(url, "/can-bo/v1/agencies", name="Đảng ủy phường Trúc Bạch", on=TODAY)
    assert gone.status_code == 200 and gone.json()["items"] == []
    city = get(url, "/can-bo/v1/agencies", name="UY BAN NHAN DAN THANH PHO HA NOI", on=TODAY)
    assert [a["unit_code"] for a in city.json()["items"]] == ["01"]


def test_every_agency_kho_mints_for_hanoi_is_found_by_its_name() -> None:
    """Kho's own agencies harvest (harvesters.agencies) against the simulator's data."""
    reform = read_reform()
    minter = Minter("https://kho.example.org/")
    gz = gazetteer.build(reform, minter)
    ag = agencies.build(gz, minter, CUSTODY_CSV)
    names = {
        str(t.subject.value): t.object.value
        for t in ag.triples.triples
        if t.predicate.value == SKOS + "prefLabel" and t.object.language == "vi"
    }
    hanoi = [v for v in gz.versions() if v.unit.key.split("_")[0] == "thanhphohanoi"]
    missing, checked = [], 0
    for v in hanoi:
        on = v.valid_to or TODAY
        for iri in ag.by_unit[v.iri].values():
            found = units().find_agencies(names[iri], on)
            checked += 1
            if v.unit.code not in [a.unit.code for a in found]:
                missing.append((names[iri], on))
    assert checked > 5000 and missing == []
