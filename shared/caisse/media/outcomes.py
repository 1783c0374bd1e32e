"""What became of a photo, recorded: the photo's record and its gallery's counts move together in
one conditional transaction, then the gallery becomes ready if nothing is pending any more.
Shared by the image function and the upload sweep (no Pillow here).

The gallery-ready email comes from the gallery item's change into "ready" on the table's stream,
so settling twice is harmless: only the first write matches its condition.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from caisse.db import Transaction, TransactionCancelled
from caisse.media.models import DELETING, EMPTY, FAILED, PROCESSING, READY, Gallery, Media


class Finish(Enum):
    DONE = "done"
    TAKEN = "taken"  # another invocation moved the record first (its result stands)
    GONE = "gone"  # the gallery, or the record itself, is being deleted


def finish(media: Media, actions: list[Any], counter: Any, now: datetime, *, expected_status: str) -> Finish:
    """Record the outcome (moving the photo to its gallery's list) and count it on the gallery, if
    the record is still the version read and in `expected_status`."""
    version = int(media.version)
    tx = Transaction()
    tx.update(
        media,
        actions=[
            *actions,
            Media.parent.set(Gallery.key(media.gallery_id)),
            Media.version.set(version + 1),
            Media.lease_until.remove(),
            Media.updated_at.set(now),
        ],
        condition=(Media.version == version) & (Media.status == expected_status),
        label="media",
    )
    tx.update(
        Gallery(Gallery.key(media.gallery_id)),
        actions=[Gallery.pending.add(-1), counter.add(1), Gallery.updated_at.set(now)],
        condition=Gallery.pk.exists() & (Gallery.status != DELETING),
        label="gallery",
    )
    try:
        tx.commit()
    except TransactionCancelled as cancelled:
        if "gallery" in cancelled.failed:
            return Finish.GONE
        if "media" in cancelled.failed:
            return Finish.TAKEN if _exists(media) else Finish.GONE
        raise
    return Finish.DONE


def fail(media: Media, code: str, message: str, now: datetime, *, expected_status: str) -> Finish:
    """A photo that will never have renditions, with the reason staff see."""
    finished = finish(
        media,
        [Media.status.set(FAILED), Media.reason_code.set(code), Media.reason.set(message)],
        Gallery.failed_count,
        now,
        expected_status=expected_status,
    )
    if finished is Finish.DONE:
        settle_gallery(media.gallery_id, now)
    return finished


def settle_gallery(gallery_id: str, now: datetime) -> bool:
    """The gallery becomes ready when none of its photos is pending and at least one is ready.
    The stream turns that change into the gallery-ready emails."""
    gallery = Gallery(Gallery.key(gallery_id))
    try:
        gallery.update(
            actions=[
                Gallery.status.set(READY),
                Gallery.ready_at.set(now),
                Gallery.ready_round.add(1),
                Gallery.updated_at.set(now),
            ],
            condition=(Gallery.pending == 0) & (Gallery.ready_count > 0) & Gallery.status.is_in(EMPTY, PROCESSING),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def discard(media: Media) -> None:
    """Delete the record of a photo whose gallery is going away, if it is still the version read
    (the gallery's deletion may have removed it already)."""
    try:
        media.delete(condition=Media.version == int(media.version))
    except DeleteError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def _exists(media: Media) -> bool:
    try:
        Media.get(media.pk, consistent_read=True)
    except DoesNotExist:
        return False
    return True
