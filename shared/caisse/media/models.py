"""The media table: one item per gallery (who it is for, until when, what the client may do, how
many of its photos are still pending) and one per upload (its status, renditions, EXIF summary,
whether the client marked it a favourite). The table's stream (NEW_AND_OLD_IMAGES) is how the
notification work learns that a gallery became ready: a gallery item whose `status` moves to
"ready", with `ready_round` counting how many times it did (photos added to a ready gallery
reopen it).

One index, `by_parent` (parent, created_at), answers every list without a Scan: a merchant's
galleries sit under "MERCHANT#<merchant>", a gallery's photos under "GALLERY#<gallery_id>", and
uploads still waiting for their file under "AWAITING_UPLOAD", oldest first, where the sweep finds
the ones that never came (a photo moves to its gallery's list when its file arrives or the sweep
fails it)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from caisse.config import settings
from caisse.db import CaisseModel, LambdaMeta, document

AWAITING_UPLOAD = "awaiting_upload"
PROCESSING = "processing"
READY = "ready"
FAILED = "failed"
FINISHED = (READY, FAILED)

# A gallery is empty until its first upload, processing while photos are pending, ready when none
# is and at least one photo is ready, and deleting while its files and records are removed.
EMPTY = "empty"
DELETING = "deleting"
AWAITING_PARENT = "AWAITING_UPLOAD"


class ByParent(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_parent"
        projection = AllProjection()

    parent = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class MediaRecord(CaisseModel):
    class Meta(LambdaMeta):
        table_name = settings().media_table

    pk = UnicodeAttribute(hash_key=True)
    record_type = DiscriminatorAttribute(attr_name="type")
    parent = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    by_parent = ByParent()


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
    original = document(null=True)  # key (originals bucket), format, width, height, bytes, color_profile
    exif = document(null=True)
    renditions = document(null=True)  # name -> {key, width, height, bytes, content_type}
    favourite = BooleanAttribute(null=True)  # marked by the client
    created_by = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    processed_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(media_id: str) -> str:
        return f"MEDIA#{media_id}"


class Gallery(MediaRecord, discriminator="gallery"):
    merchant = UnicodeAttribute()
    merchant_name = UnicodeAttribute()
    gallery_id = UnicodeAttribute()
    title = UnicodeAttribute()
    client_name = UnicodeAttribute()
    client_email = UnicodeAttribute()
    client_locale = UnicodeAttribute(default="en")
    order_id = UnicodeAttribute(null=True)
    expires_at = UTCDateTimeAttribute()
    downloads = BooleanAttribute(default=False)  # may the client have the full rendition
    access_code_salt = UnicodeAttribute(null=True)  # the code is derived from it (links.py), never stored
    status = UnicodeAttribute()  # empty | processing | ready | deleting
    pending = NumberAttribute(default=0)  # photos not yet ready or failed
    ready_count = NumberAttribute(default=0)
    failed_count = NumberAttribute(default=0)
    favourite_count = NumberAttribute(default=0)
    ready_round = NumberAttribute(default=0)
    ready_at = UTCDateTimeAttribute(null=True)
    created_by = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()

    @staticmethod
    def key(gallery_id: str) -> str:
        return f"GALLERY#{gallery_id}"

    @staticmethod
    def listed_under(merchant: str) -> str:
        return f"MERCHANT#{merchant}"
