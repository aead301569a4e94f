"""Harvested OAI-PMH records read into TT 05/2025 sheet fields: simple Dublin Core (oai_dc) from
any archive, and Kho's richer RDF (`rdf`) when the provider is another Kho.

A record is a hồ sơ (dc:type Collection / Hồ sơ / File, or a rico:RecordSet) or a document. What
cannot become a valid row (no title, no full date, no creator, a type outside the TT 05/2025 list)
is said in `problems`, in Vietnamese and English, and the harvest reports it instead of writing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

import pyoxigraph as ox
from lxml import etree

from harvesters.oai_client import OAI
from repository.mapping import CODES, parse_date, scheme_index
from repository.namespaces import DCT, KHO, KHOC, RDF, RICO, SKOS
from repository.sheets import header_key
from repository.text import nfc

DC = "http://purl.org/dc/elements/1.1/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
HOSO_TYPES = {header_key(t) for t in ("Collection", "Hồ sơ", "File", "Fonds", "Phông")}
_PAGES = re.compile(r"(\d+)\s*(?:trang|tr\.|pages?|pp?\.)", re.IGNORECASE)
_OPEN_RIGHTS = ("public", "open", "cong khai", "creative commons", "cc by", "cc0")
# Kho's RDF: predicate -> TT 05/2025 field, for literals and for code-list concepts
_RDF_TEXT = {
    RICO + "identifier": "code",
    RICO + "title": "title",
    RICO + "scopeAndContent": "subject",
    RICO + "descriptiveNote": "description",
    KHO + "organName": "organName",
    KHO + "codeNumber": "codeNumber",
    KHO + "codeNotation": "codeNotation",
    KHO + "signer": "signer",
    KHO + "signerTitle": "signerTitle",
    KHO + "docOrdinal": "docOrdinal",
    KHO + "numberOfPage": "numberOfPage",
    KHO + "numberOfPaper": "numberOfPaper",
    KHO + "totalDoc": "totalDoc",
    KHO + "paperFileCode": "paperFileCode",
    DCT + "issued": "issuedDate",
    RICO + "beginningDate": "startDate",
    RICO + "endDate": "endDate",
}
_RDF_CODES = {
    KHO + "typeName": ("typeName", "typename-"),
    KHO + "accessLevel": ("mode", "mode-"),
    KHO + "maintenance": ("maintenance", "maintenance-"),
    DCT + "language": ("language", "language-"),
    KHO + "physicalCondition": ("format", "format-"),
    KHO + "confidenceLevel": ("confidenceLevel", "confidence-"),
}


@dataclass
class Harvested:
    """One harvested record, read into sheet fields."""

    identifier: str  # the OAI identifier
    datestamp: str
    request: str  # the request whose answer held it
    position: int  # its place in that answer, from 1
    sets: list[str] = field(default_factory=list)
    deleted: bool = False
    kind: str = "doc"  # "hoso" | "doc"
    values: dict[str, str] = field(default_factory=dict)  # TT 05/2025 field -> text (NFC)
    parents: list[str] = field(default_factory=list)  # relation / isPartOf: IRIs, ids, codes
    names: set[str] = field(default_factory=set)  # what others may call it in a relation
    pdf_urls: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (vi, en)
    rich: bool = False  # read from Kho's RDF

    def where(self) -> str:
        return f"record {self.position} of {self.request}"


def read_record(node: etree._Element, request: str, position: int, base: str) -> Harvested:
    """A `oai:record` element as a Harvested record (metadata read by its root element)."""
    header = node.find(f"{{{OAI}}}header")
    if header is None:
        record = Harvested("", "", request, position)
        record.problems.append(
            ("Bản ghi không có phần header.", "The record has no header (malformed).")
        )
        return record
    record = Harvested(
        identifier=nfc((header.findtext(f"{{{OAI}}}identifier") or "").strip()),
        datestamp=(header.findtext(f"{{{OAI}}}datestamp") or "").strip(),
        request=request,
        position=position,
        sets=[(s.text or "").strip() for s in header.findall(f"{{{OAI}}}setSpec")],
        deleted=header.get("status") == "deleted",
    )
    record.names.add(record.identifier)
    if not record.identifier:
        record.problems.append(
            ("Bản ghi không có định danh OAI.", "The record's header has no identifier.")
        )
    if record.deleted:
        return record
    metadata = node.find(f"{{{OAI}}}metadata")
    content = next(iter(metadata), None) if metadata is not None else None
    if content is None:
        record.problems.append(
            ("Bản ghi không có phần metadata.", "The record has no metadata element.")
        )
    elif content.tag == f"{{{RDF}}}RDF":
        _read_rdf(record, content, base)
    elif content.tag == f"{{{OAI_DC}}}dc":
        _read_dc(record, content, base)
    else:
        record.problems.append(
            (
                f"Định dạng siêu dữ liệu không hỗ trợ ({content.tag}).",
                f"Unsupported metadata ({content.tag}): harvest with --prefix oai_dc.",
            )
        )
    return record


# -- oai_dc --------------------------------------------------------------------------------------


def _read_dc(record: Harvested, dc: etree._Element, base: str) -> None:
    def texts(element: str) -> list[tuple[str, str]]:
        lang = "{http://www.w3.org/XML/1998/namespace}lang"
        return [
            (nfc(" ".join((e.text or "").split())), e.get(lang) or "")
            for e in dc.findall(f"{{{DC}}}{element}")
            if (e.text or "").strip()
        ]

    def first(element: str) -> str:
        found = texts(element)
        vi = [t for t, lang in found if lang.startswith("vi")]
        return (vi or [t for t, _ in found] or [""])[0]

    types = [t for t, _ in texts("type")]
    record.kind = "hoso" if any(header_key(t) in HOSO_TYPES for t in types) else "doc"
    v = record.values
    title, descriptions = first("title"), [t for t, _ in texts("description")]
    for text, _ in texts("identifier"):
        if text.startswith(("http://", "https://")):
            record.names.add(text)
            if urlsplit(text).path.lower().endswith(".pdf"):
                record.pdf_urls.append(text)
        elif " " not in text and "/" not in text:
            v.setdefault("code", text)  # a plain code (Kho's fileCode/docCode)
            record.names.add(text)
    record.parents = [t for t, _ in texts("relation")]
    creator = first("creator") or first("publisher")
    dates = [t for t, _ in texts("date")]
    if record.kind == "hoso":
        v["title"] = title
        begin, _, end = (dates[0] if dates else "").partition("/")
        if begin:
            v["startDate"] = begin
        if end:
            v["endDate"] = end
        if descriptions:
            v["description"] = descriptions[0]
    else:
        # Kho writes "Type Number: subject" as the title and the subject as the description
        subject = next((d for d in descriptions if title.endswith(d)), "") or title
        v["subject"] = subject
        rest = [d for d in descriptions if d != subject]
        if rest:
            v["description"] = rest[0]
        day = next((d for d in (_day(x) for x in dates) if d), "")
        if day:
            v["issuedDate"] = day
        if creator:
            v["organName"] = creator
        code = next((c for c in (_code("type-name", t) for t in types) if c), "")
        if code:
            v["typeName"] = code
        pages = next((m.group(1) for f, _ in texts("format") if (m := _PAGES.search(f))), "")
        if pages:
            v["numberOfPage"] = pages
    langs = [c for c in (_language(t) for t, _ in texts("language")) if c]
    if langs:
        v["language"] = ";".join(dict.fromkeys(langs))
    rights = [t for t, _ in texts("rights")]
    if rights:
        v["mode"] = next((c for c in (_code("mode", r) for r in rights) if c), "")
        if not v["mode"]:
            open_ = any(
                any(w in header_key(r) for w in map(header_key, _OPEN_RIGHTS)) for r in rights
            )
            v["mode"] = "01" if open_ else "02"  # unknown terms: conditional, for an archivist
    _check(record, dates)


def _day(text: str) -> str:
    """A full day from a dc:date (ISO date or date-time, DD/MM/YYYY); "" when less precise."""
    candidate = text.strip()[:10] if re.match(r"^\d{4}-\d{2}-\d{2}", text.strip()) else text
    try:
        value, kind = parse_date(candidate.split("/")[0] if "-" in candidate else candidate)
    except ValueError:
        return ""
    return value if kind == "date" else ""


@lru_cache(maxsize=256)
def _code(scheme: str, label: str) -> str:
    """The two-digit code of a label or notation in a TT 05/2025 code list; "" if none."""
    iri = scheme_index(scheme).get(header_key(label))
    return iri.rsplit("-", 1)[-1] if iri else ""


@lru_cache(maxsize=1)
def _iso_languages() -> dict[str, str]:
    """ISO 639-1 code -> the TT 05/2025 language code (from ontology/codes/language.ttl)."""
    found: dict[str, str] = {}
    for t in ox.parse(path=str(CODES / "language.ttl"), format=ox.RdfFormat.TURTLE):
        if t.predicate.value == SKOS + "closeMatch" and "/iso639-1/" in t.object.value:
            found[t.object.value.rsplit("/", 1)[-1]] = t.subject.value.rsplit("-", 1)[-1]
    return found


def _language(text: str) -> str:
    key = text.strip().lower().split("-")[0]
    return _iso_languages().get(key) or (
        {"vie": "01", "eng": "02"}.get(key, "") or _code("language", text)
    )


# -- Kho's RDF -----------------------------------------------------------------------------------


def _read_rdf(record: Harvested, rdf: etree._Element, base: str) -> None:
    record.rich = True
    try:
        triples = list(ox.parse(etree.tostring(rdf), format=ox.RdfFormat.RDF_XML))
    except SyntaxError as exc:
        record.problems.append((f"RDF/XML hỏng: {exc}", f"Malformed RDF/XML: {exc}"))
        return
    typed = {
        t.subject.value: t.object.value
        for t in triples
        if t.predicate.value == RDF + "type"
        and t.object.value in (RICO + "Record", RICO + "RecordSet")
    }
    if len(typed) != 1:
        record.problems.append(
            (
                "RDF không có đúng một tài liệu hoặc hồ sơ (rico:Record/RecordSet).",
                "The RDF holds no single document or hồ sơ (rico:Record / rico:RecordSet): "
                "harvest with --prefix oai_dc.",
            )
        )
        return
    item, cls = next(iter(typed.items()))
    record.kind = "hoso" if cls == RICO + "RecordSet" else "doc"
    record.names.add(item)
    v = record.values
    for t in triples:
        if t.subject.value != item:
            continue
        p, o = t.predicate.value, t.object
        if p in _RDF_TEXT and isinstance(o, ox.Literal):
            v.setdefault(_RDF_TEXT[p], nfc(o.value))
        elif p in _RDF_CODES and isinstance(o, ox.NamedNode) and o.value.startswith(KHOC):
            name, prefix = _RDF_CODES[p]
            local = o.value[len(KHOC) :]
            if local.startswith(prefix):
                code = local[len(prefix) :]
                v[name] = f"{v[name]};{code}" if name == "language" and name in v else code
        elif p == KHO + "keyword" and isinstance(o, ox.Literal):
            v["keyword"] = ";".join(filter(None, [v.get("keyword", ""), nfc(o.value)]))
        elif p == RICO + "isOrWasIncludedIn" and "/id/hoso/" in o.value:
            record.parents.append(o.value)
        elif p == RICO + "hasOrHadInstantiation" and o.value.endswith("/file/original"):
            key = item.rsplit("/", 1)[-1]
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))
            record.pdf_urls.append(f"{origin}/files/{key}/original.pdf")
    dates = [v[k] for k in ("issuedDate", "startDate") if k in v]
    _check(record, dates)


# -- checks --------------------------------------------------------------------------------------


def _check(record: Harvested, dates: list[str]) -> None:
    v, say = record.values, record.problems.append
    if record.kind == "hoso":
        if not v.get("title"):
            say(("Hồ sơ không có tiêu đề.", "The hồ sơ has no title (dc:title)."))
        return
    if not v.get("subject"):
        say(("Tài liệu không có tiêu đề/trích yếu.", "The document has no title (dc:title)."))
    if not v.get("issuedDate"):
        given = ", ".join(dates) or "none"
        say(
            (
                f"Tài liệu không có ngày đầy đủ (dc:date: {given}).",
                f"The document has no full date (dc:date: {given}); Kho needs the day to find "
                "the agency that issued it.",
            )
        )
    if not v.get("organName"):
        say(("Tài liệu không có cơ quan ban hành (dc:creator).", "The document has no creator."))
    if not v.get("typeName"):
        say(
            (
                "Tên loại văn bản không thuộc danh mục TT 05/2025 (dc:type).",
                "No dc:type is a document type of the TT 05/2025 list (Quyết định, Công văn, "
                "Thông báo...).",
            )
        )
