"""What a reader may see, decided once, here: named graphs for the store, access levels for search.

Until sign-in arrives (issue 4), every reader is anonymous: public records only (TT 05/2025 mode
01, Công khai). Records for conditional use (02) and secret ones (03), quality flags and personal
data stay out of every surface — a resource in them answers 404.
"""

from __future__ import annotations

from repository.namespaces import Minter

ANONYMOUS = "anonymous"
_HIDDEN_FROM_ANONYMOUS = ("conditional", "secret", "personal", "curation")


def visible_graphs(named_graphs: list[str], minter: Minter, role: str = ANONYMOUS) -> list[str]:
    """The named graphs `role` may read, among the store's graphs under {base}graph/."""
    prefix = minter.graph("")
    hidden = (
        {minter.records_graph(f) for f in _HIDDEN_FROM_ANONYMOUS} if role == ANONYMOUS else set()
    )
    return [g for g in named_graphs if g.startswith(prefix) and g not in hidden]


def visible_access_levels(role: str = ANONYMOUS) -> set[str]:
    """TT 05/2025 mode codes whose records `role` may find in search."""
    return {"01"} if role == ANONYMOUS else {"01", "02", "03"}
