"""The only module that talks to the triple store: open it, query it, replace a graph atomically.

Two engines sit behind Store: the embedded on-disk Oxigraph store (repository.store_oxigraph,
the default) and any SPARQL 1.1 Query/Update/Graph Store Protocol server
(repository.store_sparql), chosen by KHO_STORE. What Kho means by a write (fingerprints, ingest
units, generation) lives here, once, above them.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import pyoxigraph as ox

from repository.errors import KhoError, QueryError
from repository.namespaces import PREFIXES
from repository.sparql_text import bind_values, check_read_only, to_python

if TYPE_CHECKING:
    from repository.config import Settings

RESULT_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "jsonld": ox.RdfFormat.JSON_LD,
}

_META = ox.NamedNode("https://w3id.org/kho/ns#metaGraph")
_FINGERPRINT = ox.NamedNode("https://w3id.org/kho/ns#contentDigest")
_OWNS = ox.NamedNode("https://w3id.org/kho/ns#owns")
STAMP_INTERVAL = 1.0  # seconds between two reads of a server store's write stamp


@dataclass
class CommitUnit:
    """What one ingest unit (a hồ sơ with its documents) puts in the store, committed whole.

    `quads` is the unit's own content, replaced as a whole when it changes; `history` is
    append-only (preservation events) and never removed; subjects in `keep` (decisions and flags an
    archivist has reviewed) are neither removed nor overwritten by a re-ingest.
    """

    key: str
    digest: str
    quads: list[ox.Quad]
    history: list[ox.Quad]
    keep: set[str]


@dataclass
class CommitStats:
    added: list[str]
    replaced: list[str]
    unchanged: list[str]


@dataclass
class QueryResult:
    """A finished query: its form and the engine's result object."""

    form: str
    result: object

    def serialize(self, fmt: str) -> bytes:
        """Serialise SELECT/ASK results (json, xml, csv, tsv) or graphs (turtle, ntriples...)."""
        if self.form in ("SELECT", "ASK"):
            if fmt not in RESULT_FORMATS:
                raise QueryError(f"Unknown result format {fmt!r}; use json, xml, csv or tsv.")
            return self.result.serialize(format=RESULT_FORMATS[fmt])  # type: ignore[attr-defined]
        if fmt not in GRAPH_FORMATS:
            raise QueryError(f"Unknown graph format {fmt!r}; use turtle, ntriples or jsonld.")
        return ox.serialize(self.result, format=GRAPH_FORMATS[fmt], prefixes=PREFIXES)  # type: ignore[arg-type]


_OPEN: dict[str, Store] = {}
_SPEC_HELP = (
    "Set KHO_STORE to oxigraph:PATH (the embedded on-disk store) or "
    "sparql:QUERY_URL,UPDATE_URL,GSP_URL (a SPARQL 1.1 server; README, Triplestore servers)."
)


def store_spec(settings: Settings) -> str:
    """The KHO_STORE value in force: `settings.store`, or the embedded store at store_path."""
    return settings.store.strip() or f"oxigraph:{settings.store_path}"


def open_store(where: Settings | Path | str) -> Store:
    """The process's one Store for a Settings (KHO_STORE picks the back-end) or a path (the
    embedded on-disk store, which other Kho processes may read and write at the same time:
    repository.store_oxigraph.SharedEngine)."""
    if isinstance(where, (Path, str)):
        key = f"oxigraph:{Path(where).resolve()}"
        if key not in _OPEN:
            from repository.store_oxigraph import SharedEngine  # noqa: PLC0415

            path = Path(where).resolve()
            _OPEN[key] = Store(path, engine=SharedEngine(path))
        return _OPEN[key]
    kind, target = _parse_spec(store_spec(where))
    if kind == "oxigraph":
        return open_store(target)
    key = f"sparql:{target}|{where.store_user}"
    if key not in _OPEN:
        from repository.store_sparql import SparqlEngine  # noqa: PLC0415

        _OPEN[key] = Store(None, engine=SparqlEngine.from_settings(target, where))
    return _OPEN[key]


