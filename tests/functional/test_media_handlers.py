"""The media functions, loaded from template.yaml, on real event shapes against moto in-process:
POST /uploads and GET /media/{id} as API Gateway sends them, and the image function with the S3
notification as AWS sends it and as moto sends it. Each test starts with one gallery of Lumen's,
made through POST /admin/galleries."""

from __future__ import annotations

import io
import json
import os
from urllib.parse import parse_qs, quote, urlparse

import boto3
import media_support as support
import pytest
from botocore.exceptions import ClientError
from conftest import sample
from media_support import (
    MEDIA_TABLE,
    ORIGINALS,
    RENDITIONS,
    UPLOADS,
    claims_for,
    items,
    new_gallery,
    objects,
    photo,
    s3_event,
)
from PIL import ExifTags, Image, ImageStat

CURRENT: dict[str, str] = {}  # the gallery each test starts with


@pytest.fixture(autouse=True)
def a_gallery(invoke) -> str:
    CURRENT["gallery"] = new_gallery(invoke)["gallery_id"]
    return CURRENT["gallery"]


def post_upload(invoke, *, staff_of: str | None = "lumen", **changes) -> dict:
    return support.post_upload(invoke, changes.pop("gallery_id", CURRENT["gallery"]), staff_of=staff_of, **changes)


def uploaded(invoke, data: bytes, *, filename: str = "IMG 0042 (edit).jpg") -> dict:
    return support.uploaded(invoke, CURRENT["gallery"], data, filename=filename)


def get_media(invoke, media_id: str, *, staff_of: str | None = "lumen", signed_in: bool = True) -> dict:
    event = sample(
        "admin_get_order",
        resource="/media/{media_id}",
        path=f"/media/{media_id}",
        pathParameters={"media_id": media_id},
    )
    event["requestContext"]["resourcePath"] = "/media/{media_id}"
    claims_for(event, staff_of)
    if not signed_in:
        event["requestContext"].pop("authorizer")
    return invoke("GetMediaFunction", event)


def gallery(gallery_id: str | None = None) -> dict:
    [item] = items(f"GALLERY#{gallery_id or CURRENT['gallery']}")
    return item


# --------------------------------------------------------------------------- POST /uploads


def test_staff_get_a_presigned_put_limited_to_the_declared_type_and_size(aws, invoke):
    answer = post_upload(invoke, size=181673)
    assert answer["statusCode"] == 201, answer["body"]
    body = json.loads(answer["body"])
    upload = body["upload"]
    assert body["status"] == "awaiting_upload"
    assert upload["method"] == "PUT"
    assert upload["headers"] == {"Content-Type": "image/jpeg", "Content-Length": "181673"}
    query = parse_qs(urlparse(upload["url"]).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    assert query["X-Amz-Expires"] == ["900"]
    assert f"/uploads/lumen/{body['media_id']}/" in upload["url"]
    [media] = items("MEDIA#")
    assert media["status"]["S"] == "awaiting_upload"
    assert gallery()["pending"]["N"] == "1"


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"content_type": "image/gif"}, 422, "invalid_request"),
        ({"size": 50 * 1024 * 1024 + 1}, 422, "invalid_request"),
        ({"gallery_id": "../other"}, 422, "invalid_request"),
        ({"purpose": "avatar"}, 422, "invalid_request"),
        ({"merchant": "lumen"}, 422, "invalid_request"),  # the gallery says whose photo it is
        ({"gallery_id": "00000000-0000-4000-8000-000000000000"}, 404, "not_found"),
        ({"staff_of": "festival"}, 403, "forbidden"),
    ],
)
def test_bad_upload_requests_are_refused_and_nothing_is_written(aws, invoke, changes, status, error):
    before = gallery()
    answer = post_upload(invoke, **changes)
    assert answer["statusCode"] == status, answer["body"]
    body = json.loads(answer["body"])
    assert body["error"] == error and body["message"]
    assert items("MEDIA#") == [] and gallery() == before


def test_an_upload_whose_transaction_answer_was_lost_and_retried_is_still_created_once(aws, invoke, monkeypatch):
    from caisse import db

    real_commit = db.Transaction.commit

    def applied_then_retried(self):
        real_commit(self)  # DynamoDB applied it; the answer timed out; the SDK's retry finds it done
        raise db.TransactionCancelled({"media": None})

    monkeypatch.setattr(db.Transaction, "commit", applied_then_retried)
    answer = post_upload(invoke)
    assert answer["statusCode"] == 201, answer["body"]
    [media] = items("MEDIA#")
    assert media["media_id"]["S"] == json.loads(answer["body"])["media_id"]
    assert gallery()["pending"]["N"] == "1"


def test_uploads_stop_once_a_gallery_is_being_deleted(aws, invoke):
    boto3.client("dynamodb").update_item(
        TableName=MEDIA_TABLE,
        Key={"pk": {"S": f"GALLERY#{CURRENT['gallery']}"}},
        UpdateExpression="SET #s = :d",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":d": {"S": "deleting"}},
    )
    answer = post_upload(invoke)
    assert answer["statusCode"] == 404 and json.loads(answer["body"])["message"] == "no such gallery"
    assert items("MEDIA#") == []


