"""The rules `repository.extraction` reads a document with: vocabularies (TT 05 types, NĐ 30
abbreviations, titles), OCR-tolerant patterns, issuer names and registry references.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from datetime import date
from functools import lru_cache

from repository.config import PROJECT_DIR
from repository.identifiers import valid_citizen, valid_enterprise
from repository.text import nfc

BLOCK_OF = {
    "ubnd": "chinh-quyen",
    "hdnd": "chinh-quyen",
    "dang-uy": "dang",
    "mttq": "doan-the",
    "doan-tn": "doan-the",
    "hoi-lhpn": "doan-the",
    "hoi-nong-dan": "doan-the",
    "hoi-ccb": "doan-the",
    "ldld": "doan-the",
}
TITLES = (
    "Chủ tịch",
    "Phó Chủ tịch",
    "Bí thư",
    "Phó Bí thư",
    "Chánh Văn phòng",
    "Phó Chánh Văn phòng",
    "Trưởng ban",
    "Phó Trưởng ban",
    "Giám đốc",
    "Phó Giám đốc",
    "Trưởng phòng",
    "Phó Trưởng phòng",
    "Chủ nhiệm",
    "Phó Chủ nhiệm",
)
# Issuer notations seen in symbols, besides the type abbreviations (for OCR snapping only).
ORG_NOTATIONS = (
    "UBND HĐND MTTQ HLHPN HND CCB ĐU HU QU TU ĐTN HĐTN QĐTN TĐTN CV VP ĐC TP KT TNMT TCKH "
    "VX NV QLĐT BTV LĐLĐ"
).split()
_SEG = re.compile(r"\s{3,}")
_UNIT_WORDS = {
    "xa": "xã",
    "phuong": "phường",
    "thi tran": "thị trấn",
    "huyen": "huyện",
    "quan": "quận",
    "thi xa": "thị xã",
    "thanh pho": "thành phố",
}
_KINDS = [  # folded prefix pattern -> (kind, canonical prefix); the unit follows
    (r"(?:uy ban nhan dan|ubnd)", "ubnd", "Ủy ban nhân dân"),
    (r"(?:hoi dong nhan dan|hdnd)", "hdnd", "Hội đồng nhân dân"),
    (
        r"(?:uy ban (?:mttq|mat tran to quoc)|ubmttq|mttq)(?: viet nam| vn)?",
        "mttq",
        "Ủy ban Mặt trận Tổ quốc Việt Nam",
    ),
    (r"(?:hoi lien hiep phu nu|hoi lhpn)", "hoi-lhpn", "Hội Liên hiệp Phụ nữ"),
    (r"hoi nong dan", "hoi-nong-dan", "Hội Nông dân"),
    (r"(?:hoi cuu chien binh|hoi ccb)", "hoi-ccb", "Hội Cựu chiến binh"),
    (
        r"(?:bch )?(?:doan tncs ho chi minh|doan thanh nien cong san ho chi minh|doan)",
        "doan-tn",
        "Đoàn Thanh niên Cộng sản Hồ Chí Minh",
    ),
    (r"dang uy", "dang-uy", "Đảng ủy"),
]
_OF_DISTRICT = {  # "Huyện ủy X", "Huyện đoàn X"
    "huyen": ("Huyện ủy", "huyện"),
    "quan": ("Quận ủy", "quận"),
    "thi": ("Thị ủy", "thị xã"),
    "thanh": ("Thành ủy", "thành phố"),
}


def fold_keep(text: str) -> str:
    """Lower-case, accent-free, one character for one: indexes match the original text."""
    out = []
    for c in text:
        base = unicodedata.normalize("NFD", c)[0].lower()
        out.append("d" if base in "đð" else base if len(base) == 1 else c)
    return "".join(out)


def segments(line: str) -> list[str]:
    """The column pieces of a layout line (split on runs of 3+ spaces)."""
    return [s.strip() for s in _SEG.split(line) if s.strip()]


@lru_cache(maxsize=1)
def type_names() -> dict[str, tuple[str, str]]:
    """TT 05 typeName labels -> (code, NĐ 30 abbreviation or "")."""
    text = (PROJECT_DIR / "ontology" / "codes" / "type-name.ttl").read_text(encoding="utf-8")
    out = {}
    for block in text.split("\n\n"):
        code = re.search(r'skos:notation "(\d\d)"', block)
        label = re.search(r'skos:prefLabel "([^"]+)"@vi', block)
        abbr = re.search(r'skos:altLabel "([^"]+)"@vi', block)
        if code and label:
            out[nfc(label.group(1))] = (code.group(1), nfc(abbr.group(1)) if abbr else "")
    return out


def _upper_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0


def title_type(text: str) -> str | None:
    """The document type if `text` is a title line ("QUYẾT ĐỊNH"), OCR-tolerant."""
    text = text.strip()
    if not text or len(text.split()) > 4 or _upper_ratio(text) < 0.7:
        return None
    key = " ".join(fold_keep(text).split())
    labels = {" ".join(fold_keep(k).split()): k for k in type_names() if k != "Công văn"}
    best = difflib.get_close_matches(key, list(labels), n=1, cutoff=0.8)
    return labels[best[0]] if best else None


def is_number_line(text: str) -> bool:
    text = text.strip(_SPECKS)
    return bool(re.match(r"^s[a-z0-9]?\s?[:.;,]?\s*[0-9oOlI]{1,5}\s*[-/]", fold_keep(text.strip())))


_SPECKS = " '\"`‘’.,:;|_-"  # noise OCR puts before "Số"
_DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5"})


def number_symbol(seg: str) -> str:
    """The số/ký hiệu of a "Số: ..." piece, spaces and look-alike characters fixed."""
    body = re.sub(r"^\S{1,2}?\s?[:.;,]?\s*(?=[0-9oOlI])", "", seg.strip(_SPECKS), count=1)
    body = body.replace("Ð", "Đ").replace("—", "-").replace("–", "-")
    body = "".join(body.split()).rstrip(".,;")
    head = re.match(r"^[0-9oOlI|]+", body)
    if head:
        body = head.group(0).translate(_DIGIT_FIX) + body[head.end() :]
    return nfc(body)


def snap_symbol(symbol: str, doc_type: str | None) -> str:
    """Fix OCR slips in the notation's pieces against the known abbreviations."""
    abbrs = {a for _, a in type_names().values() if a}
    vocab = abbrs | set(ORG_NOTATIONS)
    expected = type_names().get(doc_type or "", ("", ""))[1]
    parts = re.split(r"([-/])", symbol)
    for i, p in enumerate(parts[2:], start=2):
        if p in ("-", "/") or p in vocab or not p:
            continue
        pool = [expected] if expected and i == 2 else sorted(vocab)
        best = difflib.get_close_matches(p.upper(), pool, n=1, cutoff=0.6)
        if best:
            parts[i] = best[0]
    return "".join(parts)


