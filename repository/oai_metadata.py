"""The metadata part of OAI-PMH records: simple Dublin Core (oai_dc) and RDF/XML (rdf) of Kho's
documents and hồ sơ, from the reader's visible graphs only (never the personal graphs), with
citizens' identification numbers masked for every reader (repository.access.mask_personal): a
harvested copy leaves Kho's access control behind (issue 5)."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox
from lxml import etree

from repository import access
from repository.namespaces import DCT, KHO, PREFIXES, RDF, RICO, SKOS
from repository.oai_items import View, _iri
from repository.text import nfc

OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True)
class Format:
    prefix: str
    schema: str
    namespace: str


FORMATS = {
    "oai_dc": Format("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC),
    # The OAI's schema for RDF in OAI-PMH: an rdf:RDF root, its content validated laxly.
    "rdf": Format("rdf", "http://www.openarchives.org/OAI/2.0/rdf.xsd", RDF),
}
_KIND = {"hoso": (("Hồ sơ", "vi"), ("File", "en")), "record": (("Tài liệu", "vi"),)}
_DCMI = {"hoso": "Collection", "record": "Text"}
_UNMASKED = {KHO + "textSignature", KHO + "textBand"}  # hex digests, not text
_TEXT_TYPES = {
    "http://www.w3.org/2001/XMLSchema#string",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString",
}
_TRIPLES = "SELECT ?s ?p ?o WHERE { VALUES ?s { %s } ?s ?p ?o }"
_LABELS = """
SELECT ?c ?l ?m WHERE {
  VALUES ?c { %s }
  { ?c skos:prefLabel ?l } UNION { ?c skos:closeMatch ?m }
}"""


def _values(view: View, items: list[str]) -> dict[str, dict[str, list[ox.Term]]]:
    """Each item's own triples in the visible graphs, by predicate."""
    found: dict[str, dict[str, list[ox.Term]]] = {i: {} for i in items}
    sparql = _TRIPLES % " ".join(map(_iri, items))
    for row in view.store.query(sparql, graphs=view.graphs).result:  # type: ignore[attr-defined]
        found[row["s"].value].setdefault(row["p"].value, []).append(row["o"])
    return found


def _labels(view: View, iris: set[str]) -> dict[str, dict[str, str]]:
    """prefLabels by language ('vi', 'en', '' for none) and 'iso' (ISO 639-1 code) of concepts,
    agencies and units."""
    found: dict[str, dict[str, str]] = {}
    if not iris:
        return found
    rows = view.store.query(_LABELS % " ".join(map(_iri, sorted(iris))), graphs=view.graphs)
    for row in rows.result:  # type: ignore[attr-defined]
        entry = found.setdefault(row["c"].value, {})
        if row["l"] is not None:
            entry.setdefault(row["l"].language or "", nfc(row["l"].value))
        if row["m"] is not None and "/iso639-1/" in row["m"].value:
            entry["iso"] = row["m"].value.rsplit("/", 1)[-1]
    return found


def dublin_core(view: View, items: dict[str, str]) -> dict[str, tuple[etree._Element, bool]]:
    """oai_dc:dc elements for `items` (IRI -> kind 'record' or 'hoso'), with whether a citizen's
    number is shown in them (never: OAI-PMH masks them for everyone)."""
    values = _values(view, list(items))
    linked = {
        o.value
        for props in values.values()
        for p in (RICO + "hasCreator", KHO + "adminUnit", KHO + "typeName")
        + (KHO + "accessLevel", DCT + "language")
        for o in props.get(p, [])
        if isinstance(o, ox.NamedNode)
    }
    labels = _labels(view, linked)
    return {iri: _dc(view, iri, kind, values[iri], labels) for iri, kind in items.items()}


def _dc(
    view: View,
    iri: str,
    kind: str,
    props: dict[str, list[ox.Term]],
    labels: dict[str, dict[str, str]],
) -> tuple[etree._Element, bool]:
    root = etree.Element(f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} {FORMATS['oai_dc'].schema}")
    shown_personal = False  # never, since every text is masked; kept for the callers' audit

    def add(element: str, text: object, lang: str | None = None) -> None:
        if text is None or str(text).strip() == "":
            return
        node = etree.SubElement(root, f"{{{DC}}}{element}")
        plain = nfc(str(text))
        # Masked for every reader: a harvested copy leaves Kho's access control behind.
        node.text = access.mask_personal(plain)
        if lang:
            node.set(XML_LANG, lang)

    def texts(predicate: str) -> list[str]:
        return [t.value for t in props.get(predicate, [])]

    def named(predicate: str) -> list[str]:
        return [t.value for t in props.get(predicate, []) if isinstance(t, ox.NamedNode)]

    def label(concept: str, lang: str) -> str | None:
        entry = labels.get(concept, {})
        return entry.get(lang) or (entry.get("vi") if lang == "vi" else None)

    types = named(KHO + "typeName")
    subject = texts(RICO + "scopeAndContent")
    if kind == "hoso":
        for title in texts(RICO + "title"):
            add("title", title, "vi")
    else:
        type_vi = next((label(t, "vi") for t in types if label(t, "vi")), "")
        number = next(iter(texts(KHO + "numberSymbol")), "")
        heading = " ".join(x for x in (type_vi, number) if x)
        add("title", f"{heading}: {subject[0]}" if heading and subject else heading or None, "vi")
    for agency in named(RICO + "hasCreator"):
        add("creator", label(agency, "vi") or next(iter(texts(KHO + "organName")), None), "vi")
    for keyword in texts(KHO + "keyword"):
        add("subject", keyword, "vi")
    for text in subject + texts(RICO + "descriptiveNote"):
        add("description", text, "vi")
    issued = texts(DCT + "issued")
    span = [*texts(RICO + "beginningDate")[:1], *texts(RICO + "endDate")[:1]]
    add("date", issued[0] if issued else "/".join(span) if span else None)
    for t in types:
        add("type", label(t, "vi"), "vi")
        add("type", label(t, "en"), "en")
    for text, lang in _KIND[kind]:
        add("type", text, lang)
    add("type", _DCMI[kind])
    add("identifier", iri)
    for code in texts(RICO + "identifier"):
        add("identifier", code)
    for lang in named(DCT + "language"):
        add("language", labels.get(lang, {}).get("iso") or label(lang, "vi"))
    for mode in named(KHO + "accessLevel"):
        add("rights", label(mode, "vi"), "vi")
        add("rights", label(mode, "en"), "en")
    for unit in named(KHO + "adminUnit"):
        add("coverage", label(unit, "vi"), "vi")
    for parent in named(RICO + "isOrWasIncludedIn"):
        add("relation", parent)
    for source in texts(DCT + "source"):
        add("source", source)
    return root, shown_personal


