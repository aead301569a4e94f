"""Every IRI prefix Kho mints or uses, and the only functions that mint Kho's IRIs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from repository.text import slug

RECORD_GRAPHS = ("public", "conditional", "secret")  # one per access level (TT 05/2025 mode)
RECORD_FACETS = ("curation", "personal")  # beside each level: flags; citizens' numbers
MODE_GRAPH = {"01": "public", "02": "conditional", "03": "secret"}
_KEY_NON_SAFE = re.compile(r"[^A-Za-z0-9._-]+")

KHO = "https://w3id.org/kho/ns#"
KHOC = "https://w3id.org/kho/code/"
KHOS = "https://w3id.org/kho/shapes#"
RICO = "https://www.ica.org/standards/RiC/ontology#"
RIC_RST = "https://www.ica.org/standards/RiC/vocabularies/recordSetTypes#"
ORG = "http://www.w3.org/ns/org#"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
VL = "https://version.link/"
CV = "http://data.europa.eu/m8g/"
GEO = "http://www.w3.org/2003/01/geo/wgs84_pos#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SH = "http://www.w3.org/ns/shacl#"
SCHEMA = "https://schema.org/"

PREFIXES: dict[str, str] = {
    "kho": KHO,
    "khoc": KHOC,
    "khos": KHOS,
    "rico": RICO,
    "ric-rst": RIC_RST,
    "org": ORG,
    "prov": PROV,
    "dct": DCT,
    "skos": SKOS,
    "vl": VL,
    "cv": CV,
    "geo": GEO,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
    "sh": SH,
}


def sparql_prefixes() -> str:
    """The PREFIX lines for every namespace above, to put before a query."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())


def code(local: str) -> str:
    """IRI of a concept in Kho's code lists, e.g. code('level-commune')."""
    return KHOC + local


def registry_concept(name: str) -> str:
    """khoc registry concept: population | land | enterprise | officials."""
    return f"{KHOC}registry/{name}"


def verification_concept(status: str) -> str:
    """khoc verification status: verified | not-found | registry-error | unchecked."""
    return f"{KHOC}verification/{status}"


@dataclass(frozen=True)
class RegistryTargets:
    """IRIs in the registries' own namespaces (KHO_REGISTRY_*_NAMESPACE, docs/registries.md)."""

    land: str
    enterprise: str
    officials: str

    def enterprise_iri(self, code_: str) -> str:
        return f"{self.enterprise}{code_}"

    def parcel(self, parcel_id: str) -> str:
        return f"{self.land}thua-dat/{parcel_id}"

    def unit(self, code_: str, valid_from: str) -> str:
        """A unit as the land registry knows it: a code alone is not an identity."""
        return f"{self.land}don-vi/{code_}/{valid_from}"

    def official(self, code_: str) -> str:
        return f"{self.officials}official/{code_}"

    def agency(self, code_: str) -> str:
        return f"{self.officials}agency/{code_}"