# --------------------------------------------------------------------------- the image function


@pytest.mark.parametrize("shape", ["aws", "moto"])
def test_an_upload_becomes_four_renditions_and_a_ready_record(aws, invoke, shape):
    created = uploaded(invoke, photo())
    result = invoke("ProcessImageFunction", s3_event(created["key"], created["size"], shape=shape))
    assert result == {"results": [{"media_id": created["media_id"], "result": "ready", "reason": None}]}

    answer = get_media(invoke, created["media_id"])
    assert answer["statusCode"] == 200
    media = json.loads(answer["body"])
    assert media["status"] == "ready"
    assert media["filename"] == "IMG 0042 (edit).jpg"
    assert media["exif"] == {"camera": "X-T5"}
    original = media["original"]
    gallery_id = CURRENT["gallery"]
    assert original["key"] == f"originals/lumen/{gallery_id}/{created['media_id']}/IMG 0042 (edit).jpg"
    assert {k: original[k] for k in ("format", "width", "height", "bytes")} == {
        "format": "JPEG",
        "width": 1200,
        "height": 800,
        "bytes": created["size"],
    }
    assert urlparse(original["url"]).path.endswith(quote(original["key"]))  # staff may fetch it back
    renditions = media["renditions"]
    assert list(renditions) == ["full", "watermarked", "preview", "thumbnail"]
    assert [(r["width"], r["height"]) for r in renditions.values()] == [(1200, 800)] * 3 + [(400, 267)]
    s3 = boto3.client("s3")
    for name, rendition in renditions.items():
        stored = s3.get_object(Bucket=RENDITIONS, Key=rendition["key"])
        data = stored["Body"].read()
        assert len(data) == rendition["bytes"] and stored["ContentType"] == "image/jpeg"
        assert ExifTags.Base.GPSInfo not in Image.open(io.BytesIO(data)).getexif(), name
        assert parse_qs(urlparse(rendition["url"]).query)["X-Amz-Expires"] == ["3600"]
    assert all(
        r["key"].startswith(f"renditions/lumen/{gallery_id}/{created['media_id']}/") for r in renditions.values()
    )
    # The original is kept byte for byte in the originals bucket, and gone from the uploads inbox.
    kept = s3.get_object(Bucket=ORIGINALS, Key=original["key"])["Body"].read()
    assert kept == created["data"] and objects(UPLOADS) == []
    assert gallery()["status"]["S"] == "ready"


def test_the_same_event_twice_gives_one_set_of_renditions_and_one_record(aws, invoke):
    created = uploaded(invoke, photo())
    event = s3_event(created["key"], created["size"], shape="moto")
    first = invoke("ProcessImageFunction", event)
    s3 = boto3.client("s3")
    written = {key: s3.head_object(Bucket=RENDITIONS, Key=key)["ETag"] for key in objects(RENDITIONS)}
    second = invoke("ProcessImageFunction", event)
    assert first["results"][0]["result"] == "ready"
    assert second["results"][0]["result"] == "duplicate"
    assert {key: s3.head_object(Bucket=RENDITIONS, Key=key)["ETag"] for key in objects(RENDITIONS)} == written
    assert len(written) == 4
    assert len(items("MEDIA#")) == 1
    assert gallery()["ready_count"]["N"] == "1" and gallery()["ready_round"]["N"] == "1"


def truncated() -> bytes:
    data = photo()
    return data[: len(data) // 2]


def bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (b"Dear photographer, this is a text file named .jpg\n" * 50, "not_an_image", "not a JPEG, PNG or WebP"),
        (truncated(), "corrupt", "truncated or corrupt"),
        (bomb(), "too_many_pixels", "too many pixels"),
    ],
    ids=["text", "truncated", "bomb"],
)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_bad_file_fails_with_a_reason_writes_no_rendition_and_is_not_retried(aws, invoke, data, code, reason):
    created = uploaded(invoke, data, filename="holiday.jpg")
    event = s3_event(created["key"], created["size"], shape="moto")
    result = invoke("ProcessImageFunction", event)  # returns normally: Lambda has nothing to retry
    assert result["results"] == [{"media_id": created["media_id"], "result": "failed", "reason": code}]
    media = json.loads(get_media(invoke, created["media_id"])["body"])
    assert media["status"] == "failed"
    assert media["reason_code"] == code and reason in media["reason"]
    assert "renditions" not in media
    assert objects(RENDITIONS) == []
    assert invoke("ProcessImageFunction", event)["results"][0]["result"] == "duplicate"
    assert gallery()["failed_count"]["N"] == "1" and gallery()["status"]["S"] == "processing"


