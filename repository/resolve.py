"""Which real agency a name written on a document (or in a sheet) means, on the document's date.

Names are matched accent-insensitively after expanding the usual abbreviations (UBND, HĐND,
MTTQ, Đoàn TNCS...), exactly first and then fuzzily, against the agencies valid that day. The
candidates of a province are read from the store once and cached.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import pyoxigraph as ox

from repository.store import Store
from repository.text import fold

BLOCKS = {"block-chinh-quyen": "chinh-quyen", "block-dang": "dang", "block-doan-the": "doan-the"}
# Folded abbreviation -> folded full form; applied on word boundaries, longest first.
ABBREVIATIONS = {
    "ubnd": "uy ban nhan dan",
    "hdnd": "hoi dong nhan dan",
    "ubmttq viet nam": "uy ban mat tran to quoc viet nam",
    "ubmttq vn": "uy ban mat tran to quoc viet nam",
    "ubmttq": "uy ban mat tran to quoc viet nam",
    "uy ban mttq viet nam": "uy ban mat tran to quoc viet nam",
    "uy ban mttq vn": "uy ban mat tran to quoc viet nam",
    "uy ban mttq": "uy ban mat tran to quoc viet nam",
    "mttq viet nam": "uy ban mat tran to quoc viet nam",
    "mttq": "uy ban mat tran to quoc viet nam",
    "uy ban mat tran to quoc(?! viet nam)": "uy ban mat tran to quoc viet nam",
    "doan tncs ho chi minh": "doan thanh nien cong san ho chi minh",
    "doan tncs hcm": "doan thanh nien cong san ho chi minh",
    "doan thanh nien(?! cong san)": "doan thanh nien cong san ho chi minh",
    "doan tn": "doan thanh nien cong san ho chi minh",
    "bch doan": "doan thanh nien cong san ho chi minh",
    "hoi lhpn": "hoi lien hiep phu nu",
    "hoi ccb": "hoi cuu chien binh",
    "hoi nd": "hoi nong dan",
    "ldld": "lien doan lao dong",
    "tp": "thanh pho",
    "tx": "thi xa",
    "tt": "thi tran",
}
_ABBR = [
    (re.compile(r"\b" + k.replace(" ", r"\s") + r"\b"), v)
    for k, v in sorted(ABBREVIATIONS.items(), key=lambda kv: len(kv[0]), reverse=True)
]
_UNIT_TYPES = ("thanh pho ", "thi xa ", "thi tran ", "huyen ", "quan ", "phuong ", "xa ", "tinh ")
# "Huyện đoàn X", "Thành đoàn X": the Youth Union of that district or city.
_DOAN_OF = re.compile(r"^(?:bch )?(huyen|quan|thi|thanh) doan (.+)$")
_DOAN_UNIT = {"huyen": "huyen", "quan": "quan", "thi": "thi xa", "thanh": "thanh pho"}
_FUZZY_CUTOFF = 0.82


@dataclass(frozen=True)
class IssuerMatch:
    agency_iri: str
    agency_kind: str  # ubnd, hdnd, dang-uy, mttq, doan-tn, hoi-lhpn...
    block: str  # chinh-quyen | dang | doan-the
    unit_iri: str
    unit_code: str
    unit_name: str
    agency_name: str
    score: float = 1.0


@dataclass(frozen=True)
class _Candidate:
    key: str  # normalised name
    match: IssuerMatch
    valid_from: str | None
    valid_to: str | None
    parent_key: str  # folded name of the unit's parent ("huyen dan phuong")

    def valid_on(self, day: str) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or self.valid_to >= day
        )


def normalise(name: str) -> str:
    """Folded, abbreviations expanded, punctuation dropped: the key names are compared on."""
    key = re.sub(r"[^0-9a-z ]+", " ", fold(name))
    key = " ".join(key.split())
    for pattern, full in _ABBR:
        key = pattern.sub(full, key)
    key = re.sub(r"^ban thuong vu ", "", key)
    doan = _DOAN_OF.match(key)
    if doan:
        key = f"doan thanh nien cong san ho chi minh {_DOAN_UNIT[doan.group(1)]} {doan.group(2)}"
    return key


_CACHE: dict[tuple[int, str], list[_Candidate]] = {}

_QUERY = """
SELECT ?a ?name ?kind ?block ?from ?to ?u ?code ?uname ?pname WHERE {
  ?prov kho:level khoc:level-province ; skos:notation ?pcode .
  ?u rico:isOrWasContainedBy* ?prov ; skos:notation ?code .
  ?a rico:hasOrHadJurisdiction ?u ; kho:agencyKind ?kind ;
     rico:hasOrHadCorporateBodyType ?block ; skos:prefLabel ?name .
  FILTER(lang(?name) = "vi")
  OPTIONAL { ?u skos:prefLabel ?uname FILTER(lang(?uname) = "vi") }
  OPTIONAL { ?u rico:isOrWasContainedBy ?p . ?p skos:prefLabel ?pname FILTER(lang(?pname) = "vi") }
  OPTIONAL { ?a rico:beginningDate ?from } OPTIONAL { ?a rico:endDate ?to }
}"""


def candidates(store: Store, province_code: str = "01") -> list[_Candidate]:
    """Every agency of a province with its validity, read once per store and province."""
    cache_key = (id(store), province_code)
    if cache_key not in _CACHE:
        rows = store.select(_QUERY, substitutions={"pcode": ox.Literal(province_code)})
        found = []
        for r in rows:
            name = str(r["name"])
            match = IssuerMatch(
                agency_iri=str(r["a"]),
                agency_kind=str(r["kind"]).rsplit("agency-", 1)[-1],
                block=BLOCKS.get(str(r["block"]).rsplit("/", 1)[-1], ""),
                unit_iri=str(r["u"]),
                unit_code=str(r["code"]),
                unit_name=str(r["uname"] or ""),
                agency_name=name,
            )
            found.append(
                _Candidate(
                    normalise(name),
                    match,
                    _day(r["from"]),
                    _day(r["to"]),
                    fold(str(r["pname"] or "")),
                )
            )
        _CACHE[cache_key] = found
    return _CACHE[cache_key]


_BY_KEY: dict[tuple[int, str], dict[str, list[_Candidate]]] = {}


def _by_key(store: Store, province_code: str) -> dict[str, list[_Candidate]]:
    """The candidates by normalised name: exact matches are a dict lookup, not a scan."""
    cache_key = (id(store), province_code)
    if cache_key not in _BY_KEY:
        index: dict[str, list[_Candidate]] = {}
        for c in candidates(store, province_code):
            index.setdefault(c.key, []).append(c)
        _BY_KEY[cache_key] = index
    return _BY_KEY[cache_key]


def _day(value: object) -> str | None:
    return str(value)[:10] if value else None


def resolve_issuer(
    store: Store,
    name: str,
    on: date,
    *,
    parent: str | None = None,
    place: str | None = None,
    province_code: str = "01",
) -> IssuerMatch | None:
    """The agency called `name` that existed on `on`, or None if nothing is close enough.

    `parent` (the cơ quan chủ quản line) and `place` (the địa danh) break ties between units of
    the same name in different districts.
    """
    key = normalise(name)
    if not key:
        return None
    day = on.isoformat()
    by_key = _by_key(store, province_code)
    if key in by_key:
        exact = [c for c in by_key[key] if c.valid_on(day)]
        if exact:
            return _disambiguate(exact, name, parent, place, 1.0)
        return None  # a real agency's name, but not on that day: do not guess another one
    # Fuzzy: the closest names of any date (memoised per name, the costly part), then the
    # closest one that existed on that day.
    for best in _close_keys(store, province_code, key):
        found = [c for c in by_key[best] if c.valid_on(day)]
        if found:
            score = difflib.SequenceMatcher(None, key, best).ratio()
            return _disambiguate(found, name, parent, place, round(score, 3))
    return None


_CLOSE: dict[tuple[int, str, str], list[str]] = {}


def _close_keys(store: Store, province_code: str, key: str) -> list[str]:
    memo = (id(store), province_code, key)
    if memo not in _CLOSE:
        keys = list(_by_key(store, province_code))
        _CLOSE[memo] = difflib.get_close_matches(key, keys, n=12, cutoff=_FUZZY_CUTOFF)
    return _CLOSE[memo]


def _disambiguate(
    found: list[_Candidate], name: str, parent: str | None, place: str | None, score: float
) -> IssuerMatch | None:
    if len(found) > 1:  # "Song Phượng" and "Song Phương" fold alike: the tones decide
        written = syllables(name)
        scores = {id(c): _tail_score(written, syllables(c.match.unit_name)[1:]) for c in found}
        top = max(scores.values())
        found = [c for c in found if scores[id(c)] == top]
    if len(found) > 1 and parent:
        hint = normalise(parent)
        narrowed = [c for c in found if c.parent_key and _mentions(hint, c.parent_key)]
        found = narrowed or found
    if len(found) > 1 and place:
        hint = fold(place)
        narrowed = [c for c in found if c.parent_key and _mentions(hint, c.parent_key, bare=True)]
        found = narrowed or found
    if len({c.match.agency_iri for c in found}) != 1:
        return None  # still ambiguous: better no answer than a wrong one
    m = found[0].match
    return IssuerMatch(**{**m.__dict__, "score": score})


_TONES = {"\u0300": "2", "\u0301": "1", "\u0309": "3", "\u0303": "4", "\u0323": "5"}


def syllables(text: str) -> list[str]:
    """Lower-case syllables with their tone as a digit, wherever the mark sits ("uỷ" = "ủy")."""
    out = []
    for word in re.split(r"[\s\-,.;:/()*]+", unicodedata.normalize("NFD", text.lower())):
        if not word:
            continue
        tone = next((_TONES[c] for c in word if c in _TONES), "0")
        base = unicodedata.normalize("NFC", "".join(c for c in word if c not in _TONES))
        out.append(base + tone)
    return out


def _tail_score(written: list[str], unit: list[str]) -> float:
    if not unit:
        return 0.0
    tail = " ".join(written[-len(unit) :])
    return difflib.SequenceMatcher(None, tail, " ".join(unit)).ratio()


def _mentions(hint: str, parent_key: str, bare: bool = False) -> bool:
    """Does the hint name this parent unit ("huyen dan phuong", or just "dan phuong")?"""
    short = next((parent_key[len(t) :] for t in _UNIT_TYPES if parent_key.startswith(t)), "")
    target = short if bare else parent_key
    return bool(target) and (target in hint or (not bare and short in hint))


def explain_issuer(
    store: Store, name: str, on: date, *, province_code: str = "01"
) -> tuple[str, str] | None:
    """Why `name` resolves to no agency on `on`, and which agencies of the same kind held that
    territory that day: (Vietnamese, English); None when no agency bears exactly that name (or
    when it does resolve)."""
    key = normalise(name)
    by_key = _by_key(store, province_code)
    named = by_key.get(key, [])
    day = on.isoformat()
    valid = [c for c in named if c.valid_on(day)]
    if not named or len({c.match.agency_iri for c in valid}) == 1:
        return None  # no agency of that exact name (a typo?), or it does resolve
    if valid:
        places = "; ".join(sorted({f"{c.match.agency_name} ({c.parent_key})" for c in valid}))
        return (
            f"Vào ngày {on:%d/%m/%Y} có nhiều cơ quan tên «{name}»: {places}. Ghi rõ cơ quan chủ "
            "quản hoặc địa danh trong tên.",
            f"On {on:%d/%m/%Y} several agencies were called «{name}»: {places}. Name the parent "
            "body or the place in the name.",
        )
    periods = "; ".join(
        sorted({f"{c.match.agency_name}: {_period(c.valid_from, c.valid_to)}" for c in named})
    )
    then = _held_then(store, named, day, province_code)
    held_vi = f" Vào ngày đó, địa bàn này thuộc: {', '.join(then)}." if then else ""
    held_en = f" On that day the territory was under: {', '.join(then)}." if then else ""
    return (
        f"«{name}» không tồn tại vào ngày {on:%d/%m/%Y} ({periods}).{held_vi} Kiểm tra tên cơ "
        "quan và ngày văn bản.",
        f"«{name}» did not exist on {on:%d/%m/%Y} ({periods}).{held_en} Check the agency name and "
        "the document date.",
    )


def _period(start: str | None, end: str | None) -> str:
    return f"{start or '…'} – {end or 'nay/now'}"


def _held_then(store: Store, named: list[_Candidate], day: str, province_code: str) -> list[str]:
    """Agencies of the same kind as `named` over the units that held their territory on `day`:
    the predecessors of their units when `day` is before them, the successors when after."""
    from repository import gazetteer

    kinds = {c.match.agency_kind for c in named}
    held: set[str] = set()
    for c in named:
        before = c.valid_from is not None and day < c.valid_from
        step = gazetteer.predecessors if before else gazetteer.successors
        frontier, seen = [c.match.unit_iri], set()
        if not before and not step(store, c.match.unit_iri):  # an abolished level: its communes
            child = "?u rico:isOrWasContainedBy ?me ."
            frontier = [
                u.iri for u in gazetteer.units(store, child, {"me": ox.NamedNode(c.match.unit_iri)})
            ]
        for _ in range(4):  # a few reorganisations back or forth
            following = []
            for iri in frontier:
                for u in step(store, iri):
                    if u.iri in seen:
                        continue
                    seen.add(u.iri)
                    if (u.valid_from is None or u.valid_from <= day) and (
                        u.valid_to is None or day <= u.valid_to
                    ):
                        held.add(u.iri)
                    else:
                        following.append(u.iri)
            frontier = following
            if not frontier:
                break
    names = sorted(
        {
            c.match.agency_name
            for c in candidates(store, province_code)
            if c.match.unit_iri in held and c.match.agency_kind in kinds and c.valid_on(day)
        }
    )
    return names[:12] + ([f"… (+{len(names) - 12})"] if len(names) > 12 else [])