def open_store_read_only(where: Settings | Path | str) -> Store:
    """A Store to read while another process writes: a read-only snapshot of an embedded store,
    or the same server store (a server handles concurrent readers and writers itself)."""
    if not isinstance(where, (Path, str)):
        kind, target = _parse_spec(store_spec(where))
        if kind == "sparql":
            return open_store(where)
        where = target
    from repository.store_oxigraph import EmbeddedEngine  # noqa: PLC0415

    return Store(Path(where), engine=EmbeddedEngine(Path(where), read_only=True))


def open_store_follower(settings: Settings) -> Store:
    """A Store for a process that only reads while another process holds the store: on the
    embedded store, a read-only view that Store.follow() brings up to date (kho serve's page
    workers); on a server, the same server store."""
    kind, target = _parse_spec(store_spec(settings))
    if kind == "sparql":
        return open_store(settings)
    from repository.store_oxigraph import FollowerEngine  # noqa: PLC0415

    return Store(Path(target), engine=FollowerEngine(Path(target)))


def is_embedded(settings: Settings) -> bool:
    return _parse_spec(store_spec(settings))[0] == "oxigraph"


def embedded_path(settings: Settings) -> Path | None:
    """The directory of the embedded store KHO_STORE names (None for a server)."""
    kind, target = _parse_spec(store_spec(settings))
    return Path(target) if kind == "oxigraph" else None


def _parse_spec(spec: str) -> tuple[str, str]:
    kind, sep, target = spec.partition(":")
    if sep and kind == "oxigraph" and target.strip():
        return kind, target.strip()
    if sep and kind == "sparql" and len([u for u in target.split(",") if u.strip()]) == 3:
        return kind, target.strip()
    raise KhoError(f"KHO_STORE={spec!r} is not a store this Kho knows. {_SPEC_HELP}")


T = TypeVar("T")


def _writes(method: Callable[..., T]) -> Callable[..., T]:
    """Mark a Store method that changes the store: bump its generation once the write is done."""

    @functools.wraps(method)
    def write(self: Store, *args: object, **kwargs: object) -> T:
        self._mine.only_added = False
        try:
            with self._engine.writing():  # what the method reads and writes, as one
                return method(self, *args, **kwargs)
        finally:
            self._generation += 1
            if not self._mine.only_added:
                self._changes += 1
            self._mine.only_added = False

    return write


