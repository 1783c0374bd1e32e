"""Issue 10, points 2, 3 and 4: the money moves apart from the order's stages; refunds follow the
policy's cap on the total; money moved in a provider's dashboard or by a dispute reaches the
order through the same recorded path; refunded tickets go back to stock once."""

from __future__ import annotations

import time
import uuid

import httpx
from e2e_support import (
    add_product,
    admin_view,
    customer_client,
    emails_for,
    made_to_order,
    merchant_token,
    money_state,
    order_status,
    remaining_stock,
    sandbox_post,
    wait_for,
)


def staff(merchant: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {merchant_token(merchant)}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def paid(api, stack, sku="FEST-DAY-PASS", quantity=1, provider=None) -> dict:
    body = {
        "items": [{"sku": sku, "quantity": quantity}],
        "currency": "USD",
        "customer": {"name": "Ada", "email": f"ada-{uuid.uuid4().hex[:8]}@example.test", "locale": "en"},
        **made_to_order(sku),
    }
    if provider:
        body["provider"] = provider
    with customer_client(api) as own:
        order = own.post("/checkouts", json=body).json()
    if order["provider"] == "paypal":
        token = order["next_action"]["url"].split("token=")[1]
        httpx.post(f"{stack.sandbox}/paypal/checkoutnow/{token}/pay", timeout=10)
    else:
        httpx.post(f"{order['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, order) == "paid", what="the payment")
    return order


def refund(api, order, merchant="festival", key=None, **body) -> httpx.Response:
    return api.post(
        f"/admin/orders/{order['order_id']}/refunds", json=body, headers=staff(merchant, key or str(uuid.uuid4()))
    )


def move(api, order, stage, merchant="songstudio") -> httpx.Response:
    return api.post(f"/admin/orders/{order['order_id']}/status", json={"status": stage}, headers=staff(merchant))


# ------------------------------------------------------------------------------------ point 2


def test_a_goodwill_refund_never_stops_production_and_the_stage_caps_the_total(api, stack):
    order = paid(api, stack, sku="SONG-STANDARD")
    for stage in ("discovery", "writing"):
        assert move(api, order, stage).status_code == 200
    goodwill = refund(api, order, "songstudio", amount=1000, reason="sorry for the delay")
    assert goodwill.status_code == 201, goodwill.text

    onwards = move(api, order, "production")  # refused while refunds were statuses
    assert onwards.status_code == 200, onwards.text
    assert (onwards.json()["status"], onwards.json()["money_state"]) == ("production", "partially_refunded")
    assert (goodwill.json()["order_status"], goodwill.json()["money_state"]) == ("writing", "partially_refunded")

    # In production half of USD 99.00 may go back in total: 49.50 - 10.00 already refunded.
    half = refund(api, order, "songstudio")
    assert half.status_code == 201, half.text
    assert half.json()["amount"] == {"amount": 3950, "currency": "USD"}
    again = refund(api, order, "songstudio", amount=100)  # the other half, asked a second time
    assert again.status_code == 409 and again.json()["error"] == "nothing_to_refund"
    view = admin_view(api, order["order_id"], "songstudio")
    assert (view["status"], view["money_state"], view["refunded"]["amount"]) == (
        "production",
        "partially_refunded",
        4950,
    )
    assert view["history"][-1]["to"] == "production" and "money" in view["history"][-1]
    wait_for(lambda: len(emails_for(stack, order["order_id"], "refund_processed")) == 2, what="one email per refund")
    names = {m["occasion"] for m in emails_for(stack, order["order_id"], "refund_processed")}
    assert names == {f"refund-{r['refund_id']}" for r in view["refunds"]}


# ------------------------------------------------------------------------------------ point 3


def test_a_refund_made_in_stripes_dashboard_reaches_the_order_once(api, stack):
    order = paid(api, stack, quantity=2)
    intent = admin_view(api, order["order_id"], "festival")["payment_ref"]
    sandbox_post(stack, "/_sandbox/stripe/refunds", {"payment_intent": intent, "amount": 2000})
    wait_for(
        lambda: admin_view(api, order["order_id"], "festival")["refunded"]["amount"] == 2000,
        what="the dashboard refund applied",
    )
    assert money_state(api, order) == "partially_refunded"
    view = admin_view(api, order["order_id"], "festival")
    [outside] = view["refunds"]
    assert (outside["origin"], outside["status"], outside["amount"]["amount"]) == ("provider", "succeeded", 2000)
    assert view["refunded"]["amount"] == 2000 and view["status"] == "paid"
    wait_for(lambda: emails_for(stack, order["order_id"], "refund_processed"), what="the refund email")
    # Staff can refund what is left, and no more: the dashboard refund counts against the total.
    rest = refund(api, order)
    assert rest.json()["amount"] == {"amount": 7000, "currency": "USD"}
    wait_for(lambda: money_state(api, order) == "refunded", what="refunded")
    # Our own refund's webhooks (charge.refunded, refund.created), once delivered, did not count it twice.
    stack.flush_deliveries()
    assert admin_view(api, order["order_id"], "festival")["refunded"]["amount"] == 9000


def test_reconciliation_records_a_dashboard_refund_whose_webhooks_were_lost(api, stack):
    from test_refunds_and_reconciliation import run_scheduled

    order = paid(api, stack)
    intent = admin_view(api, order["order_id"], "festival")["payment_ref"]
    stack.sandbox_config(drop_webhooks=True)
    sandbox_post(stack, "/_sandbox/stripe/refunds", {"payment_intent": intent})
    stack.sandbox_config()
    report = run_scheduled(stack, "ReconcilePaymentsFunction")
    assert order["order_id"] in [r["order_id"] for r in report["refunds"]]
    assert money_state(api, order) == "refunded"
    again = run_scheduled(stack, "ReconcilePaymentsFunction")  # a second run finds nothing new
    assert order["order_id"] not in [r["order_id"] for r in again["refunds"]]


def test_a_stripe_dispute_is_flagged_told_to_staff_and_its_outcome_applied(api, stack):
    won = paid(api, stack)
    intent = admin_view(api, won["order_id"], "festival")["payment_ref"]
    dispute = sandbox_post(stack, "/_sandbox/stripe/disputes", {"payment_intent": intent, "reason": "fraudulent"})
    wait_for(lambda: money_state(api, won) == "disputed", what="the dispute applied")
    [staff_mail] = wait_for(lambda: emails_for(stack, won["order_id"], "dispute_opened"), what="the staff email")
    assert staff_mail["to"] == "ops@sunsetfestival.example"
    blocked = refund(api, won)
    assert blocked.status_code == 409 and blocked.json()["error"] == "payment_disputed"
    sandbox_post(stack, f"/_sandbox/stripe/disputes/{dispute['id']}/close", {"status": "won"})
    wait_for(lambda: money_state(api, won) == "paid", what="the dispute won")
    wait_for(lambda: emails_for(stack, won["order_id"], "dispute_closed"), what="the closing email")

    lost = paid(api, stack)
    intent = admin_view(api, lost["order_id"], "festival")["payment_ref"]
    dispute = sandbox_post(stack, "/_sandbox/stripe/disputes", {"payment_intent": intent})
    wait_for(lambda: money_state(api, lost) == "disputed", what="the second dispute applied")
    sandbox_post(stack, f"/_sandbox/stripe/disputes/{dispute['id']}/close", {"status": "lost"})
    wait_for(lambda: money_state(api, lost) == "charged_back", what="the chargeback")
    view = admin_view(api, lost["order_id"], "festival")
    assert view["status"] == "paid" and view["dispute"]["outcome"] == "lost"
    assert [h["money"]["to"] for h in view["history"] if "money" in h][-2:] == ["disputed", "charged_back"]
    assert any('"Name":"DisputeOpened"' in line for line in stack.output)


def test_paypal_dashboard_refund_reversal_and_dispute_reach_the_order(api, stack):
    refunded = paid(api, stack, quantity=2, provider="paypal")
    capture = admin_view(api, refunded["order_id"], "festival")["payment_ref"]
    sandbox_post(
        stack, f"/_sandbox/paypal/captures/{capture}/refund", {"amount": {"currency_code": "USD", "value": "20.00"}}
    )
    wait_for(lambda: money_state(api, refunded) == "partially_refunded", what="the PayPal dashboard refund")
    assert admin_view(api, refunded["order_id"], "festival")["refunded"]["amount"] == 2000

    reversed_ = paid(api, stack, provider="paypal")
    capture = admin_view(api, reversed_["order_id"], "festival")["payment_ref"]
    sandbox_post(stack, f"/_sandbox/paypal/captures/{capture}/reverse")
    wait_for(lambda: money_state(api, reversed_) == "charged_back", what="the reversal")
    assert order_status(api, reversed_) == "paid"  # a reversal is never read as a completed capture

    disputed = paid(api, stack, provider="paypal")
    capture = admin_view(api, disputed["order_id"], "festival")["payment_ref"]
    dispute = sandbox_post(stack, f"/_sandbox/paypal/captures/{capture}/dispute")
    wait_for(lambda: money_state(api, disputed) == "disputed", what="the PayPal dispute")
    wait_for(lambda: emails_for(stack, disputed["order_id"], "dispute_opened"), what="the staff email")
    sandbox_post(
        stack, f"/_sandbox/paypal/disputes/{dispute['dispute_id']}/resolve", {"outcome": "RESOLVED_SELLER_FAVOUR"}
    )
    wait_for(lambda: money_state(api, disputed) == "paid", what="the dispute resolved for the seller")


# ------------------------------------------------------------------------------------ point 4


def test_refunded_tickets_go_back_to_stock_once(api, stack):
    sku = f"E2E-PASS-{time.time_ns()}"
    add_product(stack, sku, stock=10, prices={"USD": 4500})
    whole = paid(api, stack, sku=sku, quantity=2)
    part = paid(api, stack, sku=sku, quantity=3)
    assert remaining_stock(api, sku) == 5

    key = str(uuid.uuid4())
    assert refund(api, whole, key=key, reason="cannot come").status_code == 201
    assert remaining_stock(api, sku) == 7
    assert refund(api, whole, key=key, reason="cannot come").json()["replayed"] is True
    assert remaining_stock(api, sku) == 7  # the retried request gave nothing back twice

    one = refund(api, part, items=[{"sku": sku, "quantity": 1}], reason="one friend cannot come")
    assert one.status_code == 201, one.text
    assert one.json()["amount"] == {"amount": 4500, "currency": "USD"}
    assert remaining_stock(api, sku) == 8
    goodwill = refund(api, part, amount=500, reason="parking was closed")  # money only, no ticket back
    assert goodwill.status_code == 201
    assert remaining_stock(api, sku) == 8
    too_many = refund(api, part, items=[{"sku": sku, "quantity": 3}])
    assert too_many.status_code == 422 and too_many.json()["error"] == "too_many_items"
    rest = refund(api, part)  # the rest of the money: the two tickets left go back with it
    assert rest.json()["money_state"] == "refunded"
    assert remaining_stock(api, sku) == 10
    assert len(wait_for(lambda: emails_for(stack, part["order_id"], "refund_processed"), what="refund emails")) >= 1
