"""The only module that talks to the triple store: open it, query it, replace a graph atomically."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox

from repository.errors import KhoError, QueryError
from repository.namespaces import PREFIXES

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


# Strings, IRIs and comments are blanked before looking for forbidden keywords, so a literal
# "SERVICE" in a label does not trip the check.
_STRIP = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*',
)
_UPDATE = re.compile(
    r"\b(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b", re.IGNORECASE
)
_FORM = re.compile(r"\b(SELECT|CONSTRUCT|DESCRIBE|ASK)\b", re.IGNORECASE)
_SERVICE = re.compile(r"\bSERVICE\b", re.IGNORECASE)


def check_read_only(sparql: str) -> str:
    """Refuse updates and federated SERVICE calls; return the query form (SELECT, ASK...)."""
    bare = _STRIP.sub(" ", sparql)
    form = _FORM.search(bare)
    update = _UPDATE.search(bare)
    if update and (not form or update.start() < form.start()):
        raise QueryError(
            f"This endpoint is read-only: SPARQL Update ({update.group(1).upper()}) is refused. "
            "Send a SELECT, CONSTRUCT, DESCRIBE or ASK query."
        )
    if _SERVICE.search(bare):
        raise QueryError(
            "SERVICE (federated query) is not allowed here: Kho does not call other endpoints "
            "on a user's behalf. Query the remote endpoint directly."
        )
    if not form:
        raise QueryError("Not a SPARQL query: expected SELECT, CONSTRUCT, DESCRIBE or ASK.")
    return form.group(1).upper()


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


_OPEN: dict[Path, Store] = {}


def open_store(path: Path | str) -> Store:
    """The process's one Store for `path` (Oxigraph allows a single read-write opener)."""
    key = Path(path).resolve()
    if key not in _OPEN:
        _OPEN[key] = Store(key)
    return _OPEN[key]


T = TypeVar("T")


def _writes(method: Callable[..., T]) -> Callable[..., T]:
    """Mark a Store method that changes the store: bump its generation once the write is done."""

    @functools.wraps(method)
    def write(self: Store, *args: object, **kwargs: object) -> T:
        try:
            return method(self, *args, **kwargs)
        finally:
            self.generation += 1

    return write


