"""A gallery as its client sees it: opened with the signed link from the email (and the access
code, where the gallery has one), its ready photos with short-lived presigned URLs, and the
favourites the client marks for the photographer.

The checks run in an order that tells a stranger nothing: a link that does not verify is "no such
gallery" before anything is read; then a missing or wrong access code answers before the gallery's
expiry, title or photos are looked at; only then does an expired gallery answer 410.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.db import Transaction, TransactionCancelled
from caisse.errors import Forbidden, Gone, NotFound, Unauthorized
from caisse.media import galleries, storage
from caisse.media.models import DELETING, READY, Gallery, Media
from caisse.media.rules import CLIENT_RENDITIONS, CLIENT_URL_SECONDS, FULL
from caisse.orders import links


def open_gallery(
    gallery_id: str, signature: str | None, access_code: str | None, token_key: str, now: datetime
) -> Gallery:
    if not signature or not links.gallery_link_valid(gallery_id, signature, token_key):
        raise NotFound("no such gallery")
    gallery = galleries.load(gallery_id)
    if gallery.access_code_salt:
        if not access_code:
            raise Unauthorized("this gallery needs its access code (X-Access-Code)", code="access_code_required")
        if not links.access_code_matches(gallery_id, gallery.access_code_salt, access_code, token_key):
            raise Forbidden("wrong access code", code="wrong_access_code")
    if galleries.expired(gallery, now):
        raise Gone(f"this gallery has expired; ask {gallery.merchant_name} to open it again", code="gallery_expired")
    return gallery


def view(gallery: Gallery, *, limit: int, cursor: str | None, now: datetime | None = None) -> dict[str, Any]:
    """One page of the ready photos: thumbnail, preview and watermarked renditions, plus the full
    one where the gallery allows downloads, each with a presigned GET that dies in minutes."""
    now = now or utcnow()
    page, next_cursor = galleries.photos(gallery, limit=limit, cursor=cursor, filter_condition=Media.status == READY)
    wanted = (*CLIENT_RENDITIONS, FULL.name) if gallery.downloads else CLIENT_RENDITIONS
    bucket = settings().renditions_bucket
    photos = []
    for media in page:
        stored = media.renditions.as_dict() if media.renditions else {}
        photos.append(
            {
                "media_id": media.media_id,
                "filename": media.filename,
                "favourite": bool(media.favourite),
                "renditions": {
                    name: {
                        "width": int(stored[name]["width"]),
                        "height": int(stored[name]["height"]),
                        "url": storage.presign_get(bucket, stored[name]["key"], CLIENT_URL_SECONDS),
                    }
                    for name in wanted
                    if name in stored
                },
            }
        )
    return {
        "gallery_id": gallery.gallery_id,
        "title": gallery.title,
        "merchant": {"id": gallery.merchant, "name": gallery.merchant_name},
        "expires_at": iso(gallery.expires_at),
        "downloads": bool(gallery.downloads),
        "count": int(gallery.ready_count or 0),
        "photos": photos,
        "next_cursor": next_cursor,
        "urls_expire_at": iso(now + timedelta(seconds=CLIENT_URL_SECONDS)),
    }


def mark_favourite(gallery: Gallery, media_id: str, favourite: bool, now: datetime) -> dict[str, Any]:
    """Mark (or unmark) a ready photo of this gallery. The photo's flag (conditional on the version
    read) and the gallery's count move in one transaction; asking for what is already so changes
    nothing."""
    media = _photo(gallery, media_id)
    if bool(media.favourite) == favourite:
        return {"media_id": media_id, "favourite": favourite}
    version = int(media.version)
    tx = Transaction()
    tx.update(
        media,
        actions=[Media.favourite.set(favourite), Media.version.set(version + 1)],
        condition=(Media.version == version) & (Media.status == READY),
        label="media",
    )
    tx.update(
        Gallery(Gallery.key(gallery.gallery_id)),
        actions=[Gallery.favourite_count.add(1 if favourite else -1), Gallery.updated_at.set(now)],
        condition=Gallery.pk.exists() & (Gallery.status != DELETING),
        label="gallery",
    )
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "gallery" in cancelled.failed:
            raise NotFound("no such gallery") from None
        # The photo changed in between (another tab marked it): say how it is now.
        return {"media_id": media_id, "favourite": bool(_photo(gallery, media_id).favourite)}
    return {"media_id": media_id, "favourite": favourite}


def _photo(gallery: Gallery, media_id: str) -> Media:
    try:
        media = Media.get(Media.key(media_id), consistent_read=True)
    except DoesNotExist:
        media = None
    if media is None or media.gallery_id != gallery.gallery_id or media.status != READY:
        raise NotFound("no such photo in this gallery")
    return media
