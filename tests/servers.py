"""Real triplestore servers on 127.0.0.1 for tests and benchmarks: Oxigraph server and Virtuoso 7.

with oxigraph_server() as server:          # `oxigraph serve` (PyPI `oxigraph`), a fresh store
    settings = Settings(data_dir=tmp, store=server.spec, **server.settings())
with virtuoso_server(buffers=10_000) as server:   # Debian's virtuoso-t, a fresh database
    ...

Each server gets its own directory (a new temporary one unless given), a free port, and is
stopped (and its directory removed, when it was temporary) on exit. `server.spec` is the
KHO_STORE value that points Kho at it; `server.settings()` the other store settings (user,
password, auth, dialect) as Settings keyword arguments.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from requests.auth import HTTPDigestAuth

OXIGRAPH = Path(sys.executable).with_name("oxigraph")  # installed beside Python by the dev extras
VIRTUOSO = Path("/usr/bin/virtuoso-t")  # Debian's virtuoso-opensource (make system)


class ServerUnavailable(RuntimeError):
    """A server binary is missing or the server did not come up."""


@dataclass
class Server:
    """A running server: its SPARQL 1.1 Query, Update and Graph Store Protocol endpoints."""

    name: str  # "oxigraph-server" | "virtuoso"
    query_url: str
    update_url: str
    gsp_url: str
    directory: Path
    process: subprocess.Popen[bytes]
    user: str | None = None
    password: str | None = None
    auth: str | None = None  # "digest" | "basic" | None
    dialect: str = "standard"
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        """The KHO_STORE value for this server."""
        return f"sparql:{self.query_url},{self.update_url},{self.gsp_url}"

    def settings(self) -> dict[str, object]:
        """Settings keyword arguments besides `store` (KHO_STORE_USER and friends)."""
        return {
            "store_user": self.user,
            "store_password": self.password,
            "store_auth": self.auth,
            "store_dialect": self.dialect,
        }

    def env(self) -> dict[str, str]:
        """The same as environment variables, for a `kho` subprocess."""
        out = {"KHO_STORE": self.spec, "KHO_STORE_DIALECT": self.dialect}
        if self.user:
            out |= {
                "KHO_STORE_USER": self.user,
                "KHO_STORE_PASSWORD": self.password or "",
                "KHO_STORE_AUTH": self.auth or "basic",
            }
        return out

    def requests_auth(self) -> object:
        if self.auth == "digest":
            return HTTPDigestAuth(self.user or "", self.password or "")
        if self.user:
            return (self.user, self.password or "")
        return None

    def rss_bytes(self) -> int:
        """The server process's resident memory now."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def peak_rss_bytes(self) -> int:
        """The server process's peak resident memory so far (VmHWM)."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def isql(self, sql: str, timeout: float = 3600) -> str:
        """Run SQL on a Virtuoso server through its isql client (bulk loads, checkpoints)."""
        port = self.extra["sql_port"]
        out = subprocess.run(
            ["isql-vt", f"127.0.0.1:{port}", self.user or "dba", self.password or "dba"],
            input=sql,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if out.returncode != 0 or "*** Error" in out.stdout:
            raise ServerUnavailable(f"isql-vt failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
        return out.stdout

    def bulk_load(self, nquads: Path) -> None:
        """Load an N-Quads file with Virtuoso's bulk loader (ld_dir + rdf_loader_run), then a
        checkpoint; each quad goes to its own graph."""
        if self.name != "virtuoso":
            raise ServerUnavailable(f"{self.name}: preload the store instead (oxigraph_server).")
        from repository.store_wire import DURATION_ALIAS, XSD_DURATION  # noqa: PLC0415

        # Virtuoso 7 turns "P10Y"^^xsd:duration into "120": Kho keeps durations under an alias
        # datatype there (repository/store_sparql.py), so the file is rewritten the same way.
        aliased = Path(tempfile.mkdtemp(prefix="kho-bulk-", dir=self.directory)) / "load.nq"
        old, new = f"<{XSD_DURATION}>".encode(), f"<{DURATION_ALIAS}>".encode()
        with Path(nquads).open("rb") as src, aliased.open("wb") as out:
            for line in src:
                out.write(line.replace(old, new))
        nquads = aliased
        self.isql(
            f"ld_dir('{nquads.parent}', '{nquads.name}', 'urn:kho:virtuoso-default');\n"
            "rdf_loader_run();\ncheckpoint;\n"
        )
        state = self.isql("SELECT ll_error FROM DB.DBA.LOAD_LIST WHERE ll_error IS NOT NULL;\n")
        if "0 Rows" not in state:
            raise ServerUnavailable(f"Virtuoso's bulk loader failed on {nquads}: {state[-1500:]}")
        shutil.rmtree(aliased.parent, ignore_errors=True)

    def disk_bytes(self) -> int:
        """What the server keeps on disk in its directory."""
        return sum(p.stat().st_size for p in self.directory.rglob("*") if p.is_file())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(server: Server, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    ask = "ASK { ?s ?p ?o }"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            r = requests.get(
                server.query_url,
                params={"query": ask},
                headers={"Accept": "application/sparql-results+json"},
                timeout=2,
            )
            if r.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_process(server.process)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise ServerUnavailable(f"{server.name} did not answer on {server.query_url}:\n{tail}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 30 s: a server or a kho command started by a test."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def _directory(directory: Path | str | None, prefix: str) -> Iterator[Path]:
    if directory is not None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def oxigraph_server(
    directory: Path | str | None = None,
    port: int | None = None,
    *,
    timeout_s: int | None = None,
    preload: Path | None = None,
) -> Iterator[Server]:
    """`oxigraph serve` on 127.0.0.1 with an on-disk store in `directory`; `preload` (N-Quads)
    goes in first with Oxigraph's bulk loader (`oxigraph load`: the server holds the store's
    lock once it runs)."""
    if not OXIGRAPH.exists():
        raise ServerUnavailable(
            f"No `oxigraph` binary at {OXIGRAPH}: install the dev extras (`make setup`)."
        )
    with _directory(directory, "kho-oxigraph-") as path:
        port = port or free_port()
        log = path / "server.log"
        if preload is not None:
            load = [str(OXIGRAPH), "load", "--location", str(path / "store")]
            with log.open("ab") as out:
                subprocess.run([*load, "--file", str(preload)], stdout=out, stderr=out, check=True)
        cmd = [str(OXIGRAPH), "serve", "--location", str(path / "store")]
        cmd += ["--bind", f"127.0.0.1:{port}"]
        if timeout_s:
            cmd += ["--timeout-s", str(timeout_s)]
        with log.open("ab") as out:
            process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        server = Server(
            "oxigraph-server",
            f"{base}/query",
            f"{base}/update",
            f"{base}/store",
            path,
            process,
            dialect="oxigraph",
        )
        try:
            _wait_until_up(server, 30, log)
            yield server
        finally:
            stop_process(process)


VIRTUOSO_INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
LiteMode = 0
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 20
CheckpointInterval = 60
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
MaxQueryMem = 2G
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime = 0
DirsAllowed = ., {dir}, /tmp
VADInstallDir = /usr/share/virtuoso-opensource-7/vad/

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 20
MaxKeepAlives = 20
KeepAliveTimeout = 10
MaxCachedProxyConnections = 10
EnabledDavVSP = 0
HTTPProxyEnabled = 0

[SPARQL]
; No silent truncation and no "anytime" partial answers: Kho sets its own limits.
ResultSetMaxRows = 100000000
MaxSortedTopRows = 100000000
MaxQueryExecutionTime = 0
MaxQueryCostEstimationTime = 0
DefaultGraph = urn:kho:virtuoso-default
DeferInferenceRulesInit = 0
"""


