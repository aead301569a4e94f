"""De-duplication: the same file, the same document, near-duplicate texts; quality flags.

Nothing is dropped: a duplicate or damaged item lands as a record with a kho:QualityFlag in the
curation graph, status "Xem xét hủy" (TT 05/2025, Điều 48–50) or "under review", until an
archivist confirms or overturns it (docs/model.md, "Quality flags and review").
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field
from datetime import date, datetime

import pyoxigraph as ox

from repository.access import mask_personal
from repository.errors import KhoError, NotFound
from repository.namespaces import DCT, KHO, PROV, RDF, RICO, XSD, Minter, code
from repository.preservation import agent_term, timestamp
from repository.rdf import Triples, text
from repository.store import Store
from repository.text import fold, nfc

FLAG_KINDS = (
    "extraction-mismatch",
    "duplicate-file",
    "duplicate-document",
    "near-duplicate",
    "damaged",
    "empty-text",
)
# TT 05/2025: duplicates go to the "no remaining value" list as "Xem xét hủy"; a damaged item
# likewise awaits the archivist. Mismatches and empty text only need a look.
_DEFAULT_STATUS = {
    "duplicate-file": "xem-xet-huy",
    "duplicate-document": "xem-xet-huy",
    "near-duplicate": "xem-xet-huy",
    "damaged": "xem-xet-huy",
}
FLAG_STATUSES = ("xem-xet-huy", "under-review")
REVIEW_OUTCOMES = ("confirmed", "overturned")
_REVIEW_NOTE = {
    "confirmed": "Lưu trữ viên xác nhận cờ / the archivist confirmed the flag",
    "overturned": "Lưu trữ viên bác bỏ cờ / the archivist overturned the flag",
}

# MinHash: 64 hash functions over word 5-shingles, banded 16 x 4 for LSH. SHAKE-128 of a fixed
# salt + shingle gives 64 independent 32-bit values per shingle in one call, identical in every
# process and on every machine (Python's hash() is salted per process, so it is not used).
PERMUTATIONS = 64
BANDS, ROWS = 16, 4
SHINGLE = 5
_SALT = b"kho-minhash-v1\x00"
_SIG_PREFIX = "minhash-v1:"
_WORD = re.compile(r"[0-9a-z]+")
_MAX32 = 0xFFFFFFFF


# -- (a) the same file ------------------------------------------------------------------------
_BY_SHA = """
SELECT DISTINCT ?rec WHERE {
  ?inst kho:sha256 ?sha ; rico:isOrWasInstantiationOf ?rec .
} ORDER BY ?rec
"""


def files_with_checksum(store: Store, sha: str) -> list[str]:
    """Records that already hold a file with this SHA-256 (as original or PDF/A)."""
    rows = store.select(_BY_SHA, substitutions={"sha": ox.Literal(sha.upper())})
    return [str(r["rec"]) for r in rows]


# -- (b) the same document --------------------------------------------------------------------
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−"})


def normal_number_symbol(value: str) -> str:
    """Number/symbol for comparison: NFC, no spaces, one kind of dash, accents and case folded.

    "1624/QĐ-UBND", "1624 / QD-ubnd" and "1624/QĐ–UBND" compare equal.
    """
    return fold(nfc(value).translate(_DASHES)).replace(" ", "")


# The day first: a few records share a date, a city agency has thousands (2.7x faster at 30k).
_BY_DOC = """
SELECT DISTINCT ?rec ?ns WHERE {
  ?rec dct:issued ?issued . ?rec rico:hasCreator ?creator . ?rec kho:numberSymbol ?ns .
}
"""


def same_document(store: Store, number_symbol: str, creator_iri: str, issued: date) -> list[str]:
    """Records with the same number/symbol, creator and date of issue."""
    wanted = normal_number_symbol(number_symbol)
    if not wanted:
        return []
    rows = store.select(
        _BY_DOC,
        substitutions={
            "creator": ox.NamedNode(creator_iri),
            "issued": ox.Literal(issued.isoformat(), datatype=ox.NamedNode(XSD + "date")),
        },
    )
    found = {str(r["rec"]) for r in rows if normal_number_symbol(str(r["ns"])) == wanted}
    return sorted(found)


# -- (c) near-duplicate texts -----------------------------------------------------------------
@dataclass(frozen=True)
class Signature:
    """MinHash signature of a text; `shingles` = 0 for a text without words."""

    values: tuple[int, ...]
    shingles: int

    def literal(self) -> str:
        """The signature as stored in kho:textSignature: prefix + 8 hex digits per value."""
        return _SIG_PREFIX + "".join(f"{v:08x}" for v in self.values)

    @classmethod
    def from_literal(cls, value: str) -> Signature:
        if not value.startswith(_SIG_PREFIX):
            raise ValueError(f"not a Kho text signature: {value[:30]!r}")
        hex_ = value[len(_SIG_PREFIX) :]
        return cls(tuple(int(hex_[i : i + 8], 16) for i in range(0, len(hex_), 8)), -1)

    def similarity(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two texts' shingle sets."""
        if not self.values or len(self.values) != len(other.values):
            return 0.0
        return sum(a == b for a, b in zip(self.values, other.values, strict=True)) / len(
            self.values
        )