class Store:
    """A triple store behind one interface: the embedded on-disk Oxigraph store, or a SPARQL 1.1
    server (repository.store_sparql). Use open_store() to share one per store in a process;
    `Store(path)` is the embedded store at `path` (None: in memory, for scratch work)."""

    def __init__(self, path: Path | str | None, *, engine: Engine | None = None) -> None:
        if engine is None:
            from repository.store_oxigraph import EmbeddedEngine  # noqa: PLC0415

            engine = EmbeddedEngine(Path(path) if path is not None else None)
        self._engine = engine
        self.path = Path(path) if path is not None else None
        self._generation = 0
        self._changes = 0  # writes that changed or removed what was there (not only added)
        self._mine = threading.local()  # .only_added: this thread's write only added units
        self._seen_stamp: str | None = None
        self._seen_change: str | None = None
        self._checked = 0.0

    @property
    def in_memory(self) -> bool:
        """A scratch store in this process's memory (Store(None))."""
        return self._engine.kind == "oxigraph" and self.path is None

    @property
    def on_server(self) -> bool:
        """A store on a SPARQL server (every read is a round trip to another process)."""
        return self._engine.kind == "sparql"

    @property
    def backend(self) -> str:
        """Which store this is, for people: oxigraph:PATH or sparql:QUERY_URL (dialect)."""
        return self._engine.describe()

    @property
    def generation(self) -> int:
        """Grows after every write: caches of derived answers (counts, dashboards) key on it.

        On a server it also grows when another process wrote (a stamp in the store, read at most
        once a second), so `kho ingest` beside `kho serve` never leaves stale answers."""
        now = time.monotonic()
        if now - self._checked >= getattr(self._engine, "stamp_interval", STAMP_INTERVAL):
            self._checked = now
            stamp = self._engine.stamp()
            if stamp != self._seen_stamp:
                self._seen_stamp = stamp
                self._generation += 1
                change = (stamp or "").partition("|")[2]  # a server's stamp of changes
                if change != self._seen_change:
                    self._seen_change = change
                    self._changes += 1
        return self._generation

    @property
    def change_generation(self) -> int:
        """Grows after every write that changed or removed anything, but not after a commit of
        ingest units that only added new ones (commit_units): between two such writes the store
        only grew. Kept answers may lag behind additions (webapp.page_cache), never behind a
        change: an edit, a restriction or a deletion."""
        self.generation  # noqa: B018 - reads a server's stamps when due
        return self._changes

    def wait_for_writes(self, seconds: float) -> None:
        """How long a write waits for another process's to end before it gives up (StoreBusy):
        the embedded store takes one write at a time across processes. A server orders its
        writers itself."""
        if hasattr(self._engine, "write_wait"):
            self._engine.write_wait = seconds  # type: ignore[attr-defined]

    def lag_behind_additions(self, seconds: float) -> None:
        """Let follow() leave writes that only added new ingest units unread for up to `seconds`
        (an embedded store's view, reopened after such writes, would start with a cold cache):
        any other write is read at the next follow(), and this process's own writes at once."""
        if hasattr(self._engine, "addition_lag"):
            self._engine.addition_lag = seconds  # type: ignore[attr-defined]

    def follow(self) -> None:
        """Read what the writing process committed since (a follower's view, see
        open_store_follower); nothing on other stores, which are always current."""
        follow = getattr(self._engine, "follow", None)
        if follow is not None:
            follow()

    # -- reading ---------------------------------------------------------------------------
    def query(
        self,
        sparql: str,
        *,
        graphs: Iterable[str] | None = None,
        substitutions: dict[str, ox.NamedNode | ox.Literal] | None = None,
    ) -> QueryResult:
        """Run a read-only query; `graphs` limits what it sees (all graphs by default)."""
        form = _read_only_form(sparql)
        if substitutions:
            sparql = bind_values(sparql, substitutions, in_place=self._engine.binds_in_place)
        result = self._engine.query(sparql, None if graphs is None else list(graphs))
        return QueryResult(form, result)

    def select(self, sparql: str, **kwargs: object) -> list[dict[str, object]]:
        """Rows of a SELECT query as dicts of Python values (str, int, float, bool, None)."""
        result = self.query(sparql, **kwargs)  # type: ignore[arg-type]
        names = [v.value for v in result.result.variables]  # type: ignore[attr-defined]
        return [{n: to_python(row[n]) for n in names} for row in result.result]  # type: ignore[attr-defined]

    def ask(self, sparql: str, **kwargs: object) -> bool:
        return bool(self.query(sparql, **kwargs).result)  # type: ignore[arg-type]

    def triples(self, sparql: str, **kwargs: object) -> list[ox.Triple]:
        """The triples of a CONSTRUCT or DESCRIBE query."""
        return list(self.query(sparql, **kwargs).result)  # type: ignore[arg-type, call-overload]

    def quads(
        self,
        subject: ox.NamedNode | ox.BlankNode | str | None = None,
        predicate: ox.NamedNode | str | None = None,
        obj: object = None,
        graph: ox.NamedNode | str | None = None,
    ) -> Iterator[ox.Quad]:
        """Quads matching a pattern (None: any; a str is an IRI) in any of the store's graphs."""
        return self._engine.quads(_term(subject), _term(predicate), _term(obj), _term(graph))

    def graph_quads(self, graph: str) -> Iterator[ox.Quad]:
        return self._engine.quads(None, None, None, ox.NamedNode(graph))

    def count(self, graph: str | None = None) -> int:
        """Quads in one graph, or in the whole store."""
        return self._engine.size() if graph is None else self._engine.count(graph)

    def __len__(self) -> int:
        return self._engine.size()

    def named_graphs(self) -> list[str]:
        return self._engine.named_graphs()

    @_writes
    def adopt_graphs(self, under: str) -> list[str]:
        """Make graphs loaded behind Kho's back (a server's own bulk loader) Kho's: every graph
        the server holds whose IRI starts with `under`, and Kho's meta graph. Returns the graphs
        Kho now sees. On the embedded store every graph is already Kho's."""
        return self._engine.adopt_graphs(under)

    # -- writing ---------------------------------------------------------------------------
    @_writes
    def replace_graph(self, graph: str, quads: Iterable[ox.Quad]) -> tuple[int, int]:
        """Make `graph` hold exactly `quads`, atomically; return (added, removed).

        Only the difference is written, so replacing a graph by its own content writes nothing.
        """
        g = ox.NamedNode(graph)
        wanted = {ox.Quad(q.subject, q.predicate, q.object, g) for q in quads}
        # A fingerprint of the graph, kept in the meta graph, spares reading millions of quads
        # back when nothing changed (the usual re-harvest).
        digest = hashlib.sha256("\n".join(sorted(map(str, wanted))).encode()).hexdigest()
        fingerprint = ox.Quad(g, _FINGERPRINT, ox.Literal(digest), _META)
        if self._engine.contains(fingerprint):
            return 0, 0
        old_prints = list(self._engine.quads(g, _FINGERPRINT, None, _META))
        current = set(self.graph_quads(graph))
        added = wanted - current
        removed = current - wanted
        if not current and added:
            self._engine.new_graph(graph, added)  # all or nothing
            self._engine.write(old_prints, [fingerprint])
        else:
            # The fingerprint changes in the same transaction as the content.
            self._engine.write(old_prints + list(removed), list(added) + [fingerprint])
        return len(added), len(removed)

    @_writes
    def add_quads(self, quads: Iterable[ox.Quad]) -> None:
        """Add quads (each with its graph) in one transaction: all land or none."""
        self._engine.write([], list(quads))

    @_writes
    def update_quads(self, remove: Iterable[ox.Quad], add: Iterable[ox.Quad]) -> None:
        """Remove some quads and add others in one transaction (quads carry their graphs)."""
        remove, add = list(remove), list(add)
        if remove or add:
            self._engine.write(remove, add)

    def unit_digest(self, key: str) -> str | None:
        """The content digest last committed for an ingest unit, or None if it is new."""
        for q in self._engine.quads(ox.NamedNode(key), _FINGERPRINT, None, _META):
            return q.object.value
        return None

    def unit_subjects(self, key: str) -> set[str]:
        """The subjects an ingest unit owns (what a re-ingest replaces)."""
        owned = self._engine.quads(ox.NamedNode(key), _OWNS, None, _META)
        return {q.object.value for q in owned}

    @_writes
    def commit_units(self, units: list[CommitUnit]) -> CommitStats:
        """Commit ingest units: new ones in one transaction, changed ones in another.

        A unit is always whole in the store: its old content is deleted and its new content
        inserted in the same transaction. Units whose digest did not change write nothing.
        """
        stats = CommitStats([], [], [])
        new: list[ox.Quad] = []
        changed: list[tuple[CommitUnit, str | None]] = []
        for unit in units:
            old = self.unit_digest(unit.key)
            if old == unit.digest:
                stats.unchanged.append(unit.key)
            elif old is None:
                new += unit.quads + unit.history + _unit_meta(unit)
                stats.added.append(unit.key)
            else:
                changed.append((unit, old))
                stats.replaced.append(unit.key)
        if new:
            self._engine.write([], new, only_added=not changed)
        if changed:
            removed: list[ox.Quad] = []
            added: list[ox.Quad] = []
            for unit, old in changed:
                key = ox.NamedNode(unit.key)
                for subject in self.unit_subjects(unit.key) - unit.keep:
                    removed += [
                        q
                        for q in self._engine.quads(ox.NamedNode(subject), None, None, None)
                        if q.graph_name != _META
                    ]
                removed += list(self._engine.quads(key, _OWNS, None, _META))
                removed.append(ox.Quad(key, _FINGERPRINT, ox.Literal(old or ""), _META))
                added += [q for q in unit.quads if q.subject.value not in unit.keep]
                added += unit.history + _unit_meta(unit)
            self._engine.write(removed, added)  # one update: one transaction
        if new or changed:
            # Write the memtables out after each commit: without it RocksDB's memory grew by
            # ~100 MB per 1,000 hồ sơ (30k records: 1 GB); with it memory stays flat.
            self._engine.flush()
        self._mine.only_added = not changed  # new units only add: nothing there was changes
        return stats

    @_writes
    def load_file(self, path: Path, graph: str, fmt: ox.RdfFormat | None = None) -> None:
        """Parse a file into a named graph, atomically (all or nothing)."""
        fmt = fmt or ox.RdfFormat.from_extension(path.suffix.lstrip("."))
        quads = [
            ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph))
            for t in ox.parse(path=str(path), format=fmt)
        ]
        self._engine.write([], quads)

    def dump(self, path: Path) -> int:
        """Write every quad of the store's graphs as N-Quads; return how many."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return self._engine.dump(path)

    @_writes
    def load_dump(self, path: Path) -> int:
        """Load an N-Quads dump (all or nothing); return the store's size afterwards."""
        self._engine.load_dump(path)
        return self._engine.size()

    @_writes
    def load_ntriples(self, text: str, graph: str) -> None:
        """Load N-Triples text into one named graph (a bulk load: for scratch stores)."""
        self._engine.load_ntriples(text, graph)

    def graph_ntriples(self, graph: str | None) -> str:
        """One graph (None: the default graph) as N-Triples text."""
        return self._engine.graph_ntriples(graph)

    def backup(self, target: Path) -> None:
        """A consistent copy of the on-disk store (hard links where possible: cheap)."""
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        self._engine.backup(Path(target))

    def flush(self) -> None:
        self._engine.flush()


