"""Sign-in, roles and grants, CSRF, throttling, the audit log and user administration."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest
from flask import Flask

from repository.access import PUBLIC, Reader, graph_visible, mask_personal, visible_graphs
from repository.cli import main
from repository.config import Settings
from repository.errors import BadRequest
from repository.namespaces import Minter
from repository.users import MAX_FAILURES, Throttled, Users, hash_password, verify_password
from tests.web import client_as, csrf, sign_in
from webapp import create_app


def fresh(name: str) -> str:
    """A user name no earlier run used (KHO_TEST_DEMO_DIR keeps the users file)."""
    return f"{name}-{secrets.token_hex(3)}"


M = Minter("https://kho.example.org/")
GRAPHS = [
    M.graph("gazetteer"),
    *(
        M.records_graph(level, facet)
        for level in ("public", "conditional", "secret")
        for facet in (None, "curation", "personal")
    ),
    "https://elsewhere.example/graph",
]


def names(reader: Reader) -> set[str]:
    return {g.removeprefix(M.graph("records/")) for g in visible_graphs(GRAPHS, M, reader)}


def test_the_rule_by_role_and_grant() -> None:
    assert names(PUBLIC) == {M.graph("gazetteer").removeprefix(M.graph("records/")), "public"}
    assert names(Reader("r", "researcher")) - names(PUBLIC) == {"conditional"}
    assert names(Reader("a", "archivist")) - names(PUBLIC) == {
        "conditional",
        "public/curation",
        "conditional/curation",
    }
    cleared = Reader("c", "researcher", frozenset({"secret", "personal"}))
    assert names(cleared) - names(PUBLIC) == {
        "conditional",
        "secret",
        "public/personal",
        "conditional/personal",
        "secret/personal",
    }
    boss = Reader("b", "administrator")
    assert not graph_visible(M.records_graph("secret"), M, boss)  # secret needs the grant
    assert not graph_visible("https://elsewhere.example/graph", M, boss)
    with pytest.raises(ValueError):
        Reader(role="anonymous", grants=frozenset({"secret"}))


def test_citizen_numbers_are_masked_without_the_grant() -> None:
    text = "Hộ ông A, CCCD số 001089012345, CMND 012345678, MST 0100109106."
    assert mask_personal(text) == "Hộ ông A, CCCD số 001******345, CMND 01*****78, MST 0100109106."
    cleared = Reader("c", "researcher", frozenset({"personal"}))
    assert mask_personal(text, cleared) == text
    # a float's fraction in JSON (a search score) is not a citizen's number
    assert mask_personal('{"score": 52.156123456061, "n": 0.123456789}') == (
        '{"score": 52.156123456061, "n": 0.123456789}'
    )


def test_passwords_are_scrypt_hashes(tmp_path) -> None:
    stored = hash_password("mot-mat-khau-dai")
    assert stored.startswith("scrypt$") and "mot-mat-khau-dai" not in stored
    assert verify_password("mot-mat-khau-dai", stored)
    assert not verify_password("mot-mat-khau-dai!", stored)
    users = Users(tmp_path / "u.sqlite3")
    with pytest.raises(BadRequest, match="10"):
        users.add("x", "short", "researcher")
    with pytest.raises(BadRequest, match="role"):
        users.add("x", "long-enough-pass", "god")


def test_throttling_after_repeated_failures(tmp_path) -> None:
    users = Users(tmp_path / "u.sqlite3")
    users.add("lan", "dung-mat-khau-1", "researcher")
    for _ in range(MAX_FAILURES):
        assert users.authenticate("lan", "sai", "10.0.0.1") is None
    with pytest.raises(Throttled) as caught:
        users.authenticate("lan", "dung-mat-khau-1", "10.0.0.1")  # even the right one waits
    assert caught.value.retry_after > 0
    actions = [e.action for e in users.audit_log()]
    assert actions.count("sign-in-failed") == MAX_FAILURES


def test_a_user_disabled_elsewhere_is_disabled_here_at_once(tmp_path) -> None:
    # kho serve keeps one open connection per thread; `kho users` writes from another process
    users = Users(tmp_path / "u.sqlite3")
    users.add("lan", "dung-mat-khau-1", "researcher")
    assert users.get("lan").active  # this thread's connection is open from here on
    cli = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from repository.users import Users; "
            "Users(sys.argv[1]).update('lan', active=False, role='archivist')",
            str(users.path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    seen = users.get("lan")
    assert not seen.active and seen.role == "archivist"
    assert users.authenticate("lan", "dung-mat-khau-1") is None


@pytest.fixture(scope="module")
def app(demo_settings: Settings) -> Flask:
    return create_app(demo_settings)


def test_sign_in_and_out_with_the_real_form(app: Flask) -> None:
    client = client_as(app, "archivist")
    page = client.get("/").get_data(as_text=True)
    assert "archivist" in page and "Đăng xuất" in page
    cookie = client.get_cookie("kho_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert "Đăng nhập" in client.get("/").get_data(as_text=True)


def test_wrong_password_is_401_and_logged(app: Flask, demo_settings: Settings) -> None:
    client = app.test_client()
    response = client.post(
        "/login", data={"name": "researcher", "password": "nope", "csrf_token": csrf(client)}
    )
    assert response.status_code == 401
    log = Users(demo_settings.users_path).audit_log(action="sign-in-failed")
    assert any(e.target == "researcher" for e in log)


def test_forms_without_the_csrf_token_are_refused(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/login", data={"name": "researcher", "password": "x"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_only_administrators_see_user_pages(app: Flask) -> None:
    minh = fresh("minh")
    for name in ("anonymous", "researcher", "archivist"):
        assert client_as(app, name).get("/admin/users").status_code == 404
    admin = client_as(app, "admin")
    assert admin.get("/admin/users").status_code == 200
    response = admin.post(
        "/admin/users",
        data={
            "name": minh,
            "password": "mat-khau-cua-minh",
            "role": "researcher",
            "grants": ["conditional"],
            "csrf_token": csrf(admin),
        },
    )
    assert response.status_code == 200 and minh in response.get_data(as_text=True)
    assert admin.get("/admin/audit").status_code == 200
    sign_in(app.test_client(), minh, "mat-khau-cua-minh")


def test_role_change_ends_older_sessions(app: Flask, demo_settings: Settings) -> None:
    tam = fresh("tam")
    users = Users(demo_settings.users_path)
    users.add(tam, "mat-khau-cua-tam", "archivist")
    client = sign_in(app.test_client(), tam, "mat-khau-cua-tam")
    assert tam in client.get("/").get_data(as_text=True)
    users.update(tam, role="researcher")
    assert "Đăng nhập" in client.get("/").get_data(as_text=True)


def test_cli_adds_and_lists_users(demo_settings: Settings, monkeypatch, capsys) -> None:
    hoa = fresh("hoa")
    monkeypatch.setenv("KHO_DATA_DIR", str(demo_settings.data_dir))
    monkeypatch.setenv("KHO_PASSWORD", "mat-khau-cua-hoa")
    assert main(["users", "add", hoa, "--role", "archivist", "--grant", "personal"]) == 0
    assert main(["users", "list"]) == 0
    out = capsys.readouterr().out
    assert hoa in out and "archivist" in out and "personal" in out
    assert main(["audit", "--action", "user-add"]) == 0
    assert hoa in capsys.readouterr().out


def test_the_english_switch(app: Flask) -> None:
    client = app.test_client()
    client.get("/lang/en?next=/")
    page = client.get("/").get_data(as_text=True)
    assert "Sign in" in page.split("Đăng nhập")[0]  # English first
