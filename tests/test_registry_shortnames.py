"""Enterprises' abbreviated and foreign names (issue 5): the enterprise registry answers them
beside the full name (docs/registries.md, "Enterprises"), the harvester keeps them (absent is
fine, another type is a malformed answer), `kho registries verify` writes them on the link
(kho:enterpriseShortName, kho:enterpriseForeignName) and an outage keeps them like the other
facts, the records search finds "Viettel" in any case and says through which link, and the page
and the JSON-LD show them. Against the real simulator and the verified demo repository."""

from __future__ import annotations

import csv
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import pytest
from flask import Flask
from lxml import html as lxml_html

from harvesters.registries import Registries
from harvesters.registry_cache import AnswerCache
from harvesters.registry_enterprise import parse_answer
from harvesters.registry_lookup import Malformed
from harvesters.registry_sim import enterprises
from repository import record_index
from repository.config import Settings
from repository.identifiers import enterprise_problem
from repository.ingest import ingest_batch
from repository.namespaces import KHO, Minter
from repository.registry_verify import verify
from repository.store import Store, open_store
from repository.validation import load_shapes, validate_triples
from tests.web import client_as
from webapp import create_app

sys.path.insert(0, str(Path(__file__).parent))
from registry_sim_server import configure, running_simulator, sim_settings, sim_stats  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-26"
VIETTEL = "0100109106"
VIETTEL_NAME = "Tập đoàn Công nghiệp – Viễn thông Quân đội"
M = Minter("https://kho.example.org/")
REAL = {
    VIETTEL: ("VIETTEL", "VIETTEL GROUP"),
    "0101248141": ("FPT CORP", "FPT CORPORATION"),
    "0300588569": ("VINAMILK", "VIETNAM DAIRY PRODUCTS JOINT STOCK COMPANY"),
}


def generated(with_names: bool) -> str:
    """An existing generated enterprise of Hà Nội with both short and foreign names, or neither."""
    for n in range(100_000, 200_000):
        for digit in "0123456789":
            code = f"01{n:07d}{digit}"
            if enterprise_problem(code):
                continue
            status, body = enterprises.lookup(code, TODAY)
            names = {"short_name", "foreign_name"} & set(body)
            if status == 200 and len(names) == (2 if with_names else 0):
                return code
    raise AssertionError("the simulator generates both kinds")


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with running_simulator() as url:
        yield url


# -- the harvester --------------------------------------------------------------------------------


def test_the_harvester_keeps_the_real_short_and_foreign_names(sim: str, tmp_path: Path) -> None:
    with Registries(sim_settings(sim, tmp_path), backoff=0.01) as reg:
        for code, (short, foreign) in REAL.items():
            facts = reg.enterprise(code).facts
            assert (facts["short_name"], facts["foreign_name"]) == (short, foreign), code
        assert reg.enterprise(VIETTEL).facts["name"] == VIETTEL_NAME
        named = reg.enterprise(generated(True))
        assert named.status == "verified"
        assert named.facts["foreign_name"].isupper() and named.facts["short_name"]
        bare = reg.enterprise(generated(False))
        assert bare.status == "verified"  # a company without them is as verified as any other
        assert bare.facts["short_name"] is None and bare.facts["foreign_name"] is None


def test_parse_answer_optional_names_and_wrong_types() -> None:
    body = {"code": VIETTEL, "name": VIETTEL_NAME, "status": "dang-hoat-dong"}
    assert parse_answer(body)["short_name"] is None  # missing
    nulls = parse_answer({**body, "short_name": None, "foreign_name": None})
    assert (nulls["short_name"], nulls["foreign_name"]) == (None, None)
    spaced = parse_answer({**body, "short_name": "  VIETTEL ", "foreign_name": "VIETTEL  GROUP"})
    assert (spaced["short_name"], spaced["foreign_name"]) == ("VIETTEL", "VIETTEL GROUP")
    assert parse_answer({**body, "short_name": "  "})["short_name"] is None
    for field in ("short_name", "foreign_name"):
        for wrong in (42, ["VIETTEL"], {"vi": "VIETTEL"}, True):
            with pytest.raises(Malformed, match=field):
                parse_answer({**body, field: wrong})


