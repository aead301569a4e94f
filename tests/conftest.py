"""Shared fixtures: one real, fully harvested on-disk store for the whole session.

KHO_TEST_STORE=oxigraph-server or virtuoso runs the suites that read and write through the store
(web surfaces, access, SPARQL, OAI, search, curation: SERVER_SUITES) with the harvested and the
demo repositories on a real server started for the session (tests/servers.py): each is built on
the embedded store as usual, dumped, and loaded into a server of its own, and the tests then go
through KHO_STORE=sparql:... — the same tests, another back-end. The store's own contract runs on
every back-end in tests/test_store_backends.py; `make test` runs the embedded pass and both
server passes beside it (each server pass on copies of the prepared repositories: see the
Makefile), `make test-virtuoso` the Virtuoso pass alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from harvesters.units import HarvestReport, harvest_units
from repository.config import Settings
from repository.store import Store, open_store
from tests.servers import Server, oxigraph_server, virtuoso_server

TODAY = "2026-11-26"  # fixed so that "valid today" answers do not drift

STORE_BACKEND = os.environ.get("KHO_TEST_STORE", "embedded")
# The suites that also run on the servers: the web surfaces, access control on every surface,
# SPARQL, OAI-PMH, the dashboard and the gazetteer's lineage queries, with the session's demo
# repository on the server. The rest (ingest into module copies; copies of the demo for
# curation, registry re-checks and search links; OCR, sheets, the registries' HTTP clients, the
# browser journeys) runs on the embedded store only, to keep CI under 20 minutes; any suite can
# be run on a server by hand (KHO_TEST_STORE=virtuoso pytest tests/test_x.py, after adding it
# here). The store contract itself runs on every back-end in tests/test_store_backends.py.
SERVER_SUITES = {
    "test_access_matrix.py",  # every surface x reader: pages, RDF, files, search, API, OAI
    "test_api.py",
    "test_dashboard.py",
    "test_gazetteer.py",
    "test_oai.py",
    "test_record_pages.py",
    "test_sparql.py",
    "test_sparql_limits.py",
    "test_webapp.py",
}


def skipped_on_server() -> set[str]:
    """What KHO_TEST_SKIP names (comma-separated: a suite's file name, or file::test for one
    test of it), left out of a server pass: for running part of a pass by hand."""
    skipped = {n.strip() for n in os.environ.get("KHO_TEST_SKIP", "").split(",")} - {""}
    unknown = {n for n in skipped if n.split("::")[0] not in SERVER_SUITES}
    if unknown:
        raise pytest.UsageError(f"KHO_TEST_SKIP names no server suite: {sorted(unknown)}")
    return skipped


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a server back-end, run only SERVER_SUITES (see the module docstring)."""
    if STORE_BACKEND == "embedded":
        return
    if STORE_BACKEND not in ("oxigraph-server", "virtuoso"):
        raise pytest.UsageError(
            f"KHO_TEST_STORE={STORE_BACKEND!r}: use embedded, oxigraph-server or virtuoso."
        )
    skipped = skipped_on_server()

    def runs(item: pytest.Item) -> bool:
        name = item.path.name
        test = f"{name}::{getattr(item, 'originalname', item.name)}"
        return name in SERVER_SUITES and name not in skipped and test not in skipped

    kept = [i for i in items if runs(i)]
    config.hook.pytest_deselected(items=[i for i in items if not runs(i)])
    items[:] = kept


@pytest.fixture(scope="session")
def on_server() -> Iterator[Callable[[Settings, str], Settings]]:
    """Copy an embedded repository's store into a server of its own (KHO_TEST_STORE) and return
    Settings that use it; the identity on the embedded store. Servers stop with the session."""
    if STORE_BACKEND == "embedded":
        yield lambda settings, name: settings
        return
    from tests.servers import oxigraph_server, virtuoso_server

    with ExitStack() as stack:

        def copy(settings: Settings, name: str) -> Settings:
            """The repository's quads in a fresh server, by the server's own bulk loader (the
            protocol path is what the tests then use, as tests/test_store_backends.py does)."""
            base = Path(settings.data_dir)
            dump, _ = server_dump(settings, name)
            if STORE_BACKEND == "oxigraph-server":
                server = stack.enter_context(oxigraph_server(preload=dump, timeout_s=30))
            else:
                server = stack.enter_context(virtuoso_server())
                server.bulk_load(dump)
            remote = Settings(
                data_dir=base,
                today=TODAY,
                store=server.spec,
                # Anything still opening the embedded store by path finds nothing there.
                store_path=base / "no-embedded-store-in-server-runs",
                **server.settings(),  # type: ignore[arg-type]
            )
            open_store(remote).adopt_graphs(settings.base_iri)
            return remote

        yield copy


def server_dump(settings: Settings, name: str) -> tuple[Path, Path]:
    """The N-Quads dump of an embedded repository that a server pass bulk-loads, beside its data
    directory ({dir}-{name}.nq, and .size: the quads it holds). Kept for later passes (the
    repository does not change between them; `make test` copies it for each server pass):
    written again only when the store holds another number of quads."""
    base = Path(settings.data_dir)
    dump = base.parent / f"{base.name}-{name}.nq"
    size = base.parent / f"{base.name}-{name}.size"
    embedded = open_store(settings)
    if not (dump.exists() and size.exists() and size.read_text() == str(len(embedded))):
        embedded.dump(dump.with_suffix(".tmp"))
        dump.with_suffix(".tmp").rename(dump)
        size.write_text(str(len(embedded)))
    return dump, size


