"""The rendition pipeline on generated images: what a photographer would see in the renditions."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms, ImageStat

from caisse.media import pipeline
from caisse.media.rules import MAX_PIXELS, RENDITIONS, fit
from caisse.media.watermark import Watermark

MARK = Watermark(text="© Lumen Photography", opacity=0.5)
RED, GREEN, GREY = (220, 30, 30), (30, 200, 30), (128, 128, 128)


def jpeg(image: Image.Image, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, **params)
    return out.getvalue()


def png(image: Image.Image, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", **params)
    return out.getvalue()


def render(data: bytes, workers: int = 1) -> dict[str, Image.Image]:
    """Every rendition, decoded, by name (checks they are JPEGs with the size they claim)."""
    with pipeline.render(data, MARK, workers=workers) as rendered:
        out = {}
        for rendition in rendered.renditions:
            raw = rendition.file.read()
            assert len(raw) == rendition.size
            image = Image.open(io.BytesIO(raw))
            assert image.format == "JPEG"
            assert image.size == (rendition.width, rendition.height)
            image.load()
            out[rendition.name] = image
    assert set(out) == {spec.name for spec in RENDITIONS}
    return out


def sizes(renditions: dict[str, Image.Image]) -> dict[str, tuple[int, int]]:
    return {name: image.size for name, image in renditions.items()}


def colour_at(image: Image.Image, fx: float, fy: float) -> tuple[int, ...]:
    return image.convert("RGB").getpixel((int(image.width * fx), int(image.height * fy)))


def close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


# --------------------------------------------------------------------------- sizes and orientation


def test_a_landscape_is_capped_on_its_width_keeps_the_aspect_and_cascades_down():
    renditions = render(jpeg(Image.new("RGB", (4800, 1200), GREY)))
    assert sizes(renditions) == {
        "full": (4000, 1000),
        "watermarked": (2400, 600),
        "preview": (1600, 400),
        "thumbnail": (400, 100),
    }


PORTRAIT_SIZES = {"full": (1091, 4000), "watermarked": (655, 2400), "preview": (436, 1600), "thumbnail": (109, 400)}


def test_a_portrait_is_capped_on_its_long_edge_its_height():
    assert sizes(render(jpeg(Image.new("RGB", (1200, 4400), GREY)))) == PORTRAIT_SIZES


def test_a_portrait_by_exif_orientation_is_capped_on_its_displayed_height():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    assert sizes(render(jpeg(Image.new("RGB", (4400, 1200), GREY), exif=exif))) == PORTRAIT_SIZES


@pytest.mark.parametrize(
    ("size", "long_edge", "expected"),
    [
        ((6000, 4000), 4000, (4000, 2667)),
        ((4000, 6000), 4000, (2667, 4000)),
        ((5000, 5000), 2400, (2400, 2400)),
        ((4000, 3000), 4000, (4000, 3000)),
        ((300, 20000), 400, (6, 400)),
        ((20000, 10), 400, (400, 1)),
        ((120, 80), 400, (120, 80)),
    ],
)
def test_fit_caps_the_long_edge_and_never_upscales(size, long_edge, expected):
    assert fit(*size, long_edge) == expected


def test_a_tiny_image_is_never_upscaled():
    renditions = render(jpeg(Image.new("RGB", (120, 80), GREY)))
    assert set(sizes(renditions).values()) == {(120, 80)}


# Where the raw image's top-left (red) and top-right (green) corners end up once displayed, per
# the EXIF specification: 1 as stored, 2 mirrored, 3 rotated 180, 4 flipped, 5 transposed,
# 6 rotated 90 clockwise, 7 transversed, 8 rotated 90 counter-clockwise.
TL, TR, BL, BR = (0.1, 0.1), (0.9, 0.1), (0.1, 0.9), (0.9, 0.9)
ORIENTATIONS = {1: (TL, TR), 2: (TR, TL), 3: (BR, BL), 4: (BL, BR), 5: (TL, BL), 6: (TR, BR), 7: (BR, TR), 8: (BL, TL)}


def marked(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), GREY)
    image.paste(RED, (0, 0, width // 4, height // 4))
    image.paste(GREEN, (width - width // 4, 0, width, height // 4))
    return image


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_every_exif_orientation_is_applied(orientation):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    renditions = render(jpeg(marked(1000, 500), exif=exif))
    portrait = orientation >= 5
    assert sizes(renditions)["full"] == ((500, 1000) if portrait else (1000, 500))
    assert sizes(renditions)["thumbnail"] == ((200, 400) if portrait else (400, 200))
    red_at, green_at = ORIENTATIONS[orientation]
    for name in ("full", "thumbnail"):
        image = renditions[name]
        assert close(colour_at(image, *red_at), RED), (name, colour_at(image, *red_at))
        assert close(colour_at(image, *green_at), GREEN), (name, colour_at(image, *green_at))
        assert image.getexif().get(ExifTags.Base.Orientation) is None  # not applied twice by viewers


def test_two_workers_give_the_same_renditions():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    data = jpeg(marked(2600, 1300), exif=exif)
    one, two = render(data, workers=1), render(data, workers=2)
    assert sizes(one) == sizes(two)
    for name in one:
        assert one[name].tobytes() == two[name].tobytes()


# --------------------------------------------------------------------------- metadata


def with_private_metadata() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS R5"
    exif[ExifTags.Base.Artist] = "Ada Photographer"
    exif[ExifTags.Base.Copyright] = "(c) 2026 Lumen Photography"
    exif[ExifTags.Base.Software] = "SecretEditor 1.0"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.6),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.2),
    }
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.BodySerialNumber] = "SN-0123456789"
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description>home-address-in-xmp</rdf:Description></x:xmpmeta>'
    return jpeg(marked(900, 600), exif=exif, comment=b"comment-with-client-name", xmp=xmp)


def test_no_gps_or_other_personal_metadata_survives_but_artist_and_copyright_do():
    with pipeline.render(with_private_metadata(), MARK) as rendered:
        for rendition in rendered.renditions:
            raw = rendition.file.read()
            image = Image.open(io.BytesIO(raw))
            exif = image.getexif()
            assert ExifTags.Base.GPSInfo not in exif, rendition.name
            assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {}
            assert exif.get(ExifTags.Base.Artist) == "Ada Photographer"
            assert exif.get(ExifTags.Base.Copyright) == "(c) 2026 Lumen Photography"
            assert set(exif) == {ExifTags.Base.Artist, ExifTags.Base.Copyright}
            for secret in (b"SN-0123456789", b"SecretEditor", b"comment-with-client-name", b"home-address-in-xmp"):
                assert secret not in raw, (rendition.name, secret)
            assert "icc_profile" not in image.info and "xmp" not in image.info and "comment" not in image.info


def test_the_exif_summary_is_read_before_stripping():
    with pipeline.render(with_private_metadata(), MARK) as rendered:
        assert rendered.exif["camera"] == "Canon EOS R5"
        assert rendered.exif["artist"] == "Ada Photographer"
        assert "gps" not in str(rendered.exif).lower() and "SN-0123456789" not in str(rendered.exif)


# --------------------------------------------------------------------------- watermark


def corner_spread(image: Image.Image) -> float:
    """How much the bottom-right corner varies: a flat image has none, a mark a lot."""
    w, h = image.size
    return max(ImageStat.Stat(image.crop((int(w * 0.55), int(h * 0.8), w, h)).convert("L")).stddev)


def test_the_watermark_is_on_the_watermarked_rendition_only_bottom_right():
    renditions = render(jpeg(Image.new("RGB", (3000, 2000), GREY)))
    assert corner_spread(renditions["watermarked"]) > 15
    for name in ("full", "preview", "thumbnail"):
        assert corner_spread(renditions[name]) < 3, name
    top_left = renditions["watermarked"].crop((0, 0, 1200, 800)).convert("L")
    assert max(ImageStat.Stat(top_left).stddev) < 3


def test_a_logo_watermark_is_blended_semi_transparently():
    logo = Image.new("RGBA", (200, 100), (255, 255, 255, 255))
    with pipeline.render(jpeg(Image.new("RGB", (1200, 800), (0, 0, 0))), Watermark(logo=logo, opacity=0.5)) as r:
        marked_image = Image.open(next(x for x in r.renditions if x.name == "watermarked").file)
        w, h = marked_image.size
        inside = marked_image.convert("L").getpixel((int(w * 0.9), int(h * 0.93)))
    assert 100 < inside < 160  # half-way between the black photo and the white logo


# --------------------------------------------------------------------------- colour and modes


def test_transparency_is_flattened_onto_white():
    image = Image.new("RGBA", (800, 400), (0, 0, 0, 0))
    image.paste((200, 20, 20, 255), (400, 0, 800, 400))
    renditions = render(png(image))
    for name in ("full", "thumbnail"):
        assert renditions[name].mode == "RGB"
        assert close(colour_at(renditions[name], 0.2, 0.5), (255, 255, 255), 8)
        assert close(colour_at(renditions[name], 0.8, 0.5), (200, 20, 20))


def test_a_palette_png_with_transparency_is_flattened_too():
    image = Image.new("P", (300, 200), 0)
    image.putpalette([0, 0, 0, 10, 120, 10] + [0] * 762)
    image.paste(1, (150, 0, 300, 200))
    renditions = render(png(image, transparency=0))
    assert close(colour_at(renditions["full"], 0.2, 0.5), (255, 255, 255), 8)
    assert close(colour_at(renditions["full"], 0.8, 0.5), (10, 120, 10))


def test_a_cmyk_jpeg_becomes_rgb_with_the_right_colour():
    cyan = Image.new("CMYK", (600, 400), (255, 0, 0, 0))
    renditions = render(jpeg(cyan))
    assert renditions["full"].mode == "RGB"
    assert close(colour_at(renditions["full"], 0.5, 0.5), (0, 255, 255))


def rgb16_png(width: int, height: int, rgb16: tuple[int, int, int]) -> bytes:
    """A 16-bit-per-channel RGB PNG, written by hand (Pillow only writes 16-bit grey)."""
    row = b"\x00" + struct.pack(">HHH", *rgb16) * width

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def test_a_16_bit_rgb_png_keeps_its_colour():
    renditions = render(rgb16_png(500, 300, (65535, 32896, 0)))
    assert sizes(renditions)["full"] == (500, 300)
    assert close(colour_at(renditions["full"], 0.5, 0.5), (255, 128, 0), 6)


def test_a_16_bit_grey_png_is_scaled_not_clipped():
    grey16 = Image.new("I;16", (500, 300), 16448)  # 25 % of 65535
    renditions = render(png(grey16))
    assert renditions["full"].mode == "L"
    assert abs(renditions["full"].getpixel((250, 150)) - 64) <= 4  # clipping would give 255


def test_a_greyscale_jpeg_stays_grey_and_still_gets_the_watermark():
    renditions = render(jpeg(Image.new("L", (1000, 600), 90)))
    assert renditions["full"].mode == "L"
    assert abs(renditions["full"].getpixel((500, 300)) - 90) <= 3
    assert corner_spread(renditions["watermarked"]) > 15


def swapped_primaries_profile() -> bytes:
    """An RGB profile whose red and green primaries are swapped, so a colour-managed viewer shows
    stored red as green: the renditions must show what such a viewer shows."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    tags = {}
    for i in range(struct.unpack(">I", profile[128:132])[0]):
        at = 132 + 12 * i
        signature, offset, size = struct.unpack(">4sII", profile[at : at + 12])
        tags[signature] = (at, offset, size)
    (r_at, r_off, r_size), (g_at, g_off, g_size) = tags[b"rXYZ"], tags[b"gXYZ"]
    struct.pack_into(">4sII", profile, r_at, b"rXYZ", g_off, g_size)
    struct.pack_into(">4sII", profile, g_at, b"gXYZ", r_off, r_size)
    return bytes(profile).replace("sRGB".encode("utf-16-be"), "Swap".encode("utf-16-be"))


