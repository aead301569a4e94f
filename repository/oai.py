"""OAI-PMH 2.0 data provider (https://www.openarchives.org/OAI/openarchivesprotocol.html):
the six verbs, their errors, selective harvesting by set and datestamp, and signed resumption
tokens. Items are the documents (rico:Record) and hồ sơ (rico:RecordSet, type File) the reader
may see (repository.oai_items); their metadata are in repository.oai_metadata.

Identifiers are `oai:{host of the base IRI}:{path of the IRI under the base}`, e.g.
`oai:kho.example.org:id/record/H01.019.UBND.2020.52.0000002`. The web layer (webapp/oai.py) only
passes the request's arguments and the reader's visible graphs in, and the XML out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from lxml import etree

from repository import oai_items as items
from repository import oai_sets
from repository import oai_tokens as tokens
from repository.oai_args import OaiError, check, date_range, metadata_prefix
from repository.oai_items import Item, Selection, View, stamp_text
from repository.oai_metadata import FORMATS, OAI_DC, XSI, dublin_core, rdf_xml

OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_ID = "http://www.openarchives.org/OAI/2.0/oai-identifier"
PAGE_SIZE = 100  # items (or sets) per response; the rest follows a resumption token
TOKEN_HOURS = 24
REPOSITORY_NAME = "Kho lưu trữ số tài liệu Hà Nội (Kho — Hanoi digital archive)"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Provider:
    """One request's provider: the reader's view of the store, the key that signs tokens, the
    URL harvesters call and the administrator's address."""

    view: View
    key: bytes
    base_url: str
    admin_email: str
    now: datetime = field(default_factory=lambda: _now())

    @staticmethod
    def host_of(base: str) -> str:
        return urlsplit(base).hostname or "localhost"

    @property
    def host(self) -> str:
        return self.host_of(self.view.minter.base)

    def identifier(self, iri: str) -> str:
        return f"oai:{self.host}:{self.view.minter.local_path(iri)}"

    def iri(self, identifier: str) -> str | None:
        prefix = f"oai:{self.host}:"
        local = identifier[len(prefix) :] if identifier.startswith(prefix) else ""
        if not local.startswith(("id/record/", "id/hoso/")) or "/" in local.split("/", 2)[2]:
            return None
        return self.view.minter.from_path(local)


@dataclass
class OaiResponse:
    """The XML to send, and the restricted items (IRI, level) whose metadata it disseminates,
    for the audit log; `personal` when citizens' numbers were shown."""

    body: bytes
    verb: str | None
    restricted: list[tuple[str, str]] = field(default_factory=list)
    personal: list[str] = field(default_factory=list)


def respond(provider: Provider, args: Iterable[tuple[str, str]]) -> OaiResponse:
    """Answer one OAI-PMH request given its arguments as (name, value) pairs, repeats included."""
    pairs = list(args)
    root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI} {OAI_SCHEMA}")
    etree.SubElement(root, f"{{{OAI}}}responseDate").text = stamp_text(provider.now)
    request = etree.SubElement(root, f"{{{OAI}}}request")
    request.text = provider.base_url
    response = OaiResponse(b"", None)
    try:
        verb, arguments = check(pairs)
        response.verb = verb
        for name, value in sorted({**arguments, "verb": verb}.items()):
            request.set(name, value)  # echoed only when verb and arguments are legal
        _VERB_HANDLERS[verb](provider, arguments, root, response)
    except OaiError as exc:
        if any(e.code in ("badVerb", "badArgument") for e in exc.errors):
            request.attrib.clear()  # spec 3.2: only the base URL after badVerb/badArgument
        for error in exc.errors:
            node = etree.SubElement(root, f"{{{OAI}}}error", code=error.code)
            node.text = error.message
    response.body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return response


# -- verbs -----------------------------------------------------------------------------------


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, f"{{{OAI}}}{tag}")
    if text is not None:
        node.text = text
    return node


