"""The embedded engine of repository.store: an on-disk (or in-memory) pyoxigraph Store.

Private to repository.store, which holds the logic shared by both engines (fingerprints, ingest
units, generation); this module only maps its primitives onto pyoxigraph.

RocksDB lets one process at a time open a directory read-write, and any number read-only (a
snapshot as of the opening). Three engines build on that:
* EmbeddedEngine holds the directory read-write for as long as it lives (scratch stores, tests);
* FollowerEngine reads a read-only view and reopens it when the directory changed (page workers,
  SPARQL workers);
* SharedEngine (open_store) is a follower that writes: it takes the store's write lock
  (DATA_DIR/store/kho-write.lock, flock) and opens the directory read-write only for the length
  of one write, about 12 ms. So `kho ingest`, `kho flags` or a harvest run beside `kho serve`,
  each write waiting for the one before it.

How processes share the directory (the lock, the views' private copies, the change counter that
tells additions from changes) is repository.store_directory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox

from repository.errors import KhoError, QueryError
from repository.namespaces import PREFIXES
from repository.store_directory import (
    CHANGES_FILE,
    WRITE_WAIT_SECONDS,
    StoreBusy,
    begin,
    between_writes,
    end,
    holder,
    open_copy,
    read_mark,
    read_write,
    retire,
    set_mark,
    store_signature,
    write_lock,
)

_FOLLOWING = threading.Lock()


class EmbeddedEngine:
    """pyoxigraph's Store: one read-write opener per directory (or read-only snapshots)."""

    kind = "oxigraph"
    binds_in_place = False

    def __init__(self, path: Path | None, *, read_only: bool = False) -> None:
        self.path = path
        try:
            if path is None:
                self.ox = ox.Store()
            elif read_only:
                with between_writes(path, WRITE_WAIT_SECONDS) as quiet:
                    if not quiet:
                        raise StoreBusy(path, holder(path), WRITE_WAIT_SECONDS)
                    self.ox, self.copy = open_copy(path)
            else:
                path.mkdir(parents=True, exist_ok=True)
                self.ox = ox.Store(str(path))
        except OSError as exc:
            if read_only:
                raise KhoError(f"Cannot open the store at {path} read-only: {exc}.") from exc
            raise KhoError(
                f"Cannot open the store at {path}: {exc}. Another Kho process (a running "
                "`kho serve`?) may hold it; stop it or point KHO_DATA_DIR elsewhere."
            ) from exc

    def describe(self) -> str:
        return "embedded Oxigraph, in memory" if self.path is None else f"oxigraph:{self.path}"

    # -- reading ---------------------------------------------------------------------------
    def query(self, sparql: str, graphs: list[str] | None) -> object:
        if graphs is None:
            dataset: dict[str, object] = {"use_default_graph_as_union": True}
        else:
            names = [ox.NamedNode(g) for g in graphs]
            dataset = {"default_graph": names, "named_graphs": names}
        try:
            return self.ox.query(sparql, prefixes=PREFIXES, **dataset)
        except SyntaxError as exc:
            raise QueryError(f"SPARQL syntax error: {exc}") from exc

    def quads(
        self, s: object = None, p: object = None, o: object = None, g: object = None
    ) -> Iterator[ox.Quad]:
        return self.ox.quads_for_pattern(s, p, o, g)  # type: ignore[arg-type]

    def contains(self, quad: ox.Quad) -> bool:
        return quad in self.ox

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self.ox.named_graphs())

    def adopt_graphs(self, under: str) -> list[str]:
        return self.named_graphs()

    def size(self) -> int:
        return len(self.ox)

    def count(self, graph: str) -> int:
        return sum(1 for _ in self.ox.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

    def stamp(self) -> str | None:
        return None  # only this process writes while it holds the directory

    # -- writing ---------------------------------------------------------------------------
    def write(self, remove: list[ox.Quad], add: list[ox.Quad], *, only_added: bool = False) -> None:
        """Remove and add quads in one transaction (`only_added`: the write adds new ingest units
        and nothing else, which followers may lag behind)."""
        with self._changing(not only_added):
            self._write(remove, add)

    def _write(self, remove: list[ox.Quad], add: list[ox.Quad]) -> None:
        if not remove:
            if add:
                self.ox.extend(add)
            return
        # Blank nodes cannot be named in DELETE DATA; Kho writes none, but older data may.
        blank = [q for q in remove if _has_blank(q)]
        for q in blank:
            self.ox.remove(q)
        body = update_body([q for q in remove if not _has_blank(q)], add)
        if body:
            self.ox.update(body)  # DELETE DATA and INSERT DATA in one update: one transaction

    def new_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        """Fill an empty graph: a bulk load (6x faster than one big transaction on disk, and a
        third of the size); bulk loading is not transactional, so a failure drops the graph
        again: nothing lands half-way."""
        with self._changing():
            try:
                self.ox.bulk_extend(quads)
            except BaseException:
                self.ox.remove_graph(ox.NamedNode(graph))
                raise

    def load_ntriples(self, text: str, graph: str) -> None:
        with self._changing():
            self.ox.load(text, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph))

    def load_dump(self, path: Path) -> None:
        with self._changing():
            self._load_dump(path)

    def _load_dump(self, path: Path) -> None:
        if len(self.ox) == 0:  # an empty store (a restore): the bulk loader, ~10x faster, and
            try:  # all or nothing all the same: a failure empties the store again
                self.ox.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
            except BaseException:
                self.ox.clear()
                raise
            self.ox.flush()
            return
        self.ox.load(path=str(path), format=ox.RdfFormat.N_QUADS)

    def dump(self, path: Path) -> int:
        self.ox.dump(str(path), format=ox.RdfFormat.N_QUADS)
        return len(self.ox)

    def graph_ntriples(self, graph: str | None) -> str:
        name = ox.DefaultGraph() if graph is None else ox.NamedNode(graph)
        return self.ox.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=name).decode()

    def backup(self, target: Path) -> None:
        self.ox.backup(str(target))

    def flush(self) -> None:
        if self.path is not None:
            self.ox.flush()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around each Store write (this engine holds the directory already)."""
        yield

    @contextmanager
    def _changing(self, change: bool = True) -> Iterator[None]:
        """Bracket a write that is not only an addition with the change counter, for followers."""
        if not change or self.path is None:
            yield
            return
        mark = self.path / CHANGES_FILE
        set_mark(mark, begin(read_mark(mark)))
        try:
            yield
        finally:
            set_mark(mark, end(read_mark(mark)))


class FollowerEngine(EmbeddedEngine):
    """A read-only view of an on-disk store that another process writes (`kho serve`'s page
    workers read what the serving process writes). follow() reopens the view when the store's
    files changed, so a request that calls it first reads everything committed before it began.
    Writing through it is refused."""

    stamp_interval = 0.0  # Store.generation asks stamp() every time: it costs nothing
    write_wait = WRITE_WAIT_SECONDS
    addition_lag = 0.0  # seconds follow() may leave new ingest units unread (Store.follow)

    def __init__(self, path: Path) -> None:
        self.path = path
        self._open_view(self.write_wait)

    def _open_view(self, wait: float) -> None:
        """Open a view of what is committed now, with the change stamp it shows (module doc);
        between two writes only (`wait`: how long for one to end; past it, the old view stays)."""
        assert self.path is not None
        with between_writes(self.path, wait) as quiet:
            if quiet:
                self._view_now()
            elif not hasattr(self, "signature"):
                raise StoreBusy(self.path, holder(self.path), wait)

    def _view_now(self) -> None:
        """Open the view (no write under way: the caller holds the write lock, either way)."""
        assert self.path is not None
        mark = self.path / CHANGES_FILE
        before = read_mark(mark)
        signature = store_signature(self.path)
        old = getattr(self, "copy", None)
        try:
            self.ox, self.copy = open_copy(self.path)
        except OSError as exc:
            raise KhoError(f"Cannot open the store at {self.path} read-only: {exc}.") from exc
        retire(old)
        after = read_mark(mark)
        self.opened = time.monotonic()
        self.signature = signature
        steady = before == after and before % 2 == 0
        self.change = str(after) if steady else f"view {hash(signature)}"

    def follow(self) -> None:
        """Read what was committed since, unless a write is under way (then the view stays as it
        is, whole, until the next call)."""
        assert self.path is not None
        if store_signature(self.path) == self.signature or self._may_lag():
            return
        with _FOLLOWING:  # one opening at a time: the threads after it find it done
            if store_signature(self.path) != self.signature:
                self._open_view(0.0)

    def _may_lag(self) -> bool:
        """Only additions since the view opened (the change counter as the view read it), and
        the view younger than `addition_lag`: a new view would start with a cold cache, and
        kept pages lag behind additions as long anyway (webapp.page_cache)."""
        if time.monotonic() - self.opened >= self.addition_lag:
            return False
        assert self.path is not None
        return self.change == str(read_mark(self.path / CHANGES_FILE))

    def stamp(self) -> str | None:
        return f"{hash(self.signature)}|{self.change}"

    def write(self, remove: list[ox.Quad], add: list[ox.Quad], *, only_added: bool = False) -> None:
        raise KhoError(f"{self.describe()} is read here (a page worker): writes go elsewhere.")

    def new_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        self.write([], [])

    def load_ntriples(self, text: str, graph: str) -> None:
        self.write([], [])

    def load_dump(self, path: Path) -> None:
        self.write([], [])


class SharedEngine(FollowerEngine):
    """The on-disk store as every Kho process opens it (open_store): reads go to a followed
    read-only view; a write takes the store's write lock, opens the directory read-write for
    its length, and then follows (module doc). Writes of one process go one at a time, and
    a thread's reads inside its own write see that write."""

    write_wait = WRITE_WAIT_SECONDS

    def __init__(self, path: Path) -> None:
        self._local = threading.local()
        self._one_writer = threading.RLock()
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        if not (path / "CURRENT").exists():  # a new store: made under the lock
            with write_lock(path, self.write_wait):
                if not (path / "CURRENT").exists():
                    read_write(path)  # made, and closed again at once
        self._open_view(self.write_wait)

    @property  # type: ignore[override]
    def ox(self) -> ox.Store:
        writer = getattr(self._local, "writer", None)
        return self._view if writer is None else writer

    @ox.setter
    def ox(self, value: ox.Store) -> None:
        self._view = value

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the store for one Store write: the lock, a view of what is committed now for
        the write's reads, and a read-write handle once it writes (_writer)."""
        if getattr(self._local, "held", False):
            yield  # a write inside a write (Store methods call each other)
            return
        assert self.path is not None
        if not self._one_writer.acquire(timeout=self.write_wait):  # this process's other writer
            raise StoreBusy(self.path, holder(self.path), self.write_wait)
        try:
            with write_lock(self.path, self.write_wait):
                if store_signature(self.path) != getattr(self, "signature", None):
                    self._view_now()  # what the write reads is what is committed now
                self._local.held = True
                try:
                    yield
                finally:
                    self._local.held = False
                    if getattr(self._local, "writer", None) is not None:
                        try:
                            self._local.writer.flush()  # a short log for the views to copy
                        except OSError:
                            pass  # the next opening replays the log
                        self._local.writer = None  # the only reference: RocksDB closes
                        self._view_now()  # still under the lock: this process reads its write
        finally:
            self._one_writer.release()

    def _writer(self) -> ox.Store:
        """The read-write handle of the write under way, opened at its first change: a write
        that finds nothing to change leaves the directory as it was."""
        assert self.path is not None and getattr(self._local, "held", False)
        if getattr(self._local, "writer", None) is None:
            mark = self.path / CHANGES_FILE
            if read_mark(mark) % 2:  # a writer died in the middle of a change
                set_mark(mark, end(read_mark(mark)))
            self._local.writer = read_write(self.path)
        return self._local.writer

    def write(self, remove: list[ox.Quad], add: list[ox.Quad], *, only_added: bool = False) -> None:
        with self.writing():
            if remove or add:
                self._writer()
                EmbeddedEngine.write(self, remove, add, only_added=only_added)

    def new_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        with self.writing():
            self._writer()
            EmbeddedEngine.new_graph(self, graph, quads)

    def load_ntriples(self, text: str, graph: str) -> None:
        with self.writing():
            self._writer()
            EmbeddedEngine.load_ntriples(self, text, graph)

    def load_dump(self, path: Path) -> None:
        with self.writing():
            self._writer()
            EmbeddedEngine.load_dump(self, path)

    def backup(self, target: Path) -> None:
        with self.writing():  # a checkpoint needs the read-write handle
            self._writer()
            EmbeddedEngine.backup(self, target)

    def flush(self) -> None:
        if getattr(self._local, "writer", None) is not None:
            self._local.writer.flush()


def _has_blank(q: ox.Quad) -> bool:
    return isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)


def update_body(remove: Iterable[ox.Quad], add: Iterable[ox.Quad]) -> str:
    """DELETE DATA and INSERT DATA (quads carry their graphs), for one SPARQL update request."""
    return ";\n".join(
        _quads_block(verb, qs)
        for verb, qs in (("DELETE", list(remove)), ("INSERT", list(add)))
        if qs
    )


def _quads_block(verb: str, quads: Iterable[ox.Quad]) -> str:
    by_graph: dict[str, list[str]] = {}
    for q in quads:
        by_graph.setdefault(str(q.graph_name), []).append(f"{q.subject} {q.predicate} {q.object} .")
    blocks = "".join(f"GRAPH {g} {{\n" + "\n".join(ts) + "\n}\n" for g, ts in by_graph.items())
    return f"{verb} DATA {{\n{blocks}}}"
