"""Stripe's events about a move to another plan, applied to the emulated catalog: the two events
of one move (the subscription's update and its proration invoice) may be applied at the same
moment; the one that finds the merchant moved reads it again, so both are kept and the move's
email is written once."""

from __future__ import annotations

from caisse.catalog.models import Merchant
from caisse.catalog.service import get_merchant
from caisse.db import Transaction
from caisse.orders.models import PLAN_CHANGE_SK, MerchantNotice
from caisse.payments.base import PlanNotice
from caisse.payments.plans import apply

MOVE_AT = 1_800_000_000
INVOICE = {"id": "in_up", "amount": 4966, "currency": "AUD", "paid": True, "next_attempt": None, "at": MOVE_AT}


def on_starter(merchant_id: str) -> None:
    get_merchant(merchant_id).update(
        actions=[
            Merchant.plan.set("starter"),
            Merchant.platform_fee_bps.set(300),
            Merchant.plan_status.set("active"),
            Merchant.stripe_subscription.set("sub_1"),
            Merchant.stripe_customer.set("cus_1"),
            Merchant.plan_event_at.set(MOVE_AT - 60),
        ]
    )


def move(event_id: str, kind: str, invoice: dict | None = None) -> PlanNotice:
    return PlanNotice("stripe", event_id, kind, "lumen", "pro", "sub_1", "cus_1", "active", MOVE_AT, invoice=invoice)


def emails_written(merchant_id: str, *event_ids: str) -> list[str]:
    found = []
    for event_id in event_ids:
        try:
            found.append(MerchantNotice.get(MerchantNotice.key(merchant_id, event_id), PLAN_CHANGE_SK).kind)
        except MerchantNotice.DoesNotExist:
            pass
    return found


def test_the_two_events_of_one_move_applied_at_once_keep_both_and_email_once(aws):
    on_starter("lumen")
    update = move("evt_update", "customer.subscription.updated")
    paid = move("evt_invoice", "invoice.paid", INVOICE)
    results: list[str] = []

    def the_update_lands_first(tx: Transaction, result: str) -> None:
        if not results:  # between the invoice event's read and its write: the update commits
            results.append(apply(update, lambda tx, result: None))

    assert apply(paid, the_update_lands_first) == "plan_updated"
    assert results == ["plan_updated"]
    merchant = get_merchant("lumen")
    assert (merchant.plan, int(merchant.platform_fee_bps)) == ("pro", 150)
    assert merchant.billing.as_dict()["last_invoice"] == INVOICE  # the invoice's news was kept
    assert emails_written("lumen", "evt_update", "evt_invoice") == ["plan_changed"]


def test_the_same_move_told_again_later_changes_nothing_and_emails_nothing(aws):
    on_starter("lumen")
    assert apply(move("evt_update", "customer.subscription.updated"), lambda tx, result: None) == "plan_updated"
    assert apply(move("evt_invoice", "invoice.paid", INVOICE), lambda tx, result: None) == "plan_updated"
    assert emails_written("lumen", "evt_update", "evt_invoice") == ["plan_changed"]
    assert get_merchant("lumen").plan == "pro"
