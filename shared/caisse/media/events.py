"""The objects an S3 ObjectCreated notification names, from the real AWS shape and from moto's
(which has no userIdentity, requestParameters, responseElements or sequencer). Keys arrive
URL-encoded in both ("a b.jpg" is "a+b.jpg"), so they are decoded with unquote_plus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    size: int | None
    etag: str | None


def uploaded_objects(event: dict[str, Any]) -> list[UploadedObject]:
    """ObjectCreated records only; anything else (S3's s3:TestEvent, removals) names nothing."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        return []
    found = []
    for record in S3Event(event).records:
        if record.get("eventSource") != "aws:s3" or not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        obj = record.s3.get_object
        size = obj.get("size")
        found.append(
            UploadedObject(
                bucket=record.s3.bucket.name,
                key=unquote_plus(obj.key),
                size=int(size) if size is not None else None,
                etag=obj.etag or None,
            )
        )
    return found
