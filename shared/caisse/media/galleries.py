"""Galleries as staff run them: created for a client (and an order, if any) before any upload,
then read with their photos and favourites, changed (expiry, downloads, access code), listed per
merchant, and deleted with every file and record they own.

Every write is conditional: a gallery is created only if its id is new, changed only while it
exists and is not being deleted, and its photos' records are deleted only if they belong to it.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist, UpdateError

from caisse.catalog.models import Merchant
from caisse.catalog.plans import plan_limit
from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.db import Transaction, TransactionCancelled, decode_cursor, encode_cursor
from caisse.errors import InvalidRequest, NotFound
from caisse.media import storage
from caisse.media.models import AWAITING_PARENT, DELETING, EMPTY, FAILED, FINISHED, READY, Gallery, Media
from caisse.media.rules import (
    DOWNLOAD_URL_SECONDS,
    MAX_GALLERY_DAYS,
    ORIGINALS_PREFIX,
    RENDITIONS_PREFIX,
)
from caisse.media.schemas import GalleryIn, GalleryUpdate
from caisse.orders import capacity, links
from caisse.staff import Staff

TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
GALLERIES_PER_MONTH: Final = "galleries_per_month"  # the plan's limit a new gallery counts against


# --------------------------------------------------------------------------- reading


def load(gallery_id: str) -> Gallery:
    """The gallery, read consistently; a gallery being deleted is already gone for everyone."""
    try:
        gallery = Gallery.get(Gallery.key(gallery_id), consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such gallery") from None
    if gallery.status == DELETING:
        raise NotFound("no such gallery")
    return gallery


def for_staff(gallery_id: str, staff: Staff) -> Gallery:
    gallery = load(gallery_id)
    staff.require(gallery.merchant, "this gallery")
    return gallery


def expired(gallery: Gallery, now: datetime) -> bool:
    return gallery.expires_at <= now


def photos(
    gallery: Gallery, *, limit: int, cursor: str | None, filter_condition: Any = None
) -> tuple[list[Media], str | None]:
    """One page of the gallery's photos (oldest upload first) and the cursor of the next page."""
    parent = Gallery.key(gallery.gallery_id)
    found = Media.by_parent.query(
        parent,
        filter_condition=filter_condition,
        limit=limit,
        page_size=limit,
        last_evaluated_key=_decode_cursor(cursor, parent),
    )
    page = [item for item in found if isinstance(item, Media)]
    return page, _encode_cursor(found.last_evaluated_key, parent)


def summary(gallery: Gallery, now: datetime) -> dict[str, Any]:
    """What staff see of a gallery in a list: who it is for, until when, what the client may do."""
    return {
        "gallery_id": gallery.gallery_id,
        "merchant": gallery.merchant,
        "title": gallery.title,
        "client": {"name": gallery.client_name, "email": gallery.client_email, "locale": gallery.client_locale},
        "order_id": gallery.order_id,
        "status": gallery.status,
        "expires_at": iso(gallery.expires_at),
        "expired": expired(gallery, now),
        "downloads": bool(gallery.downloads),
        "access_code_required": gallery.access_code_salt is not None,
        "counts": {
            "pending": int(gallery.pending or 0),
            "ready": int(gallery.ready_count or 0),
            "failed": int(gallery.failed_count or 0),
            "favourites": int(gallery.favourite_count or 0),
        },
        "ready_at": iso(gallery.ready_at) if gallery.ready_at else None,
        "created_at": gallery.created_at,
        "updated_at": iso(gallery.updated_at),
    }


def with_access(view: dict[str, Any], gallery: Gallery, token_key: str) -> dict[str, Any]:
    """The client's link and access code, for staff to pass on (the client's email has both)."""
    view["link"] = links.gallery_link(gallery.gallery_id, token_key)
    view["access_code"] = (
        links.gallery_access_code(gallery.gallery_id, gallery.access_code_salt, token_key)
        if gallery.access_code_salt
        else None
    )
    return view


