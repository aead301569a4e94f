"""What a reader may see, decided once, here. Every surface — pages, SPARQL, search, JSON-LD,
OAI-PMH, file downloads — asks this module and nothing else.

The unit of access is the named graph (docs/model.md, "Named graphs"): a record's triples live in
the graph of its access level (TT 05/2025 mode 01 Công khai, 02 Sử dụng có điều kiện, 03 Mật);
its quality flags and near-duplicate signatures in that level's curation graph; references to
citizens' identification numbers (ND 13/2023 personal data) in that level's personal graph.

The rule:

| role          | levels by role      | curation graphs | may edit flags/retention | users |
|---------------|---------------------|-----------------|--------------------------|-------|
| anonymous     | 01                  | no              | no                       | no    |
| researcher    | 01, 02              | no              | no                       | no    |
| archivist     | 01, 02              | yes             | yes                      | no    |
| administrator | 01, 02              | yes             | yes                      | yes   |

Grants add to a signed-in reader's role: `conditional` (level 02), `secret` (level 03, needed by
every role, administrators included), `personal` (the personal graphs of the levels the reader
sees, and unmasked identification numbers). Without `personal`, a citizen's identification number
is masked wherever text is shown (`mask_personal`). A resource in no visible graph does not exist
for the reader: the surfaces answer 404.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from repository.namespaces import MODE_GRAPH, Minter

ROLES = ("anonymous", "researcher", "archivist", "administrator")
GRANTS = ("conditional", "secret", "personal")
ANONYMOUS = "anonymous"
LEVELS = ("01", "02", "03")  # TT 05/2025 mode codes, least to most restricted
_ROLE_LEVELS = {
    "anonymous": {"01"},
    "researcher": {"01", "02"},
    "archivist": {"01", "02"},
    "administrator": {"01", "02"},
}
_GRANT_LEVEL = {"conditional": "02", "secret": "03"}
_CURATORS = {"archivist", "administrator"}


@dataclass(frozen=True)
class Reader:
    """Who is asking: a signed-in user's name, role and grants, or the anonymous public."""

    name: str | None = None
    role: str = ANONYMOUS
    grants: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; roles are {', '.join(ROLES)}")
        unknown = set(self.grants) - set(GRANTS)
        if unknown:
            raise ValueError(f"unknown grant {sorted(unknown)}; grants are {', '.join(GRANTS)}")
        if self.role == ANONYMOUS and self.grants:
            raise ValueError("the anonymous reader has no grants")

    @property
    def signed_in(self) -> bool:
        return self.role != ANONYMOUS

    @property
    def levels(self) -> frozenset[str]:
        """TT 05/2025 mode codes of the records this reader may see."""
        levels = set(_ROLE_LEVELS[self.role])
        if self.signed_in:
            levels |= {_GRANT_LEVEL[g] for g in self.grants if g in _GRANT_LEVEL}
        return frozenset(levels)

    @property
    def curates(self) -> bool:
        """Sees quality flags and may confirm/overturn them and edit retention decisions."""
        return self.role in _CURATORS

    @property
    def administers(self) -> bool:
        """Manages users and reads the audit log."""
        return self.role == "administrator"

    @property
    def sees_personal(self) -> bool:
        """Sees citizens' identification numbers (an explicit grant, whatever the role)."""
        return "personal" in self.grants

    def may_see_level(self, mode: str | None) -> bool:
        return (mode or "01") in self.levels


PUBLIC = Reader()


def level_of(graph: str, minter: Minter) -> str | None:
    """The mode code of a records graph ({base}graph/records/<level>[/<facet>]), else None."""
    prefix = minter.graph("records/")
    if not graph.startswith(prefix):
        return None
    family = graph[len(prefix) :].split("/", 1)[0]
    return {v: k for k, v in MODE_GRAPH.items()}.get(family)


def graph_visible(graph: str, minter: Minter, reader: Reader) -> bool:
    """May `reader` read the named graph `graph`? Graphs outside {base}graph/ never."""
    if not graph.startswith(minter.graph("")):
        return False
    if not graph.startswith(minter.graph("records/")):
        return True  # vocabulary, gazetteer, agencies: public reference data
    level = level_of(graph, minter)
    if level is None or level not in reader.levels:
        return False
    facet = graph[len(minter.records_graph(MODE_GRAPH[level])) :].lstrip("/")
    if facet == "":
        return True
    if facet == "curation":
        return reader.curates
    if facet == "personal":
        return reader.sees_personal
    return False


def visible_graphs(
    named_graphs: Iterable[str], minter: Minter, reader: Reader = PUBLIC
) -> list[str]:
    """The named graphs `reader` may read, among the store's graphs."""
    return [g for g in named_graphs if graph_visible(g, minter, reader)]


def visible_access_levels(reader: Reader = PUBLIC) -> set[str]:
    """TT 05/2025 mode codes whose records `reader` may find in search."""
    return set(reader.levels)


# A citizen's identification number (CCCD, 12 digits: province 3, century/sex 1, birth year 2,
# serial 6) and the old 9-digit identity card (CMND). Enterprise codes are 10 or 13 digits and
# land parcel identifiers are not bare digit runs, so neither is caught.
_PERSONAL_ID = re.compile(
    r"(?<![\w.])(\d{3})(\d{6})(\d{3})(?!\w)"  # CCCD
    r"|(?<![\w.-])(\d{2})(\d{5})(\d{2})(?![\w-])"  # CMND
)  # digit runs touching letters (checksums, codes) or after a decimal point (a JSON score's
# fraction) are not numbers of people
_NINE_DIGITS = re.compile(r"\d{9}")  # both kinds of number hold a run of at least nine digits


def mask_personal(text: str, reader: Reader = PUBLIC) -> str:
    """`text` with identification numbers masked (001******234) unless `reader` holds `personal`."""
    if reader.sees_personal or not text or not _NINE_DIGITS.search(text):
        return text  # the pre-check: 3 ms instead of 16 on an OAI page (docs/benchmarks.md, Load)

    def mask(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1) + "*" * 6 + m.group(3)
        return m.group(4) + "*" * 5 + m.group(6)

    return _PERSONAL_ID.sub(mask, text)
