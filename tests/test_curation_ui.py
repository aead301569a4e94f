"""Archivists confirm/overturn quality flags and edit retention decisions through the real forms;
everyone else gets 404; the change lands in the store as provenance (issue 4).

These tests write, so they work on their own copy of the demo repository (store backup, users)."""

from __future__ import annotations

import fcntl
import shutil
from datetime import datetime
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask

from repository.config import Settings
from repository.dedup import flag_triples
from repository.namespaces import Minter
from repository.preservation import VN_TZ
from repository.store import Store, embedded_path, open_store
from repository.store_directory import LOCK_FILE
from tests.conftest import TODAY
from tests.web import client_as, csrf
from webapp import create_app

M = Minter("https://kho.example.org/")
FLAGGED = M.record("H01.04936.DTN.2021.99.0000001")
HOSO = M.hoso("H01.019.UBND.2020.52")
SECRET_RECORD = M.record("H01.01.DU.2021.05.0000001")
SECRET_FLAG = Minter.flag(SECRET_RECORD, "extraction-mismatch", "issued_on")
CONDITIONAL_HOSO = M.hoso("H01.005.CCB.2016.06")


@pytest.fixture(scope="module")
def copy_settings(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("kho-curation")
    open_store(demo_settings).backup(data / "store")
    for name in ("users.sqlite3", "secret-key"):
        shutil.copy(Path(demo_settings.data_dir) / name, data / name)
    settings = Settings(data_dir=data, files_path=demo_settings.files_path, today=TODAY)
    # a flag on a secret record: it lives only in the secret curation graph
    store = open_store(settings)
    graph = ox.NamedNode(M.records_graph("secret", "curation"))
    triples = flag_triples(
        SECRET_RECORD,
        "extraction-mismatch",
        field="issued_on",
        sheet_value="2021-05-01",
        extracted_value="2021-05-02",
        at=datetime(2026, 11, 26, 9, tzinfo=VN_TZ),
    )
    store.add_quads(ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)
    return settings


@pytest.fixture(scope="module")
def app(copy_settings: Settings) -> Flask:
    return create_app(copy_settings)


@pytest.fixture(scope="module")
def copy_store(copy_settings: Settings) -> Store:
    return open_store(copy_settings)


def post(client, url: str, data: dict[str, str], token: bool = True):  # type: ignore[no-untyped-def]
    form = {**data, **({"csrf_token": csrf(client)} if token else {})}
    return client.post(url, data=form)


def reviews(store: Store, flag: str) -> list[dict[str, object]]:
    return store.select(
        "SELECT ?rv ?type ?who ?note WHERE { ?rv prov:used ?flag ; dct:type ?type ; "
        "prov:wasAssociatedWith ?who . OPTIONAL { ?rv rico:descriptiveNote ?note } } ORDER BY ?rv",
        substitutions={"flag": ox.NamedNode(flag)},
    )


def status(store: Store, flag: str) -> str:
    rows = store.select(
        "SELECT ?s WHERE { ?f kho:reviewStatus ?s }", substitutions={"f": ox.NamedNode(flag)}
    )
    return str(rows[0]["s"]).rsplit("review-", 1)[-1]


def test_archivist_confirms_and_overturns_through_the_form(app: Flask, copy_store: Store) -> None:
    store = copy_store
    client = client_as(app, "archivist")
    page = client.get("/curation/flags?status=xem-xet-huy")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    dup_file = Minter.flag(FLAGGED, "duplicate-file")
    dup_doc = Minter.flag(FLAGGED, "duplicate-document")
    assert dup_file in html and dup_doc in html and 'name="csrf_token"' in html
    assert SECRET_FLAG not in html  # no secret grant: the secret curation graph is not there

    back = "/id/record/H01.04936.DTN.2021.99.0000001#flags"
    r = post(
        client,
        "/curation/flags/review",
        {"flag": dup_file, "outcome": "confirmed", "note": "Bản trùng, đề nghị hủy", "next": back},
    )
    assert r.status_code == 303 and r.headers["Location"].endswith(back)
    r = post(client, "/curation/flags/review", {"flag": dup_doc, "outcome": "overturned"})
    assert r.status_code == 303

    assert status(store, dup_file) == "confirmed" and status(store, dup_doc) == "overturned"
    last = reviews(store, dup_file)[-1]
    assert last["who"] == "archivist" and str(last["type"]).endswith("review-confirmed")
    assert "Bản trùng, đề nghị hủy" in str(last["note"])
    assert reviews(store, dup_doc)[-1]["who"] == "archivist"

    # the record page now says who decided, and when
    record = client.get("/id/record/H01.04936.DTN.2021.99.0000001").get_data(as_text=True)
    assert 'class="review"' in record and "archivist" in record
    filtered = client.get("/curation/flags?status=overturned").get_data(as_text=True)
    assert dup_doc in filtered and dup_file not in filtered


def test_retention_edit_is_a_new_appraisal(app: Flask, copy_store: Store) -> None:
    store = copy_store
    client = client_as(app, "archivist")
    before = store.select(
        "SELECT ?a WHERE { ?a a kho:Appraisal FILTER(STRSTARTS(STR(?a), ?p)) }",
        substitutions={"p": ox.Literal(HOSO + "/retention/")},
    )
    r = post(
        client,
        "/curation/retention",
        {"hoso": HOSO, "code": "04", "basis": "Bảng thời hạn TT 10/2022, mục 12", "note": "sửa"},
    )
    assert r.status_code == 303 and r.headers["Location"].endswith("#retention")
    n = len(before) + 1
    appraisal = Minter.appraisal(HOSO, n)
    rows = store.select(
        "SELECT ?who ?at ?note ?prev WHERE { ?a a kho:Appraisal ; prov:wasAssociatedWith ?who ; "
        "prov:endedAtTime ?at ; rico:descriptiveNote ?note ; prov:wasInformedBy ?prev }",
        substitutions={"a": ox.NamedNode(appraisal)},
    )
    assert rows and rows[0]["who"] == "archivist"
    assert "04 30 năm" in str(rows[0]["note"]) and "before: 06" in str(rows[0]["note"])
    assert rows[0]["prev"] == Minter.appraisal(HOSO, n - 1)  # history kept
    decision = store.select(
        "SELECT ?m ?st ?by WHERE { ?d kho:maintenance ?m ; kho:decisionStatus ?st ; "
        "prov:wasGeneratedBy ?by }",
        substitutions={"d": ox.NamedNode(Minter.retention(HOSO))},
    )
    assert len(decision) == 1
    assert str(decision[0]["m"]).endswith("maintenance-04")
    assert str(decision[0]["st"]).endswith("decision-confirmed")
    assert decision[0]["by"] == appraisal
    page = client.get("/id/hoso/H01.019.UBND.2020.52").get_data(as_text=True)
    assert "Bảng thời hạn TT 10/2022" in page and 'class="who">archivist' in page


@pytest.mark.parametrize("who", ["anonymous", "researcher", "cleared"])
def test_non_curators_get_404(app: Flask, copy_store: Store, who: str) -> None:
    store = copy_store
    client = client_as(app, who)
    flag = Minter.flag(FLAGGED, "near-duplicate")
    was = status(store, flag)
    assert client.get("/curation/flags").status_code == 404
    r = post(client, "/curation/flags/review", {"flag": flag, "outcome": "confirmed"})
    assert r.status_code == 404
    r = post(client, "/curation/retention", {"hoso": HOSO, "code": "01", "basis": "x"})
    assert r.status_code == 404
    assert status(store, flag) == was


def test_post_without_csrf_is_400(app: Flask, copy_store: Store) -> None:
    store = copy_store
    client = client_as(app, "archivist")
    flag = Minter.flag(FLAGGED, "near-duplicate")
    was = status(store, flag)
    r = post(client, "/curation/flags/review", {"flag": flag, "outcome": "confirmed"}, False)
    assert r.status_code == 400
    r = post(client, "/curation/retention", {"hoso": HOSO, "code": "01", "basis": "x"}, False)
    assert r.status_code == 400
    assert status(store, flag) == was


def test_secret_flags_need_the_secret_grant(app: Flask, copy_store: Store) -> None:
    store = copy_store
    archivist = client_as(app, "archivist")
    r = post(archivist, "/curation/flags/review", {"flag": SECRET_FLAG, "outcome": "confirmed"})
    assert r.status_code == 404
    assert status(store, SECRET_FLAG) == "under-review"
    r = post(
        archivist,
        "/curation/retention",
        {"hoso": M.hoso("H01.01.DU.2021.05"), "code": "01", "basis": "x"},
    )
    assert r.status_code == 404


def test_bad_edits_are_explained(app: Flask) -> None:
    client = client_as(app, "archivist")
    flag = Minter.flag(FLAGGED, "near-duplicate")
    r = post(client, "/curation/flags/review", {"flag": flag, "outcome": "maybe"})
    assert r.status_code == 400 and "Confirm or Overturn" in r.get_data(as_text=True)
    r = post(client, "/curation/retention", {"hoso": CONDITIONAL_HOSO, "code": "99", "basis": "x"})
    assert r.status_code == 400 and "maintenance code" in r.get_data(as_text=True)
    r = post(client, "/curation/retention", {"hoso": CONDITIONAL_HOSO, "code": "04", "basis": " "})
    assert r.status_code == 400 and "basis" in r.get_data(as_text=True)
    assert client.get("/curation/flags?kind=nonsense").status_code == 400


def test_a_form_waits_for_another_processs_write_then_says_so(
    app: Flask, copy_settings: Settings, copy_store: Store
) -> None:
    """`kho ingest` or a harvest writing beside `kho serve`: a form's write waits for it (30 s
    by default), then answers a clear 503 with Retry-After; nothing is written half-way."""
    path = embedded_path(copy_settings)
    if path is None:
        pytest.skip("a server orders its own writers")
    client = client_as(app, "archivist")
    flag = Minter.flag(FLAGGED, "duplicate-file")
    copy_store.wait_for_writes(0.3)
    try:
        with open(path / LOCK_FILE, "a+", encoding="utf-8") as held:
            fcntl.flock(held, fcntl.LOCK_EX)  # as another process's write holds it
            before = reviews(copy_store, flag)
            busy = post(client, "/curation/flags/review", {"flag": flag, "outcome": "confirmed"})
            fcntl.flock(held, fcntl.LOCK_UN)
        assert busy.status_code == 503 and busy.headers["Retry-After"]
        assert "try again" in busy.get_data(as_text=True)
        assert reviews(copy_store, flag) == before  # nothing landed
        done = post(client, "/curation/flags/review", {"flag": flag, "outcome": "confirmed"})
        assert done.status_code == 303 and len(reviews(copy_store, flag)) == len(before) + 1
    finally:
        copy_store.wait_for_writes(30)
