"""Work lists: what staff must act on that is not an order's stage. Refunds owed by hand to
mobile-money customers (with what the payout needs: who, which phone, how much), and money that
arrived for no order (incidents, the platform's). Orders flagged for review and disputed orders
are filters of the order list (status needs_review, money state disputed).

Both lists are partitions of the orders table's sparse work_lists index, oldest first: an item is
on its list while it needs someone (an owed refund until its payout is confirmed, an incident
until it is resolved) and leaves it in the same write that settles it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pynamodb.exceptions import UpdateError

from caisse.catalog.service import merchant_ids
from caisse.clock import iso, utcnow
from caisse.config import settings
from caisse.db import batch_get, decode_cursor, encode_cursor, query_partitions
from caisse.errors import Conflict, Forbidden, NotFound
from caisse.orders import index, personal
from caisse.orders.models import INCIDENT_SK, ORDER_SK, PERSONAL_SK, Incident, Order, PersonalData, Refund
from caisse.orders.service import refund_view
from caisse.staff import Staff

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def _page(
    partitions: list[str], limit: int, cursor: str | None, fingerprint: str
) -> tuple[list[dict[str, Any]], str | None]:
    """The next keys of one or more work-list partitions, oldest first, merged."""
    keys, more = query_partitions(
        settings().orders_table,
        "work_lists",
        ("work_list", partitions),
        ("work_at", index.LOWEST, index.HIGHEST),
        forward=True,
        limit=limit,
        after=decode_cursor(cursor, fingerprint),
    )
    return keys, encode_cursor(keys[-1]["work_at"]["S"] if keys and more else None, fingerprint)


def owed_refunds(
    staff: Staff, merchant: str | None, *, limit: int = PAGE_SIZE, cursor: str | None = None
) -> dict[str, Any]:
    """Refunds owed to customers by hand (no refund API: CamPay, PayDunya), oldest first, each
    with its order and what the payout needs."""
    merchants = staff.scope(merchant, "these refunds") or merchant_ids()
    partitions = [index.work_list(index.WORK_REFUNDS_OWED, m) for m in merchants]
    fingerprint = hashlib.sha256("|".join(["refunds", *merchants]).encode()).hexdigest()[:16]
    keys, next_cursor = _page(partitions, limit, cursor, fingerprint)
    wanted: list[tuple[Any, str, str]] = []
    for key in keys:
        wanted.append((Refund, key["pk"]["S"], key["sk"]["S"]))
        wanted.append((Order, key["pk"]["S"], ORDER_SK))
        wanted.append((PersonalData, key["pk"]["S"], PERSONAL_SK))  # the phone to pay back to
    records = batch_get(list(dict.fromkeys(wanted)))
    orders = {r.pk: r for r in records if isinstance(r, Order)}
    sealed = {r.pk: r for r in records if isinstance(r, PersonalData)}
    refunds = {(r.pk, r.sk): r for r in records if isinstance(r, Refund)}
    rows = []
    for key in keys:
        refund = refunds.get((key["pk"]["S"], key["sk"]["S"]))
        order = orders.get(key["pk"]["S"])
        if refund is None or order is None or refund.status != "owed" or order.merchant not in merchants:
            continue  # paid out a moment ago (the index lags the write)
        row = {
            **refund_view(refund),
            "merchant": order.merchant,
            "order": {
                "order_id": order.order_id,
                "order_number": order.order_number,
                "provider": order.provider,
                "paid": order.paid.as_dict(),
            },
        }
        # The person paying it back needs the number: decrypted for them, and the read recorded.
        if row.get("payout") is not None:
            personal.reveal_payout(row, order, staff.actor_id, sealed.get(order.pk))
            phone = row["payout"].get("to")
        else:
            revealed = personal.reveal(
                order, staff.actor_id, "refund_payout", want_answers=False, record=sealed.get(order.pk)
            )
            phone = revealed.get(personal.PHONE)
        row["pay_to"] = {
            "name": order.customer.name,
            "phone": phone,
            "email": order.customer.email,
            "provider": order.provider,
        }
        rows.append(row)
    return {"refunds": rows, "next_cursor": next_cursor}


def incident_id(incident: Incident) -> str:
    """An incident's id in URLs: "<provider>:<reference>"."""
    return incident.pk.split("#", 1)[1].replace("#", ":", 1)


def incident_view(incident: Incident) -> dict[str, Any]:
    return {
        "incident_id": incident_id(incident),
        "status": incident.status,
        "provider": incident.provider,
        "event_type": incident.event_type,
        "event_id": incident.event_id,
        "provider_ref": incident.provider_ref,
        "payment_ref": incident.payment_ref,
        "claimed_order_id": incident.claimed_order_id,
        "amount": {"amount": int(incident.amount), "currency": incident.currency}
        if incident.amount is not None and incident.currency
        else None,
        "at": iso(incident.at),
        "resolution": incident.resolution.as_dict() if incident.resolution else None,
    }


def _platform_only(staff: Staff) -> None:
    if not staff.platform:
        raise Forbidden("money that arrived for no order is the platform's to sort out")


def open_incidents(staff: Staff, *, limit: int = PAGE_SIZE, cursor: str | None = None) -> dict[str, Any]:
    """Money a provider took for no order Caisse knows, oldest first, until staff resolve it."""
    _platform_only(staff)
    partition = index.work_list(index.WORK_INCIDENTS, index.PLATFORM)
    keys, next_cursor = _page([partition], limit, cursor, "incidents")
    records = batch_get([(Incident, key["pk"]["S"], key["sk"]["S"]) for key in keys])
    found = {r.pk: r for r in records if isinstance(r, Incident)}
    rows = [incident_view(found[k["pk"]["S"]]) for k in keys if k["pk"]["S"] in found]
    return {"incidents": [row for row in rows if row["status"] == "open"], "next_cursor": next_cursor}


def resolve_incident(incident_key: str, staff: Staff, note: str) -> dict[str, Any]:
    """Staff refunded the money at the provider or matched it to an order: the incident leaves
    the list, with who, when and what they did."""
    _platform_only(staff)
    provider, _, reference = incident_key.partition(":")
    if not provider or not reference:
        raise NotFound("no such incident")
    try:
        incident = Incident.get(Incident.key(provider, reference), INCIDENT_SK, consistent_read=True)
    except Incident.DoesNotExist:
        raise NotFound("no such incident") from None
    if incident.status == "resolved":
        return incident_view(incident)
    resolution = {"by": staff.actor_id, "at": iso(utcnow()), "note": note}
    try:
        incident.update(
            actions=[
                Incident.status.set("resolved"),
                Incident.resolution.set(resolution),
                Incident.work_list.remove(),
                Incident.work_at.remove(),
            ],
            condition=Incident.status == "open",
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise Conflict("this incident was resolved meanwhile; reload it") from error
    return incident_view(incident)
