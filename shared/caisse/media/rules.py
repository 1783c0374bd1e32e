"""What the media pipeline promises and what it refuses. No imports beyond the standard library:
the API functions read these limits without loading Pillow."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenditionSpec:
    name: str
    long_edge: int  # the most either side may measure; smaller images keep their size
    quality: int
    progressive: bool = False
    watermark: bool = False


# Largest first: each rendition is made from the one before it (full -> 2400 -> 1600 -> 400),
# which is much cheaper than resizing the original four times. The watermarked one is made from
# an unmarked 2400 px image, so the watermark never leaks into the preview or the thumbnail.
FULL = RenditionSpec("full", 4000, 95, progressive=True)
WATERMARKED = RenditionSpec("watermarked", 2400, 90, watermark=True)
PREVIEW = RenditionSpec("preview", 1600, 85)
THUMBNAIL = RenditionSpec("thumbnail", 400, 80)
RENDITIONS: tuple[RenditionSpec, ...] = (FULL, WATERMARKED, PREVIEW, THUMBNAIL)

OUTPUT_CONTENT_TYPE = "image/jpeg"

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""A 61 MP camera JPEG at its best quality is about 35 MB; a 24 MP 8-bit PNG is about 40 MB."""

MAX_PIXELS = 64_000_000
"""Decompression-bomb cap, checked from the header before any pixel is decoded. 64 MP admits the
61 MP bodies (9504 x 6336); bench_images.py measures the peak memory of an image at this cap."""

MAX_LOGO_PIXELS = 4_000_000

UPLOAD_URL_SECONDS = 15 * 60
DOWNLOAD_URL_SECONDS = 60 * 60
UPLOADS_PREFIX = "uploads/"
RENDITIONS_PREFIX = "renditions/"
ORIGINALS_PREFIX = "originals/"
BRANDING_PREFIX = "branding/"

CLIENT_URL_SECONDS = 15 * 60
"""How long the presigned GETs in a client's gallery listing work: enough to look through a
page, short enough that a copied URL is not a way around the gallery's expiry or access code."""

CLIENT_RENDITIONS = ("thumbnail", "preview", "watermarked")
"""What every client sees; the full rendition is added only where the gallery allows downloads."""

NEVER_UPLOADED_AFTER_SECONDS = UPLOAD_URL_SECONDS + 60 * 60
"""An upload still waiting this long after it was created never came: its URL died an hour ago
(a PUT that started before then has long finished, even a 50 MB one on a slow line)."""

PAGE_SIZE = 100
MAX_PAGE_SIZE = 200  # 800 presigned URLs and ~0.4 MB of JSON at most per answer
MAX_GALLERY_DAYS = 3 * 366  # how far ahead a gallery's expiry may be set


def fit(width: int, height: int, long_edge: int) -> tuple[int, int]:
    """The size of a rendition whose long edge is at most `long_edge`, aspect kept, never
    upscaled: a portrait is capped on its height, as a landscape is on its width."""
    if max(width, height) <= long_edge:
        return width, height
    if width >= height:
        return long_edge, max(1, round(height * long_edge / width))
    return max(1, round(width * long_edge / height)), long_edge
