"""Vietnamese text in the legacy 8-bit encodings: TCVN3 (ABC), VNI and Windows-1258 to Unicode.

Archive spreadsheets typed before Unicode use *font* encodings: TCVN3 (TCVN 5712:1993, the
.VnTime fonts) puts precomposed letters on bytes 0xA1–0xFF ("nh©n" is "nhân"); VNI (VNI-Times)
writes a base letter followed by a mark letter ("Hoaø" is "Hoà"). In a CSV they arrive as bytes;
in an XLSX cell (or a UTF-8 CSV saved from such a sheet) as the Latin-1 look-alikes of those bytes.
Windows-1258 is a real code page, but writes tone marks as combining characters: its text is
normalised to NFC here.

Which encoding a text is in is decided by a score: the share of its non-ASCII words that are
Vietnamese syllables once converted. Only a clear winner is used; otherwise the caller refuses
the sheet ("cannot tell the encoding: save as UTF-8"). Conversion never rewrites tone-mark
placement: "Uỷ" and "Ủy" both stay as written (NFC only).

Tables: TCVN 5712:1993 VN1 (a superset of TCVN3/ABC; the same as glibc's TCVN5712-1 converter
for 0x80–0xFF), and the VNI-Windows mark letters, checked against known words in
tests/test_hostile_sheets.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

# -- tables ---------------------------------------------------------------------------------------

# TCVN 5712:1993 (VN1) bytes 0x80..0xFF; 0xB0..0xB4 are the combining tone marks.
_TCVN_HIGH = (
    "ÀẢÃÁẠẶẬÈẺẼÉẸỆÌỈĨÍỊÒỎÕÓỌỘỜỞỠỚỢÙỦŨ"  # 0x80..0x9F
    "\u00a0ĂÂÊÔƠƯĐăâêôơưđẰ\u0300\u0309\u0303\u0301\u0323àảãáạẲằẳẵắẴ"  # 0xA0..0xBF
    "ẮẦẨẪẤỀặầẩẫấậèỂẻẽéẹềểễếệìỉỄẾỒĩíịòỔỏõóọồổỗốộờởỡớợùỖủũúụừửữứựỳỷỹýỵỐ"  # 0xC0..0xFF
)
assert len(_TCVN_HIGH) == 128


def _tcvn_table() -> dict[int, str]:
    """Code point -> Unicode for TCVN3 text already decoded as Latin-1 (or Windows-1252 for
    0xA0..0xFF, where both agree)."""
    table: dict[int, str] = {}
    for i, char in enumerate(_TCVN_HIGH):
        byte = 0x80 + i
        if byte == 0xA0:
            continue
        table[byte] = char  # read as Latin-1, or from the bytes themselves
    # No Windows-1252 aliases for 0x80..0x9F ("–", "—", "“"...): TCVN3 (ABC) leaves those bytes
    # unused (only VN1 puts capitals there), and in Unicode text they are punctuation.
    return table


TCVN3 = _tcvn_table()

# VNI-Windows: mark letters after a vowel, and letters of their own. Combining marks compose in
# NFC: "a" + "â" (circumflex) + ... ; capitals use the capital forms of the same letters.
_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE = "\u0302", "\u0306"
_VNI_LOWER = {
    "ù": _ACUTE,
    "ø": _GRAVE,
    "û": _HOOK,
    "õ": _TILDE,
    "ï": _DOT,
    "â": _CIRC,
    "á": _CIRC + _ACUTE,
    "à": _CIRC + _GRAVE,
    "å": _CIRC + _HOOK,
    "ã": _CIRC + _TILDE,
    "ä": _CIRC + _DOT,
    "ê": _BREVE,
    "é": _BREVE + _ACUTE,
    "è": _BREVE + _GRAVE,
    "ú": _BREVE + _HOOK,
    "ü": _BREVE + _TILDE,
    "ë": _BREVE + _DOT,
    "ô": "ơ",
    "ö": "ư",
    "ñ": "đ",
    "í": "í",
    "ì": "ì",
    "æ": "ỉ",
    "ó": "ĩ",
    "ò": "ị",
    "î": "ỵ",
}
VNI = {ord(k): v for k, v in _VNI_LOWER.items()} | {
    ord(k.upper()): v.upper() for k, v in _VNI_LOWER.items()
}

# -- Vietnamese syllables -------------------------------------------------------------------------

_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_SYLLABLE = re.compile(
    r"^(?P<onset>ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    r"(?P<nucleus>uyê|uya|iêu|yêu|oai|oay|oeo|uây|uôi|ươi|ươu|"
    r"ai|ao|au|ay|âu|ây|eo|êu|ia|iê|iu|oa|oă|oe|oi|ôi|ơi|ua|uâ|uê|ui|uô|uơ|uy|ưa|ưi|ưu|ươ|yê|"
    r"[aăâeêioôơuưy])"
    r"(?P<coda>ch|ng|nh|[cmnpt])?$"
)
_MARKED = set("ăâêôơư")
_EITHER = {"oa", "oe", "uy"}  # "hoà"/"hòa", "thuỷ"/"thủy": both placements are Vietnamese
# Words: split on spaces, digits, ASCII punctuation and Unicode punctuation beyond Latin-1
# ("–", "—", "“"); Latin-1 symbols stay inside words: they are letters in a legacy font.
_WORD = re.compile(r"[^\s0-9!-/:-@\[-`{-~\u2000-\u206f\u2190-\u2bff\u3000-\u303f]+")
SAMPLE = 4000  # non-ASCII words scored at most per candidate


def is_syllable(word: str) -> bool:
    """True for a Vietnamese syllable: onset, vowel nucleus and coda, at most one tone mark, on a
    vowel that may carry it (either placement of "hoà"/"hòa", "Uỷ"/"Ủy"; not "xaõ")."""
    base, tone_at = [], None
    for char in word.lower().replace("ð", "đ"):  # eth typed for đ
        parts = unicodedata.normalize("NFD", char)
        tones = [c for c in parts if c in _TONES]
        if tones:
            if tone_at is not None or len(tones) > 1:
                return False
            tone_at = len(base)
        base.append(unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES)))
    if any(len(b) != 1 for b in base):
        return False  # a stray combining mark
    m = _SYLLABLE.match("".join(base))
    if not m:
        return False
    if tone_at is None:
        return True
    nucleus, start = m.group("nucleus"), m.start("nucleus")
    at = tone_at - start
    if not 0 <= at < len(nucleus):
        return False
    return at in _tone_places(nucleus, bool(m.group("coda")))


def _tone_places(nucleus: str, coda: bool) -> set[int]:
    """Where in the vowel nucleus the tone mark may sit."""
    last = len(nucleus) - 1
    if len(nucleus) == 1 or coda:
        return {last}
    if nucleus in _EITHER:
        return {0, 1}
    marked = [i for i, c in enumerate(nucleus) if c in _MARKED]
    if marked:
        return {marked[-1]}
    return {1} if len(nucleus) == 3 else {0}


def syllable_score(texts: Iterable[str]) -> tuple[float, int]:
    """(share of non-ASCII words that are Vietnamese syllables, how many such words were seen)."""
    seen = good = 0
    for text in texts:
        for word in _WORD.findall(text):
            if word.isascii():
                continue
            seen += 1
            good += is_syllable(word)
            if seen >= SAMPLE:
                return good / seen, seen
    return (good / seen if seen else 1.0), seen


# -- conversion -----------------------------------------------------------------------------------


def _capitals(source: str, converted: str) -> str:
    """TCVN3 capitals are often typed in the .VnTimeH font, with lower-case codes: a line whose
    ASCII letters are all capitals is upper-cased whole ("ñY BAN NH©N D©N" -> "ỦY BAN NHÂN DÂN")."""
    out = []
    for raw, new in zip(source.split("\n"), converted.split("\n"), strict=False):
        letters = [c for c in raw if c.isascii() and c.isalpha()]
        upper = len(letters) >= 2 and all(c.isupper() for c in letters)
        out.append(new.upper() if upper else new)
    return "\n".join(out)


def from_tcvn3(text: str) -> str:
    """TCVN3 (ABC) text read as Latin-1/Windows-1252 -> NFC Unicode."""
    if text.isascii():
        return text
    converted = unicodedata.normalize("NFC", text.translate(TCVN3))
    if converted == text or converted.count("\n") != text.count("\n"):
        return converted
    return _capitals(text, converted)


def from_vni(text: str) -> str:
    """VNI text read as Latin-1/Windows-1252 -> NFC Unicode."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", text.translate(VNI))


