"""What the media and gallery tests share: photos, API Gateway events for the media routes as the
Cognito authorizer hands them over, S3 notifications in AWS's and moto's shapes, and a look at
what the table and the buckets hold."""

from __future__ import annotations

import copy
import io
import json
import os
from typing import Any
from urllib.parse import quote_plus, unquote, urlparse

import boto3
from conftest import sample
from PIL import ExifTags, Image

UPLOADS = os.environ["UPLOADS_BUCKET"]
RENDITIONS = os.environ["RENDITIONS_BUCKET"]
ORIGINALS = os.environ["ORIGINALS_BUCKET"]
MEDIA_TABLE = os.environ["MEDIA_TABLE"]


def photo(width: int = 1200, height: int = 800) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "X-T5"
    exif[ExifTags.Base.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.6)}
    out = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert("RGB").save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def claims_for(event: dict, merchant: str | None) -> dict:
    """Staff of `merchant` (platform staff for None), as the Cognito authorizer hands them over."""
    claims = event["requestContext"]["authorizer"]["claims"]
    if merchant is None:
        claims.pop("custom:merchant_id", None)
        claims["cognito:groups"] = "platform-admin"
    else:
        claims["custom:merchant_id"] = merchant
    return event


def api_event(
    name: str,
    path: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    staff_of: str | None = "lumen",
) -> dict:
    """The sample event `name` (events/<name>.json) aimed at `path`, with its query, body and
    headers; staff of `staff_of` where the route has the authorizer."""
    event = sample(name, path=path, pathParameters=path_parameters)
    event["requestContext"]["path"] = f"/dev{path}"
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    if body is not None:
        event["body"] = json.dumps(body)
    for header, value in (headers or {}).items():
        event["headers"][header] = value
        event["multiValueHeaders"][header] = [value]
    if "authorizer" in event["requestContext"]:
        claims_for(event, staff_of)
    return event


def new_gallery(invoke, *, staff_of: str | None = "lumen", **changes) -> dict:
    """POST /admin/galleries with the sample's body and `changes`; the created gallery."""
    body = {**json.loads(sample("create_gallery")["body"]), **changes}
    answer = invoke(
        "CreateGalleryFunction", api_event("create_gallery", "/admin/galleries", body=body, staff_of=staff_of)
    )
    assert answer["statusCode"] == 201, answer["body"]
    return json.loads(answer["body"])


def post_upload(invoke, gallery_id: str, *, staff_of: str | None = "lumen", **changes) -> dict:
    body = {**json.loads(sample("create_upload")["body"]), "gallery_id": gallery_id, **changes}
    return invoke("CreateUploadFunction", claims_for(sample("create_upload", body=json.dumps(body)), staff_of))


def uploaded(invoke, gallery_id: str, data: bytes, *, filename: str = "IMG 0042 (edit).jpg") -> dict:
    """POST /uploads, then the file lands where the presigned PUT would put it."""
    answer = post_upload(invoke, gallery_id, filename=filename, size=len(data))
    assert answer["statusCode"] == 201, answer["body"]
    created = json.loads(answer["body"])
    key = unquote(urlparse(created["upload"]["url"]).path).lstrip("/").removeprefix(f"{UPLOADS}/")
    boto3.client("s3").put_object(Bucket=UPLOADS, Key=key, Body=data, ContentType="image/jpeg")
    created["key"], created["size"], created["data"] = key, len(data), data
    return created


def s3_event(key: str, size: int, *, shape: str) -> dict:
    """The notification for an object of the uploads bucket: AWS's shape (the sample event) or moto's."""
    event = copy.deepcopy(sample("process_image"))
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = UPLOADS
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{UPLOADS}"
    record["s3"]["object"].update(key=quote_plus(key), size=size)
    if shape == "moto":
        for field in ("userIdentity", "requestParameters", "responseElements"):
            record.pop(field)
        record["s3"]["bucket"].pop("ownerIdentity")
        record["s3"]["object"].pop("sequencer")
    return event


def processed(invoke, created: dict) -> dict:
    """S3 tells the image function about the upload; its result for it."""
    [result] = invoke("ProcessImageFunction", s3_event(created["key"], created["size"], shape="moto"))["results"]
    return result


def items(prefix: str = "") -> list[dict]:
    found = boto3.client("dynamodb").scan(TableName=MEDIA_TABLE, ConsistentRead=True)["Items"]
    return [item for item in found if item["pk"]["S"].startswith(prefix)]


def objects(bucket: str) -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
