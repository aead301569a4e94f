"""Compiles SHACL shapes into set-based SPARQL: one SELECT per constraint, all focus nodes at once.

Supported: targets (class, node, subjectsOf, objectsOf, implicit class, and SHACL-AF SPARQL-based
targets written with full IRIs), any SHACL path, the core
value and cardinality components listed in `_VALUE_COMPONENTS`, `_FOCUS_COMPONENTS` and
sh:uniqueLang, and sh:sparql SELECT constraints on node shapes. Anything else in a shape raises
ConfigError at load time, so no constraint is ever silently skipped.

A sh:sparql query runs once, with the targets joined at the start of its WHERE clause instead of
pre-binding $this per focus node (SHACL 1.0 §5.3.1). The two agree when $this is bound by a triple
pattern in every nested group that filters on it; FILTER NOT EXISTS may use $this freely.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, SH, XSD
from rdflib.term import Node

from repository.errors import ConfigError, QueryError
from repository.store import check_read_only

_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
# Shape predicates that describe rather than constrain; other sh: predicates must be compiled.
_DESCRIPTIVE = {
    RDF.type,
    SH.message,
    SH.name,
    SH.description,
    SH.order,
    SH.group,
    SH.defaultValue,
    SH.severity,
    SH.deactivated,
    SH.path,
    SH.flags,
    SH.prefixes,
    SH.property,
    SH.sparql,
    *_TARGETS,
}
# Datatypes whose lexical form SPARQL can check by casting: an ill-typed literal fails the cast.
_CASTABLE = {
    XSD[t]
    for t in "date dateTime time integer decimal double float boolean duration dayTimeDuration "
    "yearMonthDuration".split()
}
_NODE_KINDS = {
    SH.IRI: "!isIRI(?value)",
    SH.BlankNode: "!isBlank(?value)",
    SH.Literal: "!isLiteral(?value)",
    SH.BlankNodeOrIRI: "isLiteral(?value)",
    SH.BlankNodeOrLiteral: "isIRI(?value)",
    SH.IRIOrLiteral: "isBlank(?value)",
}
_RANGES = {
    SH.minInclusive: ">=",
    SH.maxInclusive: "<=",
    SH.minExclusive: ">",
    SH.maxExclusive: "<",
}
# Strings, IRIs and comments, blanked (same length) before looking for keywords in a query.
_OPAQUE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*'
)


@dataclass(frozen=True)
class CompiledConstraint:
    """One constraint of one shape, as a SELECT returning ?this (and maybe ?value, ?path)."""

    shape: str
    path: str | None
    component: str
    message_vi: str
    message_en: str
    sparql: str
    # (node shape, shape holding the component, component, parameter): lets shacl_fast.py
    # evaluate the same constraint in Python; None for sh:sparql constraints.
    origin: tuple[Node, Node, URIRef, Node] | None = field(default=None, compare=False)


def sparql_term(node: Node) -> str:
    """A term in SPARQL syntax."""
    if isinstance(node, BNode):
        raise ConfigError(f"A blank node ({node}) cannot be named in a SPARQL constraint.")
    return node.n3()


def sparql_path(graph: Graph, path: Node) -> str:
    """A SHACL property path (§2.3.1) as a SPARQL property path."""
    if isinstance(path, URIRef):
        return path.n3()
    if (path, RDF.first, None) in graph:
        return "(" + "/".join(sparql_path(graph, p) for p in Collection(graph, path)) + ")"
    for pred, fmt in (
        (SH.inversePath, "^{}"),
        (SH.zeroOrMorePath, "{}*"),
        (SH.oneOrMorePath, "{}+"),
        (SH.zeroOrOnePath, "{}?"),
    ):
        inner = graph.value(path, pred)
        if inner is not None:
            return "(" + fmt.format(sparql_path(graph, inner)) + ")"
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(sparql_path(graph, p) for p in Collection(graph, alternatives)) + ")"
    raise ConfigError(f"Unsupported sh:path {path}: use an IRI, a list or sh:*Path.")


def describe_path(graph: Graph, path: Node | None) -> str | None:
    """How a path is reported: its IRI, or its SPARQL form when it is not a single predicate."""
    if path is None:
        return None
    return str(path) if isinstance(path, URIRef) else sparql_path(graph, path)


def messages(graph: Graph, node: Node, where: str) -> tuple[str, str]:
    """The Vietnamese and English sh:message of a shape or constraint; both are required."""
    found: dict[str, str] = {}
    for msg in graph.objects(node, SH.message):
        if isinstance(msg, Literal) and msg.language:
            found.setdefault(msg.language.lower(), str(msg))
    missing = [lang for lang in ("vi", "en") if lang not in found]
    if missing:
        raise ConfigError(
            f"{where} has no sh:message in {', '.join('@' + m for m in missing)}; every constraint "
            "needs a Vietnamese and an English message."
        )
    return found["vi"], found["en"]


def target_query(graph: Graph, shape: Node) -> str | None:
    """A subquery binding ?this to every focus node of `shape`, or None if it has no target."""
    parts = [
        f"{{ ?this {RDF.type.n3()}/{RDFS.subClassOf.n3()}* {sparql_term(c)} }}"
        for c in graph.objects(shape, SH.targetClass)
    ]
    if (shape, RDF.type, RDFS.Class) in graph or (shape, RDF.type, OWL.Class) in graph:
        parts.append(f"{{ ?this {RDF.type.n3()}/{RDFS.subClassOf.n3()}* {sparql_term(shape)} }}")
    nodes = " ".join(sparql_term(n) for n in graph.objects(shape, SH.targetNode))
    if nodes:
        parts.append(f"{{ VALUES ?this {{ {nodes} }} }}")
    parts += [f"{{ ?this {sparql_term(p)} ?o }}" for p in graph.objects(shape, SH.targetSubjectsOf)]
    parts += [f"{{ ?s {sparql_term(p)} ?this }}" for p in graph.objects(shape, SH.targetObjectsOf)]
    parts += [sparql_target(graph, shape, t) for t in graph.objects(shape, SH.target)]
    if not parts:
        return None
    return "{ SELECT DISTINCT ?this WHERE { " + " UNION ".join(parts) + " } }"


def sparql_target(graph: Graph, shape: Node, node: Node) -> str:
    """A SHACL-AF SPARQL-based target (sh:target [ a sh:SPARQLTarget ; sh:select ... ]) as a group.

    It is inlined into every constraint's query, where PREFIX lines cannot go, so its select must
    spell IRIs out in full.
    """
    where = f"The sh:target of {shape_name(shape)}"
    check_supported(graph, node, {RDF.type, SH.select}, where)
    select = graph.value(node, SH.select)
    if select is None or (node, RDF.type, SH.SPARQLTarget) not in graph:
        raise ConfigError(f"{where} must be a sh:SPARQLTarget with a sh:select.")
    text = str(select)
    blank = _OPAQUE.sub(lambda m: " " * len(m.group()), text)
    if re.search(r"\b(PREFIX|BASE)\b", blank, re.IGNORECASE) or re.search(r"\b\w*:\w", blank):
        raise ConfigError(f"{where} must write IRIs in full (<...>), without PREFIX.")
    start, end = blank.find("{"), blank.rfind("}")
    if not re.match(r"\s*SELECT\s+[?$]this\s+WHERE\s*$", blank[:start], re.IGNORECASE) or end < 0:
        raise ConfigError(f"{where}: sh:select must read SELECT $this WHERE {{ ... }}.")
    body = re.sub(r"\$this\b", "?this", text[start + 1 : end])
    return f"{{ {body} }}"


# -- core components ------------------------------------------------------------------------
# Each value component maps its parameter to a FILTER on ?value that keeps the violating values.


def _datatype(graph: Graph, dt: Node) -> str:
    if dt == RDF.langString:
        return 'FILTER(!isLiteral(?value) || lang(?value) = "")'
    bad = f"!isLiteral(?value) || !sameTerm(datatype(?value), {sparql_term(dt)})"
    if dt == XSD.string:
        bad += ' || lang(?value) != ""'
    if dt in _CASTABLE:
        bad += f" || !COALESCE(isLiteral({sparql_term(dt)}(STR(?value))), false)"
    return f"FILTER({bad})"


def _in(graph: Graph, members: Node) -> str:
    terms = [f"sameTerm(?value, {sparql_term(m)})" for m in Collection(graph, members)]
    return f"FILTER(!({' || '.join(terms) or 'false'}))"


def _pattern(graph: Graph, shape: Node, pattern: Node) -> str:
    flags = graph.value(shape, SH.flags)
    args = Literal(str(pattern)).n3() + (f", {Literal(str(flags)).n3()}" if flags else "")
    return f"FILTER(isBlank(?value) || !REGEX(STR(?value), {args}))"


def _language_in(graph: Graph, langs: Node) -> str:
    tests = [f"langMatches(lang(?value), {Literal(str(x)).n3()})" for x in Collection(graph, langs)]
    return f"FILTER(!isLiteral(?value) || !({' || '.join(tests) or 'false'}))"


def _range(op: str) -> Callable[[Graph, Node, Node], str]:
    return lambda g, s, v: f"FILTER(!COALESCE(?value {op} {sparql_term(v)}, false))"


_VALUE_COMPONENTS: dict[URIRef, Callable[[Graph, Node, Node], str]] = {
    SH.datatype: lambda g, s, v: _datatype(g, v),
    # MINUS runs once as an anti-join; FILTER NOT EXISTS would walk the path per value.
    SH["class"]: lambda g, s, v: (
        f"MINUS {{ ?value {RDF.type.n3()}/{RDFS.subClassOf.n3()}* {sparql_term(v)} }}"
    ),
    SH["in"]: lambda g, s, v: _in(g, v),
    SH.nodeKind: lambda g, s, v: f"FILTER({_NODE_KINDS[v]})",
    SH.pattern: _pattern,
    SH.languageIn: lambda g, s, v: _language_in(g, v),
    SH.minLength: lambda g, s, v: f"FILTER(isBlank(?value) || STRLEN(STR(?value)) < {int(v)})",
    SH.maxLength: lambda g, s, v: f"FILTER(isBlank(?value) || STRLEN(STR(?value)) > {int(v)})",
    **{comp: _range(op) for comp, op in _RANGES.items()},
}
_FOCUS_COMPONENTS = (SH.minCount, SH.maxCount, SH.hasValue, SH.uniqueLang)


def _component_iri(pred: URIRef) -> str:
    local = pred[len(str(SH)) :]
    return f"{SH}{local[0].upper()}{local[1:]}ConstraintComponent"


def focus_query(target: str, path: str | None, pred: URIRef, value: Node) -> str | None:
    """The query of a component that judges the focus node as a whole, not value by value."""
    if pred == SH.minCount:
        n = int(value)
        if n <= 0:
            return None
        if n == 1:
            return f"SELECT ?this WHERE {{ {target} FILTER NOT EXISTS {{ ?this {path} ?value }} }}"
        return (
            f"SELECT ?this WHERE {{ {target} OPTIONAL {{ ?this {path} ?value }} }} "
            f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) < {n})"
        )
    if pred == SH.maxCount:
        return (
            f"SELECT ?this WHERE {{ {target} ?this {path} ?value }} "
            f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) > {int(value)})"
        )
    if pred == SH.hasValue:
        if path is None:
            test = f"FILTER(!sameTerm(?this, {sparql_term(value)}))"
            return f"SELECT ?this WHERE {{ {target} {test} }}"
        return (
            f"SELECT ?this WHERE {{ {target} "
            f"FILTER NOT EXISTS {{ ?this {path} {sparql_term(value)} }} }}"
        )
    if not bool(value.toPython()):  # sh:uniqueLang false
        return None
    return (  # one row per focus node and repeated language, as SHACL reports them
        f'SELECT ?this WHERE {{ {target} ?this {path} ?a . FILTER(lang(?a) != "") }} '
        "GROUP BY ?this (LCASE(lang(?a))) HAVING (COUNT(DISTINCT ?a) > 1)"
    )


# -- shapes ---------------------------------------------------------------------------------
_CONSTRAINING = {*_VALUE_COMPONENTS, *_FOCUS_COMPONENTS}
_PROPERTY_KEYS = (_DESCRIPTIVE | _CONSTRAINING) - {SH.property, SH.sparql, *_TARGETS}
_SPARQL_KEYS = {RDF.type, SH.select, SH.message, SH.prefixes, SH.deactivated, SH.severity}


def shape_name(shape: Node) -> str:
    return str(shape) if isinstance(shape, URIRef) else f"_:{shape}"


def check_supported(graph: Graph, node: Node, allowed: set[URIRef], where: str) -> None:
    """Refuse any SHACL term on `node` that is not compiled, so nothing is skipped silently."""
    for pred, obj in graph.predicate_objects(node):
        if str(pred).startswith(str(SH)) and pred not in allowed:
            raise ConfigError(
                f"{where} uses sh:{pred[len(str(SH)) :]}, which repository/validation.py does not "
                "support; rewrite it as a sh:sparql constraint."
            )
        if pred == SH.severity and obj != SH.Violation:
            raise ConfigError(f"{where} sets sh:severity {obj}; only sh:Violation is supported.")


def is_deactivated(graph: Graph, node: Node) -> bool:
    flag = graph.value(node, SH.deactivated)
    return flag is not None and bool(flag.toPython())


def core_constraints(
    graph: Graph, shape: Node, target: str, owner: str, where: str, owner_node: Node | None = None
) -> list[CompiledConstraint]:
    """The core components of one node or property shape, one query each."""
    components = [(p, o) for p, o in graph.predicate_objects(shape) if p in _CONSTRAINING]
    if not components:
        return []
    vi, en = messages(graph, shape, where)
    path_node = graph.value(shape, SH.path)
    path = sparql_path(graph, path_node) if path_node is not None else None
    compiled = []
    for pred, value in sorted(components):
        if pred == SH.nodeKind and value not in _NODE_KINDS:
            raise ConfigError(f"{where} has an unknown sh:nodeKind {value}.")
        if pred in _FOCUS_COMPONENTS:
            if path is None and pred != SH.hasValue:
                raise ConfigError(f"{where} uses sh:{pred[len(str(SH)) :]} without sh:path.")
            query = focus_query(target, path, pred, value)
        else:
            values = f"?this {path} ?value ." if path else "BIND(?this AS ?value)"
            test = _VALUE_COMPONENTS[pred](graph, shape, value)
            query = f"SELECT DISTINCT ?this ?value WHERE {{ {target} {values} {test} }}"
        if query is None:
            continue
        check_read_only(query)
        compiled.append(
            CompiledConstraint(
                owner if isinstance(shape, BNode) else shape_name(shape),
                describe_path(graph, path_node),
                _component_iri(pred),
                vi,
                en,
                query,
                (shape if owner_node is None else owner_node, shape, pred, value),
            )
        )
    return compiled


def prefix_lines(graph: Graph, *nodes: Node) -> str:
    """PREFIX lines for the sh:prefixes declarations of the given nodes."""
    lines = []
    for node in nodes:
        for holder in graph.objects(node, SH.prefixes):
            for decl in graph.objects(holder, SH.declare):
                prefix, namespace = graph.value(decl, SH.prefix), graph.value(decl, SH.namespace)
                lines.append(f"PREFIX {prefix}: <{namespace}>\n")
    return "".join(lines)


def inject_target(query: str, target: str, where: str) -> str:
    """Join the focus nodes into a sh:select query and turn $this into ?this."""
    blank = _OPAQUE.sub(lambda m: " " * len(m.group()), query)
    for word in ("MINUS", "VALUES", "SERVICE"):
        if re.search(rf"\b{word}\b", blank, re.IGNORECASE):
            raise ConfigError(f"{where} uses {word}, which SHACL-SPARQL does not allow.")
    if re.search(r"[?$](PATH|currentShape|shapesGraph)\b", blank):
        raise ConfigError(f"{where} uses $PATH, $currentShape or $shapesGraph; not supported.")
    select = re.search(r"\bSELECT\b", blank, re.IGNORECASE)
    brace = blank.find("{", select.end()) if select else -1
    if brace < 0:
        raise ConfigError(f"{where}: sh:select must be a SELECT query.")
    if not re.search(r"[?$]this\b|\*", blank[select.end() : brace]):  # type: ignore[union-attr]
        raise ConfigError(f"{where}: the SELECT clause must project $this.")
    spots = [m.start() for m in re.finditer(r"\$this\b", blank)]
    chars = list(query)
    for spot in spots:
        chars[spot] = "?"
    text = "".join(chars)
    return f"{text[: brace + 1]} {target} {text[brace + 1 :]}"


def sparql_constraint(graph: Graph, shape: Node, node: Node, target: str) -> CompiledConstraint:
    """One sh:sparql constraint of a node shape."""
    where = f"A sh:sparql constraint of {shape_name(shape)}"
    check_supported(graph, node, _SPARQL_KEYS, where)
    select = graph.value(node, SH.select)
    if select is None:
        raise ConfigError(f"{where} has no sh:select (sh:ask is not supported).")
    vi, en = messages(graph, node, where)
    query = inject_target(prefix_lines(graph, node, shape) + str(select), target, where)
    try:
        check_read_only(query)
    except QueryError as exc:  # e.g. a variable named ?add reads as an update keyword
        raise ConfigError(f"{where} would be refused by Store.query: {exc.message}") from exc
    return CompiledConstraint(
        shape_name(shape), None, str(SH.SPARQLConstraintComponent), vi, en, query
    )


def compile_shape(graph: Graph, shape: Node) -> list[CompiledConstraint]:
    """Every constraint of one targeted shape, its property shapes and its sh:sparql."""
    name = shape_name(shape)
    check_supported(graph, shape, _DESCRIPTIVE | _CONSTRAINING, f"Shape {name}")
    target = target_query(graph, shape)
    if target is None or is_deactivated(graph, shape):
        return []
    compiled = core_constraints(graph, shape, target, name, f"Shape {name}")
    for prop in graph.objects(shape, SH.property):
        where = f"The property shape on {describe_path(graph, graph.value(prop, SH.path))}"
        where += f" of {name}"
        check_supported(graph, prop, _PROPERTY_KEYS, where)
        if graph.value(prop, SH.path) is None:
            raise ConfigError(f"A property shape of {name} has no sh:path.")
        if not is_deactivated(graph, prop):
            compiled += core_constraints(graph, prop, target, name, where, shape)
    for node in graph.objects(shape, SH.sparql):
        if not is_deactivated(graph, node):
            compiled.append(sparql_constraint(graph, shape, node, target))
    return compiled


def compile_shapes(graph: Graph) -> list[CompiledConstraint]:
    """Every constraint of every shape that has a target, in a stable order."""
    shapes = {s for t in _TARGETS for s in graph.subjects(t, None)}
    for kind in (SH.NodeShape, SH.PropertyShape):
        for shape in graph.subjects(RDF.type, kind):
            if (shape, RDF.type, RDFS.Class) in graph or (shape, RDF.type, OWL.Class) in graph:
                shapes.add(shape)
    return [c for shape in sorted(shapes, key=str) for c in compile_shape(graph, shape)]
