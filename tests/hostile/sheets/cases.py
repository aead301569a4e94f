"""Hostile and broken metadata sheets, generated at test time (small and fast): each function
writes one case into a batch folder. README.md beside this file lists what Kho must answer."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from pathlib import Path

from openpyxl import Workbook

HEADERS = [
    "fileCode", "title", "mode", "maintenance", "startDate", "endDate", "numberOfPage",
    "docOrdinal", "typeName", "codeNumber", "codeNotation", "issuedDate", "organName", "subject",
    "language",
]  # fmt: skip
ORGAN_NEW = "Ủy ban nhân dân phường Ba Đình"  # from 2025-07-01
ORGAN_OLD = "Ủy ban nhân dân quận Ba Đình"  # district abolished 2025-07-01

# TCVN3 (ABC) and VNI as typed with .VnTime / VNI-Times fonts (the bytes, read as Windows-1252)
TCVN3_TITLE = "Hå s¬ vÒ viÖc cÊp giÊy phÐp x©y dùng"  # Hồ sơ về việc cấp giấy phép xây dựng
TCVN3_ORGAN = "Uû ban nh©n d©n ph\u00adêng Ba §×nh"  # Uỷ ban nhân dân phường Ba Đình
VNI_TITLE = "Hoà sô veà vieäc caáp giaáy pheùp xaây döïng"  # Hồ sơ về việc cấp giấy phép xây dựng
VNI_ORGAN = "UÛy ban nhaân daân phöôøng Ba Ñình"  # Ủy ban nhân dân phường Ba Đình
UNICODE_TITLE = "Hồ sơ về việc cấp giấy phép xây dựng"


def hoso(code: str, title: str = "Hồ sơ thử", start: str = "05/03/2019", end: str = "31/10/2026"):
    return [code, title, "01", "01", start, end, "1"] + [""] * 7 + ["01"]


def doc(
    code: str, n: int, day: str = "05/03/2026", organ: str = ORGAN_NEW, subject: str = "Về việc"
):
    return [code, "", "", "", "", "", "1", str(n), "02", str(10 + n), "QĐ-UBND", day, organ,
            subject, "01"]  # fmt: skip


def csv_bytes(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def write_csv(folder: Path, name: str, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(csv_bytes(rows).encode(encoding))
    return path


def legacy_csv(folder: Path, name: str, code: str, title: str, organ: str) -> Path:
    """A TCVN3 or VNI sheet: its text as Windows-1252 bytes, as a legacy-font editor saves it."""
    row = doc(code, 1, organ=organ, subject=title)
    row[10] = "UBND"  # the notation, ASCII
    rows = [HEADERS, hoso(code, title), row]
    path = folder / name
    path.write_bytes(csv_bytes(rows).encode("cp1252"))
    return path


def cp1258_csv(folder: Path, name: str, code: str) -> Path:
    """Windows-1258: base letters and combining tone marks (NFD-like), as Windows writes it."""
    rows = [HEADERS, hoso(code, UNICODE_TITLE), doc(code, 1)]
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for char in csv_bytes(rows):  # "ồ" -> "ô" + combining grave, as Windows-1258 writes it
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out.append(base + "".join(c for c in parts if c in tones))
    path = folder / name
    path.write_bytes("".join(out).encode("cp1258"))
    return path


def undecidable_csv(folder: Path, name: str, code: str) -> Path:
    """A sheet in Windows-1251 (Russian): no Vietnamese encoding makes sense of it."""
    row = doc(code, 1, organ="Администрация", subject="Приказ")
    row[10] = "UBND"
    rows = [HEADERS, hoso(code, "Дело о строительстве"), row]
    path = folder / name
    path.write_bytes(csv_bytes(rows).encode("cp1251"))
    return path


def legacy_xlsx(folder: Path, name: str, code: str) -> Path:
    """An XLSX whose title cell was typed in .VnTime (TCVN3) beside cells typed in Unicode."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Bảng kê"
    for row in [HEADERS, hoso(code, TCVN3_TITLE), doc(code, 1, subject="Về việc cấp phép")]:
        sheet.append(row)
    book.save(folder / name)
    return folder / name


