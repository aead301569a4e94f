"""The registry simulator: the four national registries of docs/registries.md (population, land,
enterprises, officials) in one Flask app, with realistic data and misbehaviour on demand.

    create_app(config)          the WSGI app (config: see behaviour.DEFAULTS)
    serve(host, port, config)   serve it with waitress (blocking); `kho registries simulate`

Nothing is logged per request (no access log, no bodies): a citizen's number never leaves the
request that carries it.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time

from flask import Flask, Response, g, request

from harvesters.registry_sim import citizens, enterprises, land, officials
from harvesters.registry_sim.answers import Answer
from harvesters.registry_sim.behaviour import REGISTRIES, Behaviour, ConfigError
from harvesters.registry_sim.units import units

ENDPOINTS = {
    "population": ["POST /dan-cu/v1/citizens/verify"],
    "land": [
        "GET /dat-dai/v1/parcels?commune=&sheet=&parcel=&on=",
        "GET /dat-dai/v1/parcels/{parcel_id}",
        "GET /dat-dai/v1/units/{code}?on=",
    ],
    "enterprise": ["GET /doanh-nghiep/v1/enterprises/{code}"],
    "officials": ["GET /can-bo/v1/officials/{code}", "GET /can-bo/v1/agencies?name=&on="],
    "simulator": ["GET /_sim/stats", "GET|POST /_sim/config", "POST /_sim/reset"],
}


def create_app(config: dict | None = None) -> Flask:
    """The simulator's app; `config` as POST /_sim/config takes it (ConfigError if unknown)."""
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    sim = Behaviour(config)
    app.extensions["registry_sim"] = sim

    def reply(answer: Answer, identifier: str) -> Response:
        """The registry's answer, unless `identifier` is set to fail (fail_ids)."""
        if sim.should_fail(identifier):
            return _json(503, {"error": "unavailable", "message": "Planned failure."}, sim)
        status, body = answer
        return _json(status, body, sim)

    @app.before_request
    def misbehave() -> Response | None:
        registry = REGISTRIES.get(request.path.strip("/").split("/")[0])
        g.registry = registry
        if registry is None:
            return None
        if sim.config["delay"]:
            time.sleep(float(sim.config["delay"]))  # type: ignore[arg-type]
        if sim.is_down(registry):
            return _json(503, {"error": "unavailable", "message": "The registry is down."}, sim)
        token = request.headers.get("Authorization", "")
        if token != f"Bearer {sim.config['token']}":
            return _json(401, {"error": "unauthorized", "message": "Bearer token needed."}, sim)
        wait = sim.admit(registry, token)
        if wait is not None:
            body = {"error": "rate_limited", "message": "Too many requests; slow down."}
            response = _json(429, body, sim)
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        if sim.flake():
            return _json(503, {"error": "unavailable", "message": "Try again later."}, sim)
        return None

    @app.after_request
    def count(response: Response) -> Response:
        if g.get("registry"):
            sim.count(g.registry, response.status_code)
        return response

    @app.post("/dan-cu/v1/citizens/verify")
    def citizen() -> Response:
        body = request.get_json(silent=True)
        number = body.get("number") if isinstance(body, dict) else None
        return reply(citizens.verify(number, sim.today()), str(number))

    @app.get("/dat-dai/v1/parcels")
    def parcel_by_key() -> Response:
        a = request.args
        commune, sheet, parcel = a.get("commune", ""), a.get("sheet", ""), a.get("parcel", "")
        answer = land.parcel_by_key(commune, sheet, parcel, a.get("on", ""), sim.today())
        return reply(answer, f"{commune}/{sheet}/{parcel}")

    @app.get("/dat-dai/v1/parcels/<parcel_id>")
    def parcel_by_id(parcel_id: str) -> Response:
        return reply(land.parcel_by_id(parcel_id, sim.today()), parcel_id)

    @app.get("/dat-dai/v1/units/<code>")
    def unit(code: str) -> Response:
        return reply(land.unit(code, request.args.get("on") or sim.today()), code)

    @app.get("/doanh-nghiep/v1/enterprises/<code>")
    def enterprise(code: str) -> Response:
        return reply(enterprises.lookup(code, sim.today()), code)

    @app.get("/can-bo/v1/officials/<code>")
    def official(code: str) -> Response:
        return reply(officials.official(code, sim.today()), code)

    @app.get("/can-bo/v1/agencies")
    def agencies() -> Response:
        name = request.args.get("name", "")
        return reply(officials.agencies(name, request.args.get("on") or sim.today()), name)

    @app.get("/")
    def index() -> Response:
        return _json(200, {"simulator": "Kho registry simulator", "endpoints": ENDPOINTS})

    @app.get("/_sim/stats")
    def stats() -> Response:
        with sim.lock:
            return _json(200, json.loads(json.dumps(sim.stats)))

    @app.get("/_sim/config")
    def get_config() -> Response:
        return _json(200, sim.config)

    @app.post("/_sim/config")
    def set_config() -> Response:
        changes = request.get_json(silent=True)
        if not isinstance(changes, dict):
            return _json(400, {"error": "bad_request", "message": "Send a JSON object."})
        try:
            return _json(200, sim.update(changes))
        except ConfigError as e:
            return _json(400, {"error": "bad_request", "message": str(e)})

    @app.post("/_sim/reset")
    def reset() -> Response:
        sim.reset()
        return _json(200, sim.config)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def no_endpoint(e: Exception) -> Response:
        code = getattr(e, "code", 404)
        message = f"No such endpoint: {request.method} {request.path}. See GET / for the list."
        return _json(code, {"error": "no_such_endpoint", "message": message})

    return app


def _json(status: int, body: dict, sim: Behaviour | None = None) -> Response:
    text = json.dumps(body, ensure_ascii=False)
    headers = {}
    if sim is not None:
        if status == 503:
            headers.update(sim.retry_after())
        if sim.malform():
            text = text[: max(1, len(text) // 2)]  # a body cut off half-way
    return Response(text, status=status, mimetype="application/json", headers=headers)


def serve(host: str = "127.0.0.1", port: int = 5050, config: dict | None = None) -> None:
    """Serve the simulator with waitress (8 threads) until interrupted."""
    import waitress

    app = create_app(config)
    threading.Thread(target=units, daemon=True).start()  # load the data before the first request
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "queue depth" under load
    print(f"Kho registry simulator: http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    waitress.serve(app, host=host, port=port, threads=8, ident="kho-registry-sim")