def test_a_non_srgb_profile_is_converted_to_srgb_and_not_embedded():
    data = jpeg(Image.new("RGB", (600, 400), RED), icc_profile=swapped_primaries_profile())
    with pipeline.render(data, MARK) as rendered:
        assert rendered.color_profile == "Swap built-in"
        for rendition in rendered.renditions:
            image = Image.open(rendition.file)
            assert "icc_profile" not in image.info
            red, green, _ = colour_at(image, 0.3, 0.3)
            assert green > 150 and red < 80, (rendition.name, red, green)


def test_an_srgb_profile_changes_nothing():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    renditions = render(jpeg(Image.new("RGB", (600, 400), RED), icc_profile=srgb))
    assert close(colour_at(renditions["full"], 0.5, 0.5), RED, 12)


# --------------------------------------------------------------------------- refusals


def refused(data: bytes) -> pipeline.RejectedImage:
    with pytest.raises(pipeline.RejectedImage) as caught:
        pipeline.render(data, MARK)
    assert caught.value.message
    return caught.value


def test_a_truncated_jpeg_is_refused_with_a_reason():
    data = jpeg(Image.effect_noise((800, 600), 50).convert("RGB"))
    error = refused(data[: len(data) // 2])
    assert error.code == "corrupt"
    assert "truncated or corrupt" in error.message


def test_a_text_file_named_jpg_is_refused():
    error = refused(b"This is not a photo, whatever its name says.\n" * 20)
    assert error.code == "not_an_image"
    assert "not a JPEG, PNG or WebP" in error.message


@pytest.mark.parametrize("kind", ["gif", "bmp"])
def test_other_image_formats_are_refused(kind):
    out = io.BytesIO()
    Image.new("RGB", (50, 50)).save(out, kind.upper())
    assert refused(out.getvalue()).code == "not_an_image"


def bomb_png(width: int, height: int) -> bytes:
    """A small file whose header claims a huge image (a decompression bomb)."""
    rows = zlib.compress(b"\x00" * (width // 8 + 1) * 64)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # the pipeline silences it itself
@pytest.mark.parametrize("side", [9000, 50000])
def test_a_pixel_bomb_is_refused_before_decoding(side):
    data = bomb_png(side, side)
    assert len(data) < 100_000 and side * side > MAX_PIXELS
    error = refused(data)
    assert error.code == "too_many_pixels"
    assert "pixels" in error.message