def shingles(value: str) -> set[str]:
    """Word 5-shingles of the folded text (accents, case and punctuation ignored)."""
    words = _WORD.findall(fold(value))
    if len(words) < SHINGLE:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def text_signature(value: str) -> Signature:
    """MinHash signature (64 values) of a text; deterministic across runs and processes."""
    grams = shingles(value)
    if not grams:
        return Signature((), 0)
    unpack = struct.Struct(f"<{PERMUTATIONS}I").unpack
    mins = [_MAX32] * PERMUTATIONS
    for gram in grams:
        row = unpack(hashlib.shake_128(_SALT + gram.encode("utf-8")).digest(4 * PERMUTATIONS))
        mins = list(map(min, mins, row))
    return Signature(tuple(mins), len(grams))


def band_literals(sig: Signature) -> list[str]:
    """LSH band keys ("b03-…") to store as kho:textBand; texts sharing one are candidates."""
    if not sig.values:
        return []
    out = []
    for b in range(BANDS):
        rows = sig.values[b * ROWS : (b + 1) * ROWS]
        digest = hashlib.blake2b(struct.pack(f"<{ROWS}I", *rows), digest_size=8).hexdigest()
        out.append(f"b{b:02d}-{digest}")
    return out


def signature_triples(record_iri: str, sig: Signature) -> list[ox.Triple]:
    """kho:textSignature and kho:textBand of a record, for the curation graph."""
    if not sig.values:
        return []
    t = Triples()
    t.lit(record_iri, KHO + "textSignature", ox.Literal(sig.literal()))
    for band in band_literals(sig):
        t.lit(record_iri, KHO + "textBand", ox.Literal(band))
    return sorted(t.triples, key=str)


def near_duplicates(
    store: Store, sig: Signature, threshold: float = 0.85, *, exclude: str | None = None
) -> list[tuple[str, float]]:
    """Records whose stored text signature is at least `threshold` similar, best first."""
    bands = band_literals(sig)
    if not bands:
        return []
    values = " ".join(str(ox.Literal(b)) for b in bands)  # N-Triples syntax: no injection
    rows = store.select(
        "SELECT DISTINCT ?rec ?sig WHERE { VALUES ?band { "
        + values
        + " } ?rec kho:textBand ?band ; kho:textSignature ?sig . }"
    )
    found: dict[str, float] = {}
    for row in rows:
        rec = str(row["rec"])
        if rec == exclude:
            continue
        score = sig.similarity(Signature.from_literal(str(row["sig"])))
        if score >= threshold:
            found[rec] = max(score, found.get(rec, 0.0))
    return sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class Duplicate:
    """A record of the same batch that an item duplicates."""

    kind: str  # duplicate-file | duplicate-document | near-duplicate
    duplicate_of: str
    similarity: float = 1.0


