"""Everything one record or hồ sơ is described by, for its RDF and framed JSON-LD: its own
triples from the records graphs the reader may see, and the names and dates of its agencies, unit
and fonds from the public reference graphs — and of the unit versions and agencies its registry
links point to (issue 5), so that an integrator gets their names without a second request.

A citizen's number (`kho:registryId` of a citizen link) is only in a personal graph: it comes
with the link's own triples when, and only when, the reader may see that graph."""

from __future__ import annotations

import pyoxigraph as ox

from repository.api_summaries import KINDS, record_graphs, reference_graphs
from repository.namespaces import DCT, KHO, RDF, RICO, Minter
from repository.store import Store


def _values(iris: list[str]) -> str:
    return " ".join(str(ox.NamedNode(i)) for i in iris)


_OWN = """CONSTRUCT { ?s ?p ?o } WHERE {
  { VALUES ?s { %(me)s } ?s ?p ?o }
  UNION { %(me)s rico:hasOrHadInstantiation ?s . ?s ?p ?o }
  UNION { %(me)s rico:hasOrHadInstantiation ?f . ?s prov:used ?f . ?s ?p ?o }
  UNION { %(me)s dct:references ?s . ?s ?p ?o }
  UNION { ?s rico:regulatesOrRegulated %(me)s . ?s ?p ?o }
  UNION { ?d rico:regulatesOrRegulated %(me)s ; prov:wasGeneratedBy ?s . ?s ?p ?o }
  UNION { ?d rico:regulatesOrRegulated %(me)s ; prov:wasGeneratedBy ?a .
          ?a prov:wasInformedBy+ ?s . ?s ?p ?o }
  UNION { ?s kho:flagOf %(me)s . ?s ?p ?o }
  UNION { ?f kho:flagOf %(me)s . ?s prov:used ?f . ?s ?p ?o }
  UNION { %(me)s rico:isOrWasIncludedIn ?s . ?s a rico:RecordSet ; ?p ?o .
          FILTER(?p IN (rdf:type, rico:identifier, rico:title, rico:hasRecordSetType)) }
  UNION { ?s rico:isOrWasIncludedIn %(me)s ; a rico:Record ; ?p ?o .
          FILTER(?p IN (rdf:type, rico:identifier, kho:numberSymbol, rico:scopeAndContent,
                        rico:isOrWasIncludedIn, dct:issued, kho:accessLevel)) }
}"""
_REFERENCE = """CONSTRUCT { ?s ?p ?o } WHERE {
  VALUES ?s { %(refs)s } ?s ?p ?o
  FILTER(?p IN (rdf:type, skos:prefLabel, skos:notation, rico:beginningDate, rico:endDate,
                kho:agencyKind, rico:hasOrHadCorporateBodyType, rico:hasOrHadJurisdiction,
                kho:level, rico:title, rico:hasRecordSetType)) }"""
_EMBEDDED = (RICO + "hasCreator", RICO + "hasOrHadHolder", KHO + "adminUnit")
# What a registry link points to inside Kho (docs/model.md, Registry links): the unit versions of
# a parcel's commune then and now, and the agency an official's registry entry names.
_LINKED = (KHO + "parcelUnitThen", KHO + "parcelUnitNow", KHO + "officialAgency")


def record_triples(store: Store, iri: str, graphs: list[str], minter: Minter) -> list[ox.Triple]:
    """A record or hồ sơ with its files, their events, its registry links, retention decision
    and appraisals, flags and reviews, its hồ sơ or documents (identified and titled), from
    `graphs`; and from the public reference graphs its creating and holding agencies, its unit
    and fonds, and the unit versions and agencies its links point to (names, codes, dates).
    Empty when `iri` is in none of `graphs`."""
    own = store.triples(_OWN % {"me": str(ox.NamedNode(iri))}, graphs=record_graphs(graphs, minter))
    if not own:
        return []
    refs = {
        t.object.value
        for t in own
        if isinstance(t.object, ox.NamedNode)
        and t.subject.value == iri
        and (t.predicate.value in _EMBEDDED or t.predicate.value == RICO + "isOrWasIncludedIn")
    }
    links = {
        t.object.value
        for t in own
        if t.subject.value == iri and t.predicate.value == DCT + "references"
    }
    refs |= {
        t.object.value
        for t in own
        if isinstance(t.object, ox.NamedNode)
        and t.predicate.value in _LINKED
        and t.subject.value in links
    }
    reference = reference_graphs(graphs, minter)
    if refs and reference:
        own += store.triples(_REFERENCE % {"refs": _values(sorted(refs))}, graphs=reference)
    return list(dict.fromkeys(own))


def kind_of(triples: list[ox.Triple], iri: str) -> str | None:
    """'record' or 'hoso' when `triples` type `iri` as one, else None."""
    types = {
        t.object.value
        for t in triples
        if t.subject.value == iri and t.predicate.value == RDF + "type"
    }
    if KINDS["record"] in types:
        return "record"
    if KINDS["hoso"] in types and any(
        t.subject.value == iri
        and t.predicate.value == RICO + "hasRecordSetType"
        and t.object.value.endswith("#File")
        for t in triples
    ):
        return "hoso"
    return None
