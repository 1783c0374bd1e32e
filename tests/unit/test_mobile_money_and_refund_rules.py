"""Provider-side checks that need no provider: callback and IPN authenticity, limits, notice
reading, and the refund policy's cap on the total refunded."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import jwt
import pytest
from order_history import entry

from caisse.errors import InvalidRequest
from caisse.money import Money
from caisse.orders.models import ORDER_SK, Customer, HistoryEntry, Order, Refund, order_pk
from caisse.orders.refunds import (
    customer_may_give_back,
    payment_for,
    payments_left,
    refund_cap,
    refundable,
    terms,
)
from caisse.orders.service import OrderBundle
from caisse.payments.base import CheckoutSpec, InvalidWebhook, Outcome
from caisse.payments.campay.provider import CamPay, normalise_phone, verify_callback
from caisse.payments.paydunya.provider import PayDunya, read_ipn, verify_ipn
from caisse.payments.registry import provider_for

KEY = "campay-webhook-key-for-tests"


def test_campay_callback_needs_a_jwt_signed_hs256_with_our_key():
    good = jwt.encode({"iat": int(time.time())}, KEY, algorithm="HS256")
    assert verify_callback({"signature": good, "reference": "r1"}, KEY) == "r1"
    forged = [
        jwt.encode({"iat": int(time.time())}, "another-key", algorithm="HS256"),
        jwt.encode({"iat": int(time.time())}, None, algorithm="none"),  # alg: none
        jwt.encode({"exp": int(time.time()) - 120}, KEY, algorithm="HS256"),  # expired beyond the leeway
        "not.a.jwt",
        "",
    ]
    for signature in forged:
        with pytest.raises(InvalidWebhook):
            verify_callback({"signature": signature, "reference": "r1"}, KEY)


@pytest.mark.parametrize("skew", [5, 30])
def test_a_campay_clock_ahead_of_ours_still_verifies(skew):
    """CamPay's clock is not ours: a token minted in our near future (iat, nbf) is genuine."""
    now = int(time.time()) + skew
    token = jwt.encode({"iat": now, "nbf": now, "exp": now + 300}, KEY, algorithm="HS256")
    assert verify_callback({"signature": token, "reference": "r1"}, KEY) == "r1"
    with pytest.raises(InvalidWebhook):  # what zero leeway did to a real payment
        verify_callback({"signature": token, "reference": "r1"}, KEY, leeway=0)


def test_campay_reads_amounts_the_way_campay_writes_them():
    notice = CamPay().notice(
        {
            "reference": "r1",
            "status": "SUCCESSFUL",
            "amount": 60000.0,
            "currency": "XAF",
            "external_reference": "o1",
            "operator_reference": "MP1",
        },
        "r1",
    )
    assert (notice.outcome, notice.amount, notice.order_id, notice.event_id) == (
        Outcome.PAID,
        60000,
        "o1",
        "r1:SUCCESSFUL",
    )
    assert CamPay().notice({"reference": "r1", "status": "FAILED", "amount": "x"}, "r1").outcome is Outcome.FAILED


def test_campay_ids_come_from_the_reference_asked_about_not_the_answer():
    """CamPay's examples send no external_reference, and an answer may lack the reference: the
    notice names the transaction we asked about, and claims no order."""
    notice = CamPay().notice({"status": "SUCCESSFUL", "amount": "60000", "currency": "XAF"}, "r9")
    assert (notice.event_id, notice.provider_ref, notice.order_id) == ("r9:SUCCESSFUL", "r9", None)


def test_a_paydunya_confirm_answer_without_a_token_still_names_the_invoice():
    confirmation = {"response_code": "00", "status": "completed", "invoice": {"total_amount": "5000"}}
    notice = PayDunya().notice(confirmation, "test_tok1")
    assert (notice.event_id, notice.provider_ref, notice.amount) == ("test_tok1:completed", "test_tok1", 5000)
    assert "None" not in notice.event_id


@pytest.mark.parametrize("phone", ["237677777777", "+237 6 77 77 77 77", "237222111111"])
def test_cameroon_numbers_accepted(phone):
    assert normalise_phone(phone).startswith("237")


