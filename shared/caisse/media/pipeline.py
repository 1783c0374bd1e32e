"""From uploaded bytes to the four renditions, fast and lean (measured by scripts/bench_images.py).

What makes it fast, measured on a 24 MP JPEG: the largest rendition is made once from the
original and every smaller one from the rendition before it (cascade); `reducing_gap=2` lets
Pillow box-reduce by an integer factor before LANCZOS wherever a step shrinks 4x or more
(1600 -> 400 px: 26 -> 11 ms); JPEG `draft()` decodes at 1/2 or 1/4 scale when even the full
rendition does not need every pixel (originals over 8000 px on their long edge); orientation, alpha flattening
and colour conversion happen once, on the largest rendition; and encoders write into a real file
descriptor (memfd), where Pillow releases the GIL for the whole encode, so with two vCPUs the
progressive q95 encode of the full rendition (half the job) runs beside everything else.

What makes it safe: the format is sniffed from the bytes (JPEG, PNG or WebP only), the pixel
count is checked from the header before anything is decoded, truncated or corrupt files raise
`RejectedImage` with a reason, and nothing is written anywhere: the caller gets encoded files and
decides what to store.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, BinaryIO

from PIL import Image, ImageCms, UnidentifiedImageError

from caisse.media import exif as exif_reader
from caisse.media.rules import (
    FULL,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    OUTPUT_CONTENT_TYPE,
    PREVIEW,
    RENDITIONS,
    THUMBNAIL,
    WATERMARKED,
    RenditionSpec,
    fit,
)
from caisse.media.watermark import Watermark
from caisse.media.watermark import apply as apply_watermark

FORMATS = ("JPEG", "PNG", "WEBP")
REDUCING_GAP = 2.0  # Pillow's thumbnail() default: no visible difference from a plain LANCZOS
BACKGROUND = (255, 255, 255)  # transparency is flattened onto white

# Our own cap (MAX_PIXELS) is checked right after the header is read; Pillow's warning above its
# default limit would only repeat it in the logs.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class RejectedImage(Exception):
    """The upload is not an image we can process. `code` is machine-readable, the message is for
    the photographer. Retrying cannot help, so the function records it and stops."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Rendition:
    name: str
    width: int
    height: int
    file: BinaryIO  # positioned at 0, `size` bytes of JPEG
    size: int
    content_type: str = OUTPUT_CONTENT_TYPE


@dataclass
class Rendered:
    format: str
    width: int  # as displayed, orientation applied
    height: int
    color_profile: str | None
    exif: dict[str, Any]
    renditions: list[Rendition] = field(default_factory=list)

    def close(self) -> None:
        for rendition in self.renditions:
            rendition.file.close()

    def __enter__(self) -> Rendered:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Sniff and size-check an upload without decoding its pixels."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise RejectedImage("too_large", f"the file is over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        limit = f"{max_pixels / 1e6:.0f} MP"
        raise RejectedImage("too_many_pixels", f"the image has far too many pixels; the limit is {limit}") from None
    except UnidentifiedImageError:
        raise RejectedImage("not_an_image", "the file is not a JPEG, PNG or WebP image") from None
    except Exception as error:  # noqa: BLE001 - any header Pillow cannot parse is a bad file
        raise RejectedImage("corrupt", f"the image header cannot be read ({type(error).__name__})") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise RejectedImage("corrupt", "the image has no pixels")
    if width * height > max_pixels:
        raise RejectedImage(
            "too_many_pixels",
            f"the image has too many pixels: {width} x {height} is {width * height / 1e6:.0f} MP; "
            f"the limit is {max_pixels / 1e6:.0f} MP",
        )
    return image


