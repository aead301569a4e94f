"""`kho registries verify`: ask the registries about Kho's links and write what they said.

Reads the links (every records graph and `{base}graph/registries`; a citizen's number from the
personal graph, held in memory only and never logged or reported), asks `Registries` (lookups
run a few at a time; registry trouble is a status, never an exception), then replaces each
link's status, check time, note and facts in the link's own graph, one transaction per chunk.
Parcels' communes become Kho's unit versions by (code, date); officials' agencies Kho's agencies
by name and date (docs/model.md, "Registry links (issue 5)").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import pyoxigraph as ox

from repository.identifiers import ParcelKey
from repository.namespaces import KHO, RECORD_GRAPHS, XSD, Minter, verification_concept
from repository.rdf import Triples, text
from repository.registry_facts import Matcher, facts, note
from repository.registry_links import (
    REGISTRY_NAMES,
    REGISTRY_OF,
    STATUSES,
    link_graphs,
)
from repository.store import Store

if TYPE_CHECKING:
    from repository.config import Settings

CHUNK = 100  # links written per transaction
_FACTS = (
    "verificationStatus checkedAt verificationNote enterpriseName enterpriseStatus "
    "enterpriseStatusLabel parcelId parcelArea landUse parcelUnitThen parcelUnitNow "
    "officialPosition officialAgency officialAgencyName registryName"
).split()
# What a check may replace beyond _FACTS: keys learnt from the registry, per kind.
_LEARNT = {"agency": ("registryId", "linkTarget"), "unit": ("linkTarget",)}
_XSD_DATETIME = ox.NamedNode(XSD + "dateTime")


class LookupLike(Protocol):
    status: str
    checked_at: str
    facts: dict
    message_vi: str
    message_en: str


@dataclass
class Link:
    """One link as read from the store (a citizen's `number` from the personal graph)."""

    iri: str
    graph: str
    subject: str
    kind: str
    status: str
    checked_at: str | None = None
    registry_id: str | None = None
    sheet: str | None = None
    parcel: str | None = None
    commune: str | None = None
    key_date: str | None = None
    name: str | None = None  # an agency's name, for the registry's agency lookup
    number: str | None = field(default=None, repr=False)

    @property
    def registry(self) -> str:
        return REGISTRY_OF[self.kind]


@dataclass
class VerifyReport:
    """What a run checked: links per registry and status, and the errors to act on."""

    links: int = 0
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {r: dict.fromkeys(STATUSES, 0) for r in REGISTRY_NAMES}
    )
    errors: list[dict[str, str]] = field(default_factory=list)  # registry errors
    not_found: int = 0
    from_cache: int = 0
    seconds: float = 0.0
    stats: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Links checked per second."""
        return self.links / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "links": self.links,
            "counts": self.counts,
            "errors": self.errors,
            "from_cache": self.from_cache,
            "seconds": round(self.seconds, 2),
            "links_per_second": round(self.rate, 1),
            "registries": self.stats,
        }

    def text(self) -> str:
        lines = [
            f"Đã kiểm tra / checked {self.links} liên kết / links in {self.seconds:.1f} s "
            f"({self.rate:.1f}/s; {self.from_cache} từ bộ nhớ đệm / from the cache)"
        ]
        for registry, by_status in self.counts.items():
            shown = ", ".join(f"{s} {n}" for s, n in by_status.items() if n)
            if shown:
                lines.append(f"  {registry:11} {shown}")
        for e in self.errors[:20]:
            lines.append(
                f"  ! {e['registry']}: {e['link']}\n    {e['message_vi']}\n    {e['message_en']}"
            )
        if len(self.errors) > 20:
            lines.append(f"  … {len(self.errors) - 20} lỗi khác / more errors (--json lists all)")
        return "\n".join(lines)


_LINKS = """
SELECT ?g ?l ?s ?kind ?status ?at ?id ?sheet ?parcel ?commune ?day WHERE { GRAPH ?g {
  ?s dct:references ?l . ?l a kho:RegistryReference ; kho:refKind ?kind ;
     kho:verificationStatus ?status .
  OPTIONAL { ?l kho:checkedAt ?at } OPTIONAL { ?l kho:registryId ?id }
  OPTIONAL { ?l kho:mapSheet ?sheet } OPTIONAL { ?l kho:parcel ?parcel }
  OPTIONAL { ?l kho:communeCode ?commune } OPTIONAL { ?l kho:keyDate ?day } } }"""
_NUMBERS = """
SELECT ?l ?id WHERE { ?l kho:refKind "citizen" ; kho:registryId ?id }"""
_NAMES = """
SELECT ?a ?name WHERE { VALUES ?a { %s } ?a skos:prefLabel ?name FILTER(lang(?name) = "vi") }"""
_CURRENT = """
SELECT ?g ?l ?p ?o WHERE { GRAPH ?g { VALUES ?l { %s } ?l ?p ?o } }"""


def read_links(
    store: Store,
    settings: Settings,
    *,
    registry: str | None = None,
    status: str | None = None,
    older_than_days: int | None = None,
    now: datetime | None = None,
) -> list[Link]:
    """The links to check: of one registry, with one status, or checked more than N days ago
    (or never). Citizens' numbers come from the personal graphs."""
    minter = Minter(settings.base_iri)
    if registry is not None and registry not in REGISTRY_NAMES:
        raise ValueError(f"no registry {registry!r}; one of {', '.join(REGISTRY_NAMES)}")
    if status not in (None, "all", *STATUSES):
        raise ValueError(f"no status {status!r}; one of {', '.join(STATUSES)} or all")
    cutoff = None
    if older_than_days is not None:
        cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    links: dict[str, Link] = {}
    for r in store.select(_LINKS, graphs=link_graphs(minter)):
        link = Link(
            iri=str(r["l"]),
            graph=str(r["g"]),
            subject=str(r["s"]),
            kind=str(r["kind"]),
            status=str(r["status"]).rsplit("/", 1)[-1],
            checked_at=str(r["at"]) if r["at"] else None,
            registry_id=_str(r["id"]),
            sheet=_str(r["sheet"]),
            parcel=_str(r["parcel"]),
            commune=_str(r["commune"]),
            key_date=str(r["day"])[:10] if r["day"] else None,
        )
        if link.kind not in REGISTRY_OF:
            continue
        if registry and link.registry != registry:
            continue
        if status not in (None, "all") and link.status != status:
            continue
        if cutoff and link.checked_at and _instant(link.checked_at) > cutoff:
            continue
        links[link.iri] = link
    citizens = [x for x in links.values() if x.kind == "citizen"]
    if citizens:
        personal = [minter.records_graph(level, "personal") for level in RECORD_GRAPHS]
        numbers = {str(r["l"]): str(r["id"]) for r in store.select(_NUMBERS, graphs=personal)}
        for link in citizens:
            link.number = numbers.get(link.iri)
    agencies = sorted({x.subject for x in links.values() if x.kind == "agency"})
    for chunk in _chunks(agencies):
        values = " ".join(f"<{a}>" for a in chunk)
        names = {str(r["a"]): str(r["name"]) for r in store.select(_NAMES % values)}
        for link in links.values():
            if link.kind == "agency":
                link.name = names.get(link.subject, link.name)
    return sorted(links.values(), key=lambda x: x.iri)


