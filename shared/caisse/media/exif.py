"""The EXIF a photographer wants to see (camera, lens, when, exposure), read before the renditions
are written without it. Renditions keep only Artist and Copyright: GPS, serial numbers, software,
maker notes and everything else are dropped, because they are personal or useless to a viewer."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from PIL import ExifTags, Image

ORIENTATION = ExifTags.Base.Orientation
_ARTIST = ExifTags.Base.Artist
_COPYRIGHT = ExifTags.Base.Copyright
_MAX_TEXT = 200
_EXIF_DATE = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


@dataclass(frozen=True)
class ExifInfo:
    orientation: int = 1
    summary: dict[str, Any] = field(default_factory=dict)
    kept: bytes = b""  # an EXIF block with Artist and Copyright only, for the renditions


def read(image: Image.Image) -> ExifInfo:
    """Orientation, summary and the kept tags. Broken EXIF never fails a photo: it reads as none."""
    try:
        exif = image.getexif()
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:  # noqa: BLE001 - malformed EXIF is common and harmless to the pixels
        return ExifInfo()
    orientation = exif.get(ORIENTATION, 1)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    summary = _summary(exif, sub)
    kept = Image.Exif()
    for tag in (_ARTIST, _COPYRIGHT):
        value = _text(exif.get(tag))
        if value:
            kept[tag] = value
    return ExifInfo(orientation, summary, kept.tobytes() if len(kept) else b"")


def _summary(exif: Image.Exif, sub: dict[int, Any]) -> dict[str, Any]:
    make = _text(exif.get(ExifTags.Base.Make))
    model = _text(exif.get(ExifTags.Base.Model))
    lens_make = _text(sub.get(ExifTags.Base.LensMake))
    lens_model = _text(sub.get(ExifTags.Base.LensModel))
    summary: dict[str, Any] = {
        "camera": _join(make, model),
        "lens": _join(lens_make, lens_model),
        "taken_at": _taken_at(
            sub.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime),
            sub.get(ExifTags.Base.OffsetTimeOriginal),
        ),
        "exposure_time": _exposure_time(sub.get(ExifTags.Base.ExposureTime)),
        "f_number": _f_number(sub.get(ExifTags.Base.FNumber)),
        "iso": _iso(sub.get(ExifTags.Base.ISOSpeedRatings)),
        "focal_length": _focal_length(sub.get(ExifTags.Base.FocalLength)),
        "artist": _text(exif.get(_ARTIST)),
        "copyright": _text(exif.get(_COPYRIGHT)),
    }
    return {key: value for key, value in summary.items() if value is not None}


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:_MAX_TEXT] or None


def _join(make: str | None, model: str | None) -> str | None:
    """ "Canon" + "Canon EOS R5" reads "Canon EOS R5", not "Canon Canon EOS R5"."""
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model
    return " ".join(part for part in (make, model) if part) or None


def _number(value: Any) -> float | None:
    if isinstance(value, tuple) and value:
        value = value[0]
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _taken_at(value: Any, offset: Any) -> str | None:
    match = _EXIF_DATE.match(_text(value) or "")
    if not match:
        return None
    year, month, day, hour, minute, second = match.groups()
    stamp = f"{year}-{month}-{day}T{hour}:{minute}:{second}"
    offset_text = _text(offset)
    return stamp + offset_text if offset_text and _OFFSET.match(offset_text) else stamp


def _exposure_time(value: Any) -> str | None:
    seconds = _number(value)
    if seconds is None:
        return None
    if seconds < 1:
        return f"1/{round(1 / seconds)} s"
    return f"{seconds:g} s"


def _f_number(value: Any) -> str | None:
    number = _number(value)
    return None if number is None else "f/" + f"{number:.1f}".removesuffix(".0")


def _iso(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _focal_length(value: Any) -> str | None:
    number = _number(value)
    return None if number is None else f"{round(number, 1):g} mm"
