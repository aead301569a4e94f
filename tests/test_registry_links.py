"""Registry references as RDF links (issue 5 §3): what ingest writes for each kind and source,
the citizen's number only in the personal graph, a parcel keyed by its creator's commune, and
the agencies' and units' links in graph/registries. Real store, real ingest code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyoxigraph as ox
import pytest

from repository.config import Settings
from repository.identifiers import pseudonym
from repository.ingest import DocDraft
from repository.namespaces import DCT, KHO, Minter, registry_concept, verification_concept
from repository.record_checks import registry_ref
from repository.registry_links import ensure_links, record_link, status_counts
from repository.resolve import resolve_issuer
from repository.sheets import SourceRow, load_formats
from repository.store import Store, open_store

TODAY = "2026-11-26"
CITIZEN = "001085012345"
M = Minter("https://kho.example.org/")
RECORD = M.record("H01.00004.UBND.2019.77.0000001")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, today=TODAY, pseudonym_key="a-test-key")


def values(triples: list[ox.Triple], subject: str) -> dict[str, str]:
    return {
        t.predicate.value.rsplit("#", 1)[-1]: t.object.value
        for t in triples
        if t.subject.value == subject
    }


def test_an_enterprise_link_points_into_the_registry_namespace(settings: Settings) -> None:
    link = record_link(RECORD, 2, {"kind": "enterprise", "id": "0100109106"}, settings)
    iri = f"{RECORD}/ref/enterprise-2"
    assert values(link.public, iri) == {
        "type": KHO + "RegistryReference",
        "refKind": "enterprise",
        "registry": registry_concept("enterprise"),
        "refSource": "text",
        "verificationStatus": verification_concept("unchecked"),
        "registryId": "0100109106",
        "linkTarget": settings.registry_enterprise_namespace + "0100109106",
    }
    assert ox.Triple(ox.NamedNode(RECORD), ox.NamedNode(DCT + "references"), ox.NamedNode(iri)) in (
        link.public
    )
    assert not link.personal


def test_a_sheet_link_has_its_own_suffix_and_source(settings: Settings) -> None:
    link = record_link(
        RECORD, 1, {"kind": "official", "id": "CB01-004512"}, settings, source="sheet"
    )
    got = values(link.public, f"{RECORD}/ref/official-s1")
    assert got["refSource"] == "sheet"
    assert got["registry"] == registry_concept("officials")
    assert got["linkTarget"] == settings.registry_officials_namespace + "official/CB01-004512"


def test_a_citizen_is_public_only_by_pseudonym(settings: Settings) -> None:
    link = record_link(RECORD, 1, {"kind": "citizen", "id": CITIZEN}, settings)
    iri = f"{RECORD}/ref/citizen-1"
    public = values(link.public, iri)
    assert public["linkTarget"] == M.person(pseudonym(CITIZEN, b"a-test-key"))
    assert public["registry"] == registry_concept("population")
    assert "registryId" not in public
    assert not any(CITIZEN in str(t) for t in link.public)
    # the personal graph says which record cites which number, and nothing else
    assert values(link.personal, iri) == {
        "type": KHO + "RegistryReference",
        "refKind": "citizen",
        "registryId": CITIZEN,
    }


def test_a_parcel_keeps_its_key_and_its_date(settings: Settings) -> None:
    ref = {"kind": "land", "commune": "10369", "sheet": "8", "parcel": "434", "on": "2019-03-05"}
    got = values(
        record_link(RECORD, 1, ref, settings, source="sheet").public, f"{RECORD}/ref/land-s1"
    )
    assert (got["communeCode"], got["mapSheet"], got["parcel"], got["keyDate"]) == (
        "10369",
        "8",
        "434",
        "2019-03-05",
    )
    assert "linkTarget" not in got  # known once the registry gives the parcel's id
    by_id = record_link(RECORD, 2, {"kind": "land", "parcel_id": "W7ER8U0G3K2M"}, settings)
    got = values(by_id.public, f"{RECORD}/ref/land-2")
    assert got["registryId"] == "w7er8u0g3k2m"
    assert got["linkTarget"] == settings.registry_land_namespace + "thua-dat/w7er8u0g3k2m"


def test_unknown_kinds_and_sources_are_refused(settings: Settings) -> None:
    with pytest.raises(ValueError):
        record_link(RECORD, 1, {"kind": "passport", "id": "B1234567"}, settings)
    with pytest.raises(ValueError):
        record_link(RECORD, 1, {"kind": "enterprise", "id": "0100109106"}, settings, source="x")


def _doc(issued: str) -> DocDraft:
    fmt = load_formats()[0]
    return DocDraft(1, SourceRow("bang-ke.csv", 3, "doc", {"issuedDate": issued}, {}, fmt), RECORD)


def test_a_parcel_cited_in_text_takes_its_creators_commune_on_the_documents_date(
    store: Store, settings: Settings
) -> None:
    truc_bach = resolve_issuer(store, "Ủy ban nhân dân phường Trúc Bạch", date(2019, 3, 5))
    assert truc_bach is not None and truc_bach.unit_code == "00004"
    doc = _doc("2019-03-05")
    ref = {"kind": "land", "sheet": "8", "parcel": "434"}
    registry_ref(doc, 1, ref, settings=settings, creator=truc_bach, store=store)
    got = values(doc.triples, f"{RECORD}/ref/land-1")
    assert got["communeCode"] == "00004" and got["keyDate"] == "2019-03-05"
    # a city-level creator has no commune: the key stays incomplete (verify says what is missing)
    hanoi = resolve_issuer(store, "Ủy ban nhân dân thành phố Hà Nội", date(2019, 3, 5))
    assert hanoi is not None
    other = _doc("2019-03-05")
    registry_ref(other, 1, ref, settings=settings, creator=hanoi, store=store)
    got = values(other.triples, f"{RECORD}/ref/land-1")
    assert "communeCode" not in got and "keyDate" not in got


def test_registry_ref_puts_a_citizens_number_only_in_the_personal_part(
    store: Store, settings: Settings
) -> None:
    doc = _doc("2019-03-05")
    registry_ref(doc, 1, {"kind": "citizen", "id": CITIZEN}, settings=settings)
    assert not any(CITIZEN in str(t) for t in doc.triples)
    assert any(CITIZEN in str(t) for t in doc.personal)
    with pytest.raises(TypeError):
        registry_ref(doc, 2, {"kind": "enterprise", "id": "0100109106"})


# -- agencies' and units' links ----------------------------------------------------------------


@pytest.fixture(scope="module")
def lstore(
    harvested_settings: Settings, store: Store, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Store, Settings]:
    """A copy of the harvested store with one hồ sơ planted whose creator is an ended agency."""
    data_dir = tmp_path_factory.mktemp("registry-links")
    store.backup(data_dir / "store")
    settings = Settings(data_dir=data_dir, today=TODAY, pseudonym_key="a-test-key")
    copy = open_store(settings)
    truc_bach = resolve_issuer(copy, "Ủy ban nhân dân phường Trúc Bạch", date(2019, 3, 5))
    assert truc_bach is not None
    g = ox.NamedNode(M.records_graph("public"))
    hoso = ox.NamedNode(M.hoso("H01.00004.UBND.2019.77"))
    rico = "https://www.ica.org/standards/RiC/ontology#"
    copy.add_quads(
        [
            ox.Quad(hoso, ox.NamedNode(rico + "hasCreator"), ox.NamedNode(truc_bach.agency_iri), g),
            ox.Quad(
                hoso, ox.NamedNode(rico + "hasOrHadHolder"), ox.NamedNode(truc_bach.agency_iri), g
            ),
        ]
    )
    return copy, settings


def test_agencies_in_records_and_their_units_get_links(lstore: tuple[Store, Settings]) -> None:
    store, settings = lstore
    setup = ensure_links(store, settings)
    assert setup.agencies == 1 and setup.units >= 2 and setup.added == setup.agencies + setup.units
    graph = M.registries_graph()
    rows = store.select(
        "SELECT ?s ?kind ?id ?day WHERE { ?s dct:references ?l . ?l kho:refKind ?kind ; "
        "kho:keyDate ?day ; kho:verificationStatus ?st . OPTIONAL { ?l kho:registryId ?id } }",
        graphs=[graph],
    )
    by_kind = {(str(r["kind"]), str(r["s"])): r for r in rows}
    agency = next(r for (k, _), r in by_kind.items() if k == "agency")
    assert str(agency["day"]) == "2025-06-30"  # asked by its name on its last day
    units = {str(r["s"]): r for (k, _), r in by_kind.items() if k == "unit"}
    old = next(iri for iri in units if "truc-bach-00004" in iri)
    new = next(iri for iri in units if "ba-dinh-00004" in iri)  # its successor valid today
    assert str(units[old]["id"]) == str(units[new]["id"]) == "00004"
    assert str(units[old]["day"]) == "2025-06-30" and str(units[new]["day"]) == TODAY
    counts = status_counts(store, settings)
    assert counts["officials"]["unchecked"] == 1 and counts["land"]["unchecked"] == setup.units


def test_links_are_made_once(lstore: tuple[Store, Settings]) -> None:
    store, settings = lstore
    ensure_links(store, settings)
    before = store.count(M.registries_graph())
    again = ensure_links(store, settings)
    assert again.added == 0 and store.count(M.registries_graph()) == before


def test_all_units_of_a_province(lstore: tuple[Store, Settings]) -> None:
    store, settings = lstore
    setup = ensure_links(store, settings, all_units=True, province="01")
    # Hanoi: the city, 30 districts and 526 communes before the reform, 126 communes after
    assert setup.units > 650
    assert status_counts(store, settings)["land"]["unchecked"] == setup.units
