"""OCR throughput: raw Tesseract vs ocrmypdf's defaults vs Kho's tuned ocr_to_pdfa/ocr_many.

The same scanned pages (image-only PDFs of official documents, ND 30/2020 layout, drawn here with
Pillow at 200 and 300 dpi, slightly skewed and speckled) go through each path. `write_scan` is also
what tests/test_ocr.py uses for its scans.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
SERIF_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"
BODY = (
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Căn cứ Luật Lưu trữ "
    "ngày 21 tháng 6 năm 2024; Xét đề nghị của Trưởng phòng Văn hóa và Thông tin về việc chỉnh "
    "lý tài liệu lưu trữ của Ủy ban nhân dân phường. Điều 1. Phê duyệt danh mục hồ sơ, tài liệu "
    "hết giá trị cần tiêu hủy gồm 12 hồ sơ với tổng số 58 trang. Điều 2. Giao Văn phòng chủ trì, "
    "phối hợp với các đơn vị liên quan tổ chức thực hiện việc số hóa tài liệu theo đúng quy định. "
    "Điều 3. Quyết định này có hiệu lực kể từ ngày ký. Chánh Văn phòng, Trưởng các phòng, ban, "
    "đơn vị và các cá nhân có liên quan chịu trách nhiệm thi hành Quyết định này."
)


# --- scanned-looking pages ------------------------------------------------------------------


def render_page(number: int, dpi: int, rng: random.Random) -> Image.Image:
    """One A4 page of a Quyết định as a grey scan: header block, title, body, signature."""
    w, h = round(8.27 * dpi), round(11.69 * dpi)
    img = Image.new("L", (w, h), 248)
    d = ImageDraw.Draw(img)
    pt = dpi / 72
    regular, bold, title = (
        ImageFont.truetype(p, round(s * pt))
        for p, s in ((SERIF, 13), (SERIF_BOLD, 12), (SERIF_BOLD, 14))
    )
    left, right = round(1.2 * dpi), w - round(0.8 * dpi)
    lx, rx = left + dpi, right - round(1.95 * dpi)

    def center(text: str, font: ImageFont.FreeTypeFont, cx: int, y: int) -> None:
        d.text((cx - d.textlength(text, font=font) / 2, y), text, font=font, fill=20)

    y = round(0.8 * dpi)
    center("ỦY BAN NHÂN DÂN", bold, lx, y)
    center("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold, rx, y)
    y += round(18 * pt)
    center("PHƯỜNG HOÀN KIẾM", bold, lx, y)
    center("Độc lập - Tự do - Hạnh phúc", bold, rx, y)
    y += round(30 * pt)
    center(f"Số: {1600 + number}/QĐ-UBND", regular, lx, y)
    center(f"Hà Nội, ngày {number % 28 + 1} tháng 5 năm 2021", regular, rx, y)
    y += round(40 * pt)
    center("QUYẾT ĐỊNH", title, w // 2, y)
    y += round(20 * pt)
    center("Về việc phê duyệt danh mục tài liệu hết giá trị", title, w // 2, y)
    y += round(36 * pt)
    words = BODY.split()
    body = " ".join(words[:20] + rng.sample(words[20:], len(words) - 20))  # known opening
    for _ in range(2):
        for line in _wrap(d, body, regular, right - left):
            d.text((left, y), line, font=regular, fill=25)
            y += round(20 * pt)
        y += round(10 * pt)
    center("CHỦ TỊCH", bold, rx, y + round(10 * pt))
    center("Nguyễn Văn An", bold, rx, y + round(90 * pt))
    img = img.rotate(rng.uniform(-0.8, 0.8), resample=Image.BILINEAR, fillcolor=248)
    speckle = Image.effect_noise((w, h), 24)
    return Image.composite(img, speckle, Image.new("L", (w, h), 225))


def _wrap(d: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and d.textlength(trial, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line] if line else lines


def write_scan(path: Path, pages: int, dpi: int = 200, seed: int = 0) -> Path:
    """An image-only PDF of `pages` scanned pages (JPEG, as scanning contractors deliver)."""
    rng = random.Random(seed)
    images = [render_page(seed * 100 + i, dpi, rng) for i in range(pages)]
    images[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=images[1:], quality=80)
    return path
