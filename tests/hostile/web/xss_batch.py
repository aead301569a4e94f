"""A batch whose metadata and PDF text carry HTML and JavaScript: every page, picture, feed and
answer that shows these records must show the payloads as text, never run them. Written at test
time (tests/test_hostile_web.py, fixture `hostile`) into a copy of the demo repository."""

from __future__ import annotations

import csv
from pathlib import Path

from fpdf import FPDF

FILE = "H01.00004.UBND.2020.66"
ORGAN = "Ủy ban nhân dân phường Trúc Bạch"  # must name a real agency: the document's creator
# Each payload carries a marker (xss-N) so a test can find where it is shown.
PAYLOADS = {
    "title": "Hồ sơ xss-1 <script>alert('xss-1')</script>",
    "hoso_note": "Ghi chú xss-2 \"><img src=x onerror=alert('xss-2')>",
    "keyword": "xss-3 </script><script>alert('xss-3')</script>",
    "notation": "xss-4<b onclick=alert()>",  # at most 30 characters
    "subject": "Về việc xss-5 <svg onload=alert('xss-5')> đất </textarea><script>alert(5)</script>",
    "signer": "Nguyễn Văn xss-6 <a href=\"javascript:alert('xss-6')\">A</a>",
    "signer_title": "Chủ tịch xss-7 ]]><script>alert('xss-7')</script><!--",
    "note": "javascript:alert('xss-8')",
    "subject2": "Về việc xss-9 ' onfocus='alert(9)' autofocus=' & <iframe src=//evil.example>",
}
# Text of the born-digital PDF: its words reach the OCR text page and the search snippets.
PDF_TEXT = (
    "UY BAN NHAN DAN PHUONG TRUC BACH\n"
    "QUYET DINH ve viec xsspdf <script>alert('xss-pdf')</script> giao dat\n"
    "<img src=x onerror=alert('xss-pdf')> <style>body{display:none}</style>\n"
)
HEADERS = ["fileCode", "title", "mode", "maintenance", "startDate", "endDate", "language",
           "keyword", "description", "docOrdinal", "typeName", "codeNumber", "codeNotation",
           "issuedDate", "organName", "subject", "signer", "signerTitle", "numberOfPage",
           "fileName"]  # fmt: skip


def write_batch(folder: Path) -> Path:
    """The sheet (two documents: one with a PDF, one described only) and the PDF."""
    folder.mkdir(parents=True, exist_ok=True)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in PDF_TEXT.splitlines():
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(folder / "tai-lieu-1.pdf"))
    p = PAYLOADS
    rows = [
        HEADERS,
        [FILE, p["title"], "01", "01", "05/03/2020", "06/03/2020", "01", p["keyword"],
         p["hoso_note"]] + [""] * 9 + [2, ""],
        [FILE, "", "", "", "", "", "01", p["keyword"], p["note"], 1, "02", "15", p["notation"],
         "05/03/2020", ORGAN, p["subject"], p["signer"], p["signer_title"], 1, "tai-lieu-1.pdf"],
        [FILE, "", "", "", "", "", "01", "", p["note"], 2, "02", "16", "QĐ-UBND", "06/03/2020",
         ORGAN, p["subject2"], p["signer"], "", 1, ""],
    ]  # fmt: skip
    with (folder / "bang-ke.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return folder
