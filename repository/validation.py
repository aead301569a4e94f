"""Runs the shapes in shapes/ over a store or a candidate graph and returns a readable report.

Each constraint is one set-based SELECT over the whole store (see repository/shacl_sparql.py), so a
store of millions of triples is checked in seconds rather than node by node. A candidate chunk
(an in-memory store, or triples not yet in any store) is checked faster: the simple core
constraints run in Python over an index of its triples (repository/shacl_fast.py) while the
others run as SPARQL on a second thread; both paths report exactly the same violations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import pyoxigraph as ox
from rdflib import Graph

from repository.errors import ConfigError
from repository.namespaces import PREFIXES
from repository.shacl_fast import Plan, Row, evaluate, make_plan
from repository.shacl_index import TripleIndex
from repository.shacl_index import term_text as nt_text
from repository.shacl_sparql import CompiledConstraint, compile_shapes
from repository.store import Store

CANDIDATE_GRAPH = "urn:x-kho:candidate"
_TEMPLATE = re.compile(r"\{[?$](\w+)\}")
_HEADINGS = {
    "vi": (
        "Hợp lệ: không có vi phạm nào.",
        "Không hợp lệ: {n} vi phạm trên {f} nút.",
        "đường dẫn",
        "giá trị",
        "ràng buộc",
    ),
    "en": (
        "Conforms: no violations.",
        "Does not conform: {n} violations on {f} nodes.",
        "path",
        "value",
        "shape",
    ),
}


@dataclass(frozen=True)
class Violation:
    """One focus node failing one constraint."""

    focus: str
    path: str | None
    shape: str
    component: str
    message_vi: str
    message_en: str
    value: str | None

    def message(self, lang: str = "vi") -> str:
        return self.message_vi if lang == "vi" else self.message_en


@dataclass
class ValidationReport:
    """The outcome of a validation: conforms, and every violation found."""

    conforms: bool
    violations: list[Violation] = field(default_factory=list)

    def focus_nodes(self) -> set[str]:
        return {v.focus for v in self.violations}

    def messages(self, lang: str = "vi") -> list[str]:
        """One line per violation: focus node, path and the shape's message."""
        return [
            f"{compact(v.focus)}{f' ({compact(v.path)})' if v.path else ''}: {v.message(lang)}"
            for v in self.violations
        ]

    def text(self, lang: str = "vi") -> str:
        """A readable report in Vietnamese or English, grouped by focus node."""
        ok, bad, path_word, value_word, shape_word = _HEADINGS["vi" if lang == "vi" else "en"]
        if self.conforms:
            return ok
        lines = [bad.format(n=len(self.violations), f=len(self.focus_nodes()))]
        by_focus: dict[str, list[Violation]] = {}
        for v in self.violations:
            by_focus.setdefault(v.focus, []).append(v)
        for focus in sorted(by_focus):
            lines.append(f"\n{compact(focus)}")
            for v in by_focus[focus]:
                lines.append(f"  - {v.message(lang)}")
                if v.path:
                    lines.append(f"      {path_word}: {compact(v.path)}")
                if v.value is not None:
                    lines.append(f"      {value_word}: {compact(v.value)}")
                lines.append(f"      {shape_word}: {compact(v.shape)} ({compact(v.component)})")
        return "\n".join(lines)

    def to_json(self) -> str:
        """The report as JSON: {"conforms": ..., "violations": [{focus, path, ...}]}."""
        body = {"conforms": self.conforms, "violations": [asdict(v) for v in self.violations]}
        return json.dumps(body, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class ShapesGraph:
    """Shapes parsed once and compiled to one query per constraint."""

    graph: Graph
    constraints: list[CompiledConstraint]
    _plan: list[Plan] = field(default_factory=list, init=False, repr=False, compare=False)

    def plan(self) -> Plan:
        """Which constraints run in Python and which as SPARQL (worked out once)."""
        if not self._plan:
            self._plan.append(make_plan(self.graph, self.constraints))
        return self._plan[0]


def load_shapes(shapes_dir: Path) -> ShapesGraph:
    """Parse and compile every *.ttl in `shapes_dir`; anything unsupported raises ConfigError."""
    files = sorted(Path(shapes_dir).glob("*.ttl"))
    if not files:
        raise ConfigError(f"No shapes (*.ttl) in {shapes_dir}; point the validator at shapes/.")
    graph = Graph()
    for path in files:
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # rdflib raises several unrelated types for bad Turtle
            raise ConfigError(f"Cannot parse the shapes file {path}: {exc}") from exc
    return ShapesGraph(graph, compile_shapes(graph))


Engine = Literal["auto", "python", "sparql"]


def validate_store(
    store: Store,
    shapes: ShapesGraph,
    *,
    graphs: list[str] | None = None,
    engine: Engine = "auto",
) -> ValidationReport:
    """Validate what `store` holds (the union of all graphs, or only `graphs`).

    `engine`: "sparql" runs every constraint as a query; "python" indexes the store's triples and
    checks the simple constraints in Python; "auto" picks "python" for an in-memory store.
    """
    if engine == "auto":
        engine = "python" if store.in_memory else "sparql"
    if engine == "sparql":
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(run_constraint, store, c, graphs) for c in shapes.constraints]
            return report_of(v for f in futures for v in f.result())
    index = TripleIndex(_dump_ntriples(store, graphs), stored_form=True)
    return _validate_indexed(index, lambda: store, graphs, shapes.plan())