def _str(value: object) -> str | None:
    return str(value) if value is not None else None


def _instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chunks(items: list[Any], size: int = CHUNK) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# -- asking ------------------------------------------------------------------------------------


def ask(registries: Any, link: Link) -> LookupLike:
    """The registry's answer about one link (a Lookup; never raises for registry trouble)."""
    if link.kind == "citizen":
        return registries.citizen(link.number or "")
    if link.kind == "enterprise":
        return registries.enterprise(link.registry_id or "")
    if link.kind == "official":
        return registries.official(link.registry_id or "")
    if link.kind == "land":
        if link.registry_id:
            return registries.parcel(ParcelKey(parcel_id=link.registry_id))
        return registries.parcel(
            ParcelKey(
                commune=link.commune or "",
                sheet=link.sheet or "",
                parcel=link.parcel or "",
                on=link.key_date or "",
            )
        )
    if link.kind == "agency":
        return registries.agency(link.name or "", link.key_date or "")
    return registries.unit(link.registry_id or "", link.key_date or "")


# -- writing -----------------------------------------------------------------------------------


def link_update(
    link: Link, answer: LookupLike, settings: Settings, matcher: Matcher
) -> list[ox.Triple]:
    """The link's new status, check time, note and facts."""
    t = Triples()
    status = answer.status if answer.status in STATUSES else "registry-error"
    t.iri(link.iri, KHO + "verificationStatus", verification_concept(status))
    t.lit(link.iri, KHO + "checkedAt", ox.Literal(answer.checked_at, datatype=_XSD_DATETIME))
    if status == "verified":
        facts(link, answer, t, settings, matcher)
    else:
        vi, en = note(link, answer)
        t.lit(link.iri, KHO + "verificationNote", text(vi, "vi"))
        t.lit(link.iri, KHO + "verificationNote", text(en, "en"))
    return sorted(t.triples, key=str)


