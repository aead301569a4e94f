"""The simple core constraints evaluated in Python over a TripleIndex; the rest stay SPARQL.

A constraint runs here when its path is one predicate or its inverse (or it has no path) and its
component is a core one; sh:sparql constraints and longer paths run as their compiled SELECT. Each
Python check answers only where it is certain to agree with the compiled SPARQL filter (an integer
in canonical form, a string matched by a plain regex...); every other value goes to the Oracle,
which runs that very filter in Oxigraph, so both paths report the same violations.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import chain

import pyoxigraph as ox
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, SH
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from repository.namespaces import PREFIXES
from repository.shacl_index import (
    CANONICAL_INTEGER,
    INTEGER_SUFFIX,
    LANG_STRING,
    ORACLE,
    XSD,
    TripleIndex,
    Values,
    lexical,
    literal_parts,
)
from repository.shacl_sparql import (
    _CASTABLE,
    _VALUE_COMPONENTS,
    CompiledConstraint,
    _pattern,
    sparql_target,
)

_FOCUS = {SH.minCount, SH.maxCount, SH.hasValue, SH.uniqueLang}
_RANGES = {
    SH.minInclusive: "ge",
    SH.maxInclusive: "le",
    SH.minExclusive: "gt",
    SH.maxExclusive: "lt",
}
_COMPARE = {
    "ge": lambda a, b: a >= b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
}
_KINDS = {  # sh:nodeKind -> the kinds of term it accepts: I(RI), B(lank), L(iteral)
    SH.IRI: "I",
    SH.BlankNode: "B",
    SH.Literal: "L",
    SH.BlankNodeOrIRI: "BI",
    SH.BlankNodeOrLiteral: "BL",
    SH.IRIOrLiteral: "IL",
}
# Regex syntax read the same by Python's re and the Rust regex crate behind SPARQL REGEX.
_UNSAFE_REGEX = re.compile(r"\\[0-9A-Za-z]|\(\?|\{,|\[\[|\[:|&&|--|~~|\|\|")

Row = tuple[CompiledConstraint, str, str | None]  # constraint, focus, value (N-Triples)


@dataclass(frozen=True)
class Targets:
    """The focus nodes of one node shape, split by kind of target."""

    classes: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    subjects_of: tuple[str, ...] = ()
    objects_of: tuple[str, ...] = ()
    queries: tuple[str, ...] = ()  # SHACL-AF SPARQL targets, each a SELECT DISTINCT ?this


@dataclass(frozen=True)
class PyConstraint:
    constraint: CompiledConstraint
    owner: str
    predicate: str | None  # N-Triples IRI, or None for the focus node itself
    inverse: bool
    kind: str  # minCount, maxCount, hasValue, uniqueLang, class, in, nodeKind or value
    count: int = 0  # sh:minCount / sh:maxCount
    members: frozenset[str] = frozenset()  # sh:in, sh:hasValue, sh:class, sh:nodeKind kinds
    test: str | None = None  # the compiled FILTER on ?value, run by the Oracle when unsure
    verdict: Callable[[str], bool | None] | None = None  # True: violates; None: ask the Oracle


@dataclass
class Plan:
    """Which constraints of a ShapesGraph run in Python, which as SPARQL, and what they read."""

    python: list[PyConstraint]
    sparql: list[CompiledConstraint]
    targets: dict[str, Targets]
    predicates: frozenset[str] | None = None  # what the SPARQL part reads; None: anything
    target_queries: list[str] = field(default_factory=list)

    def needs_store(self) -> bool:
        return bool(self.sparql or self.target_queries)


def nt(node: Node) -> str:
    """An rdflib term as the store's N-Triples text."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):
        if node.language:
            return str(ox.Literal(str(node), language=node.language))
        if node.datatype is None or str(node.datatype) == XSD + "string":
            return str(ox.Literal(str(node)))
        term = str(ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype))))
        return ORACLE.stored([term])[term]
    raise ValueError(f"{node!r} cannot be a constant of a Python-evaluated constraint.")


def make_plan(graph: Graph, constraints: list[CompiledConstraint]) -> Plan:
    plan = Plan([], [], {})
    for c in constraints:
        py = _python_constraint(graph, c, plan.targets) if c.origin else None
        if py is None:
            plan.sparql.append(c)
        else:
            plan.python.append(py)
    plan.target_queries = sorted({q for t in plan.targets.values() for q in t.queries})
    plan.predicates = read_predicates([c.sparql for c in plan.sparql] + plan.target_queries)
    return plan