class Store:
    """An on-disk Oxigraph store; use open_store() to share one per path in a process."""

    def __init__(self, path: Path | str | None) -> None:
        self.path = Path(path) if path is not None else None
        # Bumped after every write through this object: caches of derived answers (counts,
        # dashboards) key on it. Only this process writes while it holds the store.
        self.generation = 0
        try:
            if self.path is None:
                self._ox = ox.Store()
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._ox = ox.Store(str(self.path))
        except OSError as exc:
            raise KhoError(
                f"Cannot open the store at {self.path}: {exc}. Another Kho process (a running "
                "`kho serve`?) may hold it; stop it or point KHO_DATA_DIR elsewhere."
            ) from exc

    # -- reading ---------------------------------------------------------------------------
    def _graphs(self, graphs: Iterable[str] | None) -> dict[str, object]:
        if graphs is None:
            return {"use_default_graph_as_union": True}
        names = [ox.NamedNode(g) for g in graphs]
        return {"default_graph": names, "named_graphs": names}

    def query(
        self,
        sparql: str,
        *,
        graphs: Iterable[str] | None = None,
        substitutions: dict[str, ox.NamedNode | ox.Literal] | None = None,
    ) -> QueryResult:
        """Run a read-only query; `graphs` limits what it sees (all graphs by default)."""
        form = check_read_only(sparql)
        if substitutions:
            sparql = bind_values(sparql, substitutions)
        try:
            result = self._ox.query(sparql, prefixes=PREFIXES, **self._graphs(graphs))
        except SyntaxError as exc:
            raise QueryError(f"SPARQL syntax error: {exc}") from exc
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

    def graph_quads(self, graph: str) -> Iterator[ox.Quad]:
        return self._ox.quads_for_pattern(None, None, None, ox.NamedNode(graph))

    def count(self, graph: str | None = None) -> int:
        if graph is None:
            return len(self._ox)
        return sum(1 for _ in self.graph_quads(graph))

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self._ox.named_graphs())

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
        if fingerprint in self._ox:
            return 0, 0
        old_prints = list(self._ox.quads_for_pattern(g, _FINGERPRINT, None, _META))
        current = set(self.graph_quads(graph))
        added = wanted - current
        removed = current - wanted
        self._ox.extend([fingerprint])
        for q in old_prints:
            self._ox.remove(q)
        if not added and not removed:
            return 0, 0
        if not current:
            # A fresh graph is bulk-loaded (6x faster than one big transaction on disk, and a
            # third of the size); bulk loading is not transactional, so a failure drops the graph
            # again: nothing lands half-way.
            try:
                self._ox.bulk_extend(added)
            except BaseException:
                self._ox.remove_graph(g)
                raise
        elif not removed:
            self._ox.extend(added)  # one transaction
        else:
            # Blank nodes cannot be named in DELETE DATA; Kho writes none, but older data may.
            for q in [
                q
                for q in removed
                if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)
            ]:
                self._ox.remove(q)
                removed.discard(q)
            # DELETE DATA and INSERT DATA in one update run in one transaction.
            body = ";\n".join(
                _data_block(verb, g, qs)
                for verb, qs in (("DELETE", removed), ("INSERT", added))
                if qs
            )
            self._ox.update(body)
        return len(added), len(removed)

    @_writes
    def add_quads(self, quads: Iterable[ox.Quad]) -> None:
        """Add quads (each with its graph) in one transaction: all land or none."""
        self._ox.extend(list(quads))

    @_writes
    def update_quads(self, remove: Iterable[ox.Quad], add: Iterable[ox.Quad]) -> None:
        """Remove some quads and add others in one transaction (quads carry their graphs)."""
        remove, add = list(remove), list(add)
        body = ";\n".join(
            _quads_block(verb, qs) for verb, qs in (("DELETE", remove), ("INSERT", add)) if qs
        )
        if body:
            self._ox.update(body)

    def unit_digest(self, key: str) -> str | None:
        """The content digest last committed for an ingest unit, or None if it is new."""
        for q in self._ox.quads_for_pattern(ox.NamedNode(key), _FINGERPRINT, None, _META):
            return q.object.value
        return None

    def unit_subjects(self, key: str) -> set[str]:
        """The subjects an ingest unit owns (what a re-ingest replaces)."""
        owned = self._ox.quads_for_pattern(ox.NamedNode(key), _OWNS, None, _META)
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
            self._ox.extend(new)
        if changed:
            removed: list[ox.Quad] = []
            added: list[ox.Quad] = []
            for unit, old in changed:
                key = ox.NamedNode(unit.key)
                for subject in self.unit_subjects(unit.key) - unit.keep:
                    removed += [
                        q
                        for q in self._ox.quads_for_pattern(ox.NamedNode(subject), None, None, None)
                        if q.graph_name != _META
                    ]
                removed += list(self._ox.quads_for_pattern(key, _OWNS, None, _META))
                removed.append(ox.Quad(key, _FINGERPRINT, ox.Literal(old or ""), _META))
                added += [q for q in unit.quads if q.subject.value not in unit.keep]
                added += unit.history + _unit_meta(unit)
            body = ";\n".join(
                _quads_block(verb, qs)
                for verb, qs in (("DELETE", removed), ("INSERT", added))
                if qs
            )
            self._ox.update(body)  # one update: one transaction
        if (new or changed) and self.path is not None:
            # Write the memtables out after each commit: without it RocksDB's memory grew by
            # ~100 MB per 1,000 hồ sơ (30k records: 1 GB); with it memory stays flat.
            self._ox.flush()
        return stats

    @_writes
    def load_file(self, path: Path, graph: str, fmt: ox.RdfFormat | None = None) -> None:
        """Parse a file into a named graph, atomically (all or nothing)."""
        fmt = fmt or ox.RdfFormat.from_extension(path.suffix.lstrip("."))
        quads = [
            ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph))
            for t in ox.parse(path=str(path), format=fmt)
        ]
        self._ox.extend(quads)

    def dump(self, path: Path) -> int:
        """Write every quad as N-Quads; return how many."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._ox.dump(str(path), format=ox.RdfFormat.N_QUADS)
        return len(self._ox)

    @_writes
    def load_dump(self, path: Path) -> int:
        """Load an N-Quads dump (all or nothing); return the store's size afterwards."""
        self._ox.load(path=str(path), format=ox.RdfFormat.N_QUADS)
        return len(self._ox)

    @_writes
    def load_ntriples(self, text: str, graph: str) -> None:
        """Load N-Triples text into one named graph (a bulk load: for scratch stores)."""
        self._ox.load(text, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph))

    def graph_ntriples(self, graph: str | None) -> str:
        """One graph (None: the default graph) as N-Triples text."""
        name = ox.DefaultGraph() if graph is None else ox.NamedNode(graph)
        return self._ox.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=name).decode()

    def backup(self, target: Path) -> None:
        """A consistent copy of the on-disk store (hard links where possible: cheap)."""
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        self._ox.backup(str(target))

    def flush(self) -> None:
        self._ox.flush()


