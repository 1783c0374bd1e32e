import itertools

import pytest

from caisse.errors import IllegalTransition
from caisse.orders import states
from caisse.orders.states import Actor, Workflow

SONG = Workflow.of(["discovery", "writing", "production", "review", "delivered"])

LEGAL = {
    ("pending_payment", "paid", Actor.PROVIDER),
    ("pending_payment", "payment_failed", Actor.PROVIDER),
    ("pending_payment", "needs_review", Actor.PROVIDER),
    ("pending_payment", "needs_review", Actor.SYSTEM),
    ("pending_payment", "expired", Actor.PROVIDER),
    ("pending_payment", "expired", Actor.SYSTEM),
    ("pending_payment", "cancelled", Actor.STAFF),
    ("payment_failed", "paid", Actor.PROVIDER),
    ("payment_failed", "needs_review", Actor.PROVIDER),
    ("payment_failed", "needs_review", Actor.SYSTEM),
    ("payment_failed", "expired", Actor.PROVIDER),
    ("payment_failed", "expired", Actor.SYSTEM),
    ("payment_failed", "cancelled", Actor.STAFF),
    ("needs_review", "paid", Actor.STAFF),
    ("expired", "needs_review", Actor.PROVIDER),
    ("cancelled", "needs_review", Actor.PROVIDER),
    ("needs_review", "cancelled", Actor.STAFF),
    ("paid", "discovery", Actor.STAFF),
    ("discovery", "writing", Actor.STAFF),
    ("writing", "production", Actor.STAFF),
    ("production", "review", Actor.STAFF),
    ("review", "delivered", Actor.STAFF),
}
for _status in (
    "paid",
    "needs_review",
    "partially_refunded",
    "discovery",
    "writing",
    "production",
    "review",
    "delivered",
):
    for _target in ("partially_refunded", "refunded"):
        for _actor in (Actor.STAFF, Actor.PROVIDER):
            LEGAL.add((_status, _target, _actor))


@pytest.mark.parametrize(
    ("current", "target", "actor"),
    sorted(itertools.product(SONG.statuses(), SONG.statuses(), list(Actor))),
)
def test_every_move_is_legal_only_if_listed(current, target, actor):
    expected = (current, target, actor) in LEGAL
    assert SONG.can(current, target, actor) is expected
    if expected:
        SONG.check(current, target, actor)
    else:
        with pytest.raises(IllegalTransition) as raised:
            SONG.check(current, target, actor)
        assert raised.value.status == 409
        assert raised.value.details["allowed"] == SONG.allowed(current, actor)


def test_illegal_move_names_the_allowed_ones():
    with pytest.raises(IllegalTransition) as raised:
        SONG.check("discovery", "delivered", Actor.STAFF)
    body = raised.value.body()
    assert body["error"] == "illegal_transition"
    assert body["allowed"] == ["writing", "partially_refunded", "refunded"]
    assert "writing" in body["message"]


def test_a_paid_order_never_goes_back():
    for target in ("pending_payment", "payment_failed", "expired"):
        for actor in Actor:
            assert not SONG.can("paid", target, actor)


def test_closed_orders_only_move_to_review_when_money_arrives_late():
    for status in ("expired", "cancelled"):
        assert SONG.allowed(status, Actor.STAFF) == []
        assert SONG.allowed(status, Actor.PROVIDER) == ["needs_review"]
    assert SONG.allowed("delivered", Actor.STAFF) == ["partially_refunded", "refunded"]
    assert SONG.allowed("refunded", Actor.STAFF) == []


def test_a_merchant_without_stages_stops_at_paid_but_for_refunds():
    plain = Workflow.of(None)
    assert plain.allowed("paid", Actor.STAFF) == ["partially_refunded", "refunded"]


def test_stages_may_not_reuse_base_statuses():
    with pytest.raises(ValueError):
        Workflow.of(["paid", "shipped"])
    with pytest.raises(ValueError):
        Workflow.of(["shipped", "shipped"])


def test_unknown_status_is_refused():
    with pytest.raises(IllegalTransition):
        SONG.check("teleported", "paid", Actor.PROVIDER)


def test_holding_statuses_are_the_unpaid_ones():
    assert states.HOLDING == {"pending_payment", "payment_failed", "needs_review"}