def type_from_symbol(symbol: str) -> str | None:
    by_abbr = {a: label for label, (_, a) in type_names().items() if a}
    party = re.match(r"^\d+-([A-Za-zĐđ]+)/", symbol)
    if party:
        return "Công văn" if party.group(1) == "CV" else by_abbr.get(party.group(1))
    state = re.match(r"^\d+/([A-Za-zĐđ]+)-", symbol)
    if state:
        return by_abbr.get(state.group(1), "Công văn")
    return None


_RIGHT = [
    r"c[o0]ng\s*h[o0]a\s*xa\s*h[o0]i.*?nam",
    r"d[o0]c\s*l[a@]p\b.*?(?:phuc|$)",
    r"dang\s*cong\s*san\s*viet\s*nam",
    r"doan\s*tncs\s*ho\s*chi\s*minh$",
]
_DATE = re.compile(
    r"([^,]{0,40}?)\s*[,.]?\s*ng[a-z]{1,2}\s*(\S{1,3}?)\s*th[a-z]{2,3}\s*(\S{1,3}?)\s*n[a-z]m\s*(\S{4})"
)


def strip_right_column(seg: str, out: object) -> str:
    """Remove the right column's pieces (quốc hiệu, tiêu ngữ, date) from a header piece; the date
    and place go to `out`. What is left belongs to the left column."""
    folded = fold_keep(seg)
    for pattern in _RIGHT:
        m = re.search(pattern, folded)
        if m:
            seg = seg[: m.start()] + " " * (m.end() - m.start()) + seg[m.end() :]
            folded = fold_keep(seg)
    m = _DATE.search(folded)
    if m:
        day = parse_date(m.group(2), m.group(3), m.group(4))
        if day:
            out.issued_on = day  # type: ignore[attr-defined]
            out.place = seg[m.start(1) : m.end(1)].strip(" ,.")  # type: ignore[attr-defined]
            seg = seg[: m.start()]
    return seg.strip(" _-—.,:;|")


def parse_date(d: str, m: str, y: str) -> date | None:
    try:
        day = date(
            int(y.translate(_DIGIT_FIX)), int(m.translate(_DIGIT_FIX)), int(d.translate(_DIGIT_FIX))
        )
    except ValueError:
        return None
    return day if 1945 <= day.year <= 2100 else None