CONVERTERS = {"TCVN3": from_tcvn3, "VNI": from_vni}
NAMES = {
    "TCVN3": "TCVN3 (ABC, phông .VnTime)",
    "VNI": "VNI (phông VNI-Times)",
    "Windows-1258": "Windows-1258",
}


def _bytes_candidates(raw: bytes) -> dict[str, str]:
    latin = raw.decode("cp1252", errors="replace")
    return {
        "Windows-1258": unicodedata.normalize("NFC", raw.decode("cp1258", errors="replace")),
        "TCVN3": from_tcvn3(raw.decode("latin-1")),
        "VNI": from_vni(latin),
    }


@dataclass(frozen=True)
class Detection:
    """Which encoding a text is in: `encoding` None when it is Unicode already, `decided` False
    when no candidate wins clearly (then the text must be refused); the scores say why."""

    encoding: str | None
    decided: bool
    scores: dict[str, float] = field(default_factory=dict)
    words: int = 0

    def explain(self) -> str:
        return ", ".join(f"{k} {v:.0%}" for k, v in sorted(self.scores.items()))


MIN_SCORE = 0.7  # the winner's words must be this Vietnamese
MIN_MARGIN = 0.2  # ... and this far ahead of the runner-up


def _decide(scores: dict[str, float], words: int, unicode_name: str | None) -> Detection:
    """A legacy encoding wins when its words are Vietnamese (MIN_SCORE) and clearly more so
    than every other reading (MIN_MARGIN); text read as Unicode stays Unicode unless a legacy
    reading wins so; anything else is undecided."""
    legacy = sorted(
        ((k, v) for k, v in scores.items() if k != unicode_name), key=lambda kv: kv[1], reverse=True
    )
    best, score = legacy[0]
    others = [v for k, v in scores.items() if k != best]
    if score >= MIN_SCORE and score - max(others, default=0.0) >= MIN_MARGIN:
        return Detection(best, True, scores, words)
    if unicode_name is not None and (
        scores[unicode_name] >= MIN_SCORE or scores[unicode_name] >= score
    ):
        return Detection(None, True, scores, words)
    return Detection(best, False, scores, words)


