"""The image function's work for one uploaded object: claim the media record, read the upload,
render, store the renditions, record the result, settle the gallery.

Exactly once, as far as anyone can tell: a redelivered event for a finished photo changes
nothing, two deliveries at once are told apart by a lease on the record (the second one leaves),
and every record write is conditional on the version that was read. A bad file ends as `failed`
with a reason and the function returns normally, so Lambda does not retry it; only AWS errors
raise, and Lambda's retries (then the on-failure queue) handle those. Renditions are written
before the record says `ready` and never for a file that failed, so nothing is half-written.

The original is kept: copied server-side into the originals bucket (private, no notification, so
nothing there can trigger this function again; a lifecycle rule moves it to a cheaper storage
class) before the record says `ready`, then the upload is deleted from the inbox. Files that
failed are not kept (the uploads bucket's lifecycle rule removes them after two days). A photo
whose gallery was deleted while it was being processed is discarded with everything written.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from caisse.catalog.models import Merchant
from caisse.clock import utcnow
from caisse.config import settings
from caisse.media import pipeline, storage
from caisse.media.events import UploadedObject
from caisse.media.models import AWAITING_UPLOAD, FINISHED, PROCESSING, READY, Gallery, Media
from caisse.media.outcomes import Finish, discard, fail, finish, settle_gallery
from caisse.media.rules import BRANDING_PREFIX, MAX_LOGO_PIXELS, MAX_UPLOAD_BYTES
from caisse.media.watermark import Watermark

log = logging.getLogger("caisse.media")

LAMBDA_MB_PER_VCPU = 1769  # Lambda gives one full vCPU at 1769 MB, in proportion below and above
DEFAULT_OPACITY = 0.4
LOGO_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Outcome:
    """What happened to one object: ready | failed | duplicate | in_progress | ignored."""

    result: str
    media_id: str | None = None
    reason_code: str | None = None
    stored_bytes: int = 0


def workers_for(memory_mb: int | str | None, cpus: int | None = None) -> int:
    """Encoder threads worth running: one per whole vCPU the memory size buys. At one vCPU a
    second thread gains nothing and costs memory (scripts/bench_images.py)."""
    cpus = cpus or os.cpu_count() or 1
    try:
        vcpus = round(int(memory_mb) / LAMBDA_MB_PER_VCPU) if memory_mb else cpus
    except ValueError:
        vcpus = 1
    return max(1, min(cpus, vcpus, 2))  # the pipeline has work for two threads, no more


def process_upload(
    obj: UploadedObject,
    *,
    workers: int = 1,
    lease_seconds: float = 60.0,
    clock: Callable[[], datetime] = utcnow,
) -> Outcome:
    media_id = storage.media_id_from_key(obj.key)
    if obj.bucket != settings().uploads_bucket or media_id is None:
        return Outcome("ignored", media_id, "not_an_upload")
    try:
        media = Media.get(Media.key(media_id), consistent_read=True)
    except DoesNotExist:
        return Outcome("ignored", media_id, "unknown_media")
    if media.upload_key != obj.key:
        return Outcome("ignored", media_id, "unknown_media")
    now = clock()
    if media.status in FINISHED:
        # Redelivered: the work is done. Settling again is harmless and finishes a gallery whose
        # last photo's invocation stopped between its two writes.
        settle_gallery(media.gallery_id, now)
        return Outcome("duplicate", media_id, media.reason_code)
    if media.status == PROCESSING and media.lease_until is not None and media.lease_until > now:
        return Outcome("in_progress", media_id)
    if not _claim(media, now, lease_seconds):
        return Outcome("in_progress", media_id)
    try:
        return _process(media, obj, workers, clock)
    except BaseException:
        _release(media)  # an AWS error: let Lambda's retry claim it at once
        raise


def _process(media: Media, obj: UploadedObject, workers: int, clock: Callable[[], datetime]) -> Outcome:
    if obj.size is not None and obj.size > MAX_UPLOAD_BYTES:
        return _fail(media, "too_large", _too_large(obj.size), clock())
    try:
        data = storage.fetch(obj.bucket, obj.key, MAX_UPLOAD_BYTES)
    except storage.UploadMissing:
        return _fail(media, "missing", "the uploaded file is no longer there; upload it again", clock())
    except storage.UploadTooLarge as error:
        return _fail(media, "too_large", _too_large(error.size), clock())
    mark = watermark_for(media.merchant)
    try:
        rendered = pipeline.render(data, mark, workers=workers)
    except pipeline.RejectedImage as rejected:
        return _fail(media, rejected.code, rejected.message, clock())
    original: dict[str, Any] = {"bytes": len(data)}
    del data
    bucket = settings().renditions_bucket
    stored: dict[str, dict[str, Any]] = {}
    with rendered:
        for rendition in rendered.renditions:
            key = storage.rendition_key(media.merchant, media.gallery_id, media.media_id, rendition.name)
            storage.put(bucket, key, rendition.file, rendition.content_type, rendition.size)
            stored[rendition.name] = {
                "key": key,
                "width": rendition.width,
                "height": rendition.height,
                "bytes": rendition.size,
                "content_type": rendition.content_type,
            }
    original_key = storage.original_key(media.merchant, media.gallery_id, media.media_id, media.filename)
    storage.copy(obj.bucket, obj.key, settings().originals_bucket, original_key)
    original.update(key=original_key, format=rendered.format, width=rendered.width, height=rendered.height)
    if rendered.color_profile:
        original["color_profile"] = rendered.color_profile
    now = clock()
    finished = finish(
        media,
        [
            Media.status.set(READY),
            Media.renditions.set(stored),
            Media.original.set(original),
            Media.exif.set(rendered.exif),
            Media.processed_at.set(now),
        ],
        Gallery.ready_count,
        now,
        expected_status=PROCESSING,
    )
    if finished is Finish.TAKEN:
        # Another invocation recorded it (or an SDK retry found this one's own write): either way
        # the photo is done, and settling again is harmless.
        settle_gallery(media.gallery_id, now)
        return Outcome("in_progress", media.media_id)
    if finished is Finish.GONE:
        _discard(media, obj, [item["key"] for item in stored.values()], original_key)
        return Outcome("ignored", media.media_id, "gallery_deleted")
    try:
        storage.delete(obj.bucket, obj.key)
    except Exception:  # noqa: BLE001 - the lifecycle rule removes it in two days anyway
        log.warning("could not delete a processed upload", extra={"media_id": media.media_id})
    settle_gallery(media.gallery_id, now)
    return Outcome(READY, media.media_id, stored_bytes=sum(item["bytes"] for item in stored.values()))


def _discard(media: Media, obj: UploadedObject, renditions: list[str], original_key: str) -> None:
    """The gallery was deleted while this photo was processed: remove what this invocation wrote."""
    storage.delete_keys(settings().renditions_bucket, renditions)
    storage.delete_keys(settings().originals_bucket, [original_key])
    storage.delete_keys(obj.bucket, [obj.key])
    discard(media)


def _too_large(size: int) -> str:
    return f"the file is {size / 1048576:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 1048576} MB"


def _claim(media: Media, now: datetime, lease_seconds: float) -> bool:
    version = int(media.version)
    try:
        media.update(
            actions=[
                Media.status.set(PROCESSING),
                Media.parent.set(Gallery.key(media.gallery_id)),  # off the awaiting-upload list
                Media.version.set(version + 1),
                Media.attempts.add(1),
                Media.lease_until.set(now + timedelta(seconds=lease_seconds)),
                Media.updated_at.set(now),
            ],
            condition=(Media.version == version) & Media.status.is_in(AWAITING_UPLOAD, PROCESSING),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _release(media: Media) -> None:
    try:
        media.update(
            actions=[Media.lease_until.remove()],
            condition=(Media.version == int(media.version)) & (Media.status == PROCESSING),
        )
    except Exception:  # noqa: BLE001 - the lease runs out by itself; the original error matters more
        log.warning("could not release a media lease", extra={"media_id": media.media_id})


def _fail(media: Media, code: str, message: str, now: datetime) -> Outcome:
    finished = fail(media, code, message, now, expected_status=PROCESSING)
    if finished is Finish.TAKEN:
        settle_gallery(media.gallery_id, now)
        return Outcome("in_progress", media.media_id)
    if finished is Finish.GONE:
        discard(media)
        return Outcome("ignored", media.media_id, "gallery_deleted")
    return Outcome("failed", media.media_id, code)


# --------------------------------------------------------------------------- watermark


_logos: dict[str, tuple[float, Any]] = {}


def watermark_for(merchant_id: str) -> Watermark:
    """The merchant's watermark from the catalog: {"text", "logo", "opacity"}, where "logo" is a
    key under branding/ in the renditions bucket. Without one: "© <shop name>"."""
    try:
        merchant = Merchant.get(Merchant.key(merchant_id))
    except DoesNotExist:
        return Watermark(text=f"© {merchant_id}")
    config = merchant.watermark.as_dict() if merchant.watermark else {}
    try:
        opacity = min(1.0, max(0.05, float(config.get("opacity", DEFAULT_OPACITY))))
    except (TypeError, ValueError):
        opacity = DEFAULT_OPACITY
    logo = _logo(str(config["logo"])) if config.get("logo") else None
    text = config.get("text") or (None if logo is not None else f"© {merchant.name}")
    return Watermark(text=text, logo=logo, opacity=opacity)


def _logo(key: str) -> Any:
    """The logo image, cached for a few minutes per container; None (text instead) if unusable."""
    if not key.startswith(BRANDING_PREFIX):
        log.warning("watermark logos live under branding/", extra={"logo": key})
        return None
    cached = _logos.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    try:
        data = storage.fetch(settings().renditions_bucket, key, MAX_UPLOAD_BYTES)
        image = pipeline.open_image(data, max_pixels=MAX_LOGO_PIXELS)
        image.load()
        logo = image.convert("RGBA")
    except (storage.UploadMissing, storage.UploadTooLarge, pipeline.RejectedImage, OSError) as error:
        log.warning("watermark logo unusable, using text", extra={"logo": key, "error": type(error).__name__})
        return None
    _logos[key] = (time.monotonic() + LOGO_CACHE_SECONDS, logo)
    return logo
