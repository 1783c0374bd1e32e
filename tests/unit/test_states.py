"""The two state machines: every lifecycle move and every money move, who may make it."""

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
    ("pending_payment", "cancelled", Actor.SYSTEM),  # the provider refused to open the checkout
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
    ("paid", "cancelled", Actor.STAFF),
    ("paid", "discovery", Actor.STAFF),
    ("discovery", "writing", Actor.STAFF),
    ("writing", "production", Actor.STAFF),
    ("production", "review", Actor.STAFF),
    ("review", "delivered", Actor.STAFF),
    ("discovery", "cancelled", Actor.STAFF),
    ("writing", "cancelled", Actor.STAFF),
    ("production", "cancelled", Actor.STAFF),
    ("review", "cancelled", Actor.STAFF),
}


@pytest.mark.parametrize(
    ("current", "target", "actor"),
    sorted(itertools.product(SONG.statuses(), SONG.statuses(), list(Actor))),
)
def test_every_lifecycle_move_is_legal_only_if_listed(current, target, actor):
    expected = (current, target, actor) in LEGAL
    assert SONG.can(current, target, actor) is expected
    if expected:
        SONG.check(current, target, actor)
    else:
        with pytest.raises(IllegalTransition) as raised:
            SONG.check(current, target, actor)
        assert raised.value.status == 409
        assert raised.value.details["allowed"] == SONG.allowed(current, actor)


def test_refund_states_are_no_longer_statuses():
    assert "refunded" not in SONG.statuses() and "partially_refunded" not in SONG.statuses()


def test_illegal_move_names_the_allowed_ones():
    with pytest.raises(IllegalTransition) as raised:
        SONG.check("discovery", "delivered", Actor.STAFF)
    body = raised.value.body()
    assert body["error"] == "illegal_transition"
    assert body["allowed"] == ["writing", "cancelled"]
    assert "writing" in body["message"]


def test_a_paid_order_never_goes_back():
    for target in ("pending_payment", "payment_failed", "expired"):
        for actor in Actor:
            assert not SONG.can("paid", target, actor)


def test_closed_orders_only_move_to_review_when_money_arrives_late():
    for status in ("expired", "cancelled"):
        assert SONG.allowed(status, Actor.STAFF) == []
        assert SONG.allowed(status, Actor.PROVIDER) == ["needs_review"]
    assert SONG.allowed("delivered", Actor.STAFF) == []


def test_a_merchant_without_stages_stops_at_paid_but_may_cancel():
    assert Workflow.of(None).allowed("paid", Actor.STAFF) == ["cancelled"]


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
    assert states.OPEN == {"pending_payment", "payment_failed"}


# ------------------------------------------------------------------------------------------ money

P, S, Y, C = Actor.PROVIDER, Actor.STAFF, Actor.SYSTEM, Actor.CUSTOMER
MONEY_LEGAL = {
    ("unpaid", "paid", P),
    # a customer only gives back tickets for an event that changed (caisse.payments.refunds)
    *{("paid", t, a) for t in ("partially_refunded", "refunded") for a in (S, P, C)},
    ("paid", "disputed", P),
    ("paid", "charged_back", P),
    *{("partially_refunded", t, a) for t in ("partially_refunded", "refunded") for a in (S, P, C)},
    ("partially_refunded", "paid", P),  # a refund that failed at the provider
    ("partially_refunded", "disputed", P),
    ("partially_refunded", "charged_back", P),
    ("refunded", "partially_refunded", P),
    ("refunded", "paid", P),
    ("refunded", "disputed", P),
    *{("disputed", t, P) for t in ("paid", "partially_refunded", "refunded", "charged_back")},
}


@pytest.mark.parametrize(
    ("current", "target", "actor"),
    sorted(itertools.product(states.MONEY_STATES, states.MONEY_STATES, list(Actor))),
)
def test_every_money_move_is_legal_only_if_listed(current, target, actor):
    expected = (current, target, actor) in MONEY_LEGAL
    assert states.can_move_money(current, target, actor) is expected
    if not expected:
        with pytest.raises(IllegalTransition):
            states.check_money(current, target, actor)


def test_nobody_but_the_provider_moves_money_in_or_out_of_a_dispute():
    for state in states.MONEY_STATES:
        assert not states.can_move_money(state, "disputed", Actor.STAFF)
        assert not states.can_move_money("disputed", state, Actor.STAFF)


def test_a_chargeback_is_final():
    assert all(not states.can_move_money("charged_back", t, a) for t in states.MONEY_STATES for a in Actor)


@pytest.mark.parametrize(
    ("refunded", "paid", "state"),
    [(0, 9900, "paid"), (1, 9900, "partially_refunded"), (9899, 9900, "partially_refunded"), (9900, 9900, "refunded")],
)
def test_the_money_state_refunds_leave(refunded, paid, state):
    assert states.money_after_refunds(refunded, paid) == state