@contextmanager
def virtuoso_server(
    directory: Path | str | None = None,
    port: int | None = None,
    *,
    buffers: int = 20_000,
) -> Iterator[Server]:
    """Virtuoso Open Source 7 (`virtuoso-t`) on 127.0.0.1 with a fresh database in `directory`.

    `buffers` are 8 KiB pages of cache (Virtuoso's advice: about 2/3 of free memory; 20,000 =
    160 MiB for tests, 680,000 = 5.4 GiB for the 1M benchmark). Updates and the Graph Store
    Protocol go through the authenticated endpoints (/sparql-auth, /sparql-graph-crud-auth) as
    `dba` with HTTP digest auth: the anonymous /sparql endpoint may only read.
    """
    if not VIRTUOSO.exists():
        raise ServerUnavailable(
            f"No {VIRTUOSO}: install Debian's virtuoso-opensource (`make system`)."
        )
    with _directory(directory, "kho-virtuoso-") as path:
        http_port = port or free_port()
        sql_port = free_port()
        ini = path / "virtuoso.ini"
        ini.write_text(
            VIRTUOSO_INI.format(
                dir=path,
                sql_port=sql_port,
                http_port=http_port,
                buffers=buffers,
                dirty=buffers * 3 // 4,
            )
        )
        log = path / "server.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [str(VIRTUOSO), "-f", "-c", str(ini)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=path,
                env={**os.environ, "LANG": "C.UTF-8"},
            )
        base = f"http://127.0.0.1:{http_port}"
        server = Server(
            "virtuoso",
            f"{base}/sparql",
            f"{base}/sparql-auth",
            f"{base}/sparql-graph-crud-auth",
            path,
            process,
            user="dba",
            password="dba",
            auth="digest",
            dialect="virtuoso",
            extra={"sql_port": sql_port},
        )
        try:
            _wait_until_up(server, 60, log)
            yield server
        finally:
            stop_process(process)


SERVERS = {"oxigraph-server": oxigraph_server, "virtuoso": virtuoso_server}


if __name__ == "__main__":  # python -m tests.servers virtuoso: serve one until Ctrl-C
    name = sys.argv[1] if len(sys.argv) > 1 else "oxigraph-server"
    with SERVERS[name]() as running:
        print(f"{running.name}: KHO_STORE={running.spec}", flush=True)
        for key, value in running.env().items():
            print(f"  {key}={value}", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
