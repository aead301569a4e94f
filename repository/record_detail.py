"""What a record (tài liệu) or hồ sơ page shows, read from the graphs the reader may see: its
metadata, digital files, preservation events, registry references, retention decision with its
appraisal history, and quality flags (curation graphs only reach archivists).

Every query takes `graphs` — the reader's visible graphs (repository.access) — so what is hidden
does not exist here either. One exception, by design: `names_citizen` asks over ALL record graphs,
because whether a scan shows a citizen's number must not depend on who asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from repository import access, dedup, link_detail
from repository.errors import NotFound
from repository.files import FileStore
from repository.namespaces import MODE_GRAPH, Minter
from repository.store import Store

FILE_KINDS = ("original", "pdfa")


@dataclass
class DigitalFile:
    which: str  # original | pdfa
    iri: str
    sha256: str
    size: int | None
    pages: int | None
    text_layer: bool | None
    file_name: str | None
    format: str | None


@dataclass
class Event:
    iri: str
    kind: str  # premis-ingestion, premis-ocr, premis-fixity-check, premis-quarantine
    at: str
    outcome: str | None
    note: str | None
    which: str  # the file it concerns


@dataclass
class Appraisal:
    iri: str
    who: str
    at: str | None
    note: str | None


@dataclass
class Retention:
    iri: str
    maintenance: str | None
    period: str | None
    status: str | None
    basis: str | None
    review_date: str | None
    appraisals: list[Appraisal] = field(default_factory=list)  # newest first


@dataclass
class Detail:
    """A record or hồ sơ as one reader sees it."""

    iri: str
    kind: str  # record | hoso
    graph: str
    level: str  # TT 05/2025 mode code
    props: dict[str, list[object]]  # predicate IRI → values (IRIs and literals as str/int)
    hoso: str | None = None
    files: list[DigitalFile] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    refs: list[dict[str, str]] = field(default_factory=list)  # the links' keys, as plain text
    links: list[link_detail.Link] = field(default_factory=list)  # registry links (issue 5)
    flags: list[dict] = field(default_factory=list)
    documents: list[dict[str, object]] = field(default_factory=list)
    retention: Retention | None = None

    def first(self, predicate: str) -> object | None:
        values = self.props.get(predicate)
        return values[0] if values else None


_LOCATE = """
SELECT ?g ?t WHERE { GRAPH ?g { ?s a ?t FILTER(?t IN (rico:Record, rico:RecordSet)) } }"""
_PROPS = "SELECT ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
_FILES = """
SELECT ?f ?p ?o WHERE { GRAPH ?g { ?s rico:hasOrHadInstantiation ?f . ?f ?p ?o } }"""
_EVENTS = """
SELECT ?e ?f ?type ?at ?out ?note WHERE {
  ?s rico:hasOrHadInstantiation ?f . ?e prov:used ?f ; kho:eventType ?type .
  OPTIONAL { ?e prov:endedAtTime ?at } OPTIONAL { ?e kho:outcome ?out }
  OPTIONAL { ?e rico:descriptiveNote ?note }
} ORDER BY ?at ?e"""
_CITIZEN = """
ASK WHERE { ?s dct:references ?ref . ?ref kho:refKind "citizen" }"""
_DOCUMENTS = """
SELECT ?r ?id ?ord ?issued ?subject ?number ?type WHERE {
  ?r rico:isOrWasIncludedIn ?s ; a rico:Record .
  OPTIONAL { ?r rico:identifier ?id } OPTIONAL { ?r kho:docOrdinal ?ord }
  OPTIONAL { ?r dct:issued ?issued } OPTIONAL { ?r rico:scopeAndContent ?subject }
  OPTIONAL { ?r kho:numberSymbol ?number } OPTIONAL { ?r kho:typeName ?type }
} ORDER BY ?ord ?r"""
_RETENTION = """
SELECT ?d ?m ?period ?status ?basis ?review WHERE {
  ?d a kho:RetentionDecision ; rico:regulatesOrRegulated ?s .
  OPTIONAL { ?d kho:maintenance ?m } OPTIONAL { ?d kho:retentionPeriod ?period }
  OPTIONAL { ?d kho:decisionStatus ?status } OPTIONAL { ?d kho:basis ?basis }
  OPTIONAL { ?d kho:reviewDate ?review }
}"""
_APPRAISALS = """
SELECT ?a ?who ?at ?note WHERE {
  ?a a kho:Appraisal . FILTER(STRSTARTS(STR(?a), ?prefix))
  OPTIONAL { ?a prov:wasAssociatedWith ?who } OPTIONAL { ?a prov:endedAtTime ?at }
  OPTIONAL { ?a rico:descriptiveNote ?note }
} ORDER BY DESC(?at) DESC(?a)"""


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def locate(store: Store, minter: Minter, iri: str, graphs: list[str]) -> tuple[str, str, str]:
    """(kind, graph, level) of a record or hồ sơ the reader may see; else NotFound."""
    rows = store.select(_LOCATE, substitutions={"s": _n(iri)}, graphs=graphs)
    for r in rows:
        level = access.level_of(str(r["g"]), minter)
        if level is not None and str(r["g"]) == minter.records_graph(MODE_GRAPH[level]):
            kind = "record" if str(r["t"]).endswith("#Record") else "hoso"
            return kind, str(r["g"]), level
    raise NotFound(f"Kho has no record or hồ sơ {iri}.")


def names_citizen(store: Store, minter: Minter, iri: str) -> bool:
    """Does the record name a citizen (a personal-graph reference)? Asked over every record graph,
    whoever reads: the answer decides whether the scan may be shown."""
    graphs = [g for g in store.named_graphs() if g.startswith(minter.graph("records/"))]
    return bool(graphs) and store.ask(_CITIZEN, substitutions={"s": _n(iri)}, graphs=graphs)


def detail(store: Store, minter: Minter, iri: str, graphs: list[str]) -> Detail:
    """The record or hồ sơ `iri` as the reader with `graphs` sees it (NotFound if hidden)."""
    kind, graph, level = locate(store, minter, iri, graphs)
    subs = {"s": _n(iri), "g": _n(graph)}
    props: dict[str, list[object]] = {}
    for r in store.select(_PROPS, substitutions=subs, graphs=[graph]):
        props.setdefault(str(r["p"]), []).append(r["o"])
    d = Detail(iri=iri, kind=kind, graph=graph, level=level, props=props)
    curation = [g for g in graphs if g.endswith("/curation")]
    if kind == "record":
        d.hoso = next(
            (str(v) for v in props.get(_RICO + "isOrWasIncludedIn", []) if "/id/hoso/" in str(v)),
            None,
        )
        d.files = _files(store, iri, graph)
        d.events = _events(store, iri, graphs)
        d.links = link_detail.links_of(store, [iri], graphs)
        d.refs = [_ref_keys(lk) for lk in d.links]
        d.flags = dedup.list_flags(store, graphs=curation, resource=iri) if curation else []
        attach_reviews(store, d.flags, curation)
    else:
        d.documents = store.select(_DOCUMENTS, substitutions={"s": _n(iri)}, graphs=graphs)
        d.retention = retention_of(store, iri, graphs)
        documents = [str(doc["r"]) for doc in d.documents]
        d.links = link_detail.links_of(store, [iri, *documents], graphs)
        if curation:
            d.flags = dedup.list_flags(store, graphs=curation, resource=iri)
            for doc in d.documents:
                d.flags += dedup.list_flags(store, graphs=curation, resource=str(doc["r"]))
            attach_reviews(store, d.flags, curation)
    return d


def _ref_keys(link: link_detail.Link) -> dict[str, str]:
    """A link's kind and keys as text (a citizen's number only when read from a personal graph)."""
    keys = {
        "ref": link.iri,
        "kind": link.kind,
        "id": link.registry_id or link.number,
        "sheet": link.sheet,
        "parcel": link.parcel,
    }
    return {k: v for k, v in keys.items() if v is not None}


_RICO = "https://www.ica.org/standards/RiC/ontology#"
_KHO = "https://w3id.org/kho/ns#"
_DCT = "http://purl.org/dc/terms/"


def _files(store: Store, iri: str, graph: str) -> list[DigitalFile]:
    by_file: dict[str, dict[str, object]] = {}
    for r in store.select(_FILES, substitutions={"s": _n(iri), "g": _n(graph)}, graphs=[graph]):
        by_file.setdefault(str(r["f"]), {})[str(r["p"])] = r["o"]
    out = []
    for f, p in by_file.items():
        which = f.rsplit("/", 1)[-1]
        if which not in FILE_KINDS or not p.get(_KHO + "sha256"):
            continue
        out.append(
            DigitalFile(
                which=which,
                iri=f,
                sha256=str(p[_KHO + "sha256"]),
                size=p.get(_KHO + "byteSize"),  # type: ignore[arg-type]
                pages=p.get(_KHO + "pageCount"),  # type: ignore[arg-type]
                text_layer=p.get(_KHO + "hasTextLayer"),  # type: ignore[arg-type]
                file_name=str(p.get(_KHO + "fileName") or "") or None,
                format=str(p.get(_DCT + "format") or "") or None,
            )
        )
    return sorted(out, key=lambda x: FILE_KINDS.index(x.which))


def _events(store: Store, iri: str, graphs: list[str]) -> list[Event]:
    rows = store.select(_EVENTS, substitutions={"s": _n(iri)}, graphs=graphs)
    return [
        Event(
            iri=str(r["e"]),
            kind=str(r["type"]).rsplit("/", 1)[-1],
            at=str(r["at"] or ""),
            outcome=str(r["out"]).rsplit("/", 1)[-1] if r["out"] else None,
            note=str(r["note"]) if r["note"] else None,
            which=str(r["f"]).rsplit("/", 1)[-1],
        )
        for r in rows
    ]


def retention_of(store: Store, hoso_iri: str, graphs: list[str]) -> Retention | None:
    """The retention decision of a hồ sơ with its appraisals (newest first), or None."""
    rows = store.select(_RETENTION, substitutions={"s": _n(hoso_iri)}, graphs=graphs)
    if not rows:
        return None
    r = rows[0]
    decision = Retention(
        iri=str(r["d"]),
        maintenance=str(r["m"]).rsplit("/", 1)[-1] if r["m"] else None,
        period=str(r["period"]) if r["period"] else None,
        status=str(r["status"]).rsplit("/", 1)[-1] if r["status"] else None,
        basis=str(r["basis"]) if r["basis"] else None,
        review_date=str(r["review"]) if r["review"] else None,
    )
    prefix = ox.Literal(Minter.appraisal(hoso_iri, 0)[:-1])
    for a in store.select(_APPRAISALS, substitutions={"prefix": prefix}, graphs=graphs):
        decision.appraisals.append(
            Appraisal(
                iri=str(a["a"]),
                who=str(a["who"] or ""),
                at=str(a["at"]) if a["at"] else None,
                note=str(a["note"]) if a["note"] else None,
            )
        )
    decision.appraisals.sort(key=lambda x: int(x.iri.rsplit("-", 1)[-1]), reverse=True)
    return decision


_REVIEWS = """
SELECT ?flag ?rv ?type ?who ?at ?note WHERE {
  ?rv prov:used ?flag ; a prov:Activity ; dct:type ?type .
  OPTIONAL { ?rv prov:wasAssociatedWith ?who } OPTIONAL { ?rv prov:endedAtTime ?at }
  OPTIONAL { ?rv rico:descriptiveNote ?note }
} ORDER BY DESC(?at) DESC(?rv)"""


def attach_reviews(store: Store, flags: list[dict], graphs: list[str]) -> list[dict]:
    """Give each flag its archivists' reviews (newest first): outcome, who, when, note."""
    for f in flags:
        rows = store.select(_REVIEWS, substitutions={"flag": _n(f["flag"])}, graphs=graphs)
        f["reviews"] = [
            {
                "iri": str(r["rv"]),
                "outcome": str(r["type"]).rsplit("/", 1)[-1],
                "who": str(r["who"] or ""),
                "at": str(r["at"] or ""),
                "note": str(r["note"]) if r["note"] else None,
            }
            for r in rows
        ]
    return flags


def identifiers(store: Store, iris: list[str], graphs: list[str]) -> dict[str, str]:
    """rico:identifier of records and hồ sơ among `iris`, as the reader sees them."""
    if not iris:
        return {}
    values = " ".join(f"<{i}>" for i in sorted(set(iris)))
    rows = store.select(
        f"SELECT ?s ?id WHERE {{ VALUES ?s {{ {values} }} ?s rico:identifier ?id }}",
        graphs=graphs,
    )
    return {str(r["s"]): str(r["id"]) for r in rows}


def ocr_text(files: FileStore, d: Detail) -> str | None:
    """The text read from the record's scan or text layer (kept beside the original file)."""
    original = next((f for f in d.files if f.which == "original"), None)
    return files.text(original.sha256) if original else None


def file_of(d: Detail, which: str) -> DigitalFile | None:
    return next((f for f in d.files if f.which == which), None)
