"""Kho on a triplestore server (KHO_STORE=sparql:…) in the scale benchmark: the same queries through
Kho's own Store (to show Kho's overhead over plain HTTP), and `kho ingest` of the same batch into a
server that holds the harvested data (the ingest rate per back-end).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from tests.bench.scale_data import (
    ROOT,
    SCALE,
    SOURCE,
    TODAY,
    run_child,
)

KHO = "https://w3id.org/kho/ns#"


def kho_caller(server: object, graphs: list[str]) -> Callable[[str], int]:
    """A query through Kho's Store on KHO_STORE=sparql:… (the server's own settings): rows."""
    from repository.config import Settings
    from repository.store import open_store

    settings = Settings(
        data_dir=SCALE / "kho-client",
        today=TODAY,
        store=server.spec,  # type: ignore[attr-defined]
        **server.settings(),  # type: ignore[attr-defined]
    )
    store = open_store(settings)
    return lambda sparql: len(store.select(sparql, graphs=graphs))


def mark_graphs(server: object, graphs: list[str]) -> None:
    """Make the graphs a bulk load brought in Kho's (Store.adopt_graphs: Kho's bookkeeping on
    the server, as `kho store --adopt-under` does)."""
    from repository.config import Settings
    from repository.store import open_store

    settings = Settings(
        data_dir=SCALE / "kho-client",
        today=TODAY,
        store=server.spec,  # type: ignore[attr-defined]
        **server.settings(),  # type: ignore[attr-defined]
    )
    adopted = set(open_store(settings).adopt_graphs(settings.base_iri))
    missing = set(graphs) - adopted
    if missing:
        raise RuntimeError(f"graphs not found on the server after the bulk load: {sorted(missing)}")


def harvested_dump() -> tuple[Path, list[str]]:
    """The harvested store (the source) as N-Quads, once, and its graphs."""
    from repository.store import open_store_read_only

    path = SCALE / "harvested.nq"
    names = SCALE / "harvested-graphs.json"
    if not path.exists():
        store = open_store_read_only(SOURCE / "store")
        names.write_text(json.dumps(store.named_graphs()))
        store.dump(path)
    return path, json.loads(names.read_text())


def ingest_into(name: str, size: int) -> dict:
    """A fresh server of `name` with the harvested data (fast path), then `kho ingest` of the
    size's batch through KHO_STORE: seconds, records/s, peak RSS of kho and of the server."""
    from tests.servers import oxigraph_server, virtuoso_server

    home = SCALE / str(size) / f"ingest-{name}"
    done = home / "ingest.json"
    if done.exists():
        return json.loads(done.read_text())
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    dump, graphs = harvested_dump()
    if name == "oxigraph-server":
        binary = Path(sys.executable).with_name("oxigraph")
        run_child([str(binary), "load", "--location", str(home / "store"), "--file", str(dump)])
        context = oxigraph_server(directory=home)
    else:
        context = virtuoso_server(directory=home, buffers=170_000)
    data = home / "data"
    data.mkdir()
    if (SOURCE / "index").is_dir():
        shutil.copytree(SOURCE / "index", data / "index")
    with context as server:
        if name == "virtuoso":
            server.bulk_load(dump)
        mark_graphs(server, graphs)
        env = {"KHO_DATA_DIR": str(data), "KHO_TODAY": TODAY, **server.env()}
        if server.password:
            env["KHO_STORE_PASSWORD"] = server.password
        batch = SCALE / str(size) / "batch"
        cmd = [str(ROOT / ".venv/bin/kho"), "ingest", "--metadata-only", "--no-ocr", "--json"]
        log, out = home / "kho.log", home / "kho.json"
        got = run_child([*cmd, "--jobs", "2", str(batch)], env=env, log=log, stdout=out)
        text = out.read_text(encoding="utf-8", errors="replace")
        if got["rc"] not in (0, 3) or "{" not in text:
            lines = log.read_text(errors="replace").splitlines()
            said = next((x for x in lines if x.startswith("kho ingest:")), lines[-1:])
            error = f"kho ingest into {name} failed (exit {got['rc']}): {said}"
            done.write_text(json.dumps({"error": error[:600]}))  # kept: not retried
            return {"error": error[:600]}
        report = json.loads(text[text.index("{") :])
        records = int(report.get("hoso_added", 0)) + int(report.get("docs_committed", 0))
        result = {
            "seconds": got["seconds"],
            "records": records,
            "rate": records / got["seconds"],
            "timings": report.get("timings", {}),
            "kho_peak_rss": got["peak_rss"],
            "server_peak_rss": server.peak_rss_bytes(),
            "server_disk": server.disk_bytes(),
        }
    done.write_text(json.dumps(result))
    shutil.rmtree(home / "store", ignore_errors=True)  # the numbers are kept; free the disk
    for f in home.glob("virtuoso*.db"):
        f.unlink()
    return result