class Engine(Protocol):
    """What an engine does for Store (repository.store_oxigraph, repository.store_sparql)."""

    kind: str

    binds_in_place: bool  # write bound terms into the query text too (bind_values)

    def describe(self) -> str: ...
    def query(self, sparql: str, graphs: list[str] | None) -> object: ...
    def quads(self, s: object, p: object, o: object, g: object) -> Iterator[ox.Quad]: ...
    def contains(self, quad: ox.Quad) -> bool: ...
    def named_graphs(self) -> list[str]: ...
    def adopt_graphs(self, under: str) -> list[str]: ...
    def size(self) -> int: ...
    def count(self, graph: str) -> int: ...
    def stamp(self) -> str | None: ...
    def write(
        self, remove: list[ox.Quad], add: list[ox.Quad], *, only_added: bool = False
    ) -> None: ...
    def new_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None: ...
    def load_ntriples(self, text: str, graph: str) -> None: ...
    def load_dump(self, path: Path) -> None: ...
    def dump(self, path: Path) -> int: ...
    def graph_ntriples(self, graph: str | None) -> str: ...
    def backup(self, target: Path) -> None: ...
    def flush(self) -> None: ...
    def writing(self) -> AbstractContextManager[None]: ...


@lru_cache(maxsize=1024)
def _read_only_form(sparql: str) -> str:
    """check_read_only, once per query text: Kho's own queries repeat (a page runs the same few)."""
    return check_read_only(sparql)


def _term(value: object) -> object:
    return ox.NamedNode(value) if isinstance(value, str) else value


def _unit_meta(unit: CommitUnit) -> list[ox.Quad]:
    key = ox.NamedNode(unit.key)
    subjects = {q.subject.value for q in unit.quads if isinstance(q.subject, ox.NamedNode)}
    return [ox.Quad(key, _FINGERPRINT, ox.Literal(unit.digest), _META)] + [
        ox.Quad(key, _OWNS, ox.NamedNode(s), _META) for s in sorted(subjects | unit.keep)
    ]