def _python_constraint(
    graph: Graph, c: CompiledConstraint, targets: dict[str, Targets]
) -> PyConstraint | None:
    owner, shape, comp, value = c.origin  # type: ignore[misc]
    path = graph.value(shape, SH.path)
    inverse = False
    if path is not None and not isinstance(path, URIRef):
        inner = graph.value(path, SH.inversePath)
        if not isinstance(inner, URIRef) or len(set(graph.predicate_objects(path))) != 1:
            return None
        path, inverse = inner, True
    key = str(owner)
    if key not in targets:
        targets[key] = _targets(graph, owner)
    kind = str(comp)[len(str(SH)) :]
    base = (c, key, None if path is None else f"<{path}>", inverse)
    if comp in (SH.minCount, SH.maxCount):
        return PyConstraint(*base, kind, count=int(value.toPython()))  # type: ignore[union-attr]
    if comp in (SH.hasValue, SH["class"]):
        return PyConstraint(*base, kind, members=frozenset({nt(value)}))
    if comp == SH.uniqueLang:
        return PyConstraint(*base, kind)
    if comp == SH["in"]:
        return PyConstraint(*base, kind, members=frozenset(nt(m) for m in Collection(graph, value)))
    if comp == SH.nodeKind:
        return PyConstraint(*base, kind, members=frozenset(_KINDS[value]))  # type: ignore[index]
    if comp == SH.pattern:
        test = _pattern(graph, shape, value)
        verdict = _pattern_verdict(_safe_regex(str(value), graph.value(shape, SH.flags)))
    else:
        test = _VALUE_COMPONENTS[comp](graph, shape, value)
        verdict = _value_verdict(comp, value)
    return PyConstraint(*base, "value", test=test, verdict=verdict)


def _value_verdict(comp: URIRef, param: Node) -> Callable[[str], bool | None]:
    """A check of one value (not a blank node) that answers only where it is sure."""
    if comp == SH.datatype:
        dt = str(param)
        if dt == LANG_STRING:
            return lambda v: not (v[0] == '"' and v[-1] not in '">')
        if dt == XSD + "string":
            return lambda v: not (v[0] == '"' and v[-1] == '"')
        suffix = f'"^^<{dt}>'
        if dt == XSD + "integer":
            return lambda v: (
                (None if not CANONICAL_INTEGER.match(v, 1, len(v) - len(suffix)) else False)
                if v.endswith(suffix)
                else True
            )
        if dt == XSD + "boolean":
            return lambda v: (
                (False if v[1 : -len(suffix)] in ("true", "false") else None)
                if v.endswith(suffix)
                else True
            )
        if param in _CASTABLE:  # the lexical form must cast: only Oxigraph knows for sure
            return lambda v: None if v.endswith(suffix) else True
        return lambda v: not v.endswith(suffix)
    if comp in (SH.minLength, SH.maxLength):
        limit = int(param.toPython())  # type: ignore[union-attr]
        if comp == SH.minLength:
            return lambda v: len(lexical(v)) < limit
        return lambda v: len(lexical(v)) > limit
    if (
        comp in _RANGES
        and isinstance(param, Literal)
        and param.datatype is not None
        and str(param.datatype) == XSD + "integer"
    ):
        bound, compare, end = int(param.toPython()), _COMPARE[_RANGES[comp]], len(INTEGER_SUFFIX)
        return lambda v: (
            not compare(int(v[1:-end]), bound)
            if v.endswith(INTEGER_SUFFIX) and CANONICAL_INTEGER.match(v, 1, len(v) - end)
            else None
        )
    return lambda v: None  # sh:languageIn, other ranges: Oxigraph decides


def _safe_regex(pattern: str, flags: Node | None) -> re.Pattern[str] | None:
    if flags or _UNSAFE_REGEX.search(pattern):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return re.compile(pattern)
        except (re.error, Warning):
            return None


def _pattern_verdict(regex: re.Pattern[str] | None) -> Callable[[str], bool | None]:
    if regex is None:
        return lambda v: None

    def verdict(v: str) -> bool | None:
        text = lexical(v)
        if "\n" in text or "\r" in text:  # "$" differs around line ends
            return None
        return regex.search(text) is None

    return verdict


def _targets(graph: Graph, shape: Node) -> Targets:
    classes = [nt(c) for c in graph.objects(shape, SH.targetClass)]
    if (shape, RDF.type, RDFS.Class) in graph or (shape, RDF.type, OWL.Class) in graph:
        classes.append(nt(shape))
    return Targets(
        tuple(classes),
        tuple(nt(n) for n in graph.objects(shape, SH.targetNode)),
        tuple(nt(p) for p in graph.objects(shape, SH.targetSubjectsOf)),
        tuple(nt(p) for p in graph.objects(shape, SH.targetObjectsOf)),
        tuple(
            f"SELECT DISTINCT ?this WHERE {sparql_target(graph, shape, t)}"
            for t in graph.objects(shape, SH.target)
        ),
    )


def read_predicates(queries: Iterable[str]) -> frozenset[str] | None:
    """The IRIs the queries' triple patterns use as predicates (N-Triples); None if any pattern
    has a variable or negated predicate, or a query does not parse here."""
    found: set[str] = set()
    for query in queries:
        try:
            algebra = prepareQuery(query, initNs=PREFIXES).algebra
        except Exception:  # rdflib's parser raises several unrelated types
            return None
        if not _walk(algebra, found):
            return None
    return frozenset(found)


