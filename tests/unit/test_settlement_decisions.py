"""settlement.decide: which move a verified notice makes, for every order status."""

from datetime import UTC, datetime

import pytest

from caisse.orders.models import ORDER_SK, Customer, Order, order_pk
from caisse.orders.service import OrderBundle
from caisse.payments.base import Outcome, PaymentNotice
from caisse.payments.settlement import Decision, decide, owns


def bundle(status: str, total=9900, currency="USD") -> OrderBundle:
    now = datetime.now(UTC)
    return OrderBundle(
        Order(
            order_pk("o1"),
            ORDER_SK,
            order_id="o1",
            order_number="SC-2026-0001",
            merchant="songstudio",
            status=status,
            version=3,
            currency=currency,
            total_amount=total,
            items=[],
            customer=Customer(name="A", email="a@example.test", locale="en"),
            stages=["discovery", "delivered"],
            provider="stripe",
            provider_ref="cs_ours",
            request_fingerprint="x",
            created_at="2026-01-01T00:00:00Z",
            updated_at=now,
            expires_at=now,
        )
    )


def notice(outcome: Outcome, amount=9900, currency="USD") -> PaymentNotice:
    return PaymentNotice("stripe", "evt_1", "x", outcome, "o1", amount=amount, currency=currency, reason="why")


@pytest.mark.parametrize(
    ("status", "outcome", "target"),
    [
        ("pending_payment", Outcome.PAID, "paid"),
        ("payment_failed", Outcome.PAID, "paid"),
        ("pending_payment", Outcome.FAILED, "payment_failed"),
        ("pending_payment", Outcome.EXPIRED, "expired"),
        ("payment_failed", Outcome.EXPIRED, "expired"),
        ("paid", Outcome.FAILED, None),
        ("paid", Outcome.EXPIRED, None),
        ("paid", Outcome.PAID, None),
        ("discovery", Outcome.FAILED, None),
        ("pending_payment", Outcome.PENDING, None),
        ("pending_payment", Outcome.IGNORED, None),
        ("payment_failed", Outcome.FAILED, None),
        ("expired", Outcome.PAID, "needs_review"),
        ("needs_review", Outcome.PAID, None),
    ],
)
def test_decide(status, outcome, target):
    assert decide(bundle(status), notice(outcome)).target == target


@pytest.mark.parametrize(("amount", "currency"), [(100, "USD"), (9900, "EUR"), (None, None), (9901, "USD")])
def test_a_paid_event_that_does_not_match_the_order_is_flagged_not_paid(amount, currency):
    decision = decide(bundle("pending_payment"), notice(Outcome.PAID, amount, currency))
    assert decision.target == "needs_review"
    assert "amount mismatch" in decision.reason


def test_zero_decimal_amounts_compare_as_integers():
    assert decide(bundle("pending_payment", 60000, "XAF"), notice(Outcome.PAID, 60000, "XAF")).target == "paid"


def test_events_about_another_checkout_of_the_same_order_do_not_move_it():
    other = PaymentNotice("stripe", "evt_2", "checkout.session.expired", Outcome.EXPIRED, "o1", provider_ref="cs_other")
    assert decide(bundle("pending_payment"), other) == Decision(None, record=False)
    ours = PaymentNotice("stripe", "evt_3", "checkout.session.expired", Outcome.EXPIRED, "o1", provider_ref="cs_ours")
    assert decide(bundle("pending_payment"), ours).target == "expired"
    paid_elsewhere = PaymentNotice(
        "stripe", "evt_4", "checkout.session.completed", Outcome.PAID, "o1", 9900, "USD", provider_ref="cs_other"
    )
    assert decide(bundle("pending_payment"), paid_elsewhere).target == "needs_review"


@pytest.mark.parametrize(
    ("status", "amount", "target", "money"),
    [
        ("pending_payment", 9900, "paid", True),
        ("pending_payment", 100, "needs_review", True),  # money arrived, the wrong amount: a person checks
        ("expired", 9900, "needs_review", True),  # money after closing: flagged, and it is money
        ("paid", 9900, None, False),
    ],
)
def test_a_payment_brings_money_whatever_status_it_leads_to(status, amount, target, money):
    decision = decide(bundle(status), notice(Outcome.PAID, amount))
    assert (decision.target, decision.money) == (target, money)


def test_money_for_a_closed_order_is_marked_late():
    assert decide(bundle("cancelled"), notice(Outcome.PAID)).late is True
    assert decide(bundle("pending_payment"), notice(Outcome.PAID)).late is False


def test_only_the_account_that_owns_an_order_settles_it():
    from dataclasses import replace

    platform_order = bundle("pending_payment").order
    tradie_order = bundle("pending_payment").order
    tradie_order.connect_account = "acct_1Tradie"
    from_platform = notice(Outcome.PAID)
    from_tradie = replace(from_platform, account="acct_1Tradie")
    from_other = replace(from_platform, account="acct_1Other")
    assert owns(platform_order, from_platform) and owns(tradie_order, from_tradie)
    assert not owns(platform_order, from_tradie)  # a tradie naming a festival order
    assert not owns(tradie_order, from_other)  # a tradie naming another tradie's booking
    assert not owns(tradie_order, from_platform)
