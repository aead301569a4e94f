"""Reading the web corpus and judging answers, for tests/test_hostile_web.py: the SPARQL cases
and their expected answers, raw HTTP requests, the parse of a page or a picture for anything a
browser would run, and where the XSS batch's records are served."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from repository.config import Settings
from tests.hostile.web import generate

CORPUS = Path(__file__).parent


@dataclass
class SparqlCase:
    name: str
    query: bytes
    status: int
    says: str = ""
    via: tuple[str, ...] = ("get", "form", "body")
    truncated: bool | None = None
    rows: int | None = None
    or_stopped: bool = False  # the time limit's 503 is as good (a busy machine is slower)


def _header(text: str, key: str) -> str | None:
    m = re.search(rf"^# {key}: *(.*)$", text, re.MULTILINE)
    return m.group(1).strip() if m else None


def sparql_cases() -> list[SparqlCase]:
    cases = []
    for path in sorted((CORPUS / "sparql").glob("*.rq")):
        raw = path.read_bytes()
        text = raw.decode("utf-8", "replace")
        via, truncated, rows = (
            _header(text, "via"),
            _header(text, "truncated"),
            _header(text, "rows"),
        )
        cases.append(
            SparqlCase(
                path.stem,
                raw,
                int(_header(text, "expect") or 0),
                _header(text, "says") or "",
                tuple(via.split()) if via else ("get", "form", "body"),
                None if truncated is None else truncated == "yes",
                None if rows is None else int(rows),
                _header(text, "or-stopped") == "yes",
            )
        )
    for name, query, status, says in generate.sparql_cases():
        cases.append(SparqlCase(name, query.encode(), status, says, ("form", "body")))
    return cases


_URL_ATTRS = ("href", "src", "action", "formaction", "xlink:href", "data", "poster", "background")
_ACTIVE = ("script", "iframe", "object", "embed", "base", "style", "frame", "applet")


def assert_no_active_content(markup: str, where: str) -> None:
    """Parsed as a browser would: no script, frame, object or style element (Kho's pages have
    none of their own: the CSP forbids scripts), no on* attribute, no javascript: URL."""
    from lxml import html as lxml_html

    doc = lxml_html.document_fromstring(markup)
    for el in doc.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        local = tag.rsplit("}", 1)[-1].lower()
        own_pdf = local == "object" and el.get("data", "").startswith("/files/")  # the viewer
        if local in _ACTIVE and not own_pdf:
            raise AssertionError(
                f"{where}: <{local}> in the page: {lxml_html.tostring(el)[:200]!r}"
            )
        for attr, value in el.attrib.items():
            name = attr.rsplit("}", 1)[-1].lower()
            assert not name.startswith("on"), f"{where}: {name}= on <{local}>"
            if name in _URL_ATTRS or attr.endswith("}href"):
                squeezed = re.sub(r"[\s\x00-\x1f]", "", value).lower()
                assert not squeezed.startswith(("javascript:", "vbscript:", "data:text/html")), (
                    f"{where}: {name}={value!r}"
                )


def assert_no_active_svg(markup: str, where: str) -> None:
    from lxml import etree

    root = etree.fromstring(markup.encode())
    for el in root.iter():
        local = etree.QName(el).localname.lower() if isinstance(el.tag, str) else ""
        assert local not in ("script", "foreignobject", "iframe", "style"), where
        for attr, value in el.attrib.items():
            name = etree.QName(attr).localname.lower()
            assert not name.startswith("on"), f"{where}: {name}="
            if name == "href":
                assert not value.strip().lower().startswith("javascript:"), where


def paths(settings: Settings) -> dict[str, str]:
    from repository.namespaces import Minter
    from tests.hostile.web.xss_batch import FILE

    m = Minter(settings.base_iri)
    keys = [m.record_key(Minter.doc_code(FILE, n)) for n in (1, 2)]
    return {
        "hoso": f"/id/hoso/{m.record_key(FILE)}",
        "hoso_key": m.record_key(FILE),
        "record1": f"/id/record/{keys[0]}",
        "record2": f"/id/record/{keys[1]}",
        "key1": keys[0],
        "key2": keys[1],
        "oai1": f"oai:{m.base.split('//')[1].split('/')[0].split(':')[0]}:id/record/{keys[0]}",
    }


def raw_get(server: tuple[str, int], target: str) -> tuple[int, bytes]:
    """GET `target` exactly as written (no client normalises it): status and whole answer."""
    import socket

    with socket.create_connection(server, timeout=60) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: {server[0]}\r\nConnection: close\r\n\r\n".encode()
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    return int(answer.split(b" ", 2)[1]), answer


def traversal_targets(settings: Settings) -> list[str]:
    p = paths(settings)
    lines = (CORPUS / "paths.txt").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        if line == "/LONG":
            line = "/files/" + "..%2f" * 4000 + "secret-key"
        out.append(
            line.replace("{key}", p["key1"]).replace("{hoso}", p["hoso_key"])
            .replace("{data}", str(settings.data_dir))
        )  # fmt: skip
    return out