def render(data: bytes, mark: Watermark, *, workers: int = 1) -> Rendered:
    """Every rendition of `data`, encoded, largest first. Raises `RejectedImage` for a file that is
    not a usable image. `workers` > 1 encodes the full rendition on a second thread (more threads
    would have nothing left to do)."""
    image = open_image(data)
    source_format = image.format or "unknown"
    info = exif_reader.read(image)
    swapped = info.orientation in (5, 6, 7, 8)
    width, height = (image.height, image.width) if swapped else image.size
    sizes = {spec.name: fit(width, height, spec.long_edge) for spec in RENDITIONS}
    top_w, top_h = sizes[FULL.name]
    raw_top = (top_h, top_w) if swapped else (top_w, top_h)
    icc = image.info.get("icc_profile")

    try:
        if source_format == "JPEG":
            image.draft(image.mode, raw_top)  # libjpeg decodes at 1/2, 1/4... if still >= raw_top
        image.load()
        image = _normalise_mode(image)
    except RejectedImage:
        raise
    except Exception as error:  # noqa: BLE001 - truncated or corrupt data, whatever Pillow calls it
        raise RejectedImage("corrupt", f"the image is truncated or corrupt ({_short(error)})") from None

    top = _resize(image, raw_top)
    del image
    if info.orientation in _TRANSPOSE:
        top = top.transpose(_TRANSPOSE[info.orientation])
    top = _flatten(top)
    top, profile = _to_srgb(top, icc)
    top.info = {}  # no comment, XMP or ICC from the source may ride along into the renditions

    rendered = Rendered(source_format, width, height, profile, info.summary)
    # The progressive q95 encode of the full rendition is half the job: with a second vCPU it runs
    # on its own thread while this one resizes and encodes the smaller renditions.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode-full") if workers > 1 else None
    full: Future[Rendition] | None = None
    try:
        if pool is not None:
            full = pool.submit(_encode, top, FULL, info.kept)
        else:
            rendered.renditions.append(_encode(top, FULL, info.kept))
        base = _derive(top, sizes[WATERMARKED.name])
        del top
        rendered.renditions.append(_encode(apply_watermark(base, mark), WATERMARKED, info.kept))
        preview = _derive(base, sizes[PREVIEW.name])
        del base
        rendered.renditions.append(_encode(preview, PREVIEW, info.kept))
        rendered.renditions.append(_encode(_derive(preview, sizes[THUMBNAIL.name]), THUMBNAIL, info.kept))
        del preview
        if full is not None:
            rendered.renditions.insert(0, full.result())
    except BaseException:
        rendered.close()
        if full is not None:
            try:
                full.result().file.close()  # waits for it: the encoder thread cannot be stopped
            except BaseException:  # noqa: BLE001, S110 - the first error is the one to report
                pass
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return rendered


def _short(error: Exception) -> str:
    return str(error).split("\n")[0][:120] or type(error).__name__


def _normalise_mode(image: Image.Image) -> Image.Image:
    """One of RGB, RGBA, L, LA or CMYK, 8 bits per channel."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return image
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I"):
        # 16-bit grey: scale to 8 bits (a plain convert("L") would clip everything above 255).
        return image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    if mode == "F":
        return image.convert("L")
    return image.convert("RGB")


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def _derive(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The next rendition down: a new image even when the size does not change, because the full
    one may be being encoded on another thread (save() keeps its settings on the image)."""
    return image.copy() if image.size == size else _resize(image, size)


def _flatten(image: Image.Image) -> Image.Image:
    """JPEG has no transparency: composite onto white once, at the largest rendition's size."""
    if image.mode not in ("RGBA", "LA"):
        return image
    solid = "RGB" if image.mode == "RGBA" else "L"
    background = Image.new(solid, image.size, BACKGROUND if solid == "RGB" else 255)
    background.paste(image.convert(solid), mask=image.getchannel("A"))
    return background


@lru_cache(maxsize=16)
def _transform(profile: bytes, mode: str) -> tuple[ImageCms.ImageCmsTransform | None, str]:
    """(transform to sRGB or None when the profile is sRGB already, the profile's description)."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    description = ImageCms.getProfileDescription(source).strip()
    if mode == "RGB" and "srgb" in description.lower():
        return None, description
    transform = ImageCms.buildTransform(source, _SRGB, mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL)
    return transform, description


def _to_srgb(image: Image.Image, icc: bytes | None) -> tuple[Image.Image, str | None]:
    """Convert to sRGB where the embedded profile says otherwise (Adobe RGB, Display P3, CMYK):
    browsers show untagged JPEGs as sRGB, so the renditions carry no profile. Grey images stay
    grey; a profile that cannot be read is ignored and the pixels are taken as sRGB."""
    description = None
    if icc and image.mode in ("RGB", "CMYK"):
        try:
            transform, description = _transform(bytes(icc), image.mode)
            converted = ImageCms.applyTransform(image, transform) if transform is not None else None
            if converted is not None:
                return converted, description
        except (ImageCms.PyCMSError, OSError, ValueError):
            description = None
    if image.mode == "CMYK":
        return image.convert("RGB"), description
    return image, description


def _scratch_file(name: str) -> BinaryIO:
    """A real file descriptor in memory: Pillow releases the GIL while encoding into one (into a
    BytesIO it holds it), which is what lets two encoders run at once."""
    if hasattr(os, "memfd_create"):
        return open(os.memfd_create(f"rendition-{name}", os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile()  # macOS has no memfd


def _encode(image: Image.Image, spec: RenditionSpec, exif: bytes) -> Rendition:
    file = _scratch_file(spec.name)
    try:
        image.save(
            file,
            "JPEG",
            quality=spec.quality,
            progressive=spec.progressive,
            optimize=not spec.progressive,
            exif=exif,
        )
        size = file.tell()
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return Rendition(spec.name, image.width, image.height, file, size)