def staff_view(
    gallery_id: str,
    staff: Staff,
    token_key: str,
    *,
    limit: int,
    cursor: str | None = None,
    favourites_only: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The gallery with a page of its photos: each one's status (and why it failed), whether the
    client marked it, and a thumbnail to recognise it by."""
    now = now or utcnow()
    gallery = for_staff(gallery_id, staff)
    page, next_cursor = photos(
        gallery,
        limit=limit,
        cursor=cursor,
        filter_condition=(Media.favourite == True) if favourites_only else None,  # noqa: E712 - a condition
    )
    view = with_access(summary(gallery, now), gallery, token_key)
    view["photos"] = [_staff_photo(media) for media in page]
    view["next_cursor"] = next_cursor
    view["urls_expire_at"] = iso(now + timedelta(seconds=DOWNLOAD_URL_SECONDS))
    return view


def _staff_photo(media: Media) -> dict[str, Any]:
    view: dict[str, Any] = {
        "media_id": media.media_id,
        "filename": media.filename,
        "status": media.status,
        "favourite": bool(media.favourite),
        "created_at": media.created_at,
    }
    if media.status == FAILED:
        view["reason_code"] = media.reason_code
        view["reason"] = media.reason
    renditions = media.renditions.as_dict() if media.status == READY and media.renditions else {}
    thumbnail = renditions.get("thumbnail")
    if thumbnail:
        view["thumbnail"] = {
            "width": int(thumbnail["width"]),
            "height": int(thumbnail["height"]),
            "url": storage.presign_get(settings().renditions_bucket, thumbnail["key"], DOWNLOAD_URL_SECONDS),
        }
    return view


def list_for_merchant(staff: Staff, merchant: str | None, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """A merchant's galleries, newest first."""
    merchant = merchant or staff.merchant
    if merchant is None:
        raise InvalidRequest("platform staff name the merchant (?merchant=...)", field="merchant")
    staff.require(merchant, "these galleries")
    parent = Gallery.listed_under(merchant)
    found = Gallery.by_parent.query(
        parent,
        scan_index_forward=False,
        limit=limit,
        page_size=limit,
        last_evaluated_key=_decode_cursor(cursor, parent),
    )
    now = utcnow()
    galleries = [summary(item, now) for item in found if isinstance(item, Gallery)]
    return {
        "merchant": merchant,
        "galleries": galleries,
        "next_cursor": _encode_cursor(found.last_evaluated_key, parent),
    }


# --------------------------------------------------------------------------- writing


def create(body: GalleryIn, staff: Staff, token_key: str, *, now: datetime | None = None) -> dict[str, Any]:
    merchant_id = body.merchant or staff.merchant
    if merchant_id is None:
        raise InvalidRequest("platform staff name the merchant", field="merchant")
    staff.require(merchant_id, "this gallery")
    try:
        merchant = Merchant.get(Merchant.key(merchant_id))
    except DoesNotExist:
        raise InvalidRequest("no such merchant", code="unknown_merchant") from None
    now = now or utcnow()
    defaults = merchant.new_gallery()
    expires_at = _expiry(body.expires_at or now + timedelta(days=defaults["expiry_days"]), now, closing=False)
    if body.order_id is not None:
        _check_order(body.order_id, merchant_id)
    gallery_id = str(uuid.uuid4())
    gallery = Gallery(
        Gallery.key(gallery_id),
        gallery_id=gallery_id,
        merchant=merchant_id,
        merchant_name=merchant.name,
        parent=Gallery.listed_under(merchant_id),
        title=body.title,
        client_name=body.client.name,
        client_email=body.client.email,
        client_locale=body.client.locale or merchant.default_locale or "en",
        order_id=body.order_id,
        expires_at=expires_at,
        downloads=defaults["downloads"] if body.downloads is None else body.downloads,
        access_code_salt=secrets.token_hex(16) if body.access_code else None,
        status=EMPTY,
        created_by=staff.actor_id,
        created_at=iso(now),
        updated_at=now,
    )
    _save_within_plan(gallery, merchant, now)
    return with_access(summary(gallery, now), gallery, token_key)


def _save_within_plan(gallery: Gallery, merchant: Merchant, now: datetime) -> None:
    """A signed-up photographer's plan may limit galleries per month: counted in the same
    transaction as the gallery (not given back when one is deleted: it was made)."""
    allowed = plan_limit(merchant, GALLERIES_PER_MONTH)
    if allowed is None:
        gallery.save(condition=Gallery.pk.does_not_exist())
        return
    tx = Transaction()
    month = now.astimezone(ZoneInfo(merchant.timezone or "UTC")).strftime("%Y-%m")
    capacity.count_monthly(tx, merchant.merchant_id, GALLERIES_PER_MONTH, int(allowed), month)
    tx.put(gallery, condition=Gallery.pk.does_not_exist(), label="gallery")
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "plan_limit" in cancelled.failed:
            raise capacity.PlanLimitReached(
                f"{merchant.name} has made {allowed} galleries this month, the most its plan allows",
                limit=GALLERIES_PER_MONTH,
                allowed=allowed,
            ) from None
        raise


def update(
    gallery_id: str, body: GalleryUpdate, staff: Staff, token_key: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """Change the expiry (a past time closes the gallery now), downloads, or the access code (a
    new one, or none); everything is checked before anything is written."""
    now = now or utcnow()
    gallery = for_staff(gallery_id, staff)
    actions: list[Any] = [Gallery.updated_at.set(now)]
    if body.expires_at is not None:
        actions.append(Gallery.expires_at.set(_expiry(body.expires_at, now, closing=True)))
    if body.downloads is not None:
        actions.append(Gallery.downloads.set(body.downloads))
    if body.access_code == "new":
        actions.append(Gallery.access_code_salt.set(secrets.token_hex(16)))
    elif body.access_code == "none":
        actions.append(Gallery.access_code_salt.remove())
    try:
        gallery.update(actions=actions, condition=Gallery.pk.exists() & (Gallery.status != DELETING))
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound("no such gallery") from None
        raise
    return with_access(summary(gallery, now), gallery, token_key)


def delete(gallery_id: str, staff: Staff, *, now: datetime | None = None) -> dict[str, Any]:
    """Delete the gallery with its originals, renditions, waiting uploads and records. Marked
    "deleting" first (uploads and the client's link stop at once; a photo being processed
    discards its own files), so a deletion that stops half-way is finished by asking again."""
    now = now or utcnow()
    try:
        gallery = Gallery.get(Gallery.key(gallery_id), consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such gallery") from None
    staff.require(gallery.merchant, "this gallery")
    gallery.update(
        actions=[Gallery.status.set(DELETING), Gallery.updated_at.set(now)],
        condition=Gallery.pk.exists(),
    )
    records = _all_photos(gallery_id)
    files = storage.delete_keys(
        settings().renditions_bucket,
        storage.keys_under(
            settings().renditions_bucket, storage.gallery_prefix(RENDITIONS_PREFIX, gallery.merchant, gallery_id)
        ),
    )
    files += storage.delete_keys(
        settings().originals_bucket,
        storage.keys_under(
            settings().originals_bucket, storage.gallery_prefix(ORIGINALS_PREFIX, gallery.merchant, gallery_id)
        ),
    )
    files += storage.delete_keys(
        settings().uploads_bucket, [media.upload_key for media in records if media.status not in FINISHED]
    )
    for start in range(0, len(records), TRANSACTION_ITEMS):
        tx = Transaction()
        for media in records[start : start + TRANSACTION_ITEMS]:
            tx.delete(media, Media.gallery_id == gallery_id, label=media.media_id)
        tx.commit()
    gallery.delete(condition=Gallery.status == DELETING)
    return {"gallery_id": gallery_id, "deleted": True, "photos": len(records), "files": files}


def _all_photos(gallery_id: str) -> list[Media]:
    """Every photo record of the gallery: those in its list and those still waiting for a file."""
    listed = Media.by_parent.query(Gallery.key(gallery_id))
    waiting = Media.by_parent.query(AWAITING_PARENT, filter_condition=Media.gallery_id == gallery_id)
    return [item for item in (*listed, *waiting) if isinstance(item, Media)]


def _expiry(value: datetime, now: datetime, *, closing: bool) -> datetime:
    value = value.astimezone(UTC)
    if value > now + timedelta(days=MAX_GALLERY_DAYS):
        raise InvalidRequest(f"expires_at: at most {MAX_GALLERY_DAYS} days ahead", field="expires_at")
    if not closing and value <= now:
        raise InvalidRequest("expires_at: must be in the future", field="expires_at")
    return value


def _check_order(order_id: str, merchant: str) -> None:
    from caisse.orders.models import ORDER_SK, Order, order_pk  # only creating a gallery reads orders

    try:
        order = Order.get(order_pk(order_id), ORDER_SK, consistent_read=True)
    except DoesNotExist:
        order = None
    if order is None or order.merchant != merchant:
        raise InvalidRequest("no such order for this merchant", code="unknown_order", field="order_id")


# --------------------------------------------------------------------------- pages


def _encode_cursor(key: dict[str, Any] | None, parent: str) -> str | None:
    """The by_parent index's last key as the one cursor codec's position: "<created_at>|<pk>"."""
    if not key:
        return None
    return encode_cursor(f"{key['created_at']['S']}|{key['pk']['S']}", parent)


def _decode_cursor(cursor: str | None, parent: str) -> dict[str, Any] | None:
    """The index key to start after, from a cursor of this list (another list's is a 422)."""
    position = decode_cursor(cursor, parent)
    if position is None:
        return None
    created_at, _, pk = position.partition("|")
    if not created_at or not pk:
        raise InvalidRequest("cursor: not a cursor of this list", field="cursor")
    return {"pk": {"S": pk}, "parent": {"S": parent}, "created_at": {"S": created_at}}
