"""`kho registries verify` against the real registry simulator (issue 5 §3, §4): a small batch
ingested for real, its links checked; statuses in the links' own graphs, re-checks replace, a
registry that is down leaves notes and then recovers, a citizen's number only in the personal
graph, parcels' communes as unit versions then and now, the SPARQL question of a new ward's
parcels through its old communes, the shapes, and the CLI."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyoxigraph as ox
import pytest

from harvesters.registries import Registries
from repository import gazetteer
from repository.cli import main
from repository.config import Settings
from repository.identifiers import pseudonym
from repository.ingest import ingest_batch
from repository.namespaces import RECORD_GRAPHS, Minter
from repository.registry_links import ensure_links, status_counts
from repository.registry_verify import VerifyReport, verify
from repository.store import Store, open_store
from repository.validation import load_shapes, validate_triples

sys.path.insert(0, str(Path(__file__).parent))
from registry_sim_server import configure, running_simulator, sim_settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-26"
CITIZEN = "001085012345"
M = Minter("https://kho.example.org/")
FILE = "H01.00004.UBND.2019.77"
DOC = M.record(f"{FILE}.0000001")
HEADERS = ["fileCode", "title", "mode", "maintenance", "startDate", "docOrdinal", "typeName",
           "codeNumber", "codeNotation", "issuedDate", "organName", "subject",
           "maSoDoanhNghiep", "thuaDat", "soDinhDanh", "maCanBo", "language", "numberOfPage",
           "endDate"]  # fmt: skip
PARCELS = "00004/8/434; 00004/8/435; 00004/9/12; 00004/9/13"  # Trúc Bạch's code in 2019


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with running_simulator() as url:
        yield url


@pytest.fixture(scope="module")
def vsettings(sim: str, store: Store, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the harvested store with one hồ sơ ingested from a sheet (metadata only): a
    2019 document of Phường Trúc Bạch citing parcels, enterprises, a citizen and an official."""
    data_dir = tmp_path_factory.mktemp("registry-verify")
    store.backup(data_dir / "store")
    settings = sim_settings(sim, data_dir, pseudonym_key="verify-test-key", registry_retries=1)
    rows = [
        HEADERS,
        [FILE, "Hồ sơ giao đất năm 2019", "01", "01", "05/03/2019"] + [""] * 11
        + ["01", 1, "05/03/2019"],
        [FILE, "", "", "", "", 1, "02", "15", "QĐ-UBND", "05/03/2019",
         "Ủy ban nhân dân phường Trúc Bạch", "Về việc giao đất", "0100109106; 0101248141",
         PARCELS, CITIZEN, "CB01-004512", "01", 1],
    ]  # fmt: skip
    folder = data_dir / "lo-registry"
    folder.mkdir()
    with (folder / "bang-ke.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    report = ingest_batch(folder, open_store(settings), settings, ocr=False, metadata_only=True)
    assert not report.rejected, report.text()
    return settings


@pytest.fixture(scope="module")
def vstore(vsettings: Settings) -> Store:
    return open_store(vsettings)


@pytest.fixture(scope="module")
def first(vstore: Store, vsettings: Settings) -> VerifyReport:
    ensure_links(vstore, vsettings)
    with Registries(vsettings, backoff=0.01) as registries:
        return verify(vstore, vsettings, registries)


def link_rows(store: Store, predicate: str) -> list[dict[str, object]]:
    return store.select(
        f"SELECT ?g ?l ?o WHERE {{ GRAPH ?g {{ ?l a kho:RegistryReference ; {predicate} ?o }} }}"
    )


def test_ingest_leaves_every_link_unchecked(vstore: Store, vsettings: Settings) -> None:
    counts = status_counts(vstore, vsettings)
    assert counts["land"]["unchecked"] == 4
    assert counts["enterprise"]["unchecked"] == 2
    assert counts["population"]["unchecked"] == 1
    assert counts["officials"]["unchecked"] == 1
    assert not vstore.ask("ASK WHERE { ?l kho:checkedAt ?t }")


def test_statuses_land_in_the_links_own_graphs(first: VerifyReport, vstore: Store) -> None:
    assert first.links >= 8 and not first.errors
    statuses = link_rows(vstore, "kho:verificationStatus")
    assert statuses and not any(str(r["o"]).endswith("/unchecked") for r in statuses)
    public, registries = M.records_graph("public"), M.registries_graph()
    for r in statuses:
        expected = public if str(r["l"]).startswith(DOC) else registries
        assert str(r["g"]) == expected, r
    assert first.counts["enterprise"]["verified"] == 2
    assert first.counts["officials"]["verified"] >= 2  # the official and Trúc Bạch's UBND
    assert first.counts["land"]["verified"] >= 3  # parcels and units


def test_verify_again_replaces_instead_of_adding(
    first: VerifyReport, vstore: Store, vsettings: Settings
) -> None:
    before = len(vstore)
    with Registries(vsettings, backoff=0.01) as registries:
        again = verify(vstore, vsettings, registries)
    assert again.links == first.links and again.from_cache >= again.links - 1
    assert not again.changed_subjects and not again.changes  # the same answers change nothing
    for predicate in ("kho:verificationStatus", "kho:checkedAt", "kho:enterpriseName"):
        rows = link_rows(vstore, predicate)
        per_link = [str(r["l"]) for r in rows]
        assert len(per_link) == len(set(per_link)), predicate
    assert len(vstore) == before


def test_enterprise_facts_are_kept(first: VerifyReport, vstore: Store) -> None:
    rows = vstore.select(
        'SELECT ?name ?status ?label ?target WHERE { ?l kho:registryId "0100109106" ; '
        "kho:enterpriseName ?name ; kho:enterpriseStatus ?status ; "
        "kho:enterpriseStatusLabel ?label ; kho:linkTarget ?target }"
    )
    assert len(rows) == 1
    assert rows[0]["status"] and rows[0]["label"] and rows[0]["name"]
    assert str(rows[0]["target"]).endswith("/0100109106")


def test_a_parcel_of_an_old_code_maps_to_its_unit_then_and_the_ward_today(
    first: VerifyReport, vstore: Store
) -> None:
    (truc_bach,) = gazetteer.units_with_code(vstore, "00004", date(2019, 3, 5))
    (ba_dinh,) = gazetteer.units_with_code(vstore, "00004", date(2026, 11, 26))
    assert truc_bach.iri != ba_dinh.iri  # the code was reused by another unit
    rows = vstore.select(
        "SELECT ?l ?then ?now ?id ?target WHERE { ?l kho:parcelUnitThen ?then ; "
        "kho:parcelUnitNow ?now ; kho:parcelId ?id ; kho:linkTarget ?target }"
    )
    assert rows, "some of the four parcels should exist in the registry"
    for r in rows:
        assert str(r["then"]) == truc_bach.iri
        assert str(r["now"]) == ba_dinh.iri
        assert str(r["target"]).endswith(f"thua-dat/{r['id']}")


def test_sparql_finds_a_new_wards_parcels_through_the_old_communes(
    first: VerifyReport, vstore: Store
) -> None:
    (ba_dinh,) = gazetteer.units_with_code(vstore, "00004", date(2026, 11, 26))
    query = """
    SELECT DISTINCT ?record ?old WHERE {
      ?record dct:references ?link .
      ?link kho:refKind "land" ; kho:parcelUnitThen ?old .
      ?old vl:successor* ?ward .
    }"""
    rows = vstore.select(query, substitutions={"ward": ox.NamedNode(ba_dinh.iri)})
    assert DOC in {str(r["record"]) for r in rows}
    assert any("truc-bach" in str(r["old"]) for r in rows)


def test_a_registry_down_is_noted_then_recovers(
    first: VerifyReport, sim: str, vstore: Store, vsettings: Settings
) -> None:
    with Registries(vsettings, backoff=0.01) as registries:
        registries.forget_cache("enterprise")
        configure(sim, down=["enterprise"])
        try:
            down = verify(vstore, vsettings, registries, registry="enterprise")
        finally:
            configure(sim, down=False)
        assert down.links == 2 and down.counts["enterprise"]["registry-error"] == 2
        assert {e["registry"] for e in down.errors} == {"enterprise"}
        notes = vstore.select(
            "SELECT ?n WHERE { ?l kho:verificationStatus ?s ; kho:verificationNote ?n "
            "FILTER(STRENDS(STR(?s), 'registry-error')) }"
        )
        assert {ox.Literal(str(n["n"])).value for n in notes} and len(notes) == 4  # vi + en × 2
        assert all("did not answer" in str(n["n"]) or "không trả lời" in str(n["n"]) for n in notes)
        # an outage erases nothing: the facts of the last check stay, dated by lastVerifiedAt
        kept = vstore.select(
            "SELECT ?n ?last ?at WHERE { ?l kho:registryId '0100109106' ; "
            "kho:enterpriseName ?n ; kho:lastVerifiedAt ?last ; kho:checkedAt ?at }"
        )
        assert len(kept) == 1 and str(kept[0]["last"]) <= str(kept[0]["at"])
        assert down.changed_subjects == {DOC}
        assert down.transitions == {"verified → registry-error": 2}
        back = verify(vstore, vsettings, registries, status="registry-error")
    assert back.links == 2 and back.counts["enterprise"]["verified"] == 2 and not back.errors
    assert back.changed_subjects == {DOC}
    assert not vstore.ask("ASK WHERE { ?l kho:verificationNote ?n ; kho:registryId '0100109106' }")
    assert not vstore.ask("ASK WHERE { ?l kho:lastVerifiedAt ?t }")


def test_a_citizens_number_is_in_no_public_graph_and_no_iri(
    first: VerifyReport, vstore: Store, vsettings: Settings
) -> None:
    personal = {M.records_graph(level, "personal") for level in RECORD_GRAPHS}
    found_in = set()
    for q in vstore.quads():
        if any(CITIZEN in term.value for term in (q.subject, q.predicate, q.object)):
            found_in.add(q.graph_name.value)
            assert not isinstance(q.object, ox.NamedNode) and not isinstance(
                q.subject, ox.BlankNode
            )
            assert CITIZEN not in q.subject.value
    assert found_in and found_in <= personal
    assert CITIZEN not in json.dumps(first.to_json()) and CITIZEN not in first.text()
    target = vstore.select(
        "SELECT ?t ?s WHERE { ?l kho:refKind 'citizen' ; kho:linkTarget ?t ; "
        "kho:verificationStatus ?s }",
        graphs=[M.records_graph("public")],
    )
    assert [str(r["t"]) for r in target] == [
        M.person(pseudonym(CITIZEN, vsettings.pseudonym_secret()))
    ]
    assert not str(target[0]["s"]).endswith("/unchecked")
    cache = Path(vsettings.registry_cache_path).read_bytes()  # type: ignore[arg-type]
    assert CITIZEN.encode() not in cache


def test_the_shapes_accept_the_checked_links(first: VerifyReport, vstore: Store) -> None:
    triples = vstore.triples(
        "CONSTRUCT { ?s dct:references ?l . ?l ?p ?o . ?x a ?t } WHERE { ?s dct:references ?l . "
        "?l a kho:RegistryReference ; ?p ?o . OPTIONAL { ?l ?q ?x . ?x a ?t "
        "FILTER(?q IN (kho:parcelUnitThen, kho:parcelUnitNow, kho:officialAgency)) } }"
    )
    shapes = load_shapes(ROOT / "shapes")
    links = {str(t.subject) for t in triples if "/ref/" in t.subject.value}
    # the units, agencies and records around the links are validated where they live
    assert not [v for v in validate_triples(triples, shapes).violations if f"<{v.focus}>" in links]
    link = ox.NamedNode(f"{DOC}/ref/enterprise-s1")
    kho = "https://w3id.org/kho/ns#"
    broken = [
        t
        for t in triples
        if not (t.subject == link and t.predicate.value in (kho + "checkedAt", kho + "registry"))
    ]
    broken.append(
        ox.Triple(
            link,
            ox.NamedNode(kho + "registry"),
            ox.NamedNode("https://w3id.org/kho/code/registry/land"),
        )
    )
    found = [v for v in validate_triples(broken, shapes).violations if v.focus == link.value]
    assert len(found) == 2  # kind ≠ registry; checked without a time


def test_cli_status_and_verify(
    first: VerifyReport,
    vsettings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KHO_DATA_DIR", str(vsettings.data_dir))
    monkeypatch.setenv("KHO_TODAY", TODAY)
    monkeypatch.setenv("KHO_PSEUDONYM_KEY", "verify-test-key")
    for name in ("population", "land", "enterprise", "officials"):
        monkeypatch.setenv(
            f"KHO_REGISTRY_{name.upper()}_URL", getattr(vsettings, f"registry_{name}_url")
        )
    assert main(["registries", "status", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["enterprise"]["verified"] == 2 and counts["enterprise"]["unchecked"] == 0
    assert main(["registries", "verify", "--registry", "officials", "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["links"] >= 2 and set(out["counts"]["officials"]) >= {"verified"}
    assert CITIZEN not in captured.out + captured.err
    with pytest.raises(SystemExit) as bad:
        main(["registries", "verify", "--status", "maybe"])
    assert bad.value.code == 2
    with pytest.raises(SystemExit) as bad:
        main(["registries", "verify", "--older-than-days", "-3"])
    assert bad.value.code == 2
