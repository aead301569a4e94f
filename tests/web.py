"""Helpers for tests of the web surfaces: an app over the demo repository, clients signed in as
each demo user (tests/conftest.py DEMO_USERS), CSRF tokens for forms."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD

ROLES_UNDER_TEST = ("anonymous", "researcher", "archivist", "admin", "cleared")


def csrf(client: FlaskClient) -> str:
    """The CSRF token of the client's session (made on first use)."""
    with client.session_transaction() as session:
        token = session.get("csrf")
        if not token:
            token = session["csrf"] = "test-csrf-token-0123456789"
    return str(token)


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD) -> FlaskClient:
    """Sign the client in through the real /login form; 'anonymous' leaves it signed out."""
    if name == "anonymous":
        return client
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": csrf(client)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def client_as(app: Flask, name: str) -> FlaskClient:
    """A new test client of `app`, signed in as demo user `name` (or anonymous)."""
    return sign_in(app.test_client(), name)