def html_as_xlsx(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text("<html><body><table><tr><td>fileCode</td></tr></table></body></html>")
    return path


def zip_as_xlsx(folder: Path, name: str) -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return path


def bomb_xlsx(folder: Path, name: str, size: int) -> Path:
    """A real workbook plus a sheet part that inflates to `size` bytes of zeros (deflate packs
    it about 1000:1): what a decompression bomb looks like to a reader."""
    path = legacy_xlsx(folder, name, "BOMB.01")
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("xl/worksheets/sheet2.xml", "w", force_zip64=True) as fh:
            block = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                fh.write(block)
    return path


def formula_xlsx(folder: Path, name: str, code: str) -> Path:
    """Formula cells as a script writes them (no computed value saved): =HYPERLINK, +cmd, @SUM."""
    book = Workbook()
    sheet = book.active
    row = doc(code, 1, subject="placeholder")
    sheet.append(HEADERS)
    sheet.append(hoso(code))
    sheet.append(row)
    sheet.cell(row=3, column=HEADERS.index("subject") + 1).value = '=HYPERLINK("http://x.invalid")'
    sheet.cell(row=2, column=HEADERS.index("title") + 1).value = "=1+1"
    book.save(folder / name)
    return folder / name


def sparse_xlsx(folder: Path, name: str, code: str) -> Path:
    """A 5 KB workbook whose last cell sits at row 300,000, column 3,000: read naively it is
    900 million cells (a memory bomb without any compression trick)."""
    book = Workbook()
    sheet = book.active
    for row in [HEADERS, hoso(code), doc(code, 1)]:
        sheet.append(row)
    sheet.cell(row=300_000, column=3_000).value = "x"
    book.save(folder / name)
    return folder / name


def stray_quote_csv(folder: Path, name: str) -> Path:
    """A quote opened in a title and never closed: the rows after it would vanish into one cell."""
    rows = [HEADERS] + [hoso(f"Q.{i:02d}") for i in range(6)]
    text = csv_bytes(rows).replace("Q.02,Hồ sơ thử", 'Q.02,"Hồ sơ thử', 1)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def two_tab_xlsx(folder: Path, name: str, code: str) -> Path:
    """A good tab beside one whose cells are Windows-1251 text shown through Windows-1252
    (what a Russian-font sheet looks like): no Vietnamese encoding makes sense of that tab."""
    book = Workbook()
    good = book.active
    good.title = "Hồ sơ và tài liệu"
    for row in [HEADERS, hoso(code), doc(code, 1)]:
        good.append(row)
    bad = book.create_sheet("Nga")
    garbled = "Дело о строительстве жилого дома".encode("cp1251").decode("cp1252")
    for row in [HEADERS, hoso("R.01", garbled), doc("R.01", 1, subject=garbled, organ=garbled)]:
        bad.append(row)
    book.save(folder / name)
    return folder / name


# -- encoders: Unicode -> legacy text, to make corpora of real names. Written apart from Kho's
# decoders: TCVN3 from the TCVN 5712 VN3 letter list, VNI from its mark letters. -----------

_TONE_MARKS = "\u0301\u0300\u0309\u0303\u0323"
_TCVN3_LOWER = {  # TCVN 5712:1993 VN3 (ABC): byte -> letter, lower case
    **dict(zip("¨©ª«¬\u00ad®", "ăâêôơưđ", strict=True)),
    **dict(zip("µ¶·¸¹»¼½¾ÆÇÈÉÊËÌÎÏÐÑÒÓÔÕÖ×ØÜÝÞßáâãäåæçèéêëìíîïñòóôõö÷øùúûüýþ",
               "àảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ", strict=True)),
}  # fmt: skip
_TO_TCVN3 = {v: k for k, v in _TCVN3_LOWER.items()} | {"Ă": "¡", "Â": "¢", "Ê": "£", "Ô": "¤",
                                                       "Ơ": "¥", "Ư": "¦", "Đ": "§"}  # fmt: skip


def to_tcvn3(text: str) -> str:
    """As typed in .VnTime: capitals with a tone mark have no code, so they are written with
    the lower-case code (as the .VnTimeH capitals font does)."""
    return "".join(_TO_TCVN3.get(c, _TO_TCVN3.get(c.lower(), c)) for c in text)


_VNI_TONE = dict(zip(_TONE_MARKS, "ùøûõï", strict=True))
_VNI_CIRC = dict(zip(_TONE_MARKS, "áàåãä", strict=True))
_VNI_BREVE = dict(zip(_TONE_MARKS, "éèúüë", strict=True))
_VNI_I = dict(zip(_TONE_MARKS, "íìæóò", strict=True))


def _vni_letter(char: str) -> str:
    parts = unicodedata.normalize("NFD", char.lower())
    base, marks = parts[0], parts[1:]
    tone = next((m for m in marks if m in _TONE_MARKS), "")
    if char.lower() == "đ":
        out = "ñ"
    elif "\u0302" in marks:
        out = base + (_VNI_CIRC[tone] if tone else "â")
    elif "\u0306" in marks:
        out = base + (_VNI_BREVE[tone] if tone else "ê")
    elif "\u031b" in marks:
        out = ("ô" if base == "o" else "ö") + _VNI_TONE.get(tone, "")
    elif base == "i" and tone:
        out = _VNI_I[tone]
    elif base == "y" and tone == "\u0323":
        out = "î"
    else:
        out = base + _VNI_TONE.get(tone, "")
    return out.upper() if char.isupper() else out


def to_vni(text: str) -> str:
    """As typed in VNI-Times: a base letter followed by its mark letters."""
    return "".join(c if c.isascii() else _vni_letter(c) for c in unicodedata.normalize("NFC", text))