def validate_triples(
    triples: Iterable[ox.Triple],
    shapes: ShapesGraph,
    context: Iterable[ox.Triple | ox.Quad] = (),
) -> ValidationReport:
    """Validate candidate triples (with `context`: code lists, types of what they point to).

    The same report as validate_store on a store holding them, without loading one: a store is
    built only for the constraints that stay SPARQL, holding only the predicates they read.
    """
    data = [*triples, *(ox.Triple(t.subject, t.predicate, t.object) for t in context)]
    text = ox.serialize(data, format=ox.RdfFormat.N_TRIPLES).decode()
    plan = shapes.plan()
    index = TripleIndex([text], stored_form=False, keep_lines=plan.predicates is not None)

    def candidate_store() -> Store:
        store = Store(None)
        graph = ox.NamedNode(CANDIDATE_GRAPH)
        wanted = plan.predicates
        if "_:" in text:  # loading N-Triples would rename blank nodes; keep their labels
            keep = None if wanted is None else {p[1:-1] for p in wanted}
            store.add_quads(
                ox.Quad(t.subject, t.predicate, t.object, graph)
                for t in data
                if keep is None or t.predicate.value in keep
            )
        else:
            body = text if wanted is None else "".join(index.lines(p) for p in sorted(wanted))
            store.load_ntriples(body, CANDIDATE_GRAPH)
        return store

    return _validate_indexed(index, candidate_store, None, plan)


def _dump_ntriples(store: Store, graphs: list[str] | None) -> list[str]:
    names: list[str | None] = [None, *store.named_graphs()] if graphs is None else [*graphs]
    return [store.graph_ntriples(g) for g in names]


