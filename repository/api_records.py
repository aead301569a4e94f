"""What integrators ask of the collection of records and hồ sơ: pages of them by unit (following
the units' succession), creating agency and change time, and everything one of them is described
by. Every query is restricted to the named graphs the caller passes (repository.access decides
which); the agencies and gazetteer reference data come only from the public reference graphs.

"Changed" (the `since` filter, Last-Modified) is the latest `prov:endedAtTime` among the
activities that wrote the resource (docs/model.md): the preservation events (ingestion, OCR,
fixity) of its digital files, for a hồ sơ also those of its documents' files and the appraisals
of its retention decision. Quality-flag reviews are curation data and do not count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import pyoxigraph as ox

from repository import gazetteer
from repository.errors import BadRequest, NotFound
from repository.namespaces import DCT, KHO, RDF, RICO, SKOS, Minter
from repository.preservation import VN_TZ
from repository.store import Store
from repository.text import nfc

PER_PAGE = 50
PER_PAGE_MAX = 500
KINDS = {"record": RICO + "Record", "hoso": RICO + "RecordSet"}
ROLES = {"creator": "rico:hasCreator", "holder": "rico:hasOrHadHolder", "any": None}
REFERENCE_GRAPHS = ("agencies", "gazetteer", "vocabulary")


@dataclass(frozen=True)
class Ref:
    """A unit or agency as a member summary names it."""

    iri: str
    names: dict[str, str] = field(default_factory=dict)
    code: str | None = None


@dataclass(frozen=True)
class Via:
    """An earlier unit through which a record matched a newer unit's lineage."""

    unit: Ref
    portion: str | None  # whole | part (of the first step from the old unit)
    default: bool | None  # is the asked unit the old unit's default successor (first step)


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
class Summary:
    """One member of a page: what identifies and dates a record or hồ sơ."""

    iri: str
    kind: str  # record | hoso
    identifier: str | None = None
    number_symbol: str | None = None
    title: dict[str, str] = field(default_factory=dict)
    subject: dict[str, str] = field(default_factory=dict)
    dates: dict[str, ox.Literal] = field(default_factory=dict)  # issued, beginningDate, endDate
    access_level: str | None = None
    hoso: str | None = None
    unit: Ref | None = None
    creators: list[Ref] = field(default_factory=list)
    modified: datetime | None = None
    matched_via: Via | None = None


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


def reference_graphs(graphs: list[str], minter: Minter) -> list[str]:
    """The public reference graphs among `graphs` (agencies, gazetteer, vocabulary)."""
    wanted = {minter.graph(name) for name in REFERENCE_GRAPHS}
    return [g for g in graphs if g in wanted]


def record_graphs(graphs: list[str], minter: Minter) -> list[str]:
    """The records graphs among `graphs` (queries about records need nothing else, and the
    reference graphs are large)."""
    return [g for g in graphs if g.startswith(minter.graph("records/"))]


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

_TIMES = """
  { ?r rico:hasOrHadInstantiation ?f . ?e prov:used ?f ; prov:endedAtTime ?t }
  UNION { ?d rico:isOrWasIncludedIn ?r ; rico:hasOrHadInstantiation ?f .
          ?e prov:used ?f ; prov:endedAtTime ?t }
  UNION { ?dec rico:regulatesOrRegulated ?r ; prov:wasGeneratedBy ?a . ?a prov:endedAtTime ?t }
  UNION { ?r a rico:Record ; rico:isOrWasIncludedIn ?h .
          ?dec rico:regulatesOrRegulated ?h ; prov:wasGeneratedBy ?a . ?a prov:endedAtTime ?t }
"""


def _pattern(query: RecordQuery) -> str:
    kinds = [KINDS[query.kind]] if query.kind else list(KINDS.values())
    parts = [
        "VALUES ?kind { " + " ".join(f"<{k}>" for k in kinds) + " }",
        "?r a ?kind ; kho:accessLevel ?level .",
    ]
    if query.unit:
        units = " ".join(str(ox.NamedNode(u)) for u in query.lineage)
        parts.append(f"VALUES ?u {{ {units} }} ?r kho:adminUnit ?u .")
    if query.agency:
        agency = str(ox.NamedNode(query.agency))
        predicate = ROLES[query.role]
        if predicate:
            parts.append(f"?r {predicate} {agency} .")
        else:
            parts.append(
                f"{{ ?r rico:hasCreator {agency} }} UNION {{ ?r rico:hasOrHadHolder {agency} }}"
            )
    return "\n  ".join(parts)


def _matching(query: RecordQuery) -> str:
    """A sub-select of ?r (distinct) matching every filter of `query`."""
    if query.since is None:
        return f"{{ SELECT DISTINCT ?r WHERE {{ {_pattern(query)} }} }}"
    since = ox.Literal(query.since.isoformat(), datatype=ox.NamedNode(XSD_DATETIME))
    return (
        f"{{ SELECT ?r (MAX(?t) AS ?m) WHERE {{ {_pattern(query)} OPTIONAL {{ {_TIMES} }} }} "
        f"GROUP BY ?r HAVING (MAX(?t) >= {since}) }}"
    )


XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"