def is_mark(seg: str) -> bool:
    key = " ".join(fold_keep(seg).split())
    return not re.search(r"[a-z0-9]", key) or key in {
        "khan", "hoa toc", "thuong khan", "mat", "toi mat", "tuyet mat", "luu hanh noi bo",
    }  # fmt: skip


def agency_like(seg: str) -> bool:
    letters = sum(c.isalpha() for c in seg)
    return _upper_ratio(seg) >= 0.75 and letters >= 4 and title_type(seg) is None


def split_issuer(lines: list[str]) -> tuple[str | None, str | None]:
    """(parent line, canonical issuer name) from the left header lines above the number."""
    if not lines:
        return None, None
    last = fold_keep(lines[-1])
    alone = kind_of(canonical_name(lines[-1])) is not None  # "QUẬN ỦY ..." is not a unit line
    unit_line = any(last.startswith(w + " ") for w in _UNIT_WORDS) and not alone
    n = 2 if len(lines) >= 2 and unit_line else 1
    parent = " ".join(lines[:-n]) or None
    return parent, canonical_name(" ".join(lines[-n:]))


def _title_case(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:].lower() for w in text.split())


def _unit(original: str) -> str:
    folded = fold_keep(original)
    for word in sorted(_UNIT_WORDS, key=len, reverse=True):
        if folded.startswith(word + " "):
            return f"{_UNIT_WORDS[word]} {_title_case(original[len(word) + 1 :])}"
    return _title_case(original)


def canonical_name(raw: str) -> str:
    """'ỦY BAN NHÂN DÂN XÃ SONG PHƯỢNG' -> 'Ủy ban nhân dân xã Song Phượng' (known kinds)."""
    text = nfc(" ".join(raw.replace("Ð", "Đ").split()))
    folded = fold_keep(text)
    m = re.match(r"^(?:bch |ban thuong vu )?(huyen|quan|thi|thanh) (uy|doan) (.+)$", folded)
    if m:
        party, unit = _OF_DISTRICT[m.group(1)]
        name = _title_case(text[m.start(3) :])
        if m.group(2) == "uy":
            return f"{party} {name}"
        return f"Đoàn Thanh niên Cộng sản Hồ Chí Minh {unit} {name}"
    for pattern, _kind, prefix in _KINDS:
        m = re.match(rf"^{pattern} (.+)$", folded)
        if m:
            return f"{prefix} {_unit(text[m.start(1) :])}"
    return text


def kind_of(name: str) -> str | None:
    folded = fold_keep(name)
    m = re.match(r"^(huyen|quan|thi|thanh) (uy|doan) ", folded)
    if m:
        return "dang-uy" if m.group(2) == "uy" else "doan-tn"
    for pattern, kind, _ in _KINDS:
        if re.match(rf"^{pattern} ", folded):
            return kind
    return None


_BODY = ("can cu", "thuc hien", "xet de nghi", "dieu 1", "kinh gui", "i.", "1.", "phan ")


def body_start(text: str) -> bool:
    return fold_keep(text).strip().startswith(_BODY)


def clean_subject(text: str) -> str:
    text = nfc(" ".join(text.split())).strip(" _-—.,;:|")
    text = re.sub(r"\s+[.,'`·|]+(?=\s)", "", text)  # specks read as lone punctuation
    # "năm" before a year is a fixed phrase; OCR often reads "nắm", "nám" or glues it on.
    text = re.sub(r"(?<=\S)(n[aăâ]\S?m)(?=\s\d{4}\b)", r" \1", text)
    text = re.sub(r"\bn\w?m(?=\s\d{4}\b)", _year_word, text)
    return re.sub(r"^[Vv]\s*/\s*[Vv]\b\.?\s*", "V/v ", text)


def _year_word(m: re.Match[str]) -> str:
    return "năm" if fold_keep(m.group(0)) == "nam" else m.group(0)


def title_from_prefix(prefix: str | None, kind: str | None) -> str | None:
    """The signer's title implied by the signing prefix when the title line is unreadable."""
    if not prefix:
        return None
    folded = " ".join(re.sub(r"[^a-z ]", " ", fold_keep(prefix)).split())
    head = "Bí thư" if kind in ("dang-uy", "doan-tn") else "Chủ tịch"
    if folded.startswith(("kt ", "k t ")):
        return "Phó " + head
    if folded.startswith(("tm ", "t m ")):
        return head
    return None


