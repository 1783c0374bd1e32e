"""S3 for media: presigned uploads and downloads, reading an upload with the byte cap, writing
renditions, keeping originals, deleting a gallery's files. Object keys carry the sanitised file
name; logs never do (a name can be personal).

Renditions and originals sit under `<prefix><merchant>/<gallery_id>/<media_id>/`, so deleting a
gallery is a listing of two prefixes, which also finds files an interrupted job left behind."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any, BinaryIO

from botocore.config import Config
from botocore.exceptions import ClientError

from caisse.db import aws_client
from caisse.media.rules import ORIGINALS_PREFIX, RENDITIONS_PREFIX, UPLOADS_PREFIX

S3_CONFIG = Config(
    signature_version="s3v4",  # presigned URLs must be SigV4: S3 refuses SigV2 on new buckets
    connect_timeout=3,
    read_timeout=20,
    retries={"max_attempts": 3, "mode": "standard"},
)
_UNSAFE = re.compile(r"[^\w .()+,-]+")


class UploadMissing(Exception):
    """The uploaded object is not there (deleted, expired by the lifecycle rule)."""


class UploadTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


@cache
def s3() -> Any:
    return aws_client("s3", S3_CONFIG)


def safe_filename(name: str) -> str:
    """The last path segment of `name`, reduced to letters, digits and a few marks, at most 100
    characters: it becomes part of an S3 key and of a download's name."""
    base = re.split(r"[/\\]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE.sub("_", base).strip(" ._")
    return base[-100:] or "image"


def upload_key(merchant: str, media_id: str, filename: str) -> str:
    return f"{UPLOADS_PREFIX}{merchant}/{media_id}/{safe_filename(filename)}"


def media_id_from_key(key: str) -> str | None:
    """uploads/<merchant>/<media_id>/<name> -> media_id."""
    parts = key.split("/")
    if len(parts) < 4 or parts[0] + "/" != UPLOADS_PREFIX or not parts[2]:
        return None
    return parts[2]


def gallery_prefix(prefix: str, merchant: str, gallery_id: str) -> str:
    return f"{prefix}{merchant}/{gallery_id}/"


def rendition_key(merchant: str, gallery_id: str, media_id: str, name: str) -> str:
    return f"{gallery_prefix(RENDITIONS_PREFIX, merchant, gallery_id)}{media_id}/{name}.jpg"


def original_key(merchant: str, gallery_id: str, media_id: str, filename: str) -> str:
    return f"{gallery_prefix(ORIGINALS_PREFIX, merchant, gallery_id)}{media_id}/{safe_filename(filename)}"


def presign_put(bucket: str, key: str, content_type: str, size: int, expires: int) -> tuple[str, dict[str, str]]:
    """A PUT URL that only accepts this content type and exactly `size` bytes (both are signed
    headers, so S3 refuses anything else), and the headers the client must send."""
    url = s3().generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": key, "ContentType": content_type, "ContentLength": size},
        ExpiresIn=expires,
    )
    return url, {"Content-Type": content_type, "Content-Length": str(size)}


def presign_get(bucket: str, key: str, expires: int) -> str:
    url: str = s3().generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)
    return url


def fetch(bucket: str, key: str, max_bytes: int) -> bytes:
    """The object's bytes; `UploadTooLarge` before reading anything over `max_bytes`."""
    try:
        answer = s3().get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise UploadMissing(key) from None
        raise
    body = answer["Body"]
    try:
        size = int(answer.get("ContentLength") or 0)
        if size > max_bytes:
            raise UploadTooLarge(size)
        data: bytes = body.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise UploadTooLarge(len(data))
        return data
    finally:
        body.close()


def put(bucket: str, key: str, file: BinaryIO, content_type: str, size: int) -> None:
    s3().put_object(
        Bucket=bucket,
        Key=key,
        Body=file,
        ContentType=content_type,
        ContentLength=size,
        CacheControl="private, max-age=31536000, immutable",
    )


def copy(source_bucket: str, source_key: str, bucket: str, key: str) -> None:
    """A server-side copy (the bytes never pass through the function), keeping content type."""
    s3().copy_object(
        Bucket=bucket,
        Key=key,
        CopySource={"Bucket": source_bucket, "Key": source_key},
        MetadataDirective="COPY",
    )


def delete(bucket: str, key: str) -> None:
    s3().delete_object(Bucket=bucket, Key=key)


def keys_under(bucket: str, prefix: str) -> list[str]:
    found: list[str] = []
    for page in s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.extend(item["Key"] for item in page.get("Contents", []))
    return found


def delete_keys(bucket: str, keys: list[str]) -> int:
    """Delete objects a thousand per request (S3's limit); raises if S3 kept any."""
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        answer = s3().delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})
        errors = answer.get("Errors") or []
        if errors:
            raise RuntimeError(f"S3 kept {len(errors)} objects, e.g. {errors[0].get('Code')}")
    return len(keys)