@dataclass
class BatchDuplicates:
    """Duplicates within one batch, found before anything is committed.

    Ask (`same_file`, `same_document`, `near_duplicates`) before adding a document, then add it
    (`add_file`, `add_document`, `add_text`); or call `check(...)`, which does both.
    """

    threshold: float = 0.85
    # Every document IRI of the batch: a stored copy of one of them (an earlier run of the same
    # batch) is not "an earlier record" — the batch's own order decides, so a re-run (after a
    # crash, or to fix rows) flags exactly what the first run flagged.
    batch: frozenset[str] = frozenset()
    _by_sha: dict[str, list[str]] = field(default_factory=dict)
    _by_doc: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    _by_band: dict[str, list[str]] = field(default_factory=dict)
    _sigs: dict[str, Signature] = field(default_factory=dict)

    @staticmethod
    def _doc_key(number_symbol: str, creator: str, issued: date) -> tuple[str, str, str]:
        return (normal_number_symbol(number_symbol), creator, issued.isoformat())

    def same_file(self, sha: str, exclude: str | None = None) -> list[str]:
        return [i for i in self._by_sha.get(sha.upper(), []) if i != exclude]

    def same_document(
        self, number_symbol: str, creator: str, issued: date, exclude: str | None = None
    ) -> list[str]:
        key = self._doc_key(number_symbol, creator, issued)
        return [i for i in self._by_doc.get(key, []) if i != exclude] if key[0] else []

    def near_duplicates(
        self, sig: Signature, exclude: str | None = None
    ) -> list[tuple[str, float]]:
        found: dict[str, float] = {}
        for band in band_literals(sig):
            for other in self._by_band.get(band, []):
                if other != exclude and other not in found:
                    found[other] = sig.similarity(self._sigs[other])
        hits = [(i, j) for i, j in found.items() if j >= self.threshold]
        return sorted(hits, key=lambda kv: (-kv[1], kv[0]))

    def add_file(self, sha: str, record_iri: str) -> None:
        _append(self._by_sha.setdefault(sha.upper(), []), record_iri)

    def add_document(self, number_symbol: str, creator: str, issued: date, iri: str) -> None:
        key = self._doc_key(number_symbol, creator, issued)
        if key[0]:
            _append(self._by_doc.setdefault(key, []), iri)

    def add_text(self, record_iri: str, sig: Signature) -> None:
        if not sig.values:
            return
        self._sigs[record_iri] = sig
        for band in band_literals(sig):
            _append(self._by_band.setdefault(band, []), record_iri)

    def check(
        self,
        record_iri: str,
        *,
        sha: str | None = None,
        number_symbol: str | None = None,
        creator: str | None = None,
        issued: date | None = None,
        signature: Signature | None = None,
    ) -> list[Duplicate]:
        """The earlier documents this one duplicates (then it is remembered)."""
        found: list[Duplicate] = []
        if sha:
            found += [Duplicate("duplicate-file", i) for i in self.same_file(sha, record_iri)]
            self.add_file(sha, record_iri)
        if number_symbol and creator and issued:
            same = self.same_document(number_symbol, creator, issued, record_iri)
            found += [Duplicate("duplicate-document", i) for i in same]
            self.add_document(number_symbol, creator, issued, record_iri)
        if signature is not None and signature.values:
            near = self.near_duplicates(signature, record_iri)
            found += [Duplicate("near-duplicate", i, j) for i, j in near]
            self.add_text(record_iri, signature)
        return found


def _append(members: list[str], iri: str) -> None:
    if iri not in members:
        members.append(iri)


# -- (d) quality flags ------------------------------------------------------------------------
def flag_triples(
    resource_iri: str,
    kind: str,
    *,
    field: str | None = None,
    sheet_value: str | None = None,
    extracted_value: str | None = None,
    duplicate_of: str | list[str] | None = None,
    status: str | None = None,
    note: str | None = None,
    at: datetime,
) -> list[ox.Triple]:
    """A kho:QualityFlag on a record or hồ sơ, for the curation graph.

    `status` defaults to "xem-xet-huy" for duplicates and damaged items, else "under-review".
    """
    if kind not in FLAG_KINDS:
        raise ValueError(f"unknown flag kind {kind!r}; use one of {FLAG_KINDS}")
    status = status or _DEFAULT_STATUS.get(kind, "under-review")
    if status not in FLAG_STATUSES:
        raise ValueError(f"unknown flag status {status!r}; use one of {FLAG_STATUSES}")
    iri = Minter.flag(resource_iri, kind, field)
    t = Triples()
    t.iri(iri, RDF + "type", KHO + "QualityFlag")
    t.iri(iri, KHO + "flagOf", resource_iri)
    t.iri(iri, KHO + "flagKind", code(f"flag-{kind}"))
    t.iri(iri, KHO + "reviewStatus", code(f"review-{status}"))
    t.lit(iri, PROV + "generatedAtTime", timestamp(at))
    if field:
        t.lit(iri, KHO + "field", text(field))
    # A flag quotes the sheet and the OCR: a citizen's number in them is masked here, since the
    # curation graph is not the personal graph (issue 5: the number lives only there).
    if sheet_value is not None:
        t.lit(iri, KHO + "sheetValue", text(mask_personal(sheet_value)))
    if extracted_value is not None:
        t.lit(iri, KHO + "extractedValue", text(mask_personal(extracted_value)))
    others = [duplicate_of] if isinstance(duplicate_of, str) else duplicate_of or []
    for other in others:
        t.iri(iri, KHO + "duplicateOf", other)
    if note:
        t.lit(iri, RICO + "descriptiveNote", text(mask_personal(note)))
    return sorted(t.triples, key=str)


# -- (e) review -------------------------------------------------------------------------------
_FLAG = """
SELECT ?g ?status (COUNT(DISTINCT ?review) AS ?n) WHERE {
  GRAPH ?g { ?flag a kho:QualityFlag ; kho:reviewStatus ?status . }
  OPTIONAL { ?review prov:used ?flag ; a prov:Activity . }
} GROUP BY ?g ?status
"""