def _identify(p: Provider, args: dict[str, str], root: etree._Element, r: OaiResponse) -> None:
    node = _sub(root, "Identify")
    _sub(node, "repositoryName", REPOSITORY_NAME)
    _sub(node, "baseURL", p.base_url)
    _sub(node, "protocolVersion", "2.0")
    _sub(node, "adminEmail", p.admin_email)
    _sub(node, "earliestDatestamp", stamp_text(items.earliest(p.view)))
    _sub(node, "deletedRecord", "no")  # a withdrawn or re-levelled item simply leaves the lists
    _sub(node, "granularity", "YYYY-MM-DDThh:mm:ssZ")
    sample = items.sample(p.view)
    sample_id = p.identifier(sample) if sample else f"oai:{p.host}:id/record/H01.01.UBND.2025.01"
    described = _sub(node, "description")
    ident = etree.SubElement(described, f"{{{OAI_ID}}}oai-identifier", nsmap={None: OAI_ID})
    ident.set(f"{{{XSI}}}schemaLocation", f"{OAI_ID} {OAI_ID}.xsd")
    for tag, text in (
        ("scheme", "oai"),
        ("repositoryIdentifier", p.host),
        ("delimiter", ":"),
        ("sampleIdentifier", sample_id),
    ):
        etree.SubElement(ident, f"{{{OAI_ID}}}{tag}").text = text


def _formats(p: Provider, args: dict[str, str], root: etree._Element, r: OaiResponse) -> None:
    if "identifier" in args:
        _item(p, args["identifier"])  # both formats exist for every item
    node = _sub(root, "ListMetadataFormats")
    for fmt in FORMATS.values():
        entry = _sub(node, "metadataFormat")
        _sub(entry, "metadataPrefix", fmt.prefix)
        _sub(entry, "schema", fmt.schema)
        _sub(entry, "metadataNamespace", fmt.namespace)


def _sets(p: Provider, args: dict[str, str], root: etree._Element, r: OaiResponse) -> None:
    token = _token(p, args["resumptionToken"], "ListSets") if "resumptionToken" in args else {}
    everything = oai_sets.sets(p.view)
    after = token.get("a")
    remaining = [s for s in everything if after is None or s.spec > after]
    shown = remaining[:PAGE_SIZE]
    node = _sub(root, "ListSets")
    for s in shown:
        entry = _sub(node, "set")
        _sub(entry, "setSpec", s.spec)
        _sub(entry, "setName", s.name)
        description = _sub(entry, "setDescription")
        dc = etree.SubElement(description, f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC})
        dc.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} {FORMATS['oai_dc'].schema}")
        text = etree.SubElement(dc, "{http://purl.org/dc/elements/1.1/}description")
        text.text = s.description
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    cursor = int(token.get("c", 0))
    more = len(remaining) > len(shown)
    state = {"v": "ListSets", "a": shown[-1].spec if shown else None}
    _resumption(p, node, token, state, cursor, len(shown), len(everything), more)


def _list(p: Provider, args: dict[str, str], root: etree._Element, r: OaiResponse) -> None:
    verb = r.verb or ""
    if "resumptionToken" in args:
        token = _token(p, args["resumptionToken"], verb)
        state = {k: token.get(k) for k in ("v", "m", "s", "f", "u")}
        prefix = str(token["m"])
    else:
        token = {}
        prefix = metadata_prefix(args["metadataPrefix"])
        start, end = date_range(args.get("from"), args.get("until"))
        if "set" in args and not items.SET_SPEC.match(args["set"]):
            raise OaiError(
                "badArgument",
                f"setSpec không hợp lệ: {args['set']!r}. / Illegal setSpec {args['set']!r}; "
                "ListSets shows the sets.",
            )
        state = {
            "v": verb,
            "m": prefix,
            "s": args.get("set"),
            "f": stamp_text(start) if start else None,
            "u": stamp_text(end) if end else None,
        }
    sel = Selection(
        state["s"],
        items.utc(str(state["f"])) if state["f"] else None,
        items.utc(str(state["u"])) if state["u"] else None,
    )
    listing = items.page(p.view, sel, token.get("a"), PAGE_SIZE + 1)  # type: ignore[arg-type]
    found = listing.items
    shown, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    if not shown:
        raise OaiError(
            "noRecordsMatch",
            "Không có bản ghi nào khớp. / No records match these arguments (set, from, until).",
        )
    # The size comes from the first page's listing and rides in the token: later pages do not
    # recount. None with from/until (it would take every item's datestamp): then it is not given.
    total = token.get("n") if token else listing.size
    node = _sub(root, verb)
    sets = oai_sets.memberships(p.view, [i.iri for i in shown])
    if verb == "ListIdentifiers":
        for item in shown:
            _header(p, node, item, sets[item.iri])
    else:
        _records(p, node, shown, sets, prefix, r)
    state["a"] = shown[-1].iri
    state["n"] = total
    cursor = int(token.get("c", 0))  # type: ignore[call-overload]
    _resumption(p, node, token, state, cursor, len(shown), total, more)  # type: ignore[arg-type]


