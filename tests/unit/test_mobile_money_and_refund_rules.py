"""Provider-side checks that need no provider: callback and IPN authenticity, limits, refund policy."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import jwt
import pytest

from caisse.errors import InvalidRequest
from caisse.money import Money
from caisse.orders.models import ORDER_SK, Customer, Order, order_pk
from caisse.orders.refunds import refundable
from caisse.orders.service import OrderBundle
from caisse.payments.base import CheckoutSpec, Outcome
from caisse.payments.campay.provider import CamPay, InvalidCallback, normalise_phone, verify_callback
from caisse.payments.paydunya.provider import InvalidIpn, PayDunya, read_ipn, verify_ipn
from caisse.payments.registry import provider_for

KEY = "campay-webhook-key-for-tests"


def test_campay_callback_needs_a_jwt_signed_hs256_with_our_key():
    good = jwt.encode({"iat": int(time.time())}, KEY, algorithm="HS256")
    assert verify_callback({"signature": good, "reference": "r1"}, KEY) == "r1"
    forged = [
        jwt.encode({"iat": int(time.time())}, "another-key", algorithm="HS256"),
        jwt.encode({"iat": int(time.time())}, None, algorithm="none"),  # alg: none
        jwt.encode({"exp": int(time.time()) - 60}, KEY, algorithm="HS256"),  # expired
        "not.a.jwt",
        "",
    ]
    for signature in forged:
        with pytest.raises(InvalidCallback):
            verify_callback({"signature": signature, "reference": "r1"}, KEY)


def test_campay_reads_amounts_the_way_campay_writes_them():
    notice = CamPay().notice(
        {
            "reference": "r1",
            "status": "SUCCESSFUL",
            "amount": 60000.0,
            "currency": "XAF",
            "external_reference": "o1",
            "operator_reference": "MP1",
        }
    )
    assert (notice.outcome, notice.amount, notice.order_id, notice.event_id) == (
        Outcome.PAID,
        60000,
        "o1",
        "r1:SUCCESSFUL",
    )
    assert CamPay().notice({"reference": "r1", "status": "FAILED", "amount": "x"}).outcome is Outcome.FAILED


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
    with pytest.raises(InvalidIpn):
        verify_ipn(read_ipn(body), "another-master-key")
    with pytest.raises(InvalidIpn):
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


def order(status: str, refunded: int = 0, policy=None) -> OrderBundle:
    now = datetime.now(UTC)
    return OrderBundle(
        Order(
            order_pk("o1"),
            ORDER_SK,
            order_id="o1",
            order_number="SC-1",
            merchant="songstudio",
            status=status,
            version=2,
            currency="USD",
            total_amount=9900,
            items=[],
            customer=Customer(name="A", email="a@b.test"),
            stages=["discovery", "production", "delivered"],
            provider="stripe",
            request_fingerprint="f",
            created_at="x",
            updated_at=now,
            expires_at=now,
            refunded_amount=refunded,
            refund_policy=policy,
        )
    )


SONG_POLICY = {"paid": 100, "discovery": 100, "writing": 100, "production": 50, "review": 50, "delivered": 0}


@pytest.mark.parametrize(
    ("status", "refunded", "expected"),
    [
        ("paid", 0, 9900),
        ("discovery", 0, 9900),
        ("production", 0, 4950),
        ("delivered", 0, 0),
        ("paid", 4000, 5900),
        ("partially_refunded", 4000, 5900),
        ("pending_payment", 0, 0),
    ],
)
def test_song_studio_refund_policy(status, refunded, expected):
    assert refundable(order(status, refunded, SONG_POLICY)) == Money(expected, "USD")


def test_without_a_policy_everything_paid_is_refundable():
    assert refundable(order("paid")) == Money(9900, "USD")