def set_review(
    store: Store,
    flag_iri: str,
    status: str,
    who: str,
    at: datetime,
    *,
    graphs: list[str] | None = None,
    note: str | None = None,
) -> None:
    """An archivist confirms or overturns a flag: new status, plus who and when (PROV).

    `graphs` limits which flags the archivist may act on (the curation graphs they see): a flag
    outside them is NotFound. `note` is the archivist's own words, kept with the review.
    """
    if status not in REVIEW_OUTCOMES:
        raise KhoError(f"Unknown review outcome {status!r}: use confirmed or overturned.")
    rows = store.select(_FLAG, substitutions={"flag": ox.NamedNode(flag_iri)}, graphs=graphs)
    if not rows:
        raise NotFound(f"No quality flag {flag_iri}.")
    graph = str(rows[0]["g"])
    n = int(rows[0]["n"] or 0) + 1  # type: ignore[call-overload]
    review = Minter.flag_review(flag_iri, n)
    t = Triples()
    t.iri(review, RDF + "type", PROV + "Activity")
    t.iri(review, PROV + "used", flag_iri)
    # kho:reviewStatus belongs to flags (its domain), so the review's own outcome is its dct:type.
    t.iri(review, DCT + "type", code(f"review-{status}"))
    said = _REVIEW_NOTE[status] + (f". {nfc(note.strip())}" if note and note.strip() else "")
    t.lit(review, RICO + "descriptiveNote", text(said, "vi"))
    t.triples.add(ox.Triple(t.node(review), t.node(PROV + "wasAssociatedWith"), agent_term(t, who)))
    t.lit(review, PROV + "endedAtTime", timestamp(at))
    t.iri(flag_iri, KHO + "reviewStatus", code(f"review-{status}"))
    t.iri(flag_iri, PROV + "wasInfluencedBy", review)
    g = ox.NamedNode(graph)
    flag, status_p = ox.NamedNode(flag_iri), ox.NamedNode(KHO + "reviewStatus")
    old = {ox.Quad(flag, status_p, ox.NamedNode(str(r["status"])), g) for r in rows}
    new = {ox.Quad(x.subject, x.predicate, x.object, g) for x in t.triples}
    swap(store, graph, remove=old, add=new)


def swap(store: Store, graph: str, *, remove: set[ox.Quad], add: set[ox.Quad]) -> None:
    """Remove and add quads of one graph in one transaction."""
    g = ox.NamedNode(graph)
    store.update_quads(
        [ox.Quad(q.subject, q.predicate, q.object, g) for q in remove],
        [ox.Quad(q.subject, q.predicate, q.object, g) for q in add],
    )


_LIST = """
SELECT ?flag ?of ?kind ?status ?field ?sheet ?found ?dup ?note ?at ?g WHERE {
  GRAPH ?g { ?flag a kho:QualityFlag ; kho:flagOf ?of ; kho:flagKind ?kind ;
                   kho:reviewStatus ?status . }
  OPTIONAL { ?flag kho:field ?field } OPTIONAL { ?flag kho:sheetValue ?sheet }
  OPTIONAL { ?flag kho:extractedValue ?found } OPTIONAL { ?flag kho:duplicateOf ?dup }
  OPTIONAL { ?flag rico:descriptiveNote ?note } OPTIONAL { ?flag prov:generatedAtTime ?at }
} ORDER BY ?of ?flag"""


def list_flags(
    store: Store,
    *,
    status: str | None = None,
    kind: str | None = None,
    graphs: list[str] | None = None,
    resource: str | None = None,
) -> list[dict]:
    """Quality flags for archivists, optionally by review status (xem-xet-huy, under-review,
    confirmed, overturned) and kind (duplicate-file, extraction-mismatch...); `graphs` limits them
    to the curation graphs a reader sees, `resource` to the flags of one record or hồ sơ."""
    out = []
    subs = {"of": ox.NamedNode(resource)} if resource else None
    for r in store.select(_LIST, graphs=graphs, substitutions=subs):
        s = str(r["status"]).rsplit("review-", 1)[-1]
        k = str(r["kind"]).rsplit("flag-", 1)[-1]
        if (status and s != status) or (kind and k != kind):
            continue
        out.append(
            {
                "flag": str(r["flag"]),
                "resource": str(r["of"]),
                "kind": k,
                "status": s,
                "field": r["field"],
                "sheet_value": r["sheet"],
                "extracted_value": r["found"],
                "duplicate_of": r["dup"],
                "note": r["note"],
                "at": str(r["at"]) if r["at"] else None,
                "graph": str(r["g"]),
            }
        )
    return out