# The item and the resources it owns: IRIs under its own ({item}/file/original, {item}/retention,
# {item}/flag/..., their events and appraisals), one or two links away, found one link at a time
# (the item's neighbours under it, then theirs), 16 start nodes per query, in the reader's records
# graphs only (where owned resources live). Virtuoso compiles each new query text afresh (50-300
# ms over a reader's five default graphs, 5 ms over one) and, over several graphs, turns to
# scanning on bigger shapes: both links in one UNION block per item took it 1-3 s per block, a
# VALUES block of 16 start nodes over all five graphs 35 s; this shape, about 10 ms. Oxigraph
# answers every one of these shapes in the same time (0.05 s for the 100 items of a page at 10k).
_HOP = """SELECT DISTINCT ?item ?s WHERE {
  VALUES (?item ?n) { %s }
  { ?n ?a ?s } UNION { ?s ?a ?n }
  FILTER(isIRI(?s) && STRSTARTS(STR(?s), CONCAT(STR(?item), "/")))
}"""
_HOP_CHUNK = 16


def _neighbours(view: View, starts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(item, s) for every s one link from a start node (item, node), under the item's IRI."""
    found: set[tuple[str, str]] = set()
    for first in range(0, len(starts), _HOP_CHUNK):
        pairs = " ".join(f"({_iri(i)} {_iri(n)})" for i, n in starts[first : first + _HOP_CHUNK])
        rows = view.store.query(_HOP % pairs, graphs=view.records_graphs).result
        found |= {(r["item"].value, r["s"].value) for r in rows}  # type: ignore[attr-defined]
    return sorted(found)


def rdf_xml(view: View, items: list[str]) -> dict[str, tuple[etree._Element, bool]]:
    """rdf:RDF elements for `items`: the triples about each item and the resources it owns, in
    the reader's graphs; with whether personal data (a citizen's number) is among them."""
    owned: dict[str, set[str]] = {i: {i} for i in items}
    near = _neighbours(view, [(i, i) for i in items])
    for item, s in near + _neighbours(view, near):
        owned[item].add(s)
    subjects = sorted({s for group in owned.values() for s in group})
    triples: dict[str, list[ox.Triple]] = {}
    if subjects:
        sparql = _TRIPLES % " ".join(map(_iri, subjects))
        result = view.store.query(sparql, graphs=view.graphs).result
        for row in result:  # type: ignore[attr-defined]
            triples.setdefault(row["s"].value, []).append(
                ox.Triple(row["s"], row["p"], _masked(row["p"], row["o"], view.reader))
            )
    out: dict[str, tuple[etree._Element, bool]] = {}
    for item in items:
        mine = sorted(
            (t for s in sorted(owned[item]) for t in triples.get(s, [])), key=lambda t: str(t)
        )
        personal = any(t.predicate.value == KHO + "registryId" for t in mine) and any(
            t.predicate.value == KHO + "refKind" and t.object.value == "citizen" for t in mine
        )
        data = ox.serialize(mine, format=ox.RdfFormat.RDF_XML, prefixes=_RDF_PREFIXES)
        element = etree.fromstring(data)
        element.set(f"{{{XSI}}}schemaLocation", f"{RDF} {FORMATS['rdf'].schema}")
        out[item] = (element, personal)
    return out


_RDF_PREFIXES = {k: v for k, v in PREFIXES.items() if k not in ("sh", "owl", "xsd")} | {
    "skos": SKOS
}


def _masked(predicate: ox.NamedNode, term: ox.Term, reader: access.Reader) -> ox.Term:
    if (
        not isinstance(term, ox.Literal)
        or term.datatype.value not in _TEXT_TYPES
        or predicate.value in _UNMASKED
    ):
        return term
    masked = access.mask_personal(term.value)  # every reader: see _dc
    if masked == term.value:
        return term
    if term.language:
        return ox.Literal(masked, language=term.language)
    return ox.Literal(masked)