def _get_record(p: Provider, args: dict[str, str], root: etree._Element, r: OaiResponse) -> None:
    errors = []
    item = None
    try:
        item = _item(p, args["identifier"])
    except OaiError as exc:
        errors.append(exc)
    try:
        prefix = metadata_prefix(args["metadataPrefix"])
    except OaiError as exc:
        errors.append(exc)
    if errors or item is None:
        raise OaiError(errors[0].code, errors[0].message, errors)
    node = _sub(root, "GetRecord")
    _records(p, node, [item], oai_sets.memberships(p.view, [item.iri]), prefix, r)


_VERB_HANDLERS = {
    "Identify": _identify,
    "ListMetadataFormats": _formats,
    "ListSets": _sets,
    "ListIdentifiers": _list,
    "ListRecords": _list,
    "GetRecord": _get_record,
}


# -- pieces ----------------------------------------------------------------------------------


def _item(p: Provider, identifier: str) -> Item:
    iri = p.iri(identifier)
    found = items.find(p.view, iri) if iri else None
    if found is None:
        # the same answer for a hidden item as for one that never existed
        raise OaiError(
            "idDoesNotExist",
            f"Không có mục {identifier}. / No item {identifier!r} here; identifiers look like "
            f"oai:{p.host}:id/record/<mã tài liệu> or oai:{p.host}:id/hoso/<mã hồ sơ>.",
        )
    return found


def _header(p: Provider, parent: etree._Element, item: Item, sets: list[str]) -> None:
    header = _sub(parent, "header")
    _sub(header, "identifier", p.identifier(item.iri))
    _sub(header, "datestamp", stamp_text(item.stamp))
    for spec in sets:
        _sub(header, "setSpec", spec)


def _records(
    p: Provider,
    parent: etree._Element,
    shown: list[Item],
    sets: dict[str, list[str]],
    prefix: str,
    r: OaiResponse,
) -> None:
    if prefix == "oai_dc":
        metadata = dublin_core(p.view, {i.iri: i.kind for i in shown})
    else:
        metadata = rdf_xml(p.view, [i.iri for i in shown])
    for item in shown:
        record = _sub(parent, "record")
        _header(p, record, item, sets.get(item.iri, []))
        element, personal = metadata[item.iri]
        _sub(record, "metadata").append(element)
        if item.level != "01":
            r.restricted.append((item.iri, item.level))
        if personal:
            r.personal.append(item.iri)


# -- resumption tokens -----------------------------------------------------------------------


def _token(p: Provider, token: str, verb: str) -> dict[str, object]:
    state = tokens.read(p.key, token, verb, p.now)
    if state is None:
        raise OaiError(
            "badResumptionToken",
            "Mã tiếp tục không hợp lệ hoặc đã hết hạn. / The resumptionToken is invalid or has "
            f"expired (tokens last {TOKEN_HOURS} hours): start the list again without it.",
        )
    return state


def _resumption(
    p: Provider,
    parent: etree._Element,
    token: dict[str, object],
    state: dict[str, object],
    cursor: int,
    shown: int,
    total: int | None,
    more: bool,
) -> None:
    if not token and not more:
        return  # a complete list in one response carries no token
    node = _sub(parent, "resumptionToken")
    if total is not None:
        node.set("completeListSize", str(total))
    node.set("cursor", str(cursor))
    if more:
        expires = p.now + timedelta(hours=TOKEN_HOURS)
        state = {**state, "c": cursor + shown, "x": int(expires.timestamp())}
        node.set("expirationDate", stamp_text(expires))
        node.text = tokens.sign(p.key, state)
