"""The EXIF summary a photographer sees for each photo."""

from __future__ import annotations

import io

from PIL import ExifTags, Image, TiffImagePlugin

from caisse.media import exif as exif_reader


def photo_with(tags: dict[int, object], sub: dict[int, object] | None = None) -> Image.Image:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    for tag, value in (sub or {}).items():
        exif.get_ifd(ExifTags.IFD.Exif)[tag] = value
    out = io.BytesIO()
    Image.new("RGB", (32, 32)).save(out, "JPEG", exif=exif)
    return Image.open(io.BytesIO(out.getvalue()))


def rational(numerator: int, denominator: int) -> TiffImagePlugin.IFDRational:
    return TiffImagePlugin.IFDRational(numerator, denominator)


def test_camera_lens_time_and_exposure_are_summarised():
    image = photo_with(
        {ExifTags.Base.Make: "Canon", ExifTags.Base.Model: "Canon EOS R5", ExifTags.Base.Orientation: 6},
        {
            ExifTags.Base.LensModel: "RF24-70mm F2.8 L IS USM",
            ExifTags.Base.DateTimeOriginal: "2026:05:01 14:03:22",
            ExifTags.Base.OffsetTimeOriginal: "+02:00",
            ExifTags.Base.ExposureTime: rational(1, 250),
            ExifTags.Base.FNumber: rational(28, 10),
            ExifTags.Base.ISOSpeedRatings: 400,
            ExifTags.Base.FocalLength: rational(50, 1),
        },
    )
    info = exif_reader.read(image)
    assert info.orientation == 6
    assert info.summary == {
        "camera": "Canon EOS R5",
        "lens": "RF24-70mm F2.8 L IS USM",
        "taken_at": "2026-05-01T14:03:22+02:00",
        "exposure_time": "1/250 s",
        "f_number": "f/2.8",
        "iso": 400,
        "focal_length": "50 mm",
    }
    assert info.kept == b""


def test_make_is_kept_when_the_model_does_not_repeat_it_and_long_exposures_read_in_seconds():
    image = photo_with(
        {ExifTags.Base.Make: "FUJIFILM", ExifTags.Base.Model: "X-T5"},
        {ExifTags.Base.ExposureTime: rational(2, 1), ExifTags.Base.FNumber: rational(8, 1)},
    )
    summary = exif_reader.read(image).summary
    assert summary["camera"] == "FUJIFILM X-T5"
    assert summary["exposure_time"] == "2 s"
    assert summary["f_number"] == "f/8"


def test_nonsense_values_are_left_out_rather_than_shown():
    image = photo_with(
        {ExifTags.Base.Orientation: 42},
        {ExifTags.Base.DateTimeOriginal: "not a date", ExifTags.Base.ExposureTime: rational(0, 0)},
    )
    info = exif_reader.read(image)
    assert info.orientation == 1
    assert info.summary == {}


def test_only_artist_and_copyright_are_kept_for_the_renditions():
    image = photo_with({ExifTags.Base.Artist: "Ada", ExifTags.Base.Copyright: "(c) Lumen", ExifTags.Base.Make: "Canon"})
    kept = Image.Exif()
    kept.load(exif_reader.read(image).kept)
    assert dict(kept) == {ExifTags.Base.Artist: "Ada", ExifTags.Base.Copyright: "(c) Lumen"}
