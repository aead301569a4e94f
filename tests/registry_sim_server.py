"""The registry simulator on a free port of 127.0.0.1, for tests that talk to the registries.

with running_simulator(delay=0.2) as url:
    settings = sim_settings(url, tmp_path)      # every registry_*_url points at it
    ...
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import waitress
from waitress import wasyncore

from harvesters.registry_sim import create_app
from harvesters.registry_sim.units import units
from repository.config import Settings

TODAY = "2026-11-26"
TOKEN = "kho-demo-token"
PATHS = {
    "population": "dan-cu/v1",
    "land": "dat-dai/v1",
    "enterprise": "doanh-nghiep/v1",
    "officials": "can-bo/v1",
}


@contextmanager
def running_simulator(**config: object) -> Iterator[str]:
    """Serve the simulator (waitress, 8 threads, in a background thread) and yield its base URL
    "http://127.0.0.1:PORT". `config` as POST /_sim/config takes it; today defaults to TODAY."""
    units()  # the real units and agencies, loaded once per process (about a second)
    app = create_app({"today": TODAY, **config})
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # Stop the workers, then have the loop close every socket (keep-alive ones too) itself,
        # which ends its thread.
        server.task_dispatcher.shutdown(timeout=5)
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map, ignore_all=True))
        thread.join(timeout=5)


STORE_FIELDS = (
    "store",
    "store_path",
    "store_user",
    "store_password",
    "store_auth",
    "store_dialect",
)


def sim_settings(
    url: str,
    data_dir: Path | str | None = None,
    *,
    like: Settings | None = None,
    **settings_kwargs: object,
) -> Settings:
    """Settings pointing all four registries at the simulator at `url`, today=TODAY; data_dir
    (keys, registry cache) defaults to `like`'s or a new temporary directory. `like` also gives
    the store (KHO_STORE and friends: the tests may run on a server)."""
    if like is not None:
        data_dir = data_dir or like.data_dir
        settings_kwargs = {**{f: getattr(like, f) for f in STORE_FIELDS}, **settings_kwargs}
    values: dict[str, object] = {
        "data_dir": Path(data_dir or tempfile.mkdtemp(prefix="kho-sim-")),
        "today": TODAY,
        **{f"registry_{name}_url": f"{url}/{path}" for name, path in PATHS.items()},
    }
    values.update(settings_kwargs)
    return Settings(**values)  # type: ignore[arg-type]


def configure(url: str, **config: object) -> dict:
    """Change how the running simulator behaves (POST /_sim/config); its new configuration."""
    r = requests.post(f"{url}/_sim/config", json=config, timeout=10)
    r.raise_for_status()
    return r.json()


def sim_stats(url: str) -> dict:
    """Requests per registry and HTTP status so far (GET /_sim/stats)."""
    return requests.get(f"{url}/_sim/stats", timeout=10).json()