_PREFIX = re.compile(r"^(?:tm|kt|tl|tuq|q|t/m|k/t|t/l)\s*[./]?\s", re.IGNORECASE)


def is_prefix(seg: str) -> bool:
    return bool(_PREFIX.match(fold_keep(seg.strip()) + " "))


def snap_title(seg: str) -> str | None:
    """A signer's title line ("PHÓ CHỦ TỊCH") as its canonical form, OCR-tolerant."""
    words = re.sub(r"[^\w\s]", " ", seg).split()
    if not words or _upper_ratio(seg) < 0.7 or len(words) > 6:
        return None
    titles = {fold_keep(t): t for t in TITLES}
    # Seal ink leaves specks before the title ("nã PHÓ CHỦ TỊCH"): try the endings, longest first.
    for k in range(min(len(words), 4), 0, -1):
        key = fold_keep(" ".join(words[-k:]))
        best = difflib.get_close_matches(key, list(titles), n=1, cutoff=0.8)
        if best:
            return titles[best[0]]
    return None


def person_name(seg: str) -> str | None:
    words = re.sub(r"[^\w\s]", " ", seg).split()
    if not 2 <= len(words) <= 6:
        return None
    # Specks of the signature may precede the name ("Ẹ Phạm Thanh Nghĩa"): keep the name-like end.
    tail: list[str] = []
    for i, w in enumerate(reversed(words)):
        if not (w.isalpha() and w[0].isupper() and (w[1:].islower() or (len(w) == 1 and i == 0))):
            break
        tail.insert(0, w)
    if not 2 <= len(tail) <= 5:
        return None
    # Family names are a small closed set: a lost or extra tone on one is an OCR slip.
    family = _SURNAME_BY_FOLD.get(fold_keep(tail[0]))
    if family and tail[0] not in SURNAMES:
        tail[0] = family
    return nfc(" ".join(tail))


SURNAMES = set(
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đinh Đào Trịnh Lưu "
    "Tạ Khuất Kiều Nghiêm Chu Cao Lại Mai Hà Tô Quách Đoàn Vương Trương Lương Lâm Mạc Thái Triệu "
    "Tăng Tống Văn Lò Hứa Doãn Giang Kim Khổng Khúc La Lục Mẫn Nông Ông Phí Quan Tiêu Từ Ứng "
    "Viên".split()
)
_FOLDS = [fold_keep(f) for f in SURNAMES]
_SURNAME_BY_FOLD = {fold_keep(f): f for f in SURNAMES if _FOLDS.count(fold_keep(f)) == 1}


# -- registry references (vn_standards §5) ----------------------------------------------------
_PARCEL = r"thua\s*(?:dat)?\s*so\s*:?\s*(\d{1,7})"
_SHEET = r"to\s*ban\s*do\s*so\s*:?\s*(\d{1,6})"
_LAND = [  # (pattern, group of the sheet, group of the parcel)
    (re.compile(_PARCEL + r"\W{0,3}\s*" + _SHEET), 2, 1),
    (re.compile(_SHEET + r"\W{0,3}\s*" + _PARCEL), 1, 2),
]
_MST = re.compile(
    r"(?:ma\s*so\s*(?:doanh\s*nghiep|thue)|mst|msdn)\s*(?:la|:)?\s*(\d{10}(?:-\d{3})?)\b"
)
_CCCD = re.compile(
    r"(?:cccd|can\s*cuoc(?:\s*cong\s*dan)?|so\s*dinh\s*danh(?:\s*ca\s*nhan)?)\s*(?:so)?\s*:?\s*(\d{12})\b"
)


def registry_refs(text: str) -> list[dict[str, str]]:
    """Land parcels, enterprise codes and citizen numbers cited in `text`, in order, checked."""
    folded = fold_keep(text)
    found: list[tuple[int, dict[str, str]]] = []
    for pattern, sheet, parcel in _LAND:
        for m in pattern.finditer(folded):
            found.append(
                (m.start(), {"kind": "land", "sheet": m.group(sheet), "parcel": m.group(parcel)})
            )
    for m in _MST.finditer(folded):
        if valid_enterprise(m.group(1)):
            found.append((m.start(), {"kind": "enterprise", "id": m.group(1)}))
    for m in _CCCD.finditer(folded):
        if valid_citizen(m.group(1)):
            found.append((m.start(), {"kind": "citizen", "id": m.group(1)}))
    out: list[dict[str, str]] = []
    for _, ref in sorted(found, key=lambda f: f[0]):
        if ref not in out:
            out.append(ref)
    return out
