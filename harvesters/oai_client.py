"""An OAI-PMH 2.0 client: the requests a harvester makes, with retries and clear errors.

Speaks to a dynamic provider (https://www.openarchives.org/OAI/openarchivesprotocol.html) and
reads a Static Repository file (https://www.openarchives.org/OAI/2.0/guidelines-static-repository.htm)
the same way: the first answer says which it is. 503 (and 429, 5xx) with Retry-After, timeouts
and refused connections are retried with backoff; every error names the request it came from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import requests
from lxml import etree

from repository.errors import HarvestError

OAI = "http://www.openarchives.org/OAI/2.0/"
STATIC = "http://www.openarchives.org/OAI/2.0/static-repository"
OAI_ID = "http://www.openarchives.org/OAI/2.0/oai-identifier"
USER_AGENT = "Kho-OAI-harvester/1.0 (+https://w3id.org/kho)"
RETRY_STATUS = {429, 500, 502, 503, 504}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class OaiHarvestError(HarvestError):
    """A harvest that cannot go on: the message says which request failed, why, what to do."""

    def __init__(self, message: str, *, url: str = "", code: str = "") -> None:
        super().__init__(message)
        self.url = url
        self.code = code


@dataclass
class Identity:
    name: str
    base_url: str
    granularity: str  # "YYYY-MM-DD" or "YYYY-MM-DDThh:mm:ssZ"
    earliest: str
    deleted_record: str
    repository_identifier: str = ""
    static: bool = False

    @property
    def seconds(self) -> bool:
        return self.granularity.endswith("ssZ")


@dataclass
class Page:
    """One answer of a list: its records (oai:record elements), where it came from, and what
    follows."""

    url: str
    response_date: str
    records: list[etree._Element]
    token: str | None = None
    complete_size: int | None = None


@dataclass
class OaiClient:
    """Requests to one provider (or one static repository file) at `url`."""

    url: str
    timeout: float = 30.0
    retries: int = 4
    max_wait: float = 60.0  # the longest pause a Retry-After may ask for
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session)
    requests_made: int = 0
    retried: int = 0
    _static: etree._Element | None = None

    # -- transport -------------------------------------------------------------------------

    def _fetch(self, params: dict[str, str]) -> tuple[str, bytes]:
        request = requests.Request("GET", self.url, params=params).prepare()
        shown = request.url or self.url
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
            self.requests_made += 1
            try:
                answer = self.session.send(
                    self.session.prepare_request(
                        requests.Request("GET", self.url, params=params, headers=_HEADERS)
                    ),
                    timeout=self.timeout,
                )
            except requests.Timeout:
                last = f"no answer within {self.timeout:g} s"
                wait = _backoff(attempt)
            except requests.ConnectionError as exc:
                last = f"connection failed ({type(exc).__name__})"
                wait = _backoff(attempt)
            else:
                if answer.status_code == 200:
                    return shown, answer.content
                if answer.status_code not in RETRY_STATUS:
                    raise OaiHarvestError(
                        f"Nguồn trả lời HTTP {answer.status_code} cho {shown}. / The provider "
                        f"answered HTTP {answer.status_code} to {shown}: check the base URL "
                        "(it must be the OAI-PMH endpoint, e.g. https://host/oai).",
                        url=shown,
                    )
                last = f"HTTP {answer.status_code}"
                wait = _retry_after(answer.headers.get("Retry-After"), attempt)
                if wait > self.max_wait:
                    raise OaiHarvestError(
                        f"Nguồn bận, yêu cầu chờ {wait:g} giây ({shown}). / The provider is busy "
                        f"and asks to wait {wait:g} s (more than {self.max_wait:g} s) at {shown}: "
                        "harvest again later.",
                        url=shown,
                    )
            if attempt < self.retries:
                self.sleep(wait)
        raise OaiHarvestError(
            f"Không lấy được {shown} sau {self.retries + 1} lần thử ({last}). / Could not get "
            f"{shown} after {self.retries + 1} attempts ({last}): check that the provider is up "
            "and reachable, then harvest again (with --incremental nothing is fetched twice).",
            url=shown,
        )

    def request(self, verb: str, **args: str) -> tuple[str, etree._Element]:
        """(request URL, the OAI-PMH root element) of one request; OAI errors raise, except
        noRecordsMatch, which the caller reads from the root."""
        if self._static is not None:
            return self.url, self._static
        shown, body = self._fetch({"verb": verb, **args})
        try:
            root = etree.fromstring(body, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise OaiHarvestError(
                f"XML hỏng trong trả lời của {shown}: {exc}. / Malformed XML in the answer to "
                f"{shown}: {exc}. The provider sent something that is not OAI-PMH; tell its "
                "administrator, or retry later.",
                url=shown,
            ) from None
        if root.tag == f"{{{STATIC}}}Repository":
            self._static = root
            return shown, root
        if root.tag != f"{{{OAI}}}OAI-PMH":
            raise OaiHarvestError(
                f"{shown} không phải trả lời OAI-PMH (gốc {root.tag}). / {shown} is not an OAI-PMH "
                f"answer (root element {root.tag}): give the provider's base URL.",
                url=shown,
            )
        for error in root.findall(f"{{{OAI}}}error"):
            code = error.get("code", "")
            if code == "noRecordsMatch":
                continue
            raise OaiHarvestError(_explain(code, (error.text or "").strip(), shown), url=shown,
                                  code=code)  # fmt: skip
        return shown, root

    @property
    def static(self) -> bool:
        return self._static is not None

    # -- verbs -----------------------------------------------------------------------------

    def identify(self) -> Identity:
        _, root = self.request("Identify")
        node = _child(root, "Identify")
        if node is None:
            raise OaiHarvestError(
                f"Trả lời Identify của {self.url} thiếu phần tử Identify. / The Identify answer "
                f"of {self.url} has no Identify element.",
                url=self.url,
            )

        def text(tag: str) -> str:
            found = node.find(f"{{{OAI}}}{tag}")
            return (found.text or "").strip() if found is not None else ""

        repo_id = node.find(f".//{{{OAI_ID}}}repositoryIdentifier")
        return Identity(
            name=text("repositoryName"),
            base_url=text("baseURL") or self.url,
            granularity=text("granularity") or "YYYY-MM-DD",
            earliest=text("earliestDatestamp"),
            deleted_record=text("deletedRecord") or "no",
            repository_identifier=(repo_id.text or "").strip() if repo_id is not None else "",
            static=self.static,
        )

    def formats(self) -> dict[str, str]:
        """metadataPrefix -> metadataNamespace of the formats the provider offers."""
        _, root = self.request("ListMetadataFormats")
        node = _child(root, "ListMetadataFormats")
        found: dict[str, str] = {}
        for fmt in node.findall(f"{{{OAI}}}metadataFormat") if node is not None else []:
            prefix = (fmt.findtext(f"{{{OAI}}}metadataPrefix") or "").strip()
            found[prefix] = (fmt.findtext(f"{{{OAI}}}metadataNamespace") or "").strip()
        return found

    def list_records(
        self, prefix: str, set_spec: str | None, start: str | None, end: str | None
    ) -> Iterator[Page]:
        """Every page of ListRecords, following resumption tokens to the end (none when the
        provider says noRecordsMatch)."""
        if self._static is not None:
            yield self._static_page(prefix, set_spec, start, end)
            return
        args = {"metadataPrefix": prefix}
        args |= {k: v for k, v in (("set", set_spec), ("from", start), ("until", end)) if v}
        seen: set[str] = set()
        while True:
            url, root = self.request("ListRecords", **args)
            node = _child(root, "ListRecords")
            records = node.findall(f"{{{OAI}}}record") if node is not None else []
            token_node = node.find(f"{{{OAI}}}resumptionToken") if node is not None else None
            token = (token_node.text or "").strip() if token_node is not None else ""
            size = token_node.get("completeListSize") if token_node is not None else None
            yield Page(
                url,
                (root.findtext(f"{{{OAI}}}responseDate") or "").strip(),
                records,
                token or None,
                int(size) if size and size.isdigit() else None,
            )
            if not token:
                return
            if token in seen:
                raise OaiHarvestError(
                    f"Nguồn trả lại cùng một resumptionToken ({url}). / The provider sent the same "
                    f"resumptionToken twice ({url}); the list would never end. Tell its "
                    "administrator.",
                    url=url,
                )
            seen.add(token)
            args = {"resumptionToken": token}

    def get_record(self, identifier: str, prefix: str) -> etree._Element | None:
        """One record (for a hồ sơ whose documents were harvested without it); None if the
        provider does not have it."""
        if self._static is not None:
            return None
        try:
            _, root = self.request("GetRecord", identifier=identifier, metadataPrefix=prefix)
        except OaiHarvestError as exc:
            if exc.code in ("idDoesNotExist", "cannotDisseminateFormat", "badArgument"):
                return None
            raise
        node = _child(root, "GetRecord")
        return node.find(f"{{{OAI}}}record") if node is not None else None

    def _static_page(
        self, prefix: str, set_spec: str | None, start: str | None, end: str | None
    ) -> Page:
        assert self._static is not None
        if set_spec:
            raise OaiHarvestError(
                f"{self.url} là kho tĩnh, không có tập (set). / {self.url} is a static repository: "
                "static repositories have no sets; harvest it without --set.",
                url=self.url,
            )
        lists = self._static.findall(f"{{{STATIC}}}ListRecords")
        chosen = [n for n in lists if n.get("metadataPrefix") == prefix]
        if not chosen:
            offered = ", ".join(sorted(n.get("metadataPrefix", "?") for n in lists)) or "none"
            raise OaiHarvestError(
                f"Kho tĩnh {self.url} không có định dạng {prefix}. / The static repository "
                f"{self.url} has no records in {prefix!r} (it has: {offered}); use --prefix.",
                url=self.url,
                code="cannotDisseminateFormat",
            )
        kept = []
        for record in chosen[0].findall(f"{{{OAI}}}record"):
            stamp = (record.findtext(f"{{{OAI}}}header/{{{OAI}}}datestamp") or "")[:10]
            if (start and stamp < start[:10]) or (end and stamp > end[:10]):
                continue
            kept.append(record)
        return Page(self.url, "", kept)


_HEADERS = {"User-Agent": USER_AGENT, "Accept": "text/xml, application/xml"}


def _child(root: etree._Element, tag: str) -> etree._Element | None:
    return root.find(f"{{{OAI}}}{tag}") if root.tag != f"{{{STATIC}}}Repository" else (
        root.find(f"{{{STATIC}}}{tag}")
    )  # fmt: skip


def _backoff(attempt: int) -> float:
    return min(2.0**attempt, 30.0)


def _retry_after(header: str | None, attempt: int) -> float:
    if header and header.strip().isdigit():
        return float(header.strip())
    return _backoff(attempt)


_ADVICE = {
    "badArgument": "Kiểm tra --from/--until (YYYY-MM-DD) và --set. / Check --from/--until "
    "(YYYY-MM-DD, or with seconds only if the provider's granularity has them) and --set.",
    "badResumptionToken": "Mã tiếp tục hết hạn hoặc bị từ chối: thu thập lại từ đầu (hoặc "
    "--incremental). / The resumption token expired or was refused mid-list: harvest again "
    "(with --incremental only what changed is fetched).",
    "cannotDisseminateFormat": "Chọn định dạng khác bằng --prefix (ListMetadataFormats). / "
    "Pick a format the provider offers with --prefix (see ListMetadataFormats).",
    "noSetHierarchy": "Nguồn không có tập: bỏ --set. / The provider has no sets: drop --set.",
    "badVerb": "Địa chỉ có thể không phải điểm OAI-PMH. / The URL may not be an OAI-PMH endpoint.",
}


def _explain(code: str, text: str, url: str) -> str:
    advice = _ADVICE.get(code, "Báo quản trị của nguồn. / Tell the provider's administrator.")
    return f"Lỗi OAI-PMH {code} ở {url}: {text} / OAI-PMH error {code} at {url}: {text}. {advice}"