def _walk(node: object, found: set[str]) -> bool:
    if isinstance(node, CompValue):
        # A BGP, or a TriplesBlock rdflib leaves untranslated inside FILTER (NOT) EXISTS.
        for triple in node["triples"] if "triples" in node else ():
            if len(triple) != 3 or not _path(triple[1], found):
                return False
        return all(_walk(v, found) for k, v in node.items() if k != "triples")
    if isinstance(node, list | tuple):
        return all(_walk(v, found) for v in node)
    return True


def _path(p: object, found: set[str]) -> bool:
    if isinstance(p, URIRef):
        found.add(f"<{p}>")
        return True
    if isinstance(p, SequencePath | AlternativePath):
        return all(_path(a, found) for a in p.args)
    if isinstance(p, InvPath):
        return _path(p.arg, found)
    if isinstance(p, MulPath):
        return _path(p.path, found)
    return False  # a variable, or a negated property set that matches any other predicate


def focus_nodes(
    index: TripleIndex, targets: Targets, found_by_query: Callable[[str], set[str]]
) -> set[str]:
    focus: set[str] = set(targets.nodes)
    for c in targets.classes:
        focus |= index.instances(c)
    for p in targets.subjects_of:
        focus.update(index.out(p))
    for p in targets.objects_of:
        focus.update(index.inverse(p))
    for q in targets.queries:
        focus |= found_by_query(q)
    return focus


def evaluate(
    plan: Plan, index: TripleIndex, found_by_query: Callable[[str], set[str]]
) -> list[Row]:
    """Every violating (constraint, focus, value) of the Python-evaluated constraints.

    Shapes with SPARQL-based targets come last, so their target query has time to finish.
    """
    focus: dict[str, set[str]] = {}
    seen: dict[tuple[str, str | None, bool], tuple[set[str], set[str]]] = {}
    rows: list[Row] = []
    waiting = {o for o, t in plan.targets.items() if t.queries}
    for pc in sorted(plan.python, key=lambda pc: pc.owner in waiting):
        nodes = focus.get(pc.owner)
        if nodes is None:
            nodes = focus[pc.owner] = focus_nodes(index, plan.targets[pc.owner], found_by_query)
        if pc.predicate is None:
            values: dict[str, Values] = {f: (f,) for f in nodes}
        elif pc.inverse:
            values = index.inverse(pc.predicate)
        else:
            values = index.out(pc.predicate)
        if pc.kind in ("minCount", "maxCount", "hasValue", "uniqueLang"):
            rows += [(pc.constraint, f, None) for f in _focus_failures(pc, nodes, values, index)]
            continue
        key = (pc.owner, pc.predicate, pc.inverse)  # property shapes share their values
        if key not in seen:
            having = nodes & values.keys()
            seen[key] = having, set(chain.from_iterable(map(values.__getitem__, having)))
        having, distinct = seen[key]
        bad = _bad_values(pc, distinct, index)
        if bad:
            rows += [(pc.constraint, f, v) for f in having for v in values[f] if v in bad]
    return rows


def _focus_failures(
    pc: PyConstraint, nodes: set[str], values: dict[str, Values], index: TripleIndex
) -> Iterable[str]:
    if pc.kind == "minCount":
        if pc.count == 1:
            return nodes.difference(values)
        return [f for f in nodes if len(values.get(f, ())) < pc.count]
    if pc.kind == "hasValue":
        if pc.predicate is None:
            return nodes - pc.members
        return [f for f in nodes if pc.members.isdisjoint(values.get(f, ()))]
    if pc.kind == "maxCount" and pc.count == 0:
        return nodes & values.keys()
    several = nodes & index.multi(pc.predicate, inverse=pc.inverse)  # type: ignore[arg-type]
    if pc.kind == "maxCount":
        return [f for f in several if len(values[f]) > pc.count]
    failing = []  # sh:uniqueLang true: two values with the same language, case-insensitively
    for f in several:
        langs = [literal_parts(v)[1].lower() for v in values[f] if v[0] == '"']
        langs = [lang for lang in langs if lang]
        if len(langs) != len(set(langs)):
            failing.append(f)
    return failing


def _bad_values(pc: PyConstraint, values: set[str], index: TripleIndex) -> set[str]:
    if pc.kind == "class":
        return values - index.instances(next(iter(pc.members)))
    if pc.kind == "in":
        return values - pc.members
    if pc.kind == "nodeKind":
        return {v for v in values if _kind(v) not in pc.members}
    bad: set[str] = set()
    unsure: list[str] = []
    verdict = pc.verdict
    for v in values:
        if v[0] == "_":  # a blank node fails every other value component
            bad.add(v)
            continue
        answer = verdict(v)  # type: ignore[misc]
        if answer:
            bad.add(v)
        elif answer is None:
            unsure.append(v)
    if unsure:
        bad |= ORACLE.failing(pc.test, unsure)  # type: ignore[arg-type]
    return bad


def _kind(term: str) -> str:
    return "I" if term[0] == "<" else "B" if term[0] == "_" else "L"