@pytest.mark.parametrize("phone", [None, "677777777", "22670000000", "2376777777", "23767777777777"])
def test_other_numbers_refused_before_any_call(phone):
    with pytest.raises(InvalidRequest) as raised:
        normalise_phone(phone)
    assert raised.value.code == "invalid_phone"


def test_paydunya_ipn_hash_is_sha512_of_the_master_key():
    master = "test-master-key"
    body = (
        "data%5Bhash%5D="
        + hashlib.sha512(master.encode()).hexdigest()
        + "&data%5Binvoice%5D%5Btoken%5D=tok_1&data%5Bstatus%5D=completed"
    ).encode()
    assert verify_ipn(read_ipn(body), master) == "tok_1"
    with pytest.raises(InvalidWebhook):
        verify_ipn(read_ipn(body), "another-master-key")
    with pytest.raises(InvalidWebhook):
        verify_ipn(read_ipn(b"data%5Binvoice%5D%5Btoken%5D=tok_1"), master)


def spec(amount: int, currency: str = "XOF") -> CheckoutSpec:
    return CheckoutSpec(
        "o1",
        "OL-2026-0001",
        "ouaga-live",
        [],
        Money(amount, currency),
        "A",
        "a@b.test",
        "fr",
        datetime.now(UTC),
        "https://r",
        "https://c",
        "k",
    )


@pytest.mark.parametrize(("amount", "ok"), [(99, False), (100, True), (10_000_000, True), (10_000_001, False)])
def test_paydunya_limits(amount, ok):
    if ok:
        PayDunya().check(spec(amount))
    else:
        with pytest.raises(InvalidRequest) as raised:
            PayDunya().check(spec(amount))
        assert raised.value.code == "amount_out_of_range"


def test_provider_follows_currency_choice_and_merchant_routes():
    assert provider_for("XAF", None).name == "campay"
    assert provider_for("XOF", None).name == "paydunya"
    assert provider_for("USD", None).name == "stripe"
    assert provider_for("USD", "paypal").name == "paypal"
    for currency, requested in (("XAF", "paypal"), ("XOF", "stripe"), ("JPY", None)):
        with pytest.raises(InvalidRequest):
            provider_for(currency, requested)
    with pytest.raises(InvalidRequest):
        provider_for("USD", "paypal", {"USD": ["stripe"]})


def test_a_signed_up_merchants_account_is_paid_through_stripe_alone_on_that_account():
    stripe = provider_for("USD", None, None, "acct_1PhotoLocal")
    assert (stripe.name, stripe.account) == ("stripe", "acct_1PhotoLocal")
    with pytest.raises(InvalidRequest) as paypal:
        provider_for("USD", "paypal", None, "acct_1PhotoLocal")
    assert (paypal.value.code, paypal.value.details["providers"]) == ("provider_not_available", ["stripe"])
    with pytest.raises(InvalidRequest) as mobile_money:
        provider_for("XAF", None, None, "acct_1PhotoLocal")  # CamPay's currency: never on a connected account
    assert mobile_money.value.code == "currency_not_supported"
    assert provider_for("USD", None).account is None  # the demo shops: the platform's own account


def order(
    status: str,
    refunded: int = 0,
    policy=None,
    money: str = "paid",
    reserved: int = 0,
    paid: int | None = None,
    history: list[HistoryEntry] | None = None,
    balance: dict | None = None,
) -> OrderBundle:
    now = datetime.now(UTC)
    return OrderBundle(
        Order(
            order_pk("o1"),
            ORDER_SK,
            order_id="o1",
            order_number="SC-1",
            merchant="songstudio",
            status=status,
            money_state=money,
            version=2,
            currency="USD",
            total_amount=9900,
            paid_amount=paid,
            items=[],
            customer=Customer(name="A", email="a@b.test"),
            stages=["discovery", "production", "delivered"],
            provider="stripe",
            request_fingerprint="f",
            created_at="x",
            updated_at=now,
            expires_at=now,
            refunded_amount=refunded,
            refund_reserved=reserved,
            refund_policy=policy,
            balance=balance,
        ),
        history=history or [],
    )


SONG_POLICY = {"paid": 100, "discovery": 100, "writing": 100, "production": 50, "review": 50, "delivered": 0}


