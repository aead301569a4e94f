"""OAI-PMH 2.0 arguments: which verb takes which arguments (spec section 4), the protocol's
errors (section 3.6), datestamp bounds at the provider's granularity and the metadata prefix."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from repository.oai_metadata import FORMATS

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# verb -> (required, optional, exclusive) arguments, besides `verb` itself (spec section 4)
VERBS: dict[str, tuple[set[str], set[str], str | None]] = {
    "Identify": (set(), set(), None),
    "ListMetadataFormats": (set(), {"identifier"}, None),
    "ListSets": (set(), set(), "resumptionToken"),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "GetRecord": ({"identifier", "metadataPrefix"}, set(), None),
}


class OaiError(Exception):
    """A protocol error (spec section 3.6); `errors` when one request has several."""

    def __init__(self, code: str, message: str, errors: list[OaiError] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or [self]


def check(pairs: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    verbs = [v for k, v in pairs if k == "verb"]
    if len(verbs) != 1 or verbs[0] not in VERBS:
        said = "none" if not verbs else ", ".join(verbs)
        raise OaiError(
            "badVerb",
            f"Thiếu động từ hoặc động từ không hợp lệ ({said}). / Missing, repeated or illegal "
            f"verb ({said}): use one of {', '.join(VERBS)}.",
        )
    verb = verbs[0]
    required, optional, exclusive = VERBS[verb]
    arguments: dict[str, str] = {}
    for name, value in pairs:
        if name == "verb":
            continue
        if name in arguments:
            raise OaiError(
                "badArgument",
                f"Đối số {name} bị lặp. / Argument {name} is repeated; give it once.",
            )
        if name not in required | optional | ({exclusive} if exclusive else set()):
            raise OaiError(
                "badArgument",
                f"{verb} không nhận đối số {name}. / {verb} takes no argument {name!r}; it takes "
                f"{', '.join(sorted(required | optional)) or 'none'}.",
            )
        arguments[name] = value
    if exclusive and exclusive in arguments:
        if len(arguments) > 1:
            raise OaiError(
                "badArgument",
                f"{exclusive} phải đi một mình. / {exclusive} is an exclusive argument: send it "
                "with the verb only.",
            )
        return verb, arguments
    missing = sorted(required - set(arguments))
    if missing:
        raise OaiError(
            "badArgument",
            f"Thiếu đối số {', '.join(missing)}. / Missing required argument "
            f"{', '.join(missing)} for {verb}.",
        )
    return verb, arguments


def metadata_prefix(prefix: str) -> str:
    if prefix not in FORMATS:
        raise OaiError(
            "cannotDisseminateFormat",
            f"Không hỗ trợ định dạng {prefix}. / Format {prefix!r} is not offered: use "
            f"{' or '.join(FORMATS)} (see ListMetadataFormats).",
        )
    return prefix


def date_range(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    def parse(value: str | None, name: str, last: bool) -> datetime | None:
        if value is None:
            return None
        try:
            if _SECOND.match(value):
                return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            if _DAY.match(value):
                day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
                return day + timedelta(days=1, seconds=-1) if last else day
        except ValueError:
            pass
        raise OaiError(
            "badArgument",
            f"Ngày {name} không hợp lệ: {value!r}. / Illegal {name} date {value!r}: use "
            "YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (UTC).",
        )

    begin, finish = parse(start, "from", False), parse(end, "until", True)
    if start and end and len(start) != len(end):
        raise OaiError(
            "badArgument",
            "from và until phải cùng độ chi tiết. / from and until must have the same "
            "granularity (both days or both seconds).",
        )
    if begin and finish and begin > finish:
        raise OaiError(
            "badArgument", "from sau until. / from is later than until: swap or fix them."
        )
    return begin, finish
