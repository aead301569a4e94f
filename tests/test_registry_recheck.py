"""Archivists re-check registry links from the web, and a registry outage never erases what Kho
knew (issue 5): over a copy of the verified demo repository, the app's registries pointing at the
real registry simulator (tests/registry_sim_server.py), which is set down and up again.

A verified link whose registry is down becomes a registry error with its facts kept and
kho:lastVerifiedAt; back up, it is verified again; `not-found` drops the facts. Only curators
see the buttons and may post (others 404), the CSRF token is required, a secret record's links
need the secret grant, more than RECHECK_LIMIT links are refused, and every re-check is audited.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from whoosh import index as whoosh_index

from harvesters.registries import Registries
from repository import record_index
from repository.config import Settings
from repository.namespaces import Minter
from repository.registry_verify import check, read_links
from repository.store import Store, open_store
from repository.users import Users
from repository.validation import load_shapes, validate_triples
from tests.conftest import PASSWORD
from tests.registry_sim_server import configure, running_simulator, sim_settings
from tests.web import client_as, csrf
from webapp import create_app
from webapp.registries import RECHECK_LIMIT

KHO = "https://w3id.org/kho/ns#"
STATUS = "https://w3id.org/kho/code/verification/"
M = Minter("https://kho.example.org/")
PUBLIC, SECRET = M.records_graph("public"), M.records_graph("secret")
RECHECK = "/registries/recheck"


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with running_simulator() as url:
        yield url


@pytest.fixture(scope="module")
def rsettings(
    demo_settings: Settings, sim: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """A copy of the verified demo repository; its registries are the simulator; one more
    archivist holds the secret grant."""
    data_dir = tmp_path_factory.mktemp("kho-recheck")
    open_store(demo_settings).backup(data_dir / "store")
    for name in ("index", "records-index", "files"):
        shutil.copytree(demo_settings.data_dir / name, data_dir / name)
    for name in ("users.sqlite3", "secret-key", "pseudonym-key"):
        if (demo_settings.data_dir / name).exists():
            shutil.copy(demo_settings.data_dir / name, data_dir / name)
    settings = sim_settings(sim, data_dir, registry_retries=0)
    Users(settings.users_path).add("archivist-secret", PASSWORD, "archivist", {"secret"})  # type: ignore[arg-type]
    return settings


@pytest.fixture(scope="module")
def app(rsettings: Settings) -> Flask:
    return create_app(rsettings)


@pytest.fixture(scope="module")
def db(app: Flask, rsettings: Settings) -> Store:
    return open_store(rsettings)


@pytest.fixture
def up(sim: str) -> Iterator[str]:
    """The simulator answering normally before and after the test."""
    configure(sim, down=False)
    yield sim
    configure(sim, down=False)


def first(store: Store, sparql: str) -> dict[str, str]:
    rows = store.select(sparql)
    assert rows, f"the demo data has nothing for {sparql}"
    return {k: str(v) for k, v in rows[0].items() if v is not None}


def enterprise_link(store: Store, graph: str = PUBLIC, skip: int = 0) -> dict[str, str]:
    """A verified enterprise link of a record in `graph`: ?s ?ref ?code ?name ?at."""
    return first(
        store,
        f"""SELECT ?s ?ref ?code ?name ?at WHERE {{ GRAPH <{graph}> {{
          ?s dct:references ?ref . ?ref kho:refKind "enterprise" ; kho:registryId ?code ;
            kho:verificationStatus <{STATUS}verified> ; kho:enterpriseName ?name ;
            kho:checkedAt ?at }} }} ORDER BY ?ref OFFSET {skip} LIMIT 1""",
    )


def link_state(store: Store, ref: str) -> dict[str, list[str]]:
    """The link's kho: statements, local name → values."""
    out: dict[str, list[str]] = {}
    for q in store.select(f"SELECT ?p ?o WHERE {{ <{ref}> ?p ?o }}"):
        p = str(q["p"]).removeprefix(KHO)
        out.setdefault(p, []).append(str(q["o"]))
    return out


def status_of(store: Store, ref: str) -> str:
    return link_state(store, ref)["verificationStatus"][0].removeprefix(STATUS)


def local(iri: str) -> str:
    return "/" + iri.split("/", 3)[3]


def post(client: FlaskClient, data: dict[str, object], token: bool = True, **kw: object):  # type: ignore[no-untyped-def]
    if token:
        data = {**data, "csrf_token": csrf(client)}
    return client.post(RECHECK, data=data, **kw)


