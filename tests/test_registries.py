"""The four registry harvesters through `Registries`, against the registry simulator on 127.0.0.1
(issue 5 §1): verified / not-found / invalid / registry down / rate-limited-then-ok for each
registry, a batch of mixed lookups that never stops, and a citizen's number kept out of URLs,
logs and the cache file (§4).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from harvesters.registries import Lookup, ParcelKey, Registries
from harvesters.registry_sim import citizens, enterprises
from repository.identifiers import MST_WEIGHTS, pseudonym
from tests.registry_sim_server import TODAY, configure, running_simulator, sim_settings, sim_stats
from tests.test_registry_client import scripted

AGENCY = "Ủy ban nhân dân phường Ba Đình"
KNOWN_CITIZEN = "001085012345"


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with running_simulator() as url:
        yield url


@pytest.fixture
def url(sim: str) -> str:
    """The simulator, back to its defaults and with its counts at zero."""
    requests.post(f"{sim}/_sim/reset", timeout=10).raise_for_status()
    configure(sim, rate_limit=0)  # Kho's own rate limit is off too (registries() below)
    return sim


def registries(url: str, data_dir: Path, **kw: object) -> Registries:
    settings = sim_settings(url, data_dir, pseudonym_key="test-key", **{"registry_rate": 0, **kw})
    return Registries(settings, backoff=0.01)


def sent(url: str, registry: str) -> int:
    return sim_stats(url).get(registry, {}).get("requests", 0)


# -- identifiers the simulator knows or not (chosen with its own rules) --------------------------


def citizen_numbers(existing: bool, n: int) -> list[str]:
    numbers = (f"0010{(85 + i) % 100:02d}{i:06d}" for i in range(100000))
    return [x for x in numbers if (citizens.verify(x, TODAY)[0] == 200) == existing][:n]


def enterprise_codes(existing: bool, n: int) -> list[str]:
    out = []
    for i in range(1, 100000):
        body = f"01{i:07d}"
        check = 10 - sum(w * int(d) for w, d in zip(MST_WEIGHTS, body, strict=False)) % 11
        if check == 10:
            continue
        code = f"{body}{check}"
        if (enterprises.lookup(code, TODAY)[0] == 200) == existing:
            out.append(code)
        if len(out) == n:
            return out
    raise AssertionError("not enough codes")


# What each registry is asked in the per-registry tests: a known, an unknown and an invalid one.
CASES: dict[str, tuple[Callable[[Registries, str], Lookup], str, str, str]] = {
    "population": (
        lambda r, x: r.citizen(x),
        KNOWN_CITIZEN,
        citizen_numbers(False, 1)[0],
        "001385012345",  # born in 2085
    ),
    "enterprise": (
        lambda r, x: r.enterprise(x),
        "0100109106",
        enterprise_codes(False, 1)[0],
        "0100109107",  # wrong check digit
    ),
    "land": (
        lambda r, x: r.parcel(
            ParcelKey(parcel_id=x)
            if len(x) == 12
            else ParcelKey(commune="10369", sheet=x, parcel="434", on="2019-03-05")
        ),
        "w7er8u0g3k2m",
        "151",  # beyond the simulator's last map sheet
        "w7er8u0g3k2a",  # 'a' is no GeoHash character
    ),
    "officials": (
        lambda r, x: r.official(x),
        "CB01-004512",
        "CB01-009999",
        "CB00-004512",  # 00 is no province
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_verified_not_found_and_invalid(name: str, url: str, tmp_path: Path) -> None:
    ask, known, unknown, bad = CASES[name]
    with registries(url, tmp_path) as reg:
        found = ask(reg, known)
        assert found.status == "verified" and found.message_en == ""
        assert found.checked_at.startswith("20") and found.checked_at.endswith("Z")
        missing = ask(reg, unknown)
        assert missing.status == "not-found" and missing.facts == {}
        assert missing.message_vi and missing.message_en
        before = sent(url, name)
        invalid = ask(reg, bad)
        assert invalid.status == "not-found" and invalid.message_vi and invalid.message_en
        assert sent(url, name) == before  # an invalid identifier is never sent
        assert ask(reg, known).from_cache and ask(reg, unknown).from_cache
        assert sent(url, name) == before
        assert reg.stats[name]["cache_hits"] == 2


def test_facts_have_the_agreed_shapes(url: str, tmp_path: Path) -> None:
    with registries(url, tmp_path) as reg:
        assert reg.citizen(KNOWN_CITIZEN).facts == {}
        e = reg.enterprise("0100109106").facts
        assert e["name"] == "Tập đoàn Công nghiệp – Viễn thông Quân đội"
        assert (e["status"], e["status_label"]) == ("dang-hoat-dong", "Đang hoạt động")
        p = reg.parcel(ParcelKey(commune="10369", sheet="8", parcel="434", on="2019-03-05")).facts
        assert set(p) == {
            "parcel_id",
            "sheet",
            "parcel",
            "area_m2",
            "land_use",
            "commune_then",
            "commune_now",
        }
        assert p["commune_then"] == {"code": "10369", "name": "Xã Trường Thịnh", "on": "2019-03-05"}
        assert p["commune_now"]["on"] == TODAY and isinstance(p["area_m2"], float)
        by_id = reg.parcel(ParcelKey(parcel_id=p["parcel_id"])).facts
        assert by_id["commune_then"] is None and by_id["parcel"] == "434"
        o = reg.official("CB01-004512").facts
        assert o["agency"] == {"code": "H01.26.04", "name": AGENCY} and o["position"] == "Chủ tịch"
        a = reg.agency(AGENCY, TODAY)
        assert a.status == "verified" and a.facts["code"] == "H01.26.04"
        assert a.facts["unit_code"] == "00004" and a.facts["valid_to"] is None
        assert reg.agency("Ủy ban nhân dân xã Không Có Thật", TODAY).status == "not-found"
        assert reg.agency("", TODAY).status == "not-found"
        u = reg.unit("10369", "2019-03-05")
        assert u.facts["name"] == "Xã Trường Thịnh" and u.facts["valid_to"] == "2025-06-30"
        assert reg.unit("99999", "2019-03-05").status == "not-found"
        assert reg.unit("10369", "2019-02-30").status == "not-found"  # no such day: not asked


@pytest.mark.parametrize("name", CASES)
def test_registry_down_is_an_error_that_says_what_to_do(
    name: str, url: str, tmp_path: Path
) -> None:
    ask, known, _, _ = CASES[name]
    configure(url, down=True)
    with registries(url, tmp_path, registry_retries=2) as reg:
        result = ask(reg, known)
        assert result.status == "registry-error" and result.facts == {}
        assert "after 3 tries (HTTP 503)" in result.message_en
        assert "kho registries verify" in result.message_en and "sau 3 lần thử" in result.message_vi
        assert sent(url, name) == 3 and reg.stats[name]["errors"] == 1
        configure(url, down=False)
        assert ask(reg, known).status == "verified"  # the error was not cached


@pytest.mark.parametrize("name", CASES)
def test_rate_limited_then_ok(name: str, url: str, tmp_path: Path) -> None:
    """The simulator allows one request a second: the second lookup gets a 429 with
    Retry-After, waits, and is answered."""
    ask, known, unknown, _ = CASES[name]
    configure(url, rate_limit=1)
    with registries(url, tmp_path) as reg:
        assert ask(reg, known).status == "verified"
        assert ask(reg, unknown).status == "not-found"
        assert reg.stats[name]["retries"] >= 1
    assert sim_stats(url)[name].get("429", 0) >= 1


def test_a_wrong_token_names_the_setting(url: str, tmp_path: Path) -> None:
    with registries(url, tmp_path, registry_officials_token="nope") as reg:
        result = reg.official("CB01-004512")
    assert result.status == "registry-error"
    assert "KHO_REGISTRY_OFFICIALS_TOKEN" in result.message_en


def test_malformed_answers_are_registry_errors(url: str, tmp_path: Path) -> None:
    configure(url, malformed=True)
    with registries(url, tmp_path) as reg:
        result = reg.enterprise("0100109106")
    assert result.status == "registry-error" and "not JSON" in result.message_en
    assert "harvesters/registry_enterprise.py" in result.message_en


def test_a_batch_of_50_mixed_lookups_reports_every_status(url: str, tmp_path: Path) -> None:
    good_citizens = citizen_numbers(True, 6)
    good_firms = enterprise_codes(True, 6)
    always, twice = good_firms[4:], good_firms[2:4]
    configure(url, fail_ids={**dict.fromkeys(always, -1), **dict.fromkeys(twice, 2)})
    batch: list[tuple[str, str, str]] = []  # (kind, identifier, expected status)
    batch += [("citizen", n, "verified") for n in good_citizens]
    batch += [("citizen", n, "not-found") for n in citizen_numbers(False, 4)]
    batch += [("citizen", "0010850123", "not-found"), ("citizen", "999085012345", "not-found")]
    batch += [("enterprise", c, "verified") for c in good_firms[:4]]
    batch += [("enterprise", c, "registry-error") for c in always]
    batch += [("enterprise", c, "not-found") for c in enterprise_codes(False, 4)]
    batch += [("enterprise", "0100109107", "not-found")]
    batch += [("official", f"CB01-{n:06d}", "verified") for n in range(1, 9)]
    batch += [("official", "CB01-009001", "not-found"), ("official", "XX", "not-found")]
    batch += [("parcel", "8/434", "verified"), ("parcel", "w7er8u0g3k2m", "verified")]
    batch += [("parcel", "151/1", "not-found"), ("parcel", "8/x", "not-found")]
    batch += [("unit", c, "verified") for c in ["10369", "01", "00004"]]
    batch += [("unit", c, "not-found") for c in ["99999", "1"]]
    batch += [("agency", AGENCY, "verified"), ("agency", "Không có", "not-found")]
    batch += [("enterprise", good_firms[0], "verified")] * 2  # asked again: the cache
    batch += [("citizen", good_citizens[0], "verified")] * 2
    batch += [("official", "CB01-000001", "verified")] * 2
    assert len(batch) == 50

    with registries(url, tmp_path, registry_retries=2) as reg:
        results = []
        for kind, ident, _ in batch:
            if kind == "parcel" and "/" in ident:
                sheet, parcel = ident.split("/")
                key = ParcelKey(commune="10369", sheet=sheet, parcel=parcel, on="2019-03-05")
                results.append(reg.parcel(key))
            elif kind == "parcel":
                results.append(reg.parcel(ParcelKey(parcel_id=ident)))
            elif kind == "unit":
                results.append(reg.unit(ident, "2019-03-05" if ident != "00004" else TODAY))
            elif kind == "agency":
                results.append(reg.agency(ident, TODAY))
            else:
                results.append(getattr(reg, kind)(ident))
        stats = reg.stats
    got = [r.status for r in results]
    assert got == [expected for _, _, expected in batch]
    assert {"verified", "not-found", "registry-error"} <= set(got)
    assert all(r.message_en for r in results if r.status != "verified")
    assert stats["enterprise"]["errors"] == 2 and stats["enterprise"]["retries"] >= 2 * 2 + 2 * 2
    assert sum(s["cache_hits"] for s in stats.values()) == 6


# -- a citizen's number (§4) -------------------------------------------------------------------


def test_the_number_travels_only_in_a_post_body(tmp_path: Path) -> None:
    steps = [{"status": 200, "body": {"number": KNOWN_CITIZEN, "exists": True}}]
    with scripted(steps) as (base, script):
        settings = sim_settings(base, tmp_path, registry_population_url=f"{base}/dan-cu/v1")
        with Registries(settings, backoff=0.01) as reg:
            assert reg.citizen(KNOWN_CITIZEN).status == "verified"
    (request,) = script.requests
    assert request["method"] == "POST" and request["path"] == "/api/v1/dan-cu/v1/citizens/verify"
    assert KNOWN_CITIZEN not in request["path"] and KNOWN_CITIZEN.encode() in request["body"]


def test_the_number_is_in_no_log_and_not_in_the_cache(
    url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = citizen_numbers(False, 1)[0]
    failing = citizen_numbers(True, 2)[1]
    configure(url, fail_ids={failing: -1})
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's request lines included
    with registries(url, tmp_path, registry_retries=1) as reg:
        results = [reg.citizen(n) for n in (KNOWN_CITIZEN, missing, failing, KNOWN_CITIZEN)]
        results.append(reg.citizen("001385012345"))  # invalid
        secret = reg.settings.pseudonym_secret()
        cache_path = reg.settings.registry_cache_path
    assert [r.status for r in results] == [
        "verified",
        "not-found",
        "registry-error",
        "verified",
        "not-found",
    ]
    numbers = (KNOWN_CITIZEN, missing, failing, "001385012345")
    text = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert "citizens/verify" in text  # the requests were logged …
    assert pseudonym(KNOWN_CITIZEN, secret) in text  # … by pseudonym …
    for number in numbers:  # … and never by number
        assert number not in text
        for r in results:
            assert number not in r.message_vi + r.message_en + str(r.facts)
    stored = b"".join(p.read_bytes() for p in cache_path.parent.glob(cache_path.name + "*"))
    assert pseudonym(KNOWN_CITIZEN, secret).encode() in stored
    for number in numbers:
        assert number.encode() not in stored