@dataclass(frozen=True)
class Minter:
    """Mints the IRIs of instance data under one deployment's base IRI."""

    base: str

    def __post_init__(self) -> None:
        if not self.base.endswith("/"):
            object.__setattr__(self, "base", self.base + "/")

    # -- local ids: readable, deterministic, never a code alone ------------------------------
    @staticmethod
    def unit_local(name: str, code_: str, valid_from: str | None, valid_to: str | None) -> str:
        """Local id of a unit version: slug of its name, its code, and the date that bounds it."""
        local = f"{slug(name)}-{code_}"
        if valid_from:
            return f"{local}_{valid_from}"
        if valid_to:
            return f"{local}_until-{valid_to}"
        return local

    def unit(self, local: str) -> str:
        return f"{self.base}id/unit/{local}"

    def agency(self, kind: str, unit_local: str) -> str:
        return f"{self.base}id/agency/{kind}/{unit_local}"

    def archives(self, kind: str, unit_local: str) -> str:
        """An archives repository (holder of records), e.g. a province's historical archives."""
        return f"{self.base}id/agency/{kind}/{unit_local}"

    def fonds(self, agency_kind: str, unit_local: str) -> str:
        return f"{self.base}id/fonds/{agency_kind}/{unit_local}"

    def holding(self, agency_kind: str, unit_local: str, holder_local: str, since: str) -> str:
        return f"{self.base}id/holding/{agency_kind}/{unit_local}/{since}/{holder_local}"

    def event(self, date: str, what: str) -> str:
        return f"{self.base}id/event/{date}/{what}"

    def transfer(self, from_local: str, to_local: str) -> str:
        return f"{self.base}id/transfer/{from_local}/{to_local}"

    def legal(self, act_number: str) -> str:
        return f"{self.base}id/legal/{slug(act_number)}"

    # -- records (issue 3) ----------------------------------------------------------------
    @staticmethod
    def record_key(code_: str) -> str:
        """IRI-safe key of a file or document code: ASCII letters, digits, '.', '-', '_'."""
        text = code_.strip().replace("Đ", "D").replace("đ", "d")
        folded = unicodedata.normalize("NFD", text)
        plain = "".join(c for c in folded if not unicodedata.combining(c))
        return _KEY_NON_SAFE.sub("-", plain).strip("-")

    def hoso(self, file_code: str) -> str:
        """A hồ sơ (file, rico:RecordSet) by its TT 05/2025 fileCode."""
        return f"{self.base}id/hoso/{self.record_key(file_code)}"

    def record(self, doc_code: str) -> str:
        """A document (rico:Record) by its docCode."""
        return f"{self.base}id/record/{self.record_key(doc_code)}"

    @staticmethod
    def doc_code(file_code: str, ordinal: int) -> str:
        """TT 05/2025 docCode: the fileCode and the 7-digit ordinal of the document in it."""
        return f"{file_code.strip()}.{ordinal:07d}"

    @staticmethod
    def instantiation(record_iri: str, which: str) -> str:
        """A record's digital file: which = 'original' or 'pdfa'."""
        return f"{record_iri}/file/{which}"

    @staticmethod
    def retention(hoso_iri: str) -> str:
        return f"{hoso_iri}/retention"

    @staticmethod
    def appraisal(hoso_iri: str, n: int) -> str:
        return f"{hoso_iri}/retention/appraisal-{n}"

    @staticmethod
    def flag(resource_iri: str, kind: str, field: str | None = None) -> str:
        return f"{resource_iri}/flag/{kind}" + (f"-{field}" if field else "")

    @staticmethod
    def preservation_event(instantiation_iri: str, kind: str, at: str) -> str:
        """A PREMIS-style event on a file; `at` is an ISO timestamp (punctuation dropped)."""
        stamp = re.sub(r"[^0-9T]", "", at)[:15]
        return f"{instantiation_iri}/event/{kind}-{stamp}"

    @staticmethod
    def flag_review(flag_iri: str, n: int) -> str:
        """The n-th archivist review (confirm/overturn) of a quality flag."""
        return f"{flag_iri}/review-{n}"

    # -- links to the national registries (issue 5) ------------------------------------------
    @staticmethod
    def registry_ref(record_iri: str, kind: str, n: int, source: str = "text") -> str:
        """A record's n-th reference of a kind: `-{n}` from its text, `-s{n}` from its sheet."""
        return f"{record_iri}/ref/{kind}-{'s' if source == 'sheet' else ''}{n}"

    @staticmethod
    def registry_link(subject_iri: str, registry: str) -> str:
        """An agency's or a unit version's link to its registry: `{subject}/ref/{registry}`."""
        return f"{subject_iri}/ref/{registry}"

    def person(self, pseudonym: str) -> str:
        """A citizen by keyed pseudonym (never by number): `{base}id/person/{pseudonym}`."""
        return f"{self.base}id/person/{pseudonym}"

    def registries_graph(self) -> str:
        """The public graph of agencies' and units' links to the registries."""
        return self.graph("registries")

    def records_graph(self, level: str, facet: str | None = None) -> str:
        """{base}graph/records/<public|conditional|secret>[/<curation|personal>] (docs/model.md).

        A record's flags and personal references sit beside its level, so whoever may not see
        the level sees neither."""
        if level not in RECORD_GRAPHS:
            raise ValueError(f"unknown records graph {level!r}")
        if facet is None:
            return f"{self.base}graph/records/{level}"
        if facet not in RECORD_FACETS:
            raise ValueError(f"unknown records graph facet {facet!r}")
        return f"{self.base}graph/records/{level}/{facet}"

    def graph(self, name: str) -> str:
        return f"{self.base}graph/{name}"

    def local_path(self, iri: str) -> str | None:
        """The path of one of our IRIs relative to the base ('id/unit/...'), or None."""
        return iri[len(self.base) :] if iri.startswith(self.base) else None

    def from_path(self, path: str) -> str:
        """The IRI that a request path under the base stands for."""
        return self.base + path.lstrip("/")