def _replaced(store: Store, minter: Minter, links: list[Link]) -> list[ox.Quad]:
    """The quads a check replaces: status, time, note and facts (and keys learnt from the
    registry) of these links, in the graph each lives in."""
    by_iri = {x.iri: x for x in links}
    rows = store.query(
        _CURRENT % " ".join(f"<{x.iri}>" for x in links), graphs=link_graphs(minter)
    ).result
    out: list[ox.Quad] = []
    for r in rows:  # type: ignore[attr-defined]
        link = by_iri[r["l"].value]
        local = r["p"].value.removeprefix(KHO)
        learnt = _LEARNT.get(link.kind, ())
        if link.kind == "land" and not link.registry_id:
            learnt = ("linkTarget",)
        if r["g"].value == link.graph and (local in _FACTS or local in learnt):
            out.append(ox.Quad(r["l"], r["p"], r["o"], r["g"]))
    return out


def verify(
    store: Store,
    settings: Settings,
    registries: Any,
    *,
    registry: str | None = None,
    status: str | None = None,
    older_than_days: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 4,
) -> VerifyReport:
    """Check the links selected by `registry`, `status` (None or "all": every status) and
    `older_than_days`; write each answer in the link's own graph, CHUNK links per transaction.
    Registry errors never stop the run: they are counted, noted on the link and listed."""
    start = time.perf_counter()
    minter = Minter(settings.base_iri)
    today = date.fromisoformat(settings.today) if settings.today else date.today()
    links = read_links(
        store, settings, registry=registry, status=status, older_than_days=older_than_days
    )
    report = VerifyReport()
    matcher = Matcher(store, today)
    done = 0
    if progress:
        progress(0, len(links))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for chunk in _chunks(links):
            answers = list(pool.map(lambda x: ask(registries, x), chunk))
            add: list[ox.Quad] = []
            for link, answer in zip(chunk, answers, strict=True):
                g = ox.NamedNode(link.graph)
                add += [
                    ox.Quad(t.subject, t.predicate, t.object, g)
                    for t in link_update(link, answer, settings, matcher)
                ]
                _count(report, link, answer)
            store.update_quads(_replaced(store, minter, chunk), add)
            done += len(chunk)
            if progress:
                progress(done, len(links))
    report.links = len(links)
    report.seconds = time.perf_counter() - start
    report.stats = dict(getattr(registries, "stats", {}) or {})
    return report


def _count(report: VerifyReport, link: Link, answer: LookupLike) -> None:
    status = answer.status if answer.status in STATUSES else "registry-error"
    report.counts.setdefault(link.registry, dict.fromkeys(STATUSES, 0))[status] += 1
    report.from_cache += bool(getattr(answer, "from_cache", False))
    if status == "not-found":
        report.not_found += 1
    if status == "registry-error":
        vi, en = note(link, answer)
        report.errors.append(
            {
                "registry": link.registry,
                "link": link.iri,
                "subject": link.subject,
                "message_vi": vi,
                "message_en": en,
            }
        )
