"""Query shapes for counts over every record (home counts, the dashboard, retention groups).

Oxigraph 0.5 joins two triple patterns by looking up, for each binding of the first, the second
one in the store — once per graph of the reader's dataset (4 graphs for the anonymous reader, up
to 9 for others). Over every record that is one disk seek per record, pattern and graph: 46 s
for an archivist's home counts at 100k records.

Written as sub-selects, each pattern is read once, in one sweep of its index, and the sub-selects
are joined in memory (a hash join): the same counts in under a second at 100k. A LIMIT no store
reaches is what keeps Oxigraph from turning the sub-select back into a look-up per binding
(DISTINCT does too, at twice the cost). The rows are the same bag the plain patterns give —
Oxigraph does not merge a triple found in two graphs of the dataset, and neither does this — so
the answers stay those of the plain query.
"""

from __future__ import annotations

from repository.store import Store

# More rows than any store holds: the LIMIT changes the plan, never the answer.
EVERY = 10**15


def table(variables: str, pattern: str) -> str:
    """`pattern` as a sub-select of `variables`, read in one sweep and joined by hash."""
    return f"{{ SELECT {variables} WHERE {{ {pattern} }} LIMIT {EVERY} }}"


def hash_joins(store: Store) -> bool:
    """Whether to write counts with `table`: on Oxigraph, embedded or a server. Virtuoso plans
    joins itself (whole-archive counts in tens of ms at 100k), and answers no rows at all when
    an OPTIONAL sub-select with a LIMIT is empty, so it gets the plain patterns."""
    backend = store.backend
    return backend.startswith(("oxigraph:", "embedded Oxigraph")) or backend.endswith("(oxigraph)")
