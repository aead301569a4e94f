"""Shared fixtures: one real, fully harvested on-disk store for the whole session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harvesters.units import HarvestReport, harvest_units
from repository.config import Settings
from repository.store import Store, open_store

TODAY = "2026-11-26"  # fixed so that "valid today" answers do not drift


@pytest.fixture(scope="session")
def harvested_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of a data directory holding all of Vietnam's units and agencies, and the index.

    KHO_TEST_DATA_DIR reuses a directory harvested by an earlier run (the harvest is idempotent).
    """
    reuse = os.environ.get("KHO_TEST_DATA_DIR")
    data_dir = Path(reuse) if reuse else tmp_path_factory.mktemp("kho-data")
    settings = Settings(data_dir=data_dir, today=TODAY)
    store = open_store(settings.store_path)
    report = harvest_units(store, settings)
    settings.__dict__["_first_harvest"] = report  # frozen dataclass: keep the report for tests
    try:
        from repository.search_index import build_index
    except ImportError:  # the search index arrives with the web app
        return settings
    if not (Path(settings.index_path) / "_kho_built").exists():
        build_index(store, settings)
        (Path(settings.index_path) / "_kho_built").touch()
    return settings


@pytest.fixture(scope="session")
def store(harvested_settings: Settings) -> Store:
    return open_store(harvested_settings.store_path)


@pytest.fixture(scope="session")
def first_harvest(harvested_settings: Settings) -> HarvestReport:
    return harvested_settings.__dict__["_first_harvest"]


@pytest.fixture(scope="module")
def records_settings(
    harvested_settings: Settings, store: Store, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """A data directory of its own (a cheap backup of the harvested store) for ingest tests."""
    data_dir = tmp_path_factory.mktemp("kho-records")
    store.backup(data_dir / "store")
    return Settings(data_dir=data_dir, today=TODAY)


# -- the demo repository with users, for the web surfaces -----------------------------------------

DEMO_USERS = {
    # name: (role, grants) — every password is PASSWORD
    "researcher": ("researcher", set()),
    "archivist": ("archivist", set()),
    "admin": ("administrator", set()),
    "cleared": ("researcher", {"secret", "personal"}),  # a researcher granted secret + personal
}
PASSWORD = "mat-khau-thu-2026"


@pytest.fixture(scope="session")
def demo_settings(
    harvested_settings: Settings, store: Store, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The demo batches ingested (public, conditional and secret hồ sơ; flags; scans with OCR;
    citizens' numbers) into a copy of the harvested store, and one user per role (DEMO_USERS).

    KHO_TEST_DEMO_DIR keeps the directory between runs (built once, then reused)."""
    from harvesters.demo_batch import write_demo
    from repository.ingest import ingest_batch
    from repository.users import Users

    reuse = os.environ.get("KHO_TEST_DEMO_DIR")
    data_dir = Path(reuse) if reuse else tmp_path_factory.mktemp("kho-demo")
    settings = Settings(data_dir=data_dir, today=TODAY)
    stamp = data_dir / ".demo-ready"
    if not stamp.exists():
        if (data_dir / "store").exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        store.backup(data_dir / "store")
        shutil.copytree(harvested_settings.index_path, settings.index_path)  # units index
        demo_store = open_store(settings.store_path)
        folders = write_demo(data_dir / "demo-batches", documents=30, seed=2025, scanned_ratio=0.15)
        for folder in folders:
            ingest_batch(folder, demo_store, settings, jobs=2)
        verify_demo_links(demo_store, data_dir)
        users = Users(settings.users_path)  # type: ignore[arg-type]
        for name, (role, grants) in DEMO_USERS.items():
            users.add(name, PASSWORD, role, grants)
        stamp.touch()
    from repository import record_index

    record_index.ensure_current(open_store(settings.store_path), settings)  # kept from older runs
    return settings


def verify_demo_links(store: Store, data_dir: Path) -> None:
    """Links for the agencies and units the records name, and every link checked against the
    registry simulator (a real HTTP server on 127.0.0.1), as `make demo` does."""
    from harvesters.registries import Registries
    from repository.registry_links import ensure_links
    from repository.registry_verify import verify
    from tests.registry_sim_server import running_simulator, sim_settings

    with running_simulator() as url:
        linked = sim_settings(url, data_dir, registry_rate=40)
        ensure_links(store, linked)
        with Registries(linked, backoff=0.05) as registries:
            report = verify(store, linked, registries)
    from repository import record_index

    record_index.update(store, linked, sorted(report.changed_subjects))