@pytest.mark.parametrize(
    ("status", "money", "refunded", "reserved", "expected"),
    [
        ("paid", "paid", 0, 0, 9900),
        ("discovery", "paid", 0, 0, 9900),
        ("production", "paid", 0, 0, 4950),
        ("delivered", "paid", 0, 0, 0),
        ("paid", "partially_refunded", 4000, 0, 5900),
        # The cap is on the TOTAL: a second refund in production cannot pay the other half.
        ("production", "partially_refunded", 4950, 0, 0),
        ("production", "partially_refunded", 1000, 0, 3950),
        # A refund still waiting for the provider counts against the cap too.
        ("production", "paid", 0, 3000, 1950),
        ("pending_payment", "unpaid", 0, 0, 0),
        ("production", "disputed", 0, 0, 0),
        ("paid", "charged_back", 0, 0, 0),
        ("paid", "refunded", 9900, 0, 0),
    ],
)
def test_song_studio_refund_policy_caps_the_total(status, money, refunded, reserved, expected):
    bundle = order(status, refunded, SONG_POLICY, money=money, reserved=reserved)
    assert refundable(bundle) == Money(expected, "USD")


def test_staff_see_the_policy_share_and_what_is_left_before_refunding():
    shown = terms(order("production", 1000, SONG_POLICY, money="partially_refunded"))
    assert shown == {
        "stage": "production",
        "percent": 50,
        "cap": {"amount": 4950, "currency": "USD"},
        "refundable": {"amount": 3950, "currency": "USD"},
    }


def test_without_a_policy_everything_paid_is_refundable():
    assert refundable(order("paid")) == Money(9900, "USD")


def test_the_cap_is_a_share_of_what_was_received():
    assert refund_cap(order("production", policy=SONG_POLICY, paid=8000)) == Money(4000, "USD")


BALANCE_PAID = {"status": "paid", "amount": {"amount": 15000, "currency": "USD"}, "payment_ref": "pi_balance"}


def refund_record(amount: int, status: str = "succeeded", payment_ref: str | None = None) -> Refund:
    return Refund(
        order_pk("o1"),
        Refund.key(f"r{amount}{status}{payment_ref}"),
        refund_id="r",
        amount=amount,
        currency="USD",
        status=status,
        requested_by="staff:x",
        requested_at=datetime.now(UTC),
        provider="stripe",
        payment_ref=payment_ref,
    )


def test_a_bookings_deposit_and_balance_are_received_and_refunded_each_on_its_own_payment():
    job = order("paid", refunded=5000, money="partially_refunded", balance=BALANCE_PAID)
    job.refunds.append(refund_record(5000, payment_ref="pi_balance"))  # made in the tradie's dashboard
    assert job.order.received == Money(9900 + 15000, "USD")
    assert refundable(job) == Money(24900 - 5000, "USD")  # the policy's cap is on everything received
    assert [(p.ref, p.amount) for p in payments_left(job)] == [("pi_balance", 10000), (None, 9900)]
    assert payment_for(job, Money(10000, "USD")) == "pi_balance"  # the last money in goes back first
    assert payment_for(job, Money(9900, "USD")) == "pi_balance"
    with pytest.raises(InvalidRequest, match="at most USD.100.00 in one refund") as refused:
        payment_for(job, Money(10001, "USD"))
    assert refused.value.code == "refund_too_large"
    # A refund waiting for the provider holds its payment's money; a failed one gave it back.
    job.refunds += [refund_record(4000, "requested", "pi_balance"), refund_record(9900, "failed")]
    assert [(p.ref, p.amount) for p in payments_left(job)] == [("pi_balance", 6000), (None, 9900)]
    assert payment_for(job, Money(9000, "USD")) is None  # the deposit's


def test_an_order_with_one_payment_refunds_on_it_as_before():
    assert payment_for(order("paid"), Money(9900, "USD")) is None


def test_a_balance_still_due_or_in_another_currency_is_not_money_received():
    assert order("paid", balance={**BALANCE_PAID, "status": "due"}).order.received == Money(9900, "USD")
    other = {**BALANCE_PAID, "amount": {"amount": 15000, "currency": "EUR"}}
    assert order("paid", balance=other).order.received == Money(9900, "USD")


