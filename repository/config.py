"""Settings: every setting with its default and help text, read from KHO_* environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

from repository.errors import KhoError

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Kho's settings. Each field `x` comes from the environment variable `KHO_X`."""

    data_dir: Path = field(
        default=PROJECT_DIR / "data",
        metadata={"help": "Where the store, the search index and files live."},
    )
    base_iri: str = field(
        default="https://kho.example.org/",
        metadata={"help": "Base of every IRI Kho mints; the web app serves /id/... under it."},
    )
    store_path: Path | None = field(
        default=None,
        metadata={"help": "On-disk Oxigraph store (default: DATA_DIR/store)."},
    )
    store: str = field(
        default="",
        metadata={
            "help": "Which triple store: oxigraph:PATH (the embedded on-disk store, the default: "
            "oxigraph:STORE_PATH) or sparql:QUERY_URL,UPDATE_URL,GSP_URL (any SPARQL 1.1 "
            "Query/Update/Graph Store Protocol server: Oxigraph server, Virtuoso, Fuseki, "
            "GraphDB). See README, Triplestore servers."
        },
    )
    store_user: str = field(
        default="",
        metadata={"help": "User for a sparql: store's update and Graph Store endpoints."},
    )
    store_password: str = field(
        default="",
        metadata={"help": "Password of KHO_STORE_USER."},
    )
    store_auth: str = field(
        default="basic",
        metadata={"help": "HTTP auth for a sparql: store: basic or digest (Virtuoso)."},
    )
    store_dialect: str = field(
        default="auto",
        metadata={
            "help": "A sparql: store's departures from the standards: auto (guess from the "
            "URLs), standard, oxigraph or virtuoso."
        },
    )
    store_timeout: int = field(
        default=120,
        metadata={"help": "Seconds Kho waits for one request to a sparql: store."},
    )
    search: str = field(
        default="whoosh",
        metadata={
            "help": "Full-text search engine: whoosh (the embedded default) or tantivy "
            "(faster at 100k+ records; README, Search at scale)."
        },
    )
    search_exact_up_to: int = field(
        default=100_000,
        metadata={
            "help": "Records search: hits counted exactly; past this, tantivy estimates the "
            "total and facet counts on a 1/16 sample, marked 'about' (exact=1 counts all)."
        },
    )
    index_path: Path | None = field(
        default=None,
        metadata={
            "help": "Units search index (default: DATA_DIR/index; with KHO_SEARCH=tantivy, "
            "beside it: DATA_DIR/index-tantivy)."
        },
    )
    files_path: Path | None = field(
        default=None,
        metadata={"help": "PDFs and OCR text by SHA-256 (default: DATA_DIR/files)."},
    )
    ocr_jobs: int = field(
        default=max(1, os.cpu_count() or 1),
        metadata={"help": "Pages/files OCR'd in parallel (kho ingest --jobs overrides it)."},
    )
    pdf_max_bytes: int = field(
        default=1 << 30,
        metadata={"help": "Largest PDF Kho reads (bytes); a larger one is quarantined unread."},
    )
    pdf_max_pages: int = field(
        default=2000,
        metadata={
            "help": "Most pages in one PDF; more is quarantined before OCR (split the document)."
        },
    )
    pdf_max_pixels: int = field(
        default=250_000_000,
        metadata={"help": "Largest image in a PDF, or page drawn at 300 dpi for OCR (pixels)."},
    )
    pdf_tool_memory: int = field(
        default=3 << 30,
        metadata={
            "help": "Address-space limit (bytes) of each program reading a PDF (poppler, "
            "Tesseract, OCR workers)."
        },
    )
    pdf_tool_seconds: int = field(
        default=600,
        metadata={"help": "Time limit (s) of one program run on one PDF."},
    )
    serve_processes: int = field(
        default=0,
        metadata={
            "help": "Processes kho serve renders pages in (GET); forms, files and SPARQL stay in "
            "the serving process. 0: one per CPU core (two on a server store, which pages wait "
            "on); 1: all in the serving process."
        },
    )
    background_nice: int = field(
        default=10,
        metadata={
            "help": "How much lower the CPU priority of kho ingest and kho reindex is (nice, "
            "0-19; OCR workers inherit it): the readers of kho serve go first. 0: the same."
        },
    )
    data_nice: int = field(
        default=5,
        metadata={
            "help": "How much lower the CPU priority of answers for programs is in kho serve "
            "(nice, 0-19): JSON-LD and other RDF, the JSON API and OAI-PMH are rendered in "
            "processes of their own, so the pages people read go first on a busy machine. 0: "
            "the same. (SPARQL queries have their own processes and limits: KHO_SPARQL_*.)"
        },
    )
    serve_threads: int = field(
        default=24,
        metadata={
            "help": "Threads kho serve answers requests with (waitress): kept pages are given "
            "by them at once, the others wait for a page worker, the most urgent first."
        },
    )
    page_cache_mb: int = field(
        default=64,
        metadata={
            "help": "Memory (MiB) of rendered pages kept per audience by kho serve, answered "
            "again until the store or the index changes (0: keep none)."
        },
    )
    page_cache_lag_seconds: int = field(
        default=30,
        metadata={
            "help": "Seconds kept pages may lag behind records being added (kho ingest of new "
            "hồ sơ): a new record may take that long to show in kept lists and searches. Any "
            "other write (an edit, a restriction, a deletion) makes kept pages unreachable at "
            "once. 0: every addition does too."
        },
    )
    ingest_chunk: int = field(
        default=500,
        metadata={
            "help": "hồ sơ validated and committed together by kho ingest (memory per chunk; "
            "an interrupted ingest loses at most one chunk's work, redone by the re-run)."
        },
    )
    ocr_language: str = field(
        default="vie",
        metadata={"help": "Tesseract language(s) for OCR, e.g. vie or vie+eng."},
    )
    today: str | None = field(
        default=None,
        metadata={
            "help": "Date taken as 'today' (YYYY-MM-DD) for 'valid now'; default: the clock."
        },
    )
    secret_key: str = field(
        default="",
        metadata={
            "help": "Signs session cookies; default: a random key kept in DATA_DIR/secret-key."
        },
    )
    admin_email: str = field(
        default="",
        metadata={
            "help": "Contact of the archive's administrator (OAI-PMH Identify); "
            "default: kho@<host of the base IRI>."
        },
    )
    users_path: Path | None = field(
        default=None,
        metadata={
            "help": "Users, grants, sign-in throttle and audit log (DATA_DIR/users.sqlite3)."
        },
    )
    cookie_secure: str = field(
        default="auto",
        metadata={
            "help": "Session cookie only over HTTPS: yes, no, or auto (yes unless served on "
            "127.0.0.1/localhost)."
        },
    )
    sparql_row_limit: int = field(
        default=10000,
        metadata={"help": "Most rows the SPARQL workbench shows in its HTML table."},
    )
    sparql_max_rows: int = field(
        default=100000,
        metadata={"help": "Most rows (or triples) one SPARQL answer carries, in any format."},
    )
    sparql_timeout: int = field(
        default=20,
        metadata={"help": "Seconds a SPARQL query may run before it is stopped."},
    )
    sparql_memory_mb: int = field(
        default=3072,
        metadata={"help": "Memory one SPARQL worker may use before its query is stopped (MB)."},
    )
    sparql_workers: int = field(
        default=2,
        metadata={"help": "SPARQL queries run at once, each in its own worker process."},
    )

    # -- national registries (docs/registries.md) ------------------------------------------------
    registry_population_url: str = field(
        default="http://127.0.0.1:5050/dan-cu/v1",
        metadata={"help": "Population registry (CSDL quốc gia về dân cư) API base URL."},
    )
    registry_land_url: str = field(
        default="http://127.0.0.1:5050/dat-dai/v1",
        metadata={"help": "Land registry (CSDL đất đai) API base URL."},
    )
    registry_enterprise_url: str = field(
        default="http://127.0.0.1:5050/doanh-nghiep/v1",
        metadata={"help": "Enterprise registry (CSDL về đăng ký doanh nghiệp) API base URL."},
    )
    registry_officials_url: str = field(
        default="http://127.0.0.1:5050/can-bo/v1",
        metadata={"help": "Officials registry (CSDL cán bộ, công chức, viên chức) API base URL."},
    )
    registry_population_token: str = field(
        default="kho-demo-token",
        metadata={"help": "Bearer token for the population registry (the simulator's by default)."},
    )
    registry_land_token: str = field(
        default="kho-demo-token",
        metadata={"help": "Bearer token for the land registry."},
    )
    registry_enterprise_token: str = field(
        default="kho-demo-token",
        metadata={"help": "Bearer token for the enterprise registry."},
    )
    registry_officials_token: str = field(
        default="kho-demo-token",
        metadata={"help": "Bearer token for the officials registry."},
    )
    registry_land_namespace: str = field(
        default="https://dat-dai.registry.example.vn/id/",
        metadata={"help": "Namespace of the land registry's URIs (parcels, units)."},
    )
    registry_enterprise_namespace: str = field(
        default="https://doanh-nghiep.registry.example.vn/id/",
        metadata={"help": "Namespace of enterprise URIs (set it to the registry's published one)."},
    )
    registry_officials_namespace: str = field(
        default="https://can-bo.registry.example.vn/id/",
        metadata={"help": "Namespace of officials' and their agencies' URIs in the registry."},
    )
    registry_timeout: int = field(
        default=10,
        metadata={"help": "Seconds to wait for one registry answer before trying again."},
    )
    registry_retries: int = field(
        default=4,
        metadata={"help": "Retries (exponential backoff) after a 429, 5xx or timeout."},
    )
    registry_rate: int = field(
        default=10,
        metadata={"help": "Most requests per second Kho sends to one registry."},
    )
    registry_cache_days: int = field(
        default=30,
        metadata={"help": "Days a registry answer is reused before it is asked again."},
    )
    registry_cache_path: Path | None = field(
        default=None,
        metadata={"help": "Cache of registry answers (default: DATA_DIR/registry-cache.sqlite3)."},
    )
    pseudonym_key: str = field(
        default="",
        metadata={
            "help": "Keys citizens' pseudonymous URIs (HMAC); default: a random key kept in "
            "DATA_DIR/pseudonym-key. Changing it changes every citizen URI."
        },
    )

    def __post_init__(self) -> None:
        if not self.base_iri.endswith("/"):
            object.__setattr__(self, "base_iri", self.base_iri + "/")
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.store_path is None:
            object.__setattr__(self, "store_path", self.data_dir / "store")
        if self.index_path is None:
            object.__setattr__(self, "index_path", self.data_dir / "index")
        if self.files_path is None:
            object.__setattr__(self, "files_path", self.data_dir / "files")
        if self.users_path is None:
            object.__setattr__(self, "users_path", self.data_dir / "users.sqlite3")
        if self.registry_cache_path is None:
            object.__setattr__(
                self, "registry_cache_path", self.data_dir / "registry-cache.sqlite3"
            )

    def session_key(self) -> str:
        """The secret that signs session cookies: the setting, else a random key made once and
        kept (mode 600) in DATA_DIR/secret-key, so sign-ins survive restarts."""
        return self.secret_key or self._kept_key("secret-key")

    def pseudonym_secret(self) -> bytes:
        """The key of citizens' pseudonymous URIs: the setting, else a random key made once and
        kept (mode 600) in DATA_DIR/pseudonym-key. Without it a pseudonym cannot be reversed by
        trying every possible number."""
        return (self.pseudonym_key or self._kept_key("pseudonym-key")).encode()

    def _kept_key(self, name: str) -> str:
        """Made whole or not at all: written to a temp file, fsync'd, then linked into place (a
        process killed half-way must not leave an empty key, and two racing processes agree)."""
        path = self.data_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{name}-{os.getpid()}-{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_urlsafe(48))
                    out.flush()
                    os.fsync(out.fileno())
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    pass  # another process made it first: use theirs
            finally:
                tmp.unlink(missing_ok=True)
        key = path.read_text().strip()
        if not key:
            raise KhoError(
                f"{path} is empty: the key was lost. Restore it from a backup (kho restore); "
                "a new key would change (secret-key: end every session; pseudonym-key: every "
                "citizen's pseudonymous URI)."
            )
        return key

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read every setting from its KHO_* variable, falling back to the default."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"KHO_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            if f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.name.endswith(("_dir", "_path")):
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, help) for every setting, for the README and `kho settings`."""
    rows = []
    for f in fields(Settings):
        default = f.default if f.default is not None else "(derived)"
        if isinstance(default, Path):
            default = "./" + str(default.relative_to(PROJECT_DIR))
        rows.append((f"KHO_{f.name.upper()}", str(default), f.metadata.get("help", "")))
    return rows
