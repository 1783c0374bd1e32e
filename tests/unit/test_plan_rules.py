"""The platform plans' pure rules: the fee as people read it, which email a plan change sends, and
the sandbox's monthly billing cycle."""

from __future__ import annotations

import calendar
from dataclasses import replace

import pytest

from caisse.catalog.plans import fee_percent
from caisse.payments.base import PlanNotice
from caisse.payments.plans import email_for
from provider_sandbox.stripe_billing import add_month


@pytest.mark.parametrize(
    ("bps", "shown"), [(300, "3 %"), (150, "1.5 %"), (125, "1.25 %"), (0, "0 %"), (10_000, "100 %")]
)
def test_the_fee_reads_as_a_percentage_without_trailing_zeros(bps, shown):
    assert fee_percent(bps) == shown


def notice(kind: str, status: str | None) -> PlanNotice:
    return PlanNotice("stripe", "evt_1", kind, "m1", "starter", "sub_1", "cus_1", status, 1_800_000_000)


@pytest.mark.parametrize(
    ("kind", "old", "new", "email"),
    [
        ("checkout.session.completed", None, "active", "plan_active"),  # the first plan
        ("invoice.paid", "active", "active", None),  # a renewal: nothing to say
        ("invoice.payment_failed", "active", "past_due", "plan_payment_failed"),
        ("invoice.payment_failed", "past_due", "past_due", "plan_payment_failed"),  # each failed try
        ("customer.subscription.updated", "active", "past_due", None),  # the invoice's event told it
        ("invoice.paid", "past_due", "active", "plan_active"),  # active again
        ("customer.subscription.deleted", "past_due", "canceled", "plan_lapsed"),
        ("customer.subscription.updated", "past_due", "unpaid", "plan_lapsed"),
        ("customer.subscription.deleted", "unpaid", "canceled", None),  # lapsed already
    ],
)
def test_a_plan_change_emails_the_merchant_only_when_there_is_news(kind, old, new, email):
    assert email_for(old, new, notice(kind, new)) == email


def test_a_failed_payment_paid_by_the_time_its_event_is_applied_is_not_told_as_failed():
    # as_stripe_has_it reads the invoice from Stripe: paid since (Pay now, a retry), nothing failed to tell
    failed = replace(notice("invoice.payment_failed", "past_due"), invoice={"id": "in_1", "paid": False})
    paid_since = replace(notice("invoice.payment_failed", "active"), invoice={"id": "in_1", "paid": True})
    assert email_for("past_due", "past_due", failed) == "plan_payment_failed"
    assert email_for("past_due", "active", paid_since) == "plan_active"


def test_a_failed_invoice_is_told_once_not_again_for_each_retry():
    failed = replace(notice("invoice.payment_failed", "past_due"), invoice={"id": "in_1", "paid": False})
    assert email_for("active", "past_due", failed, told={"id": "in_0", "paid": True}) == "plan_payment_failed"
    assert email_for("past_due", "past_due", failed, told={"id": "in_1", "paid": False}) is None
    another = replace(failed, invoice={"id": "in_2", "paid": False})  # next month's renewal failing too
    assert email_for("past_due", "past_due", another, told={"id": "in_1", "paid": False}) == "plan_payment_failed"


@pytest.mark.parametrize(
    ("kind", "old", "new", "email"),
    [
        ("customer.subscription.updated", "active", "active", "plan_changed"),  # moved to another plan
        ("invoice.paid", "active", "active", "plan_changed"),  # its proration invoice told it first
        ("invoice.paid", "past_due", "active", "plan_active"),  # active again says more
        ("invoice.payment_failed", "active", "past_due", "plan_payment_failed"),  # the difference was not paid
        ("customer.subscription.deleted", "active", "canceled", "plan_lapsed"),
    ],
)
def test_moving_to_another_plan_is_news_unless_a_bigger_one_is_told(kind, old, new, email):
    assert email_for(old, new, notice(kind, new), other_plan=True) == email


@pytest.mark.parametrize(
    ("start", "then"),
    [
        ((2026, 1, 15, 9, 30, 0), (2026, 2, 15, 9, 30, 0)),
        ((2026, 1, 31, 0, 0, 0), (2026, 2, 28, 0, 0, 0)),  # a shorter month ends the period on its last day
        ((2028, 1, 31, 0, 0, 0), (2028, 2, 29, 0, 0, 0)),
        ((2026, 12, 5, 12, 0, 0), (2027, 1, 5, 12, 0, 0)),
    ],
)
def test_the_sandbox_bills_monthly_on_the_same_day(start, then):
    assert add_month(calendar.timegm(start)) == calendar.timegm(then)


@pytest.mark.parametrize(
    ("kind", "old", "new", "email"),
    [
        ("customer.subscription.updated", "active", "active", "plan_ending"),  # set to end with its period
        ("customer.subscription.updated", "past_due", "past_due", "plan_ending"),
        ("customer.subscription.deleted", "active", "canceled", "plan_lapsed"),  # the end has come
    ],
)
def test_a_plan_set_to_end_tells_the_merchant_once_when_it_will(kind, old, new, email):
    assert email_for(old, new, notice(kind, new), ending=True) == email