def test_cancelling_in_production_does_not_make_the_whole_price_refundable():
    moves = [entry(5, "discovery", "production"), entry(6, "production", "cancelled")]
    assert refundable(order("cancelled", policy=SONG_POLICY, history=moves)) == Money(4950, "USD")
    flagged_then_cancelled = [entry(3, "needs_review", "cancelled")]
    assert refundable(order("cancelled", policy=SONG_POLICY, history=flagged_then_cancelled)) == Money(9900, "USD")


def test_a_cancelled_event_sets_the_policy_aside_but_not_what_was_refunded_or_a_dispute():
    """Its tickets go back whole (refundable(whole=True)): everything received, less what went back."""
    no_refunds = {"paid": 0}
    assert refundable(order("paid", policy=no_refunds)) == Money(0, "USD")
    assert refundable(order("paid", policy=no_refunds), whole=True) == Money(9900, "USD")
    partly = order("paid", 2000, no_refunds, money="partially_refunded", reserved=500)
    assert refundable(partly, whole=True) == Money(7400, "USD")
    assert refundable(order("paid", policy=no_refunds, money="disputed"), whole=True) == Money(0, "USD")


NIGHT = {
    "id": "late-set",
    "name": "Late set",
    "start": "2027-07-21T22:00",
    "end": "2027-07-22T02:00",
    "timezone": "Europe/Paris",
    "revision": 1,
}
NIGHT_CODES = ["A" * 16, "B" * 16]


def night_order(changed: bool = True, **kwargs) -> OrderBundle:
    """The festival's order of two passes for a night (and a donation), paid under a policy that
    gives nothing back once paid; the night moved after they were bought unless `changed` is False."""
    from caisse.orders.models import LineItem

    bundle = order("paid", policy={"paid": 0}, **kwargs)
    bundle.order.items = [
        LineItem(sku="PASS", name="Late set pass", quantity=2, unit_amount=3000, event=dict(NIGHT)),
        LineItem(sku="GIFT", name="Donation", quantity=1, unit_amount=3900),
    ]
    bundle.order.tickets = [
        {"code": code, "sku": "PASS", "unit": n, "number": n + 1, "state": "valid"}
        for n, code in enumerate(NIGHT_CODES)
    ]
    if changed:
        told = {"event": "late-set", "revision": 1, "before": {}, "after": {}}
        bundle.history = [entry(3, "paid", "paid", actor="system", action="event_changed", changes=told)]
    return bundle


def test_tickets_for_an_event_that_changed_after_they_were_bought_are_offered_back_in_full():
    """The festival's policy gives nothing back once paid; a night moved after its tickets were
    bought is not what its holder paid for: staff are offered those tickets back in full."""
    assert "changed_event_tickets" not in terms(night_order(changed=False))  # bought after: the policy applies
    bundle = night_order()
    offered = terms(bundle)
    assert offered["refundable"] == {"amount": 0, "currency": "USD"}  # the policy, for anything else
    assert offered["changed_event_tickets"] == {
        "tickets": ["AAAA-AAAA-AAAA-AAAA", "BBBB-BBBB-BBBB-BBBB"],
        "amount": {"amount": 6000, "currency": "USD"},
    }
    bundle.order.items[0].event = {**NIGHT, "cancelled": "storm"}  # cancelled: refunded by the cancellation
    assert "changed_event_tickets" not in terms(bundle)


def test_the_customer_may_give_back_tickets_for_a_changed_event_themselves_until_it_starts():
    """What the order page offers (before leaving out tickets used at the door): the night's valid
    tickets; nothing once it started, once they went back, for a night that did not change, or
    while a dispute holds refunds."""
    assert customer_may_give_back(night_order()) == {"late-set": NIGHT_CODES}
    one_back = night_order()
    one_back.order.tickets[0]["state"] = "voided"
    assert customer_may_give_back(one_back) == {"late-set": NIGHT_CODES[1:]}
    all_back = night_order()
    for ticket in all_back.order.tickets:
        ticket["state"] = "voided"
    assert customer_may_give_back(all_back) == {}
    started = night_order()
    started.order.items[0].event = {**NIGHT, "start": "2026-01-10T20:00", "end": "2026-01-11T02:00"}
    assert customer_may_give_back(started) == {}
    assert customer_may_give_back(night_order(changed=False)) == {}
    assert customer_may_give_back(night_order(money="disputed")) == {}
