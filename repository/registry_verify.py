"""`kho registries verify`: ask the registries about Kho's links and write what they said.

Reads the links (every records graph and `{base}graph/registries`; a citizen's number from the
personal graph, held in memory only and never logged or reported), asks `Registries` (lookups
run a few at a time; registry trouble is a status, never an exception), then replaces each
link's status, check time, note and facts in the link's own graph, one transaction per chunk.
Parcels' communes become Kho's unit versions by (code, date); officials' agencies Kho's agencies
by name and date (docs/model.md, "Registry links (issue 5)"). A registry error keeps the facts
of the last successful check (repository.registry_facts). The report lists the subjects whose
links changed, for the caller to re-index.

`check()` checks links already read (`read_links(..., only=..., graphs=...)`): the web's
re-check of the links an archivist selected, in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import pyoxigraph as ox

from repository.identifiers import ParcelKey
from repository.namespaces import KHO, RECORD_GRAPHS, Minter
from repository.registry_facts import BOOKKEEPING, FACTS, Matcher, keeps_facts, link_update, note
from repository.registry_links import REGISTRY_NAMES, REGISTRY_OF, STATUSES, link_graphs
from repository.registry_report import VerifyReport
from repository.store import Store

if TYPE_CHECKING:
    from repository.config import Settings

__all__ = ["Link", "VerifyReport", "check", "link_update", "read_links", "verify"]

# Links written per transaction. Each write to the embedded store opens it read-write and then a
# new view (about 40 ms, repository/store_oxigraph.py): 100 per write cost a cached run of 11,324
# links a third of its time; an interrupted run redoes at most one chunk, from the answer cache.
CHUNK = 500
# What a check may replace beyond FACTS: keys learnt from the registry, per kind.
_LEARNT = {"agency": ("registryId", "linkTarget"), "unit": ("linkTarget",)}


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
    last_verified_at: str | None = None  # the facts kept after a registry error date from then
    number: str | None = field(default=None, repr=False)

    @property
    def registry(self) -> str:
        return REGISTRY_OF[self.kind]


_LINKS = """
SELECT ?g ?l ?s ?kind ?status ?at ?last ?id ?sheet ?parcel ?commune ?day WHERE { %s GRAPH ?g {
  ?s dct:references ?l . ?l a kho:RegistryReference ; kho:refKind ?kind ;
     kho:verificationStatus ?status .
  OPTIONAL { ?l kho:checkedAt ?at } OPTIONAL { ?l kho:lastVerifiedAt ?last }
  OPTIONAL { ?l kho:registryId ?id }
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
    only: Iterable[str] | None = None,
    graphs: Iterable[str] | None = None,
) -> list[Link]:
    """The links to check: of one registry, with one status, or checked more than N days ago
    (or never); `only` these link IRIs; only links living in `graphs` (a reader's visible
    graphs: what a reader may not see cannot be checked on their behalf). Citizens' numbers
    come from the personal graphs (held in memory to ask the registry, never shown)."""
    minter = Minter(settings.base_iri)
    if registry is not None and registry not in REGISTRY_NAMES:
        raise ValueError(f"no registry {registry!r}; one of {', '.join(REGISTRY_NAMES)}")
    if status not in (None, "all", *STATUSES):
        raise ValueError(f"no status {status!r}; one of {', '.join(STATUSES)} or all")
    cutoff = None
    if older_than_days is not None:
        cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    links: dict[str, Link] = {}
    where = link_graphs(minter)
    if graphs is not None:
        allowed = set(graphs)
        where = [g for g in where if g in allowed]
    values = ""
    if only is not None:
        wanted = sorted({i for i in only if _is_iri(i)})
        if not wanted or not where:
            return []
        values = f"VALUES ?l {{ {' '.join(str(ox.NamedNode(i)) for i in wanted)} }}"
    elif not where:
        return []
    for r in store.select(_LINKS % values, graphs=where):
        link = Link(
            iri=str(r["l"]),
            graph=str(r["g"]),
            subject=str(r["s"]),
            kind=str(r["kind"]),
            status=str(r["status"]).rsplit("/", 1)[-1],
            checked_at=str(r["at"]) if r["at"] else None,
            last_verified_at=str(r["last"]) if r["last"] else None,
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


def _is_iri(value: str) -> bool:
    try:
        ox.NamedNode(value)
    except ValueError:
        return False
    return value.startswith(("http://", "https://"))


def _str(value: object) -> str | None:
    return str(value) if value is not None else None


def _instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chunks(items: list[Any], size: int = CHUNK) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# -- asking ------------------------------------------------------------------------------------


def ask(registries: Any, link: Link, refresh: bool = False) -> LookupLike:
    """The registry's answer about one link (a Lookup; never raises for registry trouble).
    `refresh`: ask the registry even when its cache holds an answer."""
    kw = {"refresh": True} if refresh else {}
    if link.kind == "citizen":
        return registries.citizen(link.number or "", **kw)
    if link.kind == "enterprise":
        return registries.enterprise(link.registry_id or "", **kw)
    if link.kind == "official":
        return registries.official(link.registry_id or "", **kw)
    if link.kind == "land":
        if link.registry_id:
            return registries.parcel(ParcelKey(parcel_id=link.registry_id), **kw)
        return registries.parcel(
            ParcelKey(
                commune=link.commune or "",
                sheet=link.sheet or "",
                parcel=link.parcel or "",
                on=link.key_date or "",
            ),
            **kw,
        )
    if link.kind == "agency":
        return registries.agency(link.name or "", link.key_date or "", **kw)
    return registries.unit(link.registry_id or "", link.key_date or "", **kw)


# -- writing -----------------------------------------------------------------------------------


def _current(store: Store, minter: Minter, links: list[Link]) -> dict[str, list[ox.Quad]]:
    """What a check may replace, per link: its status, time, note and facts (and keys learnt
    from the registry), in the graph it lives in."""
    by_iri = {x.iri: x for x in links}
    rows = store.query(
        _CURRENT % " ".join(f"<{x.iri}>" for x in links), graphs=link_graphs(minter)
    ).result
    out: dict[str, list[ox.Quad]] = {x.iri: [] for x in links}
    for r in rows:  # type: ignore[attr-defined]
        link = by_iri[r["l"].value]
        local = r["p"].value.removeprefix(KHO)
        learnt = _LEARNT.get(link.kind, ())
        if link.kind == "land" and not link.registry_id:
            learnt = ("linkTarget",)
        if r["g"].value == link.graph and (local in FACTS or local in learnt):
            out[link.iri].append(ox.Quad(r["l"], r["p"], r["o"], r["g"]))
    return out


def _facts_of(items: Iterable[ox.Quad | ox.Triple]) -> set[tuple[str, str]]:
    """The facts (and learnt keys) among a link's statements, bookkeeping left out."""
    return {
        (str(q.predicate), str(q.object))
        for q in items
        if q.predicate.value.removeprefix(KHO) not in BOOKKEEPING
    }


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
    refresh: bool = False,
) -> VerifyReport:
    """Check the links selected by `registry`, `status` (None or "all": every status) and
    `older_than_days`; write each answer in the link's own graph, CHUNK links per transaction.
    Registry errors never stop the run: they are counted, noted on the link and listed."""
    start = time.perf_counter()
    links = read_links(
        store, settings, registry=registry, status=status, older_than_days=older_than_days
    )
    report = check(
        store, settings, registries, links, progress=progress, workers=workers, refresh=refresh
    )
    report.seconds = time.perf_counter() - start
    return report


def check(
    store: Store,
    settings: Settings,
    registries: Any,
    links: list[Link],
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 4,
    refresh: bool = False,
    chunk: int = CHUNK,
    give_up_after: int = 0,
) -> VerifyReport:
    """Check `links` (from read_links) and write the answers, `chunk` links per transaction.
    `refresh` asks past the registries' cache; `give_up_after` > 0 stops asking a registry
    after that many registry errors in a row (its remaining links are left as they were and
    listed in `skipped`)."""
    start = time.perf_counter()
    minter = Minter(settings.base_iri)
    today = date.fromisoformat(settings.today) if settings.today else date.today()
    report = VerifyReport()
    matcher = Matcher(store, today)
    failing: dict[str, int] = {}

    def asked(link: Link) -> LookupLike | None:
        if give_up_after and failing.get(link.registry, 0) >= give_up_after:
            return None
        answer = ask(registries, link, refresh)
        failed = answer.status not in ("verified", "not-found")
        failing[link.registry] = failing.get(link.registry, 0) + 1 if failed else 0
        return answer

    done = 0
    if progress:
        progress(0, len(links))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for part in _chunks(links, max(1, chunk)):
            answers = list(pool.map(asked, part))
            current = _current(store, minter, part)
            remove: list[ox.Quad] = []
            add: list[ox.Quad] = []
            for link, answer in zip(part, answers, strict=True):
                if answer is None:
                    report.skipped.append(_row(link))
                    continue
                g = ox.NamedNode(link.graph)
                new = link_update(link, answer, settings, matcher)
                old = current[link.iri]
                if keeps_facts(link, answer):
                    old = [q for q in old if q.predicate.value.removeprefix(KHO) in BOOKKEEPING]
                remove += old
                add += [ox.Quad(t.subject, t.predicate, t.object, g) for t in new]
                _count(report, link, answer)
                _changed(report, link, answer, old, new)
            store.update_quads(remove, add)
            done += len(part)
            if progress:
                progress(done, len(links))
    report.links = len(links) - len(report.skipped)
    report.seconds = time.perf_counter() - start
    report.stats = dict(getattr(registries, "stats", {}) or {})
    return report


def _row(link: Link) -> dict[str, str]:
    return {"link": link.iri, "subject": link.subject, "registry": link.registry}


def _changed(
    report: VerifyReport,
    link: Link,
    answer: LookupLike,
    old: list[ox.Quad],
    new: list[ox.Triple],
) -> None:
    after = answer.status if answer.status in STATUSES else "registry-error"
    if after != link.status:
        report.changes.append({**_row(link), "before": link.status, "after": after})
    if after != link.status or _facts_of(old) != _facts_of(new):
        report.changed_subjects.add(link.subject)


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
