"""Uploads and what staff see of them. An upload names an existing gallery of the staff's merchant:
its media record is written in the same transaction as the gallery's pending count (only while
the gallery is not being deleted), then a presigned PUT the browser sends the file to; the image
function (caisse.media.processing) takes it from there, or the sweep (caisse.media.sweep) fails
it if the file never comes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import NotFound
from caisse.media import galleries, storage
from caisse.media.models import AWAITING_PARENT, AWAITING_UPLOAD, DELETING, FAILED, PROCESSING, READY, Gallery, Media
from caisse.media.rules import DOWNLOAD_URL_SECONDS, MAX_UPLOAD_BYTES, RENDITIONS, UPLOAD_URL_SECONDS
from caisse.media.schemas import UploadIn
from caisse.staff import Staff


def create_upload(upload: UploadIn, staff: Staff, *, now: datetime | None = None) -> dict[str, Any]:
    """Record the upload (its gallery now waits for one more photo) and presign its PUT."""
    gallery = galleries.for_staff(upload.gallery_id, staff)
    now = now or utcnow()
    media_id = str(uuid.uuid4())
    key = storage.upload_key(gallery.merchant, media_id, upload.filename)
    media = Media(
        Media.key(media_id),
        media_id=media_id,
        merchant=gallery.merchant,
        gallery_id=gallery.gallery_id,
        parent=AWAITING_PARENT,  # where the sweep looks for files that never came
        purpose=upload.purpose,
        filename=upload.filename,
        declared_type=upload.content_type,
        declared_bytes=upload.size,
        upload_key=key,
        status=AWAITING_UPLOAD,
        created_by=staff.actor_id,
        created_at=iso(now),
        updated_at=now,
    )
    tx = Transaction()
    tx.put(media, Media.pk.does_not_exist(), label="media")
    tx.update(
        Gallery(Gallery.key(gallery.gallery_id)),
        actions=[
            Gallery.status.set(PROCESSING),  # a ready gallery that gets another photo reopens
            Gallery.pending.add(1),
            Gallery.updated_at.set(now),
        ],
        condition=Gallery.pk.exists() & (Gallery.status != DELETING),
        label="gallery",
    )
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "gallery" in cancelled.failed:
            raise NotFound("no such gallery") from None
        if not _written_by_this_request(media):
            raise
    url, headers = storage.presign_put(
        settings().uploads_bucket, key, upload.content_type, upload.size, UPLOAD_URL_SECONDS
    )
    return {
        "media_id": media_id,
        "merchant": gallery.merchant,
        "gallery_id": gallery.gallery_id,
        "status": AWAITING_UPLOAD,
        "upload": {
            "method": "PUT",
            "url": url,
            "headers": headers,
            "expires_at": iso(now + timedelta(seconds=UPLOAD_URL_SECONDS)),
            "max_bytes": MAX_UPLOAD_BYTES,
        },
    }


def _written_by_this_request(media: Media) -> bool:
    """The SDK retries a transaction whose answer timed out; if the first attempt was applied, the
    retry finds the new record already there. The id is fresh, so only this request wrote it."""
    try:
        found = Media.get(media.pk, consistent_read=True)
    except DoesNotExist:
        return False
    return found.upload_key == media.upload_key and found.created_at == media.created_at


def get_media(media_id: str, staff: Staff) -> dict[str, Any]:
    try:
        media = Media.get(Media.key(media_id), consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such media") from None
    staff.require(media.merchant, "this media")
    return media_view(media)


def media_view(media: Media, *, now: datetime | None = None) -> dict[str, Any]:
    """What staff see: the status, why it failed, and when ready each rendition with a short-lived
    download URL, plus the EXIF summary read from the original."""
    view: dict[str, Any] = {
        "media_id": media.media_id,
        "merchant": media.merchant,
        "gallery_id": media.gallery_id,
        "purpose": media.purpose,
        "filename": media.filename,
        "status": media.status,
        "created_at": media.created_at,
        "updated_at": iso(media.updated_at),
    }
    if media.status == FAILED:
        view["reason_code"] = media.reason_code
        view["reason"] = media.reason
    if media.status == READY:
        now = now or utcnow()
        bucket = settings().renditions_bucket
        stored = media.renditions.as_dict() if media.renditions else {}
        renditions = {}
        for spec in RENDITIONS:  # largest first, always in the same order
            item = stored.get(spec.name)
            if item is None:
                continue
            renditions[spec.name] = {
                "key": item["key"],
                "width": int(item["width"]),
                "height": int(item["height"]),
                "bytes": int(item["bytes"]),
                "content_type": item["content_type"],
                "url": storage.presign_get(bucket, item["key"], DOWNLOAD_URL_SECONDS),
            }
        view["processed_at"] = iso(media.processed_at) if media.processed_at else None
        original = media.original.as_dict() if media.original else None
        if original and original.get("key"):  # kept since issue 16; staff may fetch it back
            original["url"] = storage.presign_get(settings().originals_bucket, original["key"], DOWNLOAD_URL_SECONDS)
        view["original"] = original
        view["exif"] = media.exif.as_dict() if media.exif else {}
        view["renditions"] = renditions
        view["urls_expire_at"] = iso(now + timedelta(seconds=DOWNLOAD_URL_SECONDS))
    return view
