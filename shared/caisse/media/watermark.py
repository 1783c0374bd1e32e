"""The merchant's mark on the watermarked rendition: text or a logo, semi-transparent, bottom-right.

Drawn once on a patch the size of the mark and blended in with `paste(..., mask=)`, so the
2400 px image is never converted to RGBA and back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

MARGIN = 0.025  # of the image width, from the right and bottom edges
TEXT_HEIGHT = 0.045  # font size, as a share of the image width
LOGO_WIDTH = 0.2  # of the image width
MAX_SHARE = 0.6  # a mark never covers more than this share of the width

LANCZOS = Image.Resampling.LANCZOS


@dataclass(frozen=True)
class Watermark:
    text: str | None = None
    logo: Image.Image | None = None  # RGBA
    opacity: float = 0.4

    def __post_init__(self) -> None:
        if not self.text and self.logo is None:
            raise ValueError("a watermark needs text or a logo")
        if not 0 < self.opacity <= 1:
            raise ValueError("opacity is between 0 and 1")


def apply(image: Image.Image, mark: Watermark) -> Image.Image:
    """A copy of `image` (mode RGB or L) with the mark in its bottom-right corner."""
    patch, position = placement(mark, image.width, image.height)
    out = image.copy()
    out.paste(patch.convert(image.mode), position, mask=patch.getchannel("A"))
    return out


def placement(mark: Watermark, width: int, height: int) -> tuple[Image.Image, tuple[int, int]]:
    """The mark as it is blended into a `width` x `height` image (RGBA, the opacity in its alpha)
    and where its top-left corner goes. Public so the benchmark can hand the same mark to sharp."""
    patch = _logo_patch(mark.logo, width) if mark.logo is not None else _text_patch(mark.text or "", width)
    if patch.width > width or patch.height > height:
        scale = min(width / patch.width, height / patch.height) * 0.9
        patch = patch.resize((max(1, int(patch.width * scale)), max(1, int(patch.height * scale))), LANCZOS)
    patch.putalpha(patch.getchannel("A").point(lambda a: round(a * mark.opacity)))
    margin = round(width * MARGIN)
    return patch, (max(0, width - patch.width - margin), max(0, height - patch.height - margin))


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)  # Pillow's own scalable font: no font file to ship


def _text_patch(text: str, width: int) -> Image.Image:
    """White text with a dark outline, readable on light and dark photos alike."""
    size = max(10, round(width * TEXT_HEIGHT))
    font = _font(size)
    stroke = max(1, size // 16)
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox(
        (0, 0), text, font=font, stroke_width=stroke
    )
    patch = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    ImageDraw.Draw(patch).text(
        (-left, -top), text, font=font, fill=(255, 255, 255, 255), stroke_width=stroke, stroke_fill=(0, 0, 0, 255)
    )
    if patch.width > width * MAX_SHARE:
        scale = width * MAX_SHARE / patch.width
        patch = patch.resize((max(1, round(patch.width * scale)), max(1, round(patch.height * scale))), LANCZOS)
    return patch


def _logo_patch(logo: Image.Image, width: int) -> Image.Image:
    target = max(1, round(width * LOGO_WIDTH))
    height = max(1, round(logo.height * target / logo.width))
    return logo.resize((target, height), LANCZOS)
