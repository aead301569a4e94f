"""The hostile PDFs of the corpus (tests/hostile/pdfs/README.md), written at test time.

Small cases are a few hundred bytes; the big ones (5,000 pages, a 1 GiB file, inflating bombs)
are built cheaply here — a sparse file, one shared page, zlib fed the same chunk — so nothing big
is committed and nothing big is held in memory.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
from fpdf import FPDF
from PIL import Image

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
TEXT = (
    "ỦY BAN NHÂN DÂN PHƯỜNG TRÚC BẠCH\nQUYẾT ĐỊNH\n"
    "Về việc chỉnh lý tài liệu lưu trữ của phường Trúc Bạch, quận Ba Đình, Hà Nội"
)
GIB = 1 << 30


def text_pdf(path: Path, text: str = TEXT) -> Path:
    """A good born-digital PDF with a Vietnamese text layer (no OCR needed)."""
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=DEJAVU)
    pdf.add_page()
    pdf.set_font("DejaVu", size=12)
    pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def _blank(pages: int, box: tuple[float, float] = (595, 842)) -> pikepdf.Pdf:
    doc = pikepdf.new()
    content = doc.make_stream(b"")
    for _ in range(pages):
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, *box],
            Resources=pikepdf.Dictionary(),
            Contents=content,
        )
        doc.pages.append(pikepdf.Page(doc.make_indirect(page)))
    return doc


def _save(doc: pikepdf.Pdf, path: Path, **kw: object) -> Path:
    doc.save(path, **kw)  # type: ignore[arg-type]
    return path


def _flate_of_repeats(chunk: bytes, total: int) -> bytes:
    """zlib data inflating to `total` bytes of `chunk` repeated, in about a second: after a full
    flush deflate forgets its history, so each further chunk compresses to the same bytes."""
    z = zlib.compressobj(9)
    first = z.compress(chunk) + z.flush(zlib.Z_FULL_FLUSH)
    again = z.compress(chunk) + z.flush(zlib.Z_FULL_FLUSH)
    count = total // len(chunk)
    adler = 1
    for _ in range(count):
        adler = zlib.adler32(chunk, adler)
    return first + again * (count - 1) + b"\x03\x00" + struct.pack(">I", adler)


def not_pdf_jpeg(path: Path) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def not_pdf_zip(path: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    path.write_bytes(buf.getvalue())
    return path


def not_pdf_html(path: Path) -> Path:
    path.write_text(
        "<!DOCTYPE html><html><body><script>alert(1)</script>404 Not Found</body></html>",
        encoding="utf-8",
    )
    return path


def truncated(path: Path) -> Path:
    good = text_pdf(path)
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def garbage_xref(path: Path) -> Path:
    """Objects intact, the cross-reference table overwritten with noise (same length)."""
    data = text_pdf(path).read_bytes()
    start = data.rindex(b"\nxref") + 1
    end = data.index(b"trailer", start)
    noise = bytes(b"#$%&!?"[i % 6] for i in range(end - start))
    path.write_bytes(data[:start] + noise + data[end:])
    return path


def broken_objects(path: Path) -> Path:
    """A good header, then every object garbled."""
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    for n in range(1, 6):
        body += b"%d 0 obj\n<< /Type /Pa)(ge /Kids [ %d 0 R >> >> ]] stream\xff\xfe endobj\n" % (
            n,
            n + 1,
        )
    body += b"trailer\n<< /Root 99 0 R /Size 3 >>\nstartxref\n999999\n%%EOF\n"
    path.write_bytes(body)
    return path


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def zero_pages(path: Path) -> Path:
    return _save(pikepdf.new(), path)  # /Pages << /Count 0 /Kids [] >>


def encrypted_user(path: Path) -> Path:
    with pikepdf.open(text_pdf(path.with_suffix(".src.pdf"))) as doc:
        doc.save(path, encryption=pikepdf.Encryption(user="mat-khau", owner="chu-so-huu"))
    path.with_suffix(".src.pdf").unlink()
    return path


def encrypted_owner(path: Path) -> Path:
    """Opens without a password (empty user password); printing and copying restricted."""
    with pikepdf.open(text_pdf(path.with_suffix(".src.pdf"))) as doc:
        no = pikepdf.Permissions(extract=False, print_highres=False, print_lowres=False)
        doc.save(path, encryption=pikepdf.Encryption(user="", owner="chu-so-huu", allow=no))
    path.with_suffix(".src.pdf").unlink()
    return path


def pages_5000(path: Path) -> Path:
    return _save(_blank(5000), path)


def huge_file(path: Path) -> Path:
    """A readable 1-page PDF padded to just over 1 GiB with a sparse hole (no disk used)."""
    data = _save(_blank(1), path).read_bytes()
    head = b"%PDF-1.7\n%" + b"\x00" * 0  # the hole is a comment line of NULs
    with path.open("wb") as f:
        f.write(head)
        f.seek(GIB + 1)
        f.write(b"\n" + data)
    return path


def huge_mediabox(path: Path) -> Path:
    """One blank page of 20,000 x 20,000 inches (1,440,000 pt a side)."""
    return _save(_blank(1, (1_440_000, 1_440_000)), path)


def _with_stream(path: Path, stream: pikepdf.Stream | None, draw: bytes, doc: pikepdf.Pdf) -> Path:
    page = doc.pages[0]
    if stream is not None:
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream))
    page.obj.Contents = doc.make_stream(draw)
    return _save(doc, path)


def flate_bomb_content(path: Path) -> Path:
    """A 2 MB content stream that inflates to 2 GiB of `q Q` operators."""
    doc = _blank(1)
    bomb = pikepdf.Stream(doc, _flate_of_repeats(b"q Q\n" * (1 << 18), 2 * GIB))
    bomb.Filter = pikepdf.Name.FlateDecode
    doc.pages[0].obj.Contents = bomb
    return _save(doc, path)


def flate_bomb_image(path: Path) -> Path:
    """An image declaring 1,000 x 1,000 grey pixels whose data inflates to 2 GiB."""
    doc = _blank(1)
    image = pikepdf.Stream(doc, _flate_of_repeats(b"\x00" * (1 << 20), 2 * GIB))
    image.stream_dict = pikepdf.Dictionary(
        Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=1000, Height=1000,
        ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8, Filter=pikepdf.Name.FlateDecode,
    )  # fmt: skip
    return _with_stream(path, image, b"q 595 0 0 842 0 0 cm /Im0 Do Q", doc)


def image_100k(path: Path) -> Path:
    """An image XObject declaring 100,000 x 100,000 RGB pixels (30 GB decoded) in 1 KB."""
    doc = _blank(1)
    image = pikepdf.Stream(doc, zlib.compress(b"\xff" * 300_000, 9))
    image.stream_dict = pikepdf.Dictionary(
        Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=100_000, Height=100_000,
        ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8, Filter=pikepdf.Name.FlateDecode,
    )  # fmt: skip
    return _with_stream(path, image, b"q 595 0 0 842 0 0 cm /Im0 Do Q", doc)


def bad_image_size(path: Path) -> Path:
    """An image whose /Width is a name, not a number (pikepdf opens it without a warning)."""
    doc = _blank(1)
    image = pikepdf.Stream(doc, b"\x00" * 16)
    image.stream_dict = pikepdf.Dictionary(
        Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=pikepdf.Name.Wide, Height=4,
        ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
    )  # fmt: skip
    return _with_stream(path, image, b"q 595 0 0 842 0 0 cm /Im0 Do Q", doc)


def active_content(path: Path) -> Path:
    """A good text PDF carrying JavaScript, a Launch action and an embedded file."""
    with pikepdf.open(text_pdf(path.with_suffix(".src.pdf"))) as doc:
        js = doc.make_indirect(
            pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('kho')"))
        )
        launch = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"), Next=js)
        doc.Root.OpenAction = doc.make_indirect(launch)
        doc.attachments["payload.exe"] = pikepdf.AttachedFileSpec(doc, b"MZ\x90\x00 not really")
        doc.save(path)
    path.with_suffix(".src.pdf").unlink()
    return path


# name -> (writer, what Kho must do): "quarantine" (record lands, file quarantined with the
# reason), "reject" (the document row is rejected with its sheet row) or "accept" (stored and
# read as is).
CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "not-pdf-jpeg": (not_pdf_jpeg, "quarantine"),
    "not-pdf-zip": (not_pdf_zip, "quarantine"),
    "not-pdf-html": (not_pdf_html, "quarantine"),
    "truncated": (truncated, "quarantine"),
    "garbage-xref": (garbage_xref, "quarantine"),
    "broken-objects": (broken_objects, "quarantine"),
    "empty": (empty, "reject"),  # 0 bytes: the file shape (kho:byteSize > 0) rejects the row
    "zero-pages": (zero_pages, "quarantine"),
    "encrypted-user": (encrypted_user, "quarantine"),
    "encrypted-owner": (encrypted_owner, "quarantine"),
    "pages-5000": (pages_5000, "quarantine"),
    "huge-mediabox": (huge_mediabox, "quarantine"),
    "flate-bomb-content": (flate_bomb_content, "quarantine"),
    "flate-bomb-image": (flate_bomb_image, "quarantine"),
    "image-100k": (image_100k, "quarantine"),
    "bad-image-size": (bad_image_size, "quarantine"),
    "active-content": (active_content, "accept"),
}
BIG = {"huge-file": (huge_file, "quarantine")}  # 1 GiB apparent size: extract only


def write(name: str, folder: Path) -> Path:
    """Write case `name` as `folder/<name>.pdf`."""
    writer, _ = {**CASES, **BIG}[name]
    folder.mkdir(parents=True, exist_ok=True)
    return writer(folder / f"{name}.pdf")