def bind_values(sparql: str, values: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """Bind variables to terms with a VALUES block at the start of the WHERE clause.

    (pyoxigraph's own `substitutions` only accepts projected variables.) Terms are written in
    N-Triples syntax by pyoxigraph, so a value can never inject query text.
    """
    where = re.search(r"\bWHERE\s*\{", sparql, re.IGNORECASE)
    if where is None:
        raise QueryError("Internal query without a WHERE clause cannot take bound values.")
    names = " ".join(f"?{k}" for k in values)
    terms = " ".join(str(v) for v in values.values())
    block = f" VALUES ({names}) {{ ({terms}) }} "
    return sparql[: where.end()] + block + sparql[where.end() :]


def _data_block(verb: str, graph: ox.NamedNode, quads: Iterable[ox.Quad]) -> str:
    triples = "".join(f"{q.subject} {q.predicate} {q.object} .\n" for q in quads)
    return f"{verb} DATA {{ GRAPH {graph} {{\n{triples}}} }}"


def _quads_block(verb: str, quads: Iterable[ox.Quad]) -> str:
    by_graph: dict[str, list[str]] = {}
    for q in quads:
        by_graph.setdefault(str(q.graph_name), []).append(f"{q.subject} {q.predicate} {q.object} .")
    blocks = "".join(f"GRAPH {g} {{\n" + "\n".join(ts) + "\n}\n" for g, ts in by_graph.items())
    return f"{verb} DATA {{\n{blocks}}}"


def _unit_meta(unit: CommitUnit) -> list[ox.Quad]:
    key = ox.NamedNode(unit.key)
    subjects = {q.subject.value for q in unit.quads if isinstance(q.subject, ox.NamedNode)}
    return [ox.Quad(key, _FINGERPRINT, ox.Literal(unit.digest), _META)] + [
        ox.Quad(key, _OWNS, ox.NamedNode(s), _META) for s in sorted(subjects | unit.keep)
    ]


def to_python(term: object) -> object:
    """A query-result term as a plain Python value: IRIs and strings as str, numbers as numbers."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        dt = term.datatype.value
        if dt.endswith(("#integer", "#int", "#long", "#nonNegativeInteger")):
            return int(term.value)
        if dt.endswith(("#decimal", "#double", "#float")):
            return float(term.value)
        if dt.endswith("#boolean"):
            return term.value == "true"
        return term.value
    return term.value  # type: ignore[attr-defined]


def open_store_read_only(path: Path | str) -> Store:
    """A read-only Store on `path`, usable while another process holds it for writing."""
    store = Store.__new__(Store)
    store.path = Path(path)
    try:
        store._ox = ox.Store.read_only(str(path))
    except OSError as exc:
        raise KhoError(f"Cannot open the store at {path} read-only: {exc}.") from exc
    return store