def list_records(store: Store, query: RecordQuery, graphs: list[str], minter: Minter) -> RecordPage:
    """One page of the records and hồ sơ in `graphs` that match `query`, in IRI order."""
    matching = _matching(query)
    records = record_graphs(graphs, minter)
    rows = store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {matching} }}", graphs=records)
    total = int(rows[0]["n"]) if rows else 0  # type: ignore[call-overload]
    offset = (query.page - 1) * query.per_page
    iris = [
        str(r["r"])
        for r in store.select(
            f"SELECT ?r WHERE {{ {matching} }} ORDER BY ?r LIMIT {query.per_page} OFFSET {offset}",
            graphs=records,
        )
    ]
    return RecordPage(query, total, summaries(store, iris, graphs, minter, query.lineage))


_FIELDS = (
    RDF + "type",
    RICO + "identifier",
    KHO + "numberSymbol",
    RICO + "title",
    RICO + "scopeAndContent",
    DCT + "issued",
    RICO + "beginningDate",
    RICO + "endDate",
    KHO + "accessLevel",
    KHO + "adminUnit",
    RICO + "hasCreator",
    RICO + "isOrWasIncludedIn",
)
_LABELS = (SKOS + "prefLabel", SKOS + "notation")


def _values(iris: list[str]) -> str:
    return " ".join(str(ox.NamedNode(i)) for i in iris)


def _select(iris: list[str], predicates: tuple[str, ...]) -> str:
    # FILTER, not VALUES ?p: with two VALUES blocks Oxigraph scans ?p before binding ?s.
    wanted = ", ".join(f"<{p}>" for p in predicates)
    return (
        f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {_values(iris)} }} ?s ?p ?o "
        f"FILTER(?p IN ({wanted})) }}"
    )


def _rows(store: Store, sparql: str, graphs: list[str]) -> list[tuple[str, str, ox.Term]]:
    result = store.query(sparql, graphs=graphs).result
    return [(s["s"].value, s["p"].value, s["o"]) for s in result]  # type: ignore[attr-defined]


def summaries(
    store: Store,
    iris: list[str],
    graphs: list[str],
    minter: Minter,
    lineage: Mapping[str, Via | None] | None = None,
) -> list[Summary]:
    """Member summaries of `iris` (records or hồ sơ), in the same order."""
    if not iris:
        return []
    rows = _rows(store, _select(iris, _FIELDS), record_graphs(graphs, minter))
    found = {i: Summary(i, "record") for i in iris}
    refs: set[str] = set()
    for s, p, o in rows:
        item = found[s]
        value = o.value
        if p == RDF + "type":
            item.kind = "hoso" if value == KINDS["hoso"] else item.kind
        elif p == RICO + "identifier":
            item.identifier = value
        elif p == KHO + "numberSymbol":
            item.number_symbol = value
        elif p in (RICO + "title", RICO + "scopeAndContent"):
            target = item.title if p == RICO + "title" else item.subject
            target[getattr(o, "language", None) or "vi"] = value
        elif p in (DCT + "issued", RICO + "beginningDate", RICO + "endDate"):
            item.dates[p.rsplit("/", 1)[-1].rsplit("#", 1)[-1]] = o  # type: ignore[assignment]
        elif p == KHO + "accessLevel":
            item.access_level = value
        elif p == KHO + "adminUnit":
            item.unit = Ref(value)
            refs.add(value)
        elif p == RICO + "hasCreator":
            item.creators.append(Ref(value))
            refs.add(value)
        elif p == RICO + "isOrWasIncludedIn" and value.startswith(minter.base + "id/hoso/"):
            item.hoso = value
    labels = _labels(store, sorted(refs), reference_graphs(graphs, minter))
    for item in found.values():
        if item.unit:
            item.unit = labels.get(item.unit.iri, item.unit)
            if lineage:
                item.matched_via = lineage.get(item.unit.iri)
        item.creators = sorted((labels.get(c.iri, c) for c in item.creators), key=lambda c: c.iri)
    for iri, moment in modified_times(store, iris, record_graphs(graphs, minter)).items():
        found[iri].modified = moment
    return [found[i] for i in iris]


def _labels(store: Store, iris: list[str], graphs: list[str]) -> dict[str, Ref]:
    if not iris:
        return {}
    rows = _rows(store, _select(iris, _LABELS), graphs)
    names: dict[str, dict[str, str]] = {}
    codes: dict[str, str] = {}
    for s, p, o in rows:
        if p == SKOS + "prefLabel":
            names.setdefault(s, {})[getattr(o, "language", None) or "vi"] = o.value
        else:
            codes[s] = o.value
    return {i: Ref(i, names.get(i, {}), codes.get(i)) for i in iris}


def modified_times(store: Store, iris: list[str], graphs: list[str]) -> dict[str, datetime]:
    """When each of `iris` last changed (see the module's docstring), where known."""
    if not iris:
        return {}
    rows = store.select(
        f"SELECT ?r (MAX(?t) AS ?m) WHERE {{ VALUES ?r {{ {_values(iris)} }} {_TIMES} }} "
        "GROUP BY ?r",
        graphs=graphs,
    )
    return {str(r["r"]): datetime.fromisoformat(str(r["m"])) for r in rows if r["m"]}
