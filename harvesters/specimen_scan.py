"""What scanning does to a page: a blue signature, a red seal (ink multiplied over toner), paper
tone, skew, noise, specks and blur. Used by `harvesters.specimens.render_scan`.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from repository.text import nfc

if TYPE_CHECKING:
    from harvesters.specimens import DocumentSpec

SEAL_FONT = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf"


def sign_and_stamp(
    img: Image.Image, spec: DocumentSpec, where: dict[str, float], dpi: int, rng: random.Random
) -> None:
    mm = dpi / 25.4
    draw = ImageDraw.Draw(img)
    cx = (where["x0"] + where["x1"]) / 2 * mm
    sy = (where["sign_top"] + 4) * mm
    # A blue hand signature: a few joined loops between the title and the name.
    pts, x, y = [], cx - 18 * mm, sy + 10 * mm
    for k in range(24):
        x += rng.uniform(1.0, 2.2) * mm
        y = sy + 10 * mm + math.sin(k * rng.uniform(0.8, 1.4)) * rng.uniform(3, 7) * mm
        pts.append((x, y))
    draw.line(pts, fill=(30, 50, 150), width=max(2, int(0.5 * mm)), joint="curve")
    # A red round seal over the left third of the signature (NĐ 30 Phụ lục I, ô 8).
    r = rng.uniform(17, 20) * mm
    sx, sy2 = cx - 20 * mm + rng.uniform(-3, 3) * mm, sy + 8 * mm + rng.uniform(-3, 3) * mm
    # Ink on toner: the scan multiplies them, so black text under the seal stays black.
    seal = Image.new("RGBA", img.size, (255, 255, 255, 0))
    sd = ImageDraw.Draw(seal)
    red = (200, 30, 40, 190)
    for rad, w in ((r, 0.7), (r * 0.68, 0.45)):
        sd.ellipse((sx - rad, sy2 - rad, sx + rad, sy2 + rad), outline=red, width=int(w * mm))
    star = [
        (
            sx + (r * 0.25 if k % 2 == 0 else r * 0.1) * math.cos(math.pi / 2 + k * math.pi / 5),
            sy2 - (r * 0.25 if k % 2 == 0 else r * 0.1) * math.sin(math.pi / 2 + k * math.pi / 5),
        )
        for k in range(10)
    ]
    sd.polygon(star, fill=red)
    font = ImageFont.truetype(SEAL_FONT, int(3.2 * mm))
    ring = nfc(f"{spec.issuer_lines[0]} * {spec.admin_unit_name.upper()} *")
    for k, ch in enumerate(ring):
        a = math.pi + k * 2 * math.pi / len(ring)
        glyph = Image.new("RGBA", (int(5 * mm), int(5 * mm)), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((mm, 0.5 * mm), ch, font=font, fill=red)
        glyph = glyph.rotate(-math.degrees(a) - 90, resample=Image.BICUBIC)
        gx = sx + r * 0.84 * math.cos(a) - glyph.width / 2
        gy = sy2 + r * 0.84 * math.sin(a) - glyph.height / 2
        seal.alpha_composite(glyph, (int(gx), int(gy)))
    ink = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), seal)
    img.paste(ImageChops.multiply(img, ink.convert("RGB")))


def degrade(img: Image.Image, dpi: int, rng: random.Random) -> Image.Image:
    paper = (rng.randrange(225, 242), rng.randrange(222, 238), rng.randrange(210, 228))
    img = ImageChops.multiply(img, Image.new("RGB", img.size, paper))
    img = img.rotate(rng.uniform(-1.5, 1.5), resample=Image.BICUBIC, fillcolor=paper)
    noise = Image.effect_noise(img.size, rng.uniform(12, 22)).convert("RGB")
    img = Image.blend(img, ImageChops.multiply(img, noise), 0.12)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.uniform(150, 400) * dpi / 300)):
        x, y, s = rng.randrange(img.width), rng.randrange(img.height), rng.uniform(0.6, 2.2)
        g = rng.randrange(40, 140)
        draw.ellipse((x, y, x + s * dpi / 300, y + s * dpi / 300), fill=(g, g, g))
    return img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.9) * dpi / 300))
