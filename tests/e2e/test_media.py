"""Photos on the running local stack, the way a photographer's browser does it: a gallery
(POST /admin/galleries), POST /uploads, PUT the file to the presigned URL (it lands in the
emulated S3, whose notification runs the image function), then follow GET /media/{id} until the
renditions are ready and download them."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from e2e_support import merchant_token, platform_token, wait_for
from PIL import ExifTags, Image


def staff(merchant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {merchant_token(merchant)}"}


def camera_photo() -> bytes:
    """A landscape sensor image the camera says to show rotated 90 degrees (a portrait), with GPS."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS R5"
    exif[ExifTags.Base.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "S", ExifTags.GPS.GPSLatitude: (33.0, 51.0, 54.5)}
    image = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize((2600, 1700)),
            Image.new("L", (2600, 1700), 90),
            Image.new("L", (2600, 1700), 160),
        ],
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def new_gallery(api: httpx.Client, merchant: str = "lumen", **changes) -> dict:
    """A gallery of `merchant`'s, as staff open one before uploading (POST /admin/galleries)."""
    body = {
        "title": "E2E wedding",
        "client": {"name": "Ada Lovelace", "email": "ada@example.test"},
        "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        **changes,
    }
    answer = api.post("/admin/galleries", headers=staff(merchant), json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def gallery_id(stack) -> str:
    with stack.client() as api:
        return new_gallery(api)["gallery_id"]


def upload(api: httpx.Client, gallery_id: str, data: bytes, *, filename: str = "Wedding 014 (Ada).jpg") -> dict:
    answer = api.post(
        "/uploads",
        headers=staff("lumen"),
        json={
            "purpose": "gallery",
            "gallery_id": gallery_id,
            "filename": filename,
            "content_type": "image/jpeg",
            "size": len(data),
        },
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    target = created["upload"]
    put = httpx.request(target["method"], target["url"], headers=target["headers"], content=data, timeout=15)
    assert put.status_code == 200, put.text
    return created


def settled(api: httpx.Client, media_id: str) -> dict:
    def done():
        answer = api.get(f"/media/{media_id}", headers=staff("lumen"))
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["status"] in ("ready", "failed") else None

    return wait_for(done, timeout=30, interval=0.2, what=f"media {media_id} to be processed")


def test_a_photo_put_to_its_presigned_url_becomes_four_renditions(api, gallery_id):
    created = upload(api, gallery_id, camera_photo())
    assert created["status"] == "awaiting_upload"
    media = settled(api, created["media_id"])
    assert media["status"] == "ready", media
    assert media["exif"]["camera"] == "Canon EOS R5"
    assert (media["original"]["width"], media["original"]["height"]) == (1700, 2600)  # shown as a portrait
    expected = {"full": (1700, 2600), "watermarked": (1569, 2400), "preview": (1046, 1600), "thumbnail": (262, 400)}
    assert {name: (r["width"], r["height"]) for name, r in media["renditions"].items()} == expected
    for name, rendition in media["renditions"].items():
        download = httpx.get(rendition["url"], timeout=15)
        assert download.status_code == 200, name
        assert download.headers["content-type"] == "image/jpeg"
        assert len(download.content) == rendition["bytes"]
        image = Image.open(io.BytesIO(download.content))
        assert image.size == expected[name]
        assert ExifTags.Base.GPSInfo not in image.getexif()


def test_a_file_that_is_not_an_image_ends_failed_with_a_reason(api, gallery_id):
    created = upload(api, gallery_id, b"%PDF-1.7 this is an invoice, not a photo\n" * 100, filename="invoice.jpg")
    media = settled(api, created["media_id"])
    assert media["status"] == "failed"
    assert media["reason_code"] == "not_an_image"
    assert "not a JPEG, PNG or WebP" in media["reason"]
    assert "renditions" not in media


def test_staff_of_another_merchant_cannot_see_or_upload_for_it(api, gallery_id):
    created = upload(api, gallery_id, camera_photo())
    other = api.get(f"/media/{created['media_id']}", headers=staff("festival"))
    assert other.status_code == 403
    assert other.json()["error"] == "forbidden"
    platform = api.get(f"/media/{created['media_id']}", headers={"Authorization": f"Bearer {platform_token()}"})
    assert platform.status_code == 200
    refused = api.post(
        "/uploads",
        headers=staff("festival"),
        json={
            "purpose": "gallery",
            "gallery_id": gallery_id,
            "filename": "a.jpg",
            "content_type": "image/jpeg",
            "size": 10,
        },
    )
    assert refused.status_code == 403


def test_the_media_routes_need_a_staff_token(api):
    assert api.post("/uploads", json={}).status_code == 401
    assert api.get("/media/00000000-0000-4000-8000-000000000000").status_code == 401
    assert (
        api.get("/media/00000000-0000-4000-8000-000000000000", headers={"Authorization": "Bearer junk"}).status_code
        == 401
    )
