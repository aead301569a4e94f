"""Runs the shapes in shapes/ over a store or a candidate graph and returns a readable report.

Each constraint is one set-based SELECT over the whole store (see repository/shacl_sparql.py), so a
store of millions of triples is checked in seconds rather than node by node.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from repository.errors import ConfigError
from repository.namespaces import PREFIXES
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


def validate_store(
    store: Store, shapes: ShapesGraph, *, graphs: list[str] | None = None
) -> ValidationReport:
    """Validate what `store` holds (the union of all graphs, or only `graphs`)."""
    found: dict[tuple[str, str | None, str, str, str | None, str], Violation] = {}
    for constraint in shapes.constraints:
        for violation in run_constraint(store, constraint, graphs):
            key = (
                violation.focus,
                violation.path,
                violation.shape,
                violation.component,
                violation.value,
                violation.message_en,
            )
            found.setdefault(key, violation)
    violations = sorted(found.values(), key=lambda v: (v.focus, v.path or "", v.message_en))
    return ValidationReport(conforms=not violations, violations=violations)


def validate_graph(
    data: str | bytes | Path | Graph | Iterable[ox.Triple | ox.Quad], shapes: ShapesGraph
) -> ValidationReport:
    """Validate a candidate graph on its own: Turtle text or file, an rdflib Graph, or triples."""
    store = Store(None)
    store.replace_graph(CANDIDATE_GRAPH, as_quads(data))
    return validate_store(store, shapes)


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