def harvest_inputs() -> str:
    """A fingerprint of what the harvest is made of: the units package's version and the code,
    ontology and mappings (more than `make`'s .harvested stamp: any change harvests again)."""
    import hashlib
    from importlib.metadata import version

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(version("vietnamadminunits").encode())
    for pattern in ("harvesters/*.py", "repository/*.py", "ontology/**/*.ttl", "mappings/*.csv"):
        for path in sorted(root.glob(pattern)):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def embedded_harvest(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of a data directory holding all of Vietnam's units and agencies, and the index.

    KHO_TEST_DATA_DIR reuses a directory harvested by an earlier run (the harvest is idempotent).
    """
    reuse = os.environ.get("KHO_TEST_DATA_DIR")
    data_dir = Path(reuse) if reuse else tmp_path_factory.mktemp("kho-data")
    settings = Settings(data_dir=data_dir, today=TODAY)
    # A directory harvested from the same inputs is not harvested again (the check alone reads
    # every graph: a minute or more); its first harvest's report is kept beside it.
    stamp, inputs = data_dir / ".harvested.json", harvest_inputs()
    kept = json.loads(stamp.read_text()) if stamp.exists() else {}
    if kept.get("inputs") == inputs and (Path(settings.index_path) / "_kho_built").exists():
        report = HarvestReport(**{k: v for k, v in kept["report"].items()})
        settings.__dict__["_first_harvest"] = report  # frozen dataclass: keep it for tests
        return settings
    store = open_store(settings)
    report = harvest_units(store, settings)
    settings.__dict__["_first_harvest"] = report
    from repository.search_index import build_index

    if not (Path(settings.index_path) / "_kho_built").exists():
        build_index(store, settings)
        (Path(settings.index_path) / "_kho_built").touch()
    stamp.write_text(json.dumps({"inputs": inputs, "report": dataclasses.asdict(report)}))
    return settings


@pytest.fixture(scope="session")
def harvested_settings(embedded_harvest: Settings, request: pytest.FixtureRequest) -> Settings:
    """The harvested repository on the back-end under test (KHO_TEST_STORE). On a server it is
    the demo repository's server (which holds every harvested quad, and records besides): one
    bulk load per pass instead of two."""
    if STORE_BACKEND == "embedded":
        return embedded_harvest
    settings: Settings = request.getfixturevalue("demo_settings")
    settings.__dict__["_first_harvest"] = embedded_harvest.__dict__.get("_first_harvest")
    return settings


@pytest.fixture(scope="session")
def store(harvested_settings: Settings) -> Store:
    return open_store(harvested_settings)


@pytest.fixture(scope="session")
def first_harvest(harvested_settings: Settings) -> HarvestReport:
    return harvested_settings.__dict__["_first_harvest"]


@pytest.fixture(scope="module")
def records_settings(
    embedded_harvest: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """A data directory of its own (a cheap backup of the harvested store) for ingest tests."""
    data_dir = tmp_path_factory.mktemp("kho-records")
    open_store(embedded_harvest).backup(data_dir / "store")
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
    embedded_harvest: Settings,
    on_server: Callable[[Settings, str], Settings],
    tmp_path_factory: pytest.TempPathFactory,
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
        open_store(embedded_harvest).backup(data_dir / "store")
        shutil.copytree(embedded_harvest.index_path, settings.index_path)  # units index
        demo_store = open_store(settings)
        folders = write_demo(data_dir / "demo-batches", documents=30, seed=2025, scanned_ratio=0.15)
        for folder in folders:
            ingest_batch(folder, demo_store, settings, jobs=2)
        verify_demo_links(demo_store, data_dir)
        users = Users(settings.users_path)  # type: ignore[arg-type]
        for name, (role, grants) in DEMO_USERS.items():
            users.add(name, PASSWORD, role, grants)
        stamp.touch()
    from repository import record_index

    record_index.ensure_current(open_store(settings), settings)  # kept from older runs
    return on_server(settings, "demo")


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


@pytest.fixture
def served_copy(demo_settings: Settings, tmp_path: Path) -> Path:
    """A data directory of its own for a `kho serve` subprocess: the demo store's backup beside
    copies of its indexes, files and users (embedded store only)."""
    if demo_settings.store.startswith("sparql:"):
        pytest.skip("the embedded store is copied; a server pass serves its own store")
    data = tmp_path / "data"
    skip = shutil.ignore_patterns("store", "demo-batches", "*.nq")
    shutil.copytree(demo_settings.data_dir, data, ignore=skip)
    open_store(demo_settings).backup(data / "store")
    return data


@pytest.fixture(scope="session")
def oxigraph_srv() -> Iterator[Server]:
    """An Oxigraph server for the session's store tests (tests/stores.py)."""
    # Closing the connection does not stop a query in Oxigraph server: its own limit does.
    with oxigraph_server(timeout_s=10) as server:
        yield server


@pytest.fixture(scope="session")
def virtuoso_srv() -> Iterator[Server]:
    """A Virtuoso 7 for the session's store tests (tests/stores.py)."""
    with virtuoso_server(buffers=20_000) as server:
        yield server