def test_an_aws_error_fails_the_invocation_and_lambdas_retry_finishes_the_job(aws, invoke, monkeypatch):
    from caisse.media import storage

    created = uploaded(invoke, photo())
    event = s3_event(created["key"], created["size"], shape="aws")
    real_put = storage.put
    calls = {"n": 0}

    def flaky_put(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "PutObject"
            )
        return real_put(*args, **kwargs)

    monkeypatch.setattr(storage, "put", flaky_put)
    from caisse_local.runtime import FunctionError

    with pytest.raises(FunctionError, match="SlowDown"):
        invoke("ProcessImageFunction", event)
    media = json.loads(get_media(invoke, created["media_id"])["body"])
    assert media["status"] == "processing"
    retried = invoke("ProcessImageFunction", event)  # Lambda's retry: the lease was released
    assert retried["results"][0]["result"] == "ready"
    assert len(objects(RENDITIONS)) == 4
    assert gallery()["pending"]["N"] == "0" and gallery()["ready_count"]["N"] == "1"


def test_a_gallery_is_ready_once_its_last_photo_is(aws, invoke):
    first, second = uploaded(invoke, photo()), uploaded(invoke, photo(640, 480))
    invoke("ProcessImageFunction", s3_event(first["key"], first["size"], shape="moto"))
    assert gallery()["status"]["S"] == "processing" and gallery()["pending"]["N"] == "1"
    invoke("ProcessImageFunction", s3_event(second["key"], second["size"], shape="moto"))
    assert gallery()["status"]["S"] == "ready" and gallery()["ready_count"]["N"] == "2"
    third = uploaded(invoke, photo(320, 240))  # another photo reopens the gallery
    assert gallery()["status"]["S"] == "processing"
    invoke("ProcessImageFunction", s3_event(third["key"], third["size"], shape="moto"))
    assert gallery()["status"]["S"] == "ready" and gallery()["ready_round"]["N"] == "2"


def test_objects_that_are_not_our_uploads_are_ignored(aws, invoke):
    boto3.client("s3").put_object(Bucket=UPLOADS, Key="uploads/lumen/not-a-media/x.jpg", Body=photo())
    result = invoke("ProcessImageFunction", s3_event("uploads/lumen/not-a-media/x.jpg", 1, shape="moto"))
    assert result["results"][0]["result"] == "ignored"
    assert objects(RENDITIONS) == [] and items("MEDIA#") == []


# --------------------------------------------------------------------------- GET /media/{id}


def test_media_is_only_shown_to_staff_of_its_merchant(aws, invoke):
    created = uploaded(invoke, photo())
    assert get_media(invoke, created["media_id"], staff_of=None)["statusCode"] == 200
    other = get_media(invoke, created["media_id"], staff_of="festival")
    assert other["statusCode"] == 403
    assert json.loads(other["body"]) == {"error": "forbidden", "message": "this media belongs to another merchant"}
    assert get_media(invoke, created["media_id"], signed_in=False)["statusCode"] == 401
    missing = get_media(invoke, "00000000-0000-4000-8000-000000000000")
    assert missing["statusCode"] == 404
    assert get_media(invoke, "not-a-uuid")["statusCode"] == 422


def test_a_merchants_logo_from_the_catalog_is_the_watermark(aws, invoke):
    logo = io.BytesIO()
    Image.new("RGBA", (300, 150), (255, 255, 255, 255)).save(logo, "PNG")
    boto3.client("s3").put_object(Bucket=RENDITIONS, Key="branding/lumen/logo.png", Body=logo.getvalue())
    boto3.client("dynamodb").update_item(
        TableName=os.environ["CATALOG_TABLE"],
        Key={"pk": {"S": "MERCHANT#lumen"}},
        UpdateExpression="SET watermark = :w",
        ExpressionAttributeValues={":w": {"M": {"logo": {"S": "branding/lumen/logo.png"}, "opacity": {"N": "1"}}}},
    )
    out = io.BytesIO()
    Image.new("RGB", (1000, 800), (0, 0, 0)).save(out, "JPEG")
    created = uploaded(invoke, out.getvalue())
    invoke("ProcessImageFunction", s3_event(created["key"], created["size"], shape="moto"))
    media = json.loads(get_media(invoke, created["media_id"])["body"])
    marked = Image.open(
        io.BytesIO(
            boto3.client("s3")
            .get_object(Bucket=RENDITIONS, Key=media["renditions"]["watermarked"]["key"])["Body"]
            .read()
        )
    ).convert("L")
    preview = Image.open(
        io.BytesIO(
            boto3.client("s3").get_object(Bucket=RENDITIONS, Key=media["renditions"]["preview"]["key"])["Body"].read()
        )
    ).convert("L")
    # A solid white 200 x 100 logo, 25 px from the bottom-right corner (text would leave gaps).
    assert ImageStat.Stat(marked.crop((790, 690, 960, 760))).mean[0] > 230
    assert marked.getpixel((100, 100)) < 30 and preview.getpixel((880, 730)) < 30
