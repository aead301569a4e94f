"""Blueprint for the OAI-PMH 2.0 endpoint, /oai (GET and POST). The protocol is in
repository/oai.py; this module only says who is asking and what they may see."""

from __future__ import annotations

from flask import Blueprint, Response, request

from repository import oai
from repository.oai_items import View
from webapp import site
from webapp.auth import audit_many, csrf_exempt, current_reader

bp = Blueprint("oai", __name__)


@bp.route("/oai", methods=["GET", "POST"], endpoint="endpoint")
@csrf_exempt  # OAI-PMH allows POST (form-encoded arguments): read-only requests from harvesters
def endpoint() -> Response:
    s = site()
    reader = current_reader()
    values = request.form if request.method == "POST" else request.args
    provider = oai.Provider(
        view=View(s.store, s.minter, s.visible_graphs(reader), reader),
        key=s.settings.session_key().encode(),
        base_url=request.base_url,
        admin_email=admin_email(),
    )
    result = oai.respond(provider, values.items(multi=True))
    # one audit transaction per response (a page of 100 restricted records is 100 entries)
    entries = [(iri, f"OAI-PMH {result.verb} (mode {level})") for iri, level in result.restricted]
    entries += [(iri, f"OAI-PMH {result.verb}: personal data") for iri in result.personal]
    audit_many("read-restricted", entries)
    response = Response(result.body, mimetype="text/xml")
    response.vary.add("Cookie")  # what a signed-in reader harvests differs from the public's
    return response


def admin_email() -> str:
    """The address in Identify: KHO_ADMIN_EMAIL when the settings have it, else kho@<host>."""
    s = site()
    configured = getattr(s.settings, "admin_email", "")
    return configured or f"kho@{oai.Provider.host_of(s.minter.base)}"