SAMPLE_BYTES = 256 * 1024  # of a file, scored to decide its encoding


def detect_bytes(raw: bytes) -> Detection:
    """The encoding of a non-UTF-8 file, decided on a sample of its lines."""
    sample = raw[:SAMPLE_BYTES]
    if len(raw) > SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n")]
    scored = {k: syllable_score(v.splitlines()) for k, v in _bytes_candidates(sample).items()}
    words = max(n for _, n in scored.values())
    return _decide({k: s for k, (s, _) in scored.items()}, words, None)


_LATIN1 = re.compile("[\u0080-\u00ff]")
SAMPLE_CELLS = 2000  # cells with Latin-1 letters looked at to decide a sheet


def detect_cells(texts: Iterable[str]) -> Detection:
    """Whether the (Unicode) cells of one sheet are TCVN3 or VNI look-alikes: `encoding` None
    when they read as Vietnamese already, or hold nothing that a legacy font would have typed."""
    legacy = []
    for text in texts:
        if _LATIN1.search(text):
            legacy.append(text)
            if len(legacy) >= SAMPLE_CELLS:
                break
    if not legacy:
        return Detection(None, True)
    raw, words = syllable_score(legacy)
    scores = {"Unicode": raw}
    for name, convert in CONVERTERS.items():
        scores[name] = syllable_score(convert(t) for t in legacy)[0]
    return _decide(scores, words, "Unicode")


def convert_cell(text: str, encoding: str) -> str:
    """One cell converted from a legacy encoding, only where that makes it more Vietnamese (a
    sheet may mix cells typed in a legacy font with cells typed in Unicode)."""
    if not _LATIN1.search(text):
        return text
    converted = CONVERTERS[encoding](text)
    if converted == text:
        return text
    before, n = syllable_score([text])
    after, _ = syllable_score([converted])
    return converted if n and after > before else text
