"""The media table: one item per upload (its status, renditions and EXIF summary) and one per
gallery (how many of its photos are still pending). The table's stream (NEW_AND_OLD_IMAGES) is
how the notification work learns that a gallery became ready: a gallery item whose `status`
moves to "ready", with `ready_round` counting how many times it did (photos added to a ready
gallery reopen it)."""

from __future__ import annotations

from pynamodb.attributes import (
    DiscriminatorAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from caisse.config import settings
from caisse.db import CaisseModel, LambdaMeta

AWAITING_UPLOAD = "awaiting_upload"
PROCESSING = "processing"
READY = "ready"
FAILED = "failed"
FINISHED = (READY, FAILED)


class MediaRecord(CaisseModel):
    class Meta(LambdaMeta):
        table_name = settings().media_table

    pk = UnicodeAttribute(hash_key=True)
    record_type = DiscriminatorAttribute(attr_name="type")


class Media(MediaRecord, discriminator="media"):
    media_id = UnicodeAttribute()
    merchant = UnicodeAttribute()
    gallery_id = UnicodeAttribute()
    purpose = UnicodeAttribute()
    filename = UnicodeAttribute()
    declared_type = UnicodeAttribute()
    declared_bytes = NumberAttribute()
    upload_key = UnicodeAttribute()
    status = UnicodeAttribute()
    version = NumberAttribute(default=0)  # every write is conditional on it
    attempts = NumberAttribute(default=0)
    lease_until = UTCDateTimeAttribute(null=True)  # while an invocation is processing it
    reason_code = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    original = MapAttribute(null=True)  # format, width, height, bytes, color_profile
    exif = MapAttribute(null=True)
    renditions = MapAttribute(null=True)  # name -> {key, width, height, bytes, content_type}
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    processed_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(media_id: str) -> str:
        return f"MEDIA#{media_id}"


class Gallery(MediaRecord, discriminator="gallery"):
    merchant = UnicodeAttribute()
    gallery_id = UnicodeAttribute()
    status = UnicodeAttribute()  # processing | ready
    pending = NumberAttribute(default=0)  # photos not yet ready or failed
    ready_count = NumberAttribute(default=0)
    failed_count = NumberAttribute(default=0)
    ready_round = NumberAttribute(default=0)
    ready_at = UTCDateTimeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()

    @staticmethod
    def key(merchant: str, gallery_id: str) -> str:
        return f"GALLERY#{merchant}#{gallery_id}"