def recheck_json(client: FlaskClient, links: list[str]) -> dict:
    response = post(client, {"link": links}, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return response.get_json()


def audit_rows(settings: Settings, actor: str) -> list[tuple[str, str, str]]:
    with sqlite3.connect(settings.users_path) as conn:  # type: ignore[arg-type]
        rows = conn.execute(
            "SELECT action, target, detail FROM audit WHERE actor = ? ORDER BY rowid", (actor,)
        )
        return list(rows)


# -- who sees the buttons -------------------------------------------------------------------------


def test_only_curators_see_the_check_again_buttons(app: Flask, db: Store) -> None:
    link = enterprise_link(db)
    for who, shown in (("anonymous", False), ("researcher", False), ("archivist", True)):
        page = client_as(app, who).get(local(link["s"]), headers={"Accept": "text/html"})
        assert page.status_code == 200
        doc = lxml_html.fromstring(page.data)
        (item,) = [
            li for li in doc.find_class("registry-link") if li.get("data-link") == link["ref"]
        ]
        forms = item.find_class("recheck-one")
        assert bool(forms) is shown, who
        if shown:
            (form,) = forms
            assert form.get("method") == "post" and form.get("action") == RECHECK
            fields = {i.get("name"): i.get("value") for i in form.iter("input")}
            assert fields["link"] == link["ref"] and fields["csrf_token"]
            assert fields["next"] == local(link["s"]) + "#registry-links"
        listing = client_as(app, who).get("/registries", headers={"Accept": "text/html"})
        doc = lxml_html.fromstring(listing.data)
        assert bool(doc.get_element_by_id("recheck-form", None) is not None) is shown, who


# -- the outage keeps what Kho knew ---------------------------------------------------------------


def test_registry_down_keeps_the_facts_then_recovers(
    app: Flask, db: Store, rsettings: Settings, up: str
) -> None:
    link = enterprise_link(db)
    ref, verified_at = link["ref"], link["at"]
    archivist = client_as(app, "archivist")

    same = recheck_json(archivist, [ref])  # the registry answers: nothing changes
    assert same["checked"] == 1 and same["unchanged"] == 1 and not same["transitions"]
    assert same["reindexed"] == 0 and not same["failing"]
    verified_at = link_state(db, ref)["checkedAt"][0]  # asked again (past the cache)
    assert verified_at >= link["at"]

    configure(up, down=["enterprise"])
    response = post(archivist, {"link": [ref], "next": local(link["s"]) + "#registry-links"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(local(link["s"]) + "#registry-links")
    state = link_state(db, ref)
    assert status_of(db, ref) == "registry-error"
    assert state["enterpriseName"] == [link["name"]]  # kept
    assert state["enterpriseStatus"] and state["linkTarget"]
    assert state["lastVerifiedAt"] == [verified_at] and state["checkedAt"][0] >= verified_at
    notes = " ".join(state["verificationNote"])
    assert "did not answer" in notes and "không trả lời" in notes
    assert verified_at[:16].replace("T", " ") in notes

    doc = lxml_html.fromstring(archivist.get(local(link["s"])).data)  # the summary, once
    (box,) = doc.find_class("recheck-summary")
    assert "has-failures" in box.get("class")
    (moved,) = box.find_class("transition")
    assert (moved.get("data-before"), moved.get("data-after")) == ("verified", "registry-error")
    (down,) = box.find_class("registry-down")
    assert down.get("data-registry") == "enterprise"
    assert "KHO_REGISTRY_ENTERPRISE_URL" in down.text_content()
    (item,) = [li for li in doc.find_class("registry-link") if li.get("data-link") == ref]
    assert link["name"] in item.text_content() and "status-registry-error" in item.get("class")
    again = lxml_html.fromstring(archivist.get(local(link["s"])).data)
    assert not again.find_class("recheck-summary")

    still = recheck_json(archivist, [ref])  # down again: the facts still date from then
    assert link_state(db, ref)["lastVerifiedAt"] == [verified_at]
    assert still["unchanged"] == 1 and [f["registry"] for f in still["failing"]] == ["enterprise"]
    assert_shapes_accept(db, ref)

    configure(up, down=False)
    back = recheck_json(archivist, [ref])
    assert back["transitions"] == [{"before": "registry-error", "after": "verified", "n": 1}]
    assert back["reindexed"] == 1
    state = link_state(db, ref)
    assert status_of(db, ref) == "verified" and state["enterpriseName"] == [link["name"]]
    assert "lastVerifiedAt" not in state and "verificationNote" not in state


def assert_shapes_accept(store: Store, ref: str) -> None:
    triples = store.triples(
        f"CONSTRUCT {{ ?s dct:references <{ref}> . <{ref}> ?p ?o }} WHERE {{ "
        f"?s dct:references <{ref}> . <{ref}> ?p ?o }}"
    )
    shapes = load_shapes(Path(__file__).parent.parent / "shapes")
    assert not [v for v in validate_triples(triples, shapes).violations if v.focus == ref]
    wrong = [t for t in triples if t.predicate.value != KHO + "verificationStatus"]
    wrong.append(
        ox.Triple(
            ox.NamedNode(ref),
            ox.NamedNode(KHO + "verificationStatus"),
            ox.NamedNode(STATUS + "verified"),
        )
    )
    found = [v for v in validate_triples(wrong, shapes).violations if v.focus == ref]
    assert found and "lastVerifiedAt" in " ".join(str(v.message) for v in found)


def test_not_found_is_an_answer_and_the_facts_go(app: Flask, db: Store, up: str) -> None:
    link = enterprise_link(db, skip=1)
    ref = ox.NamedNode(link["ref"])
    g = ox.NamedNode(PUBLIC)
    code = ox.NamedNode(KHO + "registryId")
    bad = link["code"][:-1] + str((int(link["code"][-1]) + 1) % 10)  # a wrong check digit
    db.update_quads(
        [ox.Quad(ref, code, ox.Literal(link["code"]), g)], [ox.Quad(ref, code, ox.Literal(bad), g)]
    )
    try:
        moved = recheck_json(client_as(app, "archivist"), [link["ref"]])
        assert moved["transitions"] == [{"before": "verified", "after": "not-found", "n": 1}]
        state = link_state(db, link["ref"])
        assert status_of(db, link["ref"]) == "not-found"
        assert not {"enterpriseName", "enterpriseStatus", "lastVerifiedAt"} & set(state)
        assert state["verificationNote"]
    finally:
        db.update_quads(
            [ox.Quad(ref, code, ox.Literal(bad), g)],
            [ox.Quad(ref, code, ox.Literal(link["code"]), g)],
        )
    back = recheck_json(client_as(app, "archivist"), [link["ref"]])
    assert back["transitions"][0]["after"] == "verified"


# -- who may post ---------------------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused(app: Flask, db: Store, up: str) -> None:
    link = enterprise_link(db)
    before = link_state(db, link["ref"])["checkedAt"]
    response = post(client_as(app, "archivist"), {"link": [link["ref"]]}, token=False)
    assert response.status_code == 400 and b"CSRF" in response.data
    assert link_state(db, link["ref"])["checkedAt"] == before


@pytest.mark.parametrize("who", ["anonymous", "researcher", "cleared"])
def test_readers_who_do_not_curate_get_404(app: Flask, db: Store, who: str, up: str) -> None:
    link = enterprise_link(db)
    before = link_state(db, link["ref"])["checkedAt"]
    response = post(client_as(app, who), {"link": [link["ref"]]})
    assert response.status_code == 404
    assert link_state(db, link["ref"])["checkedAt"] == before


def test_a_secret_records_link_needs_the_secret_grant(
    app: Flask, db: Store, rsettings: Settings, up: str
) -> None:
    secret = first(
        db,
        f"""SELECT ?s ?ref WHERE {{ GRAPH <{SECRET}> {{ ?s dct:references ?ref .
          ?ref kho:verificationStatus ?st ; kho:refKind ?kind FILTER(?kind != "citizen") }} }}
          ORDER BY ?ref LIMIT 1""",
    )
    public = enterprise_link(db)
    before = link_state(db, secret["ref"]).get("checkedAt")
    archivist = client_as(app, "archivist")
    refused = post(archivist, {"link": [public["ref"], secret["ref"]]})
    assert refused.status_code == 404  # one hidden link: nothing is checked
    assert secret["ref"] not in refused.get_data(as_text=True)
    assert link_state(db, secret["ref"]).get("checkedAt") == before
    assert client_as(app, "archivist").get(local(secret["s"])).status_code == 404

    cleared = client_as(app, "archivist-secret")
    page = lxml_html.fromstring(cleared.get(local(secret["s"])).data)
    assert [f for li in page.find_class("registry-link") if li.get("data-link") == secret["ref"]
            for f in li.find_class("recheck-one")]  # fmt: skip
    done = recheck_json(cleared, [secret["ref"]])
    assert done["checked"] == 1
    assert link_state(db, secret["ref"])["checkedAt"] != before


def test_every_recheck_is_audited(app: Flask, db: Store, rsettings: Settings, up: str) -> None:
    link = enterprise_link(db)
    recheck_json(client_as(app, "admin"), [link["ref"]])
    action, target, detail = audit_rows(rsettings, "admin")[-1]
    assert (action, target) == ("registry-recheck", link["ref"])
    assert detail.startswith("checked 1 of 1")


# -- many links -----------------------------------------------------------------------------------


def test_recheck_everything_failed_from_the_registries_page(
    app: Flask, db: Store, rsettings: Settings, up: str
) -> None:
    archivist = client_as(app, "archivist")
    doc = lxml_html.fromstring(archivist.get("/registries?status=not-found").data)
    listed = [li.get("data-link") for li in doc.find_class("registry-link")]
    assert listed, "the demo has identifiers the registries do not know"
    assert len(doc.find_class("recheck-select")) == len(listed)
    form = doc.get_element_by_id("recheck-form")
    fields = {i.get("name"): i.get("value") for i in form.iter("input")}
    assert fields["status"] == "not-found" and fields["next"].startswith("/registries?status=")
    response = post(
        archivist,
        {"scope": "failed", "status": "not-found", "next": fields["next"]},
    )
    assert (
        response.status_code == 303
        and "/registries?status=not-found" in response.headers["Location"]
    )
    page = lxml_html.fromstring(archivist.get(response.headers["Location"]).data)
    (box,) = page.find_class("recheck-summary")
    assert f" {len(listed)} " in box.find_class("recheck-head")[0].text_content()
    rows = [r for r in audit_rows(rsettings, "archivist") if r[0] == "registry-recheck"]
    target = rows[-1][1]
    assert target == (listed[0] if len(listed) == 1 else f"{len(listed)} registry links")


def test_more_than_the_limit_is_refused(app: Flask, db: Store) -> None:
    link = enterprise_link(db)
    before = link_state(db, link["ref"])["checkedAt"]
    many = [link["ref"]] + [f"{link['ref']}-x{i}" for i in range(RECHECK_LIMIT)]
    response = post(client_as(app, "archivist"), {"link": many})
    assert response.status_code == 400
    assert "kho registries verify" in response.get_data(as_text=True)
    assert link_state(db, link["ref"])["checkedAt"] == before
    assert post(client_as(app, "archivist"), {"link": []}).status_code == 400


def test_a_registry_that_keeps_failing_is_not_asked_again(
    db: Store, rsettings: Settings, up: str
) -> None:
    links = [lk for lk in read_links(db, rsettings, registry="enterprise", status="verified")][:5]
    assert len(links) == 5
    before = {lk.iri: link_state(db, lk.iri)["checkedAt"] for lk in links}
    configure(up, down=["enterprise"])
    with Registries(rsettings, backoff=0.01) as registries:
        report = check(db, rsettings, registries, links, workers=1, refresh=True, give_up_after=2)
    assert report.links == 2 and len(report.skipped) == 3
    assert report.counts["enterprise"]["registry-error"] == 2
    assert report.transitions == {"verified → registry-error": 2}
    assert report.changed_subjects == {lk.subject for lk in links[:2]}
    for lk in links[2:]:
        assert link_state(db, lk.iri)["checkedAt"] == before[lk.iri]  # left as they were
    for lk in links[:2]:
        assert link_state(db, lk.iri)["enterpriseName"]
    configure(up, down=False)
    with Registries(rsettings, backoff=0.01) as registries:
        fresh = read_links(db, rsettings, only=[lk.iri for lk in links[:2]])
        back = check(db, rsettings, registries, fresh, refresh=True)
    assert back.transitions == {"registry-error → verified": 2}


def test_a_busy_search_index_leaves_the_links_written_and_says_so(
    app: Flask, db: Store, rsettings: Settings, up: str
) -> None:
    link = enterprise_link(db)
    writer = whoosh_index.open_dir(str(record_index.index_path(rsettings))).writer()
    try:  # another process is writing the index
        configure(up, down=["enterprise"])
        busy = recheck_json(client_as(app, "archivist"), [link["ref"]])
    finally:
        writer.cancel()
    assert busy["index_stale"] and busy["reindexed"] == 0
    assert status_of(db, link["ref"]) == "registry-error"
    configure(up, down=False)
    back = recheck_json(client_as(app, "archivist"), [link["ref"]])
    assert not back["index_stale"] and back["reindexed"] == 1


def test_a_citizens_link_is_rechecked_without_showing_the_number(
    app: Flask, db: Store, rsettings: Settings, up: str
) -> None:
    c = first(
        db,
        f"""SELECT ?s ?ref ?number WHERE {{
          GRAPH <{PUBLIC}> {{ ?s dct:references ?ref . ?ref kho:refKind "citizen" }}
          GRAPH <{M.records_graph("public", "personal")}> {{ ?ref kho:registryId ?number }}
        }} ORDER BY ?ref LIMIT 1""",
    )
    archivist = client_as(app, "archivist")  # no personal grant: the number stays in memory
    response = post(archivist, {"link": [c["ref"]], "next": local(c["s"])})
    assert response.status_code == 303
    page = archivist.get(local(c["s"])).get_data(as_text=True)
    assert "recheck-summary" in page and c["number"] not in page
    assert status_of(db, c["ref"]) == "verified"
    rows = audit_rows(rsettings, "archivist")
    assert not [r for r in rows if c["number"] in " ".join(r)]
