"""Uploads whose file never came. A media record still `awaiting_upload` long after its presigned
URL expired (NEVER_UPLOADED_AFTER_SECONDS) is failed with the reason "never_uploaded", counted on
its gallery like any failed photo, and the gallery settles: it becomes ready with the photos that
did arrive, and its client gets the gallery-ready email, instead of staying pending forever.

The index lists waiting uploads oldest first under one key, so a sweep reads only what is due.
Each record moves with the same conditional transaction the image function uses: a file that
arrives while the sweep runs wins if its function claims the record first, and is ignored (and
expires with the uploads bucket's lifecycle rule) if the sweep was first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from caisse.clock import iso, utcnow
from caisse.media.models import AWAITING_PARENT, AWAITING_UPLOAD, Media
from caisse.media.outcomes import Finish, discard, fail, settle_gallery
from caisse.media.rules import NEVER_UPLOADED_AFTER_SECONDS

REASON = "the file was never uploaded; its upload link expired (upload the photo again)"


@dataclass
class SweepReport:
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # the file arrived meanwhile
    discarded: list[str] = field(default_factory=list)  # their gallery was deleted

    def as_dict(self) -> dict[str, object]:
        return {"failed": self.failed, "skipped": self.skipped, "discarded": self.discarded}


def sweep_uploads(*, now: datetime | None = None, limit: int = 1000) -> SweepReport:
    now = now or utcnow()
    cutoff = iso(now - timedelta(seconds=NEVER_UPLOADED_AFTER_SECONDS))
    report = SweepReport()
    due = Media.by_parent.query(AWAITING_PARENT, Media.created_at < cutoff, limit=limit)
    for media in due:
        if not isinstance(media, Media) or media.status != AWAITING_UPLOAD:
            continue
        outcome = fail(media, "never_uploaded", REASON, now, expected_status=AWAITING_UPLOAD)
        if outcome is Finish.DONE:
            report.failed.append(media.media_id)
        elif outcome is Finish.GONE:
            discard(media)
            report.discarded.append(media.media_id)
        else:  # its file arrived meanwhile (or a retried request found this sweep's own write)
            settle_gallery(media.gallery_id, now)
            report.skipped.append(media.media_id)
    return report
