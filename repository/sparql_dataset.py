"""The dataset a SPARQL query runs over: what it names (FROM, FROM NAMED, or the protocol's
default-graph-uri / named-graph-uri), always cut down to the graphs the reader may see."""

from __future__ import annotations

import re

from repository.namespaces import PREFIXES
from repository.sparql_text import dataset_text

_PREFIX_DECL = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)
_FROM = re.compile(
    r"\bFROM\s+(NAMED\s+)?(?:<([^>]*)>|([A-Za-z][\w.-]*)?:([\w.:%-]*))", re.IGNORECASE
)


def query_dataset(sparql: str) -> tuple[list[str], list[str]]:
    """The graphs a query names with FROM and FROM NAMED (prefixed names resolved)."""
    bare = dataset_text(sparql)  # strings and comments blanked, IRIs kept: one linear pass
    prefixes = dict(PREFIXES)
    prefixes.update({(p or ""): ns for p, ns in _PREFIX_DECL.findall(bare)})
    default: list[str] = []
    named: list[str] = []
    for m in _FROM.finditer(bare):
        iri = m.group(2)
        if iri is None:
            ns = prefixes.get(m.group(3) or "")
            if ns is None:
                continue  # an undeclared prefix: the engine reports the syntax error
            iri = ns + m.group(4)
        (named if m.group(1) else default).append(iri)
    return default, named


def dataset_of(
    sparql: str,
    visible: list[str],
    default_param: list[str] | None = None,
    named_param: list[str] | None = None,
) -> tuple[list[str], list[str]]:
    """The default and named graphs a query runs over, always within `visible`.

    The protocol's default-graph-uri / named-graph-uri win over FROM / FROM NAMED (SPARQL 1.1
    Protocol, 2.1.4); with neither, the default graph is the union of the visible graphs and every
    visible graph is a named graph. A graph the reader may not see is dropped silently: it answers
    like an empty graph, neither an error nor a confirmation that it exists."""
    if default_param or named_param:
        default, named = list(default_param or []), list(named_param or [])
    else:
        default, named = query_dataset(sparql)
        if not default and not named:
            return list(visible), list(visible)
    allowed = set(visible)
    return [g for g in default if g in allowed], [g for g in named if g in allowed]