def _validate_indexed(
    index: TripleIndex, open_store: Callable[[], Store], graphs: list[str] | None, plan: Plan
) -> ValidationReport:
    """Python for the planned constraints; SPARQL, on two more threads, for the rest.

    The store is opened on a worker thread too (only if some constraint needs it), so loading
    it overlaps the Python checks; pyoxigraph lets go of the GIL while it loads and queries.
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        store: Future[Store] | None = pool.submit(open_store) if plan.needs_store() else None

        def focus_of(query: str) -> set[str]:
            found = store.result().query(query, graphs=graphs).result  # type: ignore[union-attr]
            return {str(row["this"]) for row in found}  # type: ignore[attr-defined]

        def run(constraint: CompiledConstraint) -> list[Violation]:
            return run_constraint(store.result(), constraint, graphs)  # type: ignore[union-attr]

        targets = {q: pool.submit(focus_of, q) for q in plan.target_queries}
        sparql = [pool.submit(run, c) for c in plan.sparql]
        rows = evaluate(plan, index, lambda q: targets[q].result())
        found = [violation_of(row) for row in rows]
        return report_of([*found, *(v for f in sparql for v in f.result())])


def violation_of(row: Row) -> Violation:
    constraint, focus, value = row
    bound = {"this": nt_text(focus)}
    if value is not None:
        bound["value"] = nt_text(value)
    return Violation(
        focus=bound["this"],
        path=constraint.path,
        shape=constraint.shape,
        component=constraint.component,
        message_vi=fill(constraint.message_vi, bound),  # type: ignore[arg-type]
        message_en=fill(constraint.message_en, bound),  # type: ignore[arg-type]
        value=bound.get("value"),
    )


def report_of(violations: Iterable[Violation]) -> ValidationReport:
    """One report: duplicates dropped, sorted by focus node, path and message."""
    found: dict[tuple[str, str | None, str, str, str | None, str], Violation] = {}
    for v in violations:
        found.setdefault((v.focus, v.path, v.shape, v.component, v.value, v.message_en), v)
    ordered = sorted(
        found.values(),
        key=lambda v: (v.focus, v.path or "", v.message_en, v.shape, v.component, v.value or ""),
    )
    return ValidationReport(conforms=not ordered, violations=ordered)


def validate_graph(
    data: str | bytes | Path | Graph | Iterable[ox.Triple | ox.Quad], shapes: ShapesGraph
) -> ValidationReport:
    """Validate a candidate graph on its own: Turtle text or file, an rdflib Graph, or triples."""
    return validate_triples(
        (ox.Triple(q.subject, q.predicate, q.object) for q in as_quads(data)), shapes
    )


def as_quads(data: str | bytes | Path | Graph | Iterable[ox.Triple | ox.Quad]) -> list[ox.Quad]:
    """Whatever validate_graph was given, as pyoxigraph quads."""
    if isinstance(data, Path):
        triples: Iterable[ox.Triple | ox.Quad] = ox.parse(
            path=str(data), format=ox.RdfFormat.TURTLE
        )
    elif isinstance(data, Graph):
        triples = ox.parse(
            data.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES
        )
    elif isinstance(data, str | bytes):
        triples = ox.parse(data, format=ox.RdfFormat.TURTLE)
    else:
        triples = data
    try:
        return [ox.Quad(t.subject, t.predicate, t.object) for t in triples]
    except SyntaxError as exc:
        raise ConfigError(f"The candidate graph is not valid Turtle: {exc}") from exc


def run_constraint(
    store: Store, constraint: CompiledConstraint, graphs: list[str] | None
) -> list[Violation]:
    """Run one compiled constraint; every row is a violating focus node."""
    result = store.query(constraint.sparql, graphs=graphs).result
    names = {v.value for v in result.variables}  # type: ignore[attr-defined]
    violations = []
    for row in result:  # type: ignore[attr-defined]
        bound = {name: term_text(row[name]) for name in names}
        if bound.get("this") is None:
            continue
        violations.append(
            Violation(
                focus=bound["this"],  # type: ignore[arg-type]
                path=bound.get("path") or constraint.path,
                shape=constraint.shape,
                component=constraint.component,
                message_vi=fill(constraint.message_vi, bound),
                message_en=fill(constraint.message_en, bound),
                value=bound.get("value"),
            )
        )
    return violations


def term_text(term: object) -> str | None:
    """An IRI, blank node or literal as plain text (literals with their language tag)."""
    if term is None:
        return None
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal) and term.language:
        return f"{term.value}@{term.language}"
    return term.value  # type: ignore[attr-defined]


def fill(message: str, bound: dict[str, str | None]) -> str:
    """Replace {$this}, {?value}... in a sh:message with the row's values."""
    return _TEMPLATE.sub(lambda m: compact(bound.get(m.group(1)) or m.group(0)), message)


def compact(iri: str) -> str:
    """kho:AdminUnitVersion rather than the full IRI, when a known prefix fits."""
    if "<" in iri:  # a SPARQL path such as (^<https://w3id.org/kho/ns#transfer>)
        return re.sub(r"<([^<>]*)>", lambda m: compact(m.group(1)), iri)
    best = max((ns for ns in PREFIXES.values() if iri.startswith(ns)), key=len, default=None)
    if best is None:
        return iri
    prefix = next(p for p, ns in PREFIXES.items() if ns == best)
    return f"{prefix}:{iri[len(best) :]}"
