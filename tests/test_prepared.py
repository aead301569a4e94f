"""The repositories every pass of `make test` shares, built once before the passes start: all of
Vietnam's units and agencies harvested (KHO_TEST_DATA_DIR), the demo batches ingested with their
users and verified links (KHO_TEST_DEMO_DIR), and the demo's N-Quads dump the server passes
bulk-load (Makefile `test`: each server pass copies these and runs beside the embedded pass)."""

from __future__ import annotations

from pathlib import Path

from repository.config import Settings
from repository.store import open_store
from tests.conftest import STORE_BACKEND, server_dump


def test_the_shared_repositories_are_ready(
    embedded_harvest: Settings, demo_settings: Settings
) -> None:
    if STORE_BACKEND != "embedded":
        return  # a server pass works from copies of what the embedded pass prepared
    assert (Path(demo_settings.data_dir) / ".demo-ready").is_file()
    dump, size = server_dump(demo_settings, "demo")
    assert dump.stat().st_size > 0 and int(size.read_text()) == len(open_store(demo_settings))
    assert len(open_store(embedded_harvest)) > 1_000_000