class _WrongTypes(BaseHTTPRequestHandler):
    """An enterprise registry whose short name is a number."""

    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps(
            {"code": VIETTEL, "name": VIETTEL_NAME, "short_name": 42, "status": "dang-hoat-dong"}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_name_of_another_type_is_a_malformed_answer(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WrongTypes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/doanh-nghiep/v1"
        settings = Settings(data_dir=tmp_path, today=TODAY, registry_enterprise_url=url)
        with Registries(settings, backoff=0.01) as reg:
            found = reg.enterprise(VIETTEL)
    finally:
        server.shutdown()
        server.server_close()
    assert found.status == "registry-error" and not found.facts
    assert "short_name" in found.message_en and "registry_enterprise.py" in found.message_en


def test_an_answer_cached_before_the_names_is_asked_again(sim: str, tmp_path: Path) -> None:
    settings = sim_settings(sim, tmp_path)
    old = {"code": VIETTEL, "name": VIETTEL_NAME, "status": "dang-hoat-dong"}
    AnswerCache(settings.registry_cache_path, days=30).put("enterprise", VIETTEL, True, old)
    before = sim_stats(sim).get("enterprise", {}).get("requests", 0)
    with Registries(settings, backoff=0.01) as reg:
        assert reg.enterprise(VIETTEL).facts["short_name"] == "VIETTEL"
        assert reg.enterprise(VIETTEL).from_cache  # the fresh answer is cached in turn
    assert sim_stats(sim)["enterprise"]["requests"] == before + 1
    # a registry down then: the old answer still verifies the link (nothing is lost)
    AnswerCache(settings.registry_cache_path, days=30).put("enterprise", VIETTEL, True, old)
    configure(sim, down=["enterprise"])
    try:
        with Registries(sim_settings(sim, tmp_path, registry_retries=0), backoff=0.01) as reg:
            kept = reg.enterprise(VIETTEL)
    finally:
        configure(sim, down=False)
    assert kept.status == "verified" and kept.facts["name"] == VIETTEL_NAME


# -- verify writes them ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vsettings(sim: str, store: Store, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the harvested store with one sheet document citing Viettel, a generated company
    with names and one without (metadata only)."""
    data_dir = tmp_path_factory.mktemp("shortnames")
    store.backup(data_dir / "store")
    settings = sim_settings(sim, data_dir, registry_retries=0)
    codes = f"{VIETTEL}; {generated(True)}; {generated(False)}"
    file = "H01.00004.UBND.2026.05"
    rows = [
        ["fileCode", "title", "mode", "maintenance", "startDate", "docOrdinal", "typeName",
         "codeNumber", "codeNotation", "issuedDate", "organName", "subject",
         "maSoDoanhNghiep", "language", "numberOfPage", "endDate"],
        [file, "Hồ sơ cấp phép năm 2026", "01", "01", "05/03/2026"] + [""] * 8
        + ["01", 1, "05/03/2026"],
        [file, "", "", "", "", 1, "02", "15", "QĐ-UBND", "05/03/2026",
         "Ủy ban nhân dân phường Ba Đình", "Về việc cấp phép", codes, "01", 1],
    ]  # fmt: skip
    folder = data_dir / "lo-doanh-nghiep"
    folder.mkdir()
    with (folder / "bang-ke.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    report = ingest_batch(folder, open_store(settings), settings, ocr=False, metadata_only=True)
    assert not report.rejected, report.text()
    return settings


def names_on_links(store: Store) -> dict[str, tuple[str | None, str | None]]:
    rows = store.select(
        "SELECT ?code ?short ?foreign WHERE { ?l kho:refKind 'enterprise' ; kho:registryId ?code "
        "OPTIONAL { ?l kho:enterpriseShortName ?short } "
        "OPTIONAL { ?l kho:enterpriseForeignName ?foreign } }"
    )
    return {
        str(r["code"]): tuple(str(r[k]) if r[k] is not None else None for k in ("short", "foreign"))
        for r in rows
    }


def test_verify_writes_them_and_an_outage_keeps_them(sim: str, vsettings: Settings) -> None:
    vstore = open_store(vsettings)
    with Registries(vsettings, backoff=0.01) as registries:
        first = verify(vstore, vsettings, registries, registry="enterprise")
        assert first.counts["enterprise"]["verified"] == 3 and not first.errors
        names = names_on_links(vstore)
        assert names[VIETTEL] == ("VIETTEL", "VIETTEL GROUP")
        assert names[generated(True)][1] and names[generated(False)] == (None, None)
        assert not vstore.ask(  # plain strings, like the registry's codes
            "ASK { ?l kho:enterpriseShortName|kho:enterpriseForeignName ?o "
            "FILTER(LANG(?o) != '' || DATATYPE(?o) != xsd:string) }"
        )
        shapes_accept_them(vstore)
        registries.forget_cache("enterprise")
        configure(sim, down=["enterprise"])
        try:
            down = verify(vstore, vsettings, registries, registry="enterprise")
        finally:
            configure(sim, down=False)
        assert down.counts["enterprise"]["registry-error"] == 3
        assert names_on_links(vstore) == names  # kept, dated by kho:lastVerifiedAt
        assert vstore.ask(
            f"ASK {{ ?l kho:registryId '{VIETTEL}' ; kho:enterpriseShortName 'VIETTEL' ; "
            "kho:lastVerifiedAt ?t }"
        )


def shapes_accept_them(store: Store) -> None:
    """The verified links conform; two short names or an empty foreign name do not."""
    triples = store.triples(
        "CONSTRUCT { ?s dct:references ?l . ?l ?p ?o } WHERE { ?s dct:references ?l . "
        "?l kho:refKind 'enterprise' ; ?p ?o }"
    )
    shapes = load_shapes(ROOT / "shapes")
    links = {str(t.subject) for t in triples if "/ref/" in t.subject.value}
    assert not [v for v in validate_triples(triples, shapes).violations if f"<{v.focus}>" in links]
    named = next(t.subject for t in triples if t.predicate.value == KHO + "enterpriseShortName")
    broken = [
        *triples,
        ox.Triple(named, ox.NamedNode(KHO + "enterpriseShortName"), ox.Literal("VTL")),
        ox.Triple(named, ox.NamedNode(KHO + "enterpriseForeignName"), ox.Literal("")),
    ]
    found = [v for v in validate_triples(broken, shapes).violations if v.focus == named.value]
    # one short name too many; one foreign name too many, and that one empty
    assert sorted(v.path.removeprefix(KHO) for v in found) == [
        "enterpriseForeignName",
        "enterpriseForeignName",
        "enterpriseShortName",
    ], found


# -- search and pages on the verified demo --------------------------------------------------------


@pytest.fixture(scope="module")
def demo_store(demo_settings: Settings) -> Store:
    return open_store(demo_settings)


@pytest.fixture(scope="module")
def app(demo_settings: Settings, demo_store: Store) -> Flask:
    record_index.ensure_current(demo_store, demo_settings)
    app = create_app(demo_settings)
    app.testing = True
    return app


def citing_viettel(store: Store, graph: str = M.records_graph("public")) -> set[str]:
    rows = store.select(
        f"SELECT DISTINCT ?r WHERE {{ GRAPH <{graph}> {{ ?r dct:references ?ref . "
        f"?ref kho:registryId '{VIETTEL}' ; kho:enterpriseShortName 'VIETTEL' }} }}"
    )
    return {str(r["r"]) for r in rows}


def search(app: Flask, q: str, who: str = "anonymous") -> dict[str, list[str]]:
    response = client_as(app, who).get(
        f"/records?q={quote(q)}", headers={"Accept": "application/json"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return {h["iri"]: h["via_links"] for h in response.json["hits"]}


def test_viettel_in_any_case_finds_the_records_citing_it(app: Flask, demo_store: Store) -> None:
    expected = citing_viettel(demo_store)
    assert expected, "the verified demo cites Viettel in public records"
    for q in ("viettel", "VIETTEL", "Viettel", "viettel group"):
        hits = search(app, q)
        assert expected <= set(hits), q
        for iri in expected:
            (via,) = hits[iri]
            assert VIETTEL in via and "VIETTEL" in via and VIETTEL_NAME in via, (q, via)


def test_foreign_names_of_other_enterprises_are_found(app: Flask, demo_store: Store) -> None:
    rows = demo_store.select(
        f"SELECT ?r ?foreign ?code WHERE {{ GRAPH <{M.records_graph('public')}> {{ "
        "?r dct:references ?ref . ?ref kho:enterpriseForeignName ?foreign ; kho:registryId ?code "
        f"FILTER(?code != '{VIETTEL}') }} }} ORDER BY ?ref LIMIT 1"
    )
    assert rows, "the verified demo has other enterprises with a foreign name"
    record, foreign, code = (str(rows[0][k]) for k in ("r", "foreign", "code"))
    hits = search(app, foreign.lower())
    assert record in hits and any(code in v and foreign in v for v in hits[record])


def test_the_page_shows_them_beside_the_full_name(app: Flask, demo_store: Store) -> None:
    record = sorted(citing_viettel(demo_store))[0]
    response = client_as(app, "anonymous").get(
        "/" + record.split("/", 3)[3], headers={"Accept": "text/html"}
    )
    assert response.status_code == 200
    doc = lxml_html.fromstring(response.data)
    items = [li for li in doc.find_class("registry-link") if VIETTEL in li.text_content()]
    assert items
    li = items[0]
    assert li.find_class("name")[0].text_content().strip() == VIETTEL_NAME
    assert [s.text_content() for s in li.find_class("short-name")] == ["VIETTEL"]
    assert [s.text_content() for s in li.find_class("foreign-name")] == ["VIETTEL GROUP"]


def test_json_ld_names_them(app: Flask, demo_store: Store) -> None:
    record = sorted(citing_viettel(demo_store))[0]
    response = client_as(app, "anonymous").get(
        "/" + record.split("/", 3)[3], headers={"Accept": "application/ld+json"}
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert '"enterpriseShortName": "VIETTEL"' in text
    assert '"enterpriseForeignName": "VIETTEL GROUP"' in text
