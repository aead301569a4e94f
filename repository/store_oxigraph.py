"""The embedded engine of repository.store: an on-disk (or in-memory) pyoxigraph Store.

Private to repository.store, which holds the logic shared by both engines (fingerprints, ingest
units, generation); this module only maps its primitives onto pyoxigraph.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyoxigraph as ox

from repository.errors import KhoError, QueryError
from repository.namespaces import PREFIXES


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
                self.ox = _read_only(path)
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
        """Remove and add quads in one transaction (`only_added`: for a server's stamps)."""
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
        try:
            self.ox.bulk_extend(quads)
        except BaseException:
            self.ox.remove_graph(ox.NamedNode(graph))
            raise

    def load_ntriples(self, text: str, graph: str) -> None:
        self.ox.load(text, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph))

    def load_dump(self, path: Path) -> None:
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


class FollowerEngine(EmbeddedEngine):
    """A read-only view of an on-disk store that another process writes (`kho serve`'s page
    workers read what the serving process writes). follow() reopens the view when the store's
    files changed, so a request that calls it first reads everything committed before it began.
    Writing through it is refused."""

    stamp_interval = 0.0  # Store.generation asks stamp() every time: it costs nothing

    def __init__(self, path: Path) -> None:
        self.signature = store_signature(path)
        super().__init__(path, read_only=True)

    def follow(self) -> None:
        assert self.path is not None
        signature = store_signature(self.path)
        if signature == self.signature:
            return
        try:
            self.ox = _read_only(self.path)  # if that fails, the old view stays
        except OSError as exc:
            raise KhoError(f"Cannot read the latest state of {self.path}: {exc}.") from exc
        self.signature = signature

    def stamp(self) -> str | None:
        seen = str(hash(self.signature))
        return f"{seen}|{seen}"  # a follower cannot tell additions from changes: all change

    def write(self, remove: list[ox.Quad], add: list[ox.Quad], *, only_added: bool = False) -> None:
        raise KhoError(f"{self.describe()} is read here (a page worker): writes go elsewhere.")

    def new_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        self.write([], [])

    def load_ntriples(self, text: str, graph: str) -> None:
        self.write([], [])

    def load_dump(self, path: Path) -> None:
        self.write([], [])


def _read_only(path: Path) -> ox.Store:
    try:
        return ox.Store.read_only(str(path))
    except OSError:
        time.sleep(0.05)  # a write was rewriting the manifest: once more
        return ox.Store.read_only(str(path))


def store_signature(path: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the store directory's files: they change with
    every commit."""
    entries = []
    with os.scandir(path) as listing:
        for entry in listing:
            try:
                stat = entry.stat()
            except FileNotFoundError:  # removed by a compaction meanwhile
                continue
            entries.append((entry.name, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


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
