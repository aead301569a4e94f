"""What integrators ask of the collection of records and hồ sơ: pages of them by unit (following
the units' succession), creating agency and change time, and everything one of them is described
by. Every query is restricted to the named graphs the caller passes (repository.access decides
which); the agencies and gazetteer reference data come only from the public reference graphs.

"Changed" (the `since` filter, Last-Modified) is as repository.api_summaries defines it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import pyoxigraph as ox

from repository import gazetteer
from repository.api_summaries import (
    CHANGE_TIMES,
    KINDS,
    Ref,
    Summary,
    Via,
    record_graphs,
    summaries,
)
from repository.errors import BadRequest, NotFound
from repository.namespaces import Minter
from repository.preservation import VN_TZ
from repository.record_paging import PageCache
from repository.store import Store
from repository.text import nfc

PER_PAGE = 50
PER_PAGE_MAX = 500
ROLES = {"creator": "rico:hasCreator", "holder": "rico:hasOrHadHolder", "any": None}


@dataclass
class RecordQuery:
    """The parameters of GET /api/records, checked."""

    unit: str | None = None
    agency: str | None = None
    role: str = "creator"
    kind: str | None = None
    since: datetime | None = None
    page: int = 1
    per_page: int = PER_PAGE
    lineage: dict[str, Via | None] = field(default_factory=dict)  # unit IRI -> how it matched

    def args(self, page: int | None = None) -> dict[str, str]:
        """The query string of this query (on another page): what links repeat."""
        out: dict[str, str] = {}
        if self.unit:
            out["unit"] = self.unit
        if self.agency:
            out["agency"] = self.agency
            if self.role != "creator":
                out["role"] = self.role
        if self.kind:
            out["type"] = self.kind
        if self.since:
            out["since"] = self.since.isoformat()
        out["page"] = str(page or self.page)
        if self.per_page != PER_PAGE:
            out["per_page"] = str(self.per_page)
        return out


@dataclass
class RecordPage:
    query: RecordQuery
    total: int
    items: list[Summary]

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.query.per_page))

    @property
    def last_modified(self) -> datetime | None:
        times = [i.modified for i in self.items if i.modified]
        return max(times) if times else None


# -- parameters ----------------------------------------------------------------------------------


def _bad(vi: str, en: str) -> BadRequest:
    return BadRequest(f"{vi} / {en}")


def _iri_param(value: str, minter: Minter, name: str) -> str:
    value = nfc(value.strip())
    if value.startswith("/"):
        value = value.lstrip("/")
    if value.startswith("id/"):
        value = minter.from_path(value)
    try:
        ox.NamedNode(value)
    except ValueError:
        raise _bad(
            f"Tham số {name}={value!r} không phải IRI.",
            f"{name}={value!r} is not an IRI: send the full IRI, e.g. "
            f"{minter.base}id/{name}/..., or its path id/{name}/....",
        ) from None
    return value


def parse_since(value: str) -> datetime:
    """A date or date-time (ISO 8601); without an offset it is Vietnam time (UTC+7)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=VN_TZ)
        moment = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise _bad(
            f"since={value!r} không phải ngày hoặc thời điểm.",
            f"since={value!r} is not a date or date-time: send YYYY-MM-DD or "
            "YYYY-MM-DDThh:mm:ss with an optional offset (+07:00 when none is given), "
            "e.g. since=2026-11-26T00:00:00%2B07:00.",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


def _int_param(value: str | None, name: str, default: int, low: int, high: int | None) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < low or (high is not None and number > high):
        limit = f"{low}–{high}" if high is not None else f"≥ {low}"
        raise _bad(
            f"{name}={value!r} không hợp lệ: cần một số nguyên {limit}.",
            f"{name}={value!r} is not valid: send a whole number {limit}.",
        )
    return number


def parse_query(args: Mapping[str, str], store: Store, minter: Minter) -> RecordQuery:
    """Check the parameters of /api/records; raise BadRequest saying what to send instead."""
    known = {"unit", "agency", "role", "type", "since", "page", "per_page"}
    unknown = sorted(set(args) - known)
    if unknown:
        raise _bad(
            f"Tham số không được hỗ trợ: {', '.join(unknown)}.",
            f"Unknown parameter(s) {', '.join(unknown)}: use {', '.join(sorted(known))}.",
        )
    query = RecordQuery(
        page=_int_param(args.get("page"), "page", 1, 1, None),
        per_page=_int_param(args.get("per_page"), "per_page", PER_PAGE, 1, PER_PAGE_MAX),
    )
    if args.get("unit", "").strip():
        query.unit = _iri_param(args["unit"], minter, "unit")
        query.lineage = unit_lineage(store, query.unit)
    if args.get("agency", "").strip():
        query.agency = _iri_param(args["agency"], minter, "agency")
        if not store.ask(
            "ASK WHERE { ?a a rico:CorporateBody }",
            substitutions={"a": ox.NamedNode(query.agency)},
            graphs=[minter.graph("agencies")],
        ):
            raise _bad(
                f"Không có cơ quan {query.agency}.",
                f"No agency {query.agency}: send the IRI of an agency "
                f"({minter.base}id/agency/<kind>/<unit>), as on its page.",
            )
    role = args.get("role", "").strip() or "creator"
    if role not in ROLES:
        raise _bad(
            f"role={role!r} không hợp lệ.",
            f"role={role!r} is not valid: use creator, holder or any.",
        )
    query.role = role
    kind = args.get("type", "").strip() or None
    if kind is not None and kind not in KINDS:
        raise _bad(
            f"type={kind!r} không hợp lệ.",
            f"type={kind!r} is not valid: use record (tài liệu) or hoso (hồ sơ), or leave it out.",
        )
    query.kind = kind
    if args.get("since", "").strip():
        query.since = parse_since(args["since"])
    return query


def unit_lineage(store: Store, unit: str) -> dict[str, Via | None]:
    """`unit` and every earlier unit whose territory (all or part) passed into it, with how.

    Raises BadRequest when `unit` is not a unit version."""
    try:
        asked = gazetteer.unit_ref(store, unit)
    except NotFound:
        raise _bad(
            f"Không có đơn vị hành chính {unit}.",
            f"No administrative unit {unit}: send the IRI of a unit version, as on its page "
            "(e.g. .../id/unit/phuong-ba-dinh-00004_2025-07-01).",
        ) from None
    found: dict[str, Via | None] = {asked.iri: None}
    frontier = [(asked.iri, None)]
    while frontier:
        iri, first = frontier.pop()
        for old in gazetteer.predecessors(store, iri):
            if old.iri in found:
                continue
            step = first or (old.portion, old.default)
            found[old.iri] = Via(Ref(old.iri, {"vi": old.name}, old.code), step[0], step[1])
            frontier.append((old.iri, step))  # type: ignore[arg-type]
    return found


# -- pages ---------------------------------------------------------------------------------------


def _sets(query: RecordQuery) -> list[str]:
    """Queries of ?r, one per condition of `query`: the matching records are in all of them.

    Each is one triple pattern (or a union of them), intersected in Python: Oxigraph joins
    `?r a ?kind ; kho:accessLevel ?level` at ~30 µs a record (0.3 s at 10k), while listing
    each side takes 0.05 s."""
    kinds = [KINDS[query.kind]] if query.kind else list(KINDS.values())
    parts = [
        "SELECT ?r WHERE { VALUES ?kind { " + " ".join(f"<{k}>" for k in kinds) + " } ?r a ?kind }"
    ]
    if query.since is None:
        parts.append("SELECT ?r WHERE { ?r kho:accessLevel ?level }")
    else:
        since = ox.Literal(query.since.isoformat(), datatype=ox.NamedNode(XSD_DATETIME))
        parts.append(
            "SELECT ?r WHERE { ?r kho:accessLevel ?level "
            f"OPTIONAL {{ {CHANGE_TIMES} }} }} GROUP BY ?r HAVING (MAX(?t) >= {since})"
        )
    if query.unit:
        units = " ".join(str(ox.NamedNode(u)) for u in query.lineage)
        parts.append(f"SELECT ?r WHERE {{ VALUES ?u {{ {units} }} ?r kho:adminUnit ?u }}")
    if query.agency:
        agency = str(ox.NamedNode(query.agency))
        predicate = ROLES[query.role]
        if predicate:
            parts.append(f"SELECT ?r WHERE {{ ?r {predicate} {agency} }}")
        else:
            parts.append(
                f"SELECT ?r WHERE {{ {{ ?r rico:hasCreator {agency} }} "
                f"UNION {{ ?r rico:hasOrHadHolder {agency} }} }}"
            )
    return parts


XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
PAGES = PageCache()


def matching(store: Store, query: RecordQuery, graphs: list[str]) -> set[str]:
    """The IRIs of the records and hồ sơ in `graphs` that match `query` (unsorted)."""
    found: set[str] | None = None
    for sparql in reversed(_sets(query)):  # the filters first: they are the smaller sets
        rows = store.query(sparql, graphs=graphs).result
        iris = {row[0].value for row in rows}  # type: ignore[attr-defined]
        found = iris if found is None else found & iris
        if not found:
            return set()
    return found or set()


def list_records(store: Store, query: RecordQuery, graphs: list[str], minter: Minter) -> RecordPage:
    """One page of the records and hồ sơ in `graphs` that match `query`, in IRI order.

    The total and where each page starts are remembered until the store is next written
    (repository.record_paging)."""
    records = record_graphs(graphs, minter)
    key = (tuple(_sets(query)), tuple(sorted(records)))
    total, iris = PAGES.page(
        store, key, query.page, query.per_page, lambda: matching(store, query, records)
    )
    return RecordPage(query, total, summaries(store, iris, graphs, minter, query.lineage))
