"""Vietnamese text at every boundary: NFC, accent folding, slugs, both tone-mark placements."""

from __future__ import annotations

import re
import unicodedata

# Old-style ("hoà", "Uỷ") and new-style ("hòa", "Ủy") tone placement are the same word. NFC keeps
# them distinct, so matching folds accents away entirely; display keeps what the source wrote.
_NON_WORD = re.compile(r"[^0-9a-z]+")


def nfc(text: str) -> str:
    """Normalise to NFC, the form Kho stores and compares."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower-case, accent-free form for matching: 'Hoàn Kiếm' and 'hoan kiem' fold alike."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())


def slug(text: str) -> str:
    """ASCII slug for readable IRIs: 'Phường Trúc Bạch' -> 'phuong-truc-bach'."""
    return _NON_WORD.sub("-", fold(text)).strip("-")
