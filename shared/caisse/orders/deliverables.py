"""The file a customer receives at the end (a song, a video): staff upload it straight to S3 with
a presigned PUT, the order remembers its key, and the delivery email links to it through our own
download route (see caisse.orders.links)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from pynamodb.exceptions import DoesNotExist

from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.db import aws_client
from caisse.errors import Forbidden, NotFound
from caisse.orders import links
from caisse.orders.models import ORDER_SK, Order, order_pk
from caisse.staff import Staff

UPLOAD_SECONDS = 15 * 60
MAX_DELIVERABLE_BYTES = 2 * 1024**3  # a song, a video: 2 GiB (one S3 PUT takes at most 5 GB)
DOWNLOAD_SECONDS = 5 * 60

_client = None


def _s3() -> Any:  # a boto3 client (boto3 ships no types)
    global _client
    if _client is None:
        _client = aws_client("s3", Config(signature_version="s3v4"))
    return _client


def _order(order_id: str) -> Order:
    try:
        return Order.get(order_pk(order_id), ORDER_SK, consistent_read=True)
    except DoesNotExist:
        raise NotFound("no such order") from None


def attach(order_id: str, staff: Staff, filename: str, content_type: str, size: int) -> dict[str, Any]:
    """Presigned PUT for the deliverable, recorded on the order and in its history (a later upload
    replaces it). Its content type and exact size are signed headers, so S3 refuses any other file,
    as for photos."""
    from caisse.orders.service import record_action  # the service checks uploads here: import when used

    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip(".-")[:100] or "file"
    key = f"orders/{order_id}/{uuid.uuid4().hex[:8]}-{safe}"
    record_action(
        order_id,
        staff,
        "deliverable",
        changes={"deliverable": key, "content_type": content_type},
        writes=lambda bundle, tx: [Order.deliverable_key.set(key)],
    )
    url = _s3().generate_presigned_url(
        "put_object",
        Params={
            "Bucket": settings().deliverables_bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": size,
        },
        ExpiresIn=UPLOAD_SECONDS,
    )
    headers = {"Content-Type": content_type, "Content-Length": str(size)}
    return {"key": key, "upload": {"url": url, "method": "PUT", "headers": headers}}


def uploaded(order: Order) -> bool:
    """Whether the file staff attached was really uploaded (a presigned PUT may never be used)."""
    if not order.deliverable_key:
        return False
    try:
        _s3().head_object(Bucket=settings().deliverables_bucket, Key=order.deliverable_key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def delete(key: str) -> None:
    """The delivered file, gone (its customer's personal data was erased)."""
    _s3().delete_object(Bucket=settings().deliverables_bucket, Key=key)


def download_offer(order: Order, token_key: str) -> dict[str, Any] | None:
    """What the customer's order page offers: a signed download link while the delivery's
    download window is open (it opens again each time staff send the delivery email again)."""
    if not order.deliverable_key or not order.download_until or order.erased_at:
        return None
    if order.download_until <= utcnow():
        return {"available": False, "expired_at": iso(order.download_until)}
    url, expires_at = links.download_link(order.order_id, token_key, until=order.download_until)
    return {"available": True, "url": url, "expires_at": expires_at}


def download_url(order_id: str, expires: int, signature: str, token_key: str) -> str:
    """A fresh short-lived presigned GET, if the email's link is genuine and not expired."""
    if not links.download_allowed(order_id, expires, signature, token_key):
        raise Forbidden("this download link is not valid or has expired; ask the shop for a new one")
    order = _order(order_id)
    if not order.deliverable_key:
        raise NotFound("nothing has been delivered for this order yet")
    url: str = _s3().generate_presigned_url(
        "get_object",
        Params={"Bucket": settings().deliverables_bucket, "Key": order.deliverable_key},
        ExpiresIn=DOWNLOAD_SECONDS,
    )
    return url
