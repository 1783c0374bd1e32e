"""Stripe Billing for the sandbox: Customers created by API, Checkout in subscription mode, and the
Subscriptions and Invoices it makes, with the events Stripe sends for them.

Behaviour, each as Stripe documents it:
- A subscription-mode Checkout Session, once paid, has created a Customer (or used the one passed),
  an active Subscription and its first Invoice (billing_reason subscription_create), paid; it emits
  checkout.session.completed (mode subscription, with `subscription` and `customer`),
  customer.subscription.created and invoice.paid
  (https://docs.stripe.com/billing/subscriptions/build-subscriptions?ui=stripe-hosted#provision-and-monitor).
- The subscription's metadata is Checkout's `subscription_data[metadata]`; each invoice carries it
  under `parent.subscription_details` (API 2025-03-31 and later; stripe/openapi fixtures3.json).
  The period is on the subscription's items (`current_period_start/end`, same versions).
- A renewal whose payment fails leaves the invoice open with `next_payment_attempt` (Smart Retries)
  and the subscription `past_due`: invoice.payment_failed, customer.subscription.updated
  (https://docs.stripe.com/billing/subscriptions/overview#failed-payments). Stripe's own way to
  reach a renewal in test mode is a test clock and a declining card
  (https://docs.stripe.com/billing/testing/test-clocks); the sandbox's control
  `POST /_sandbox/stripe/subscriptions/{id}/renew` {"payment": "fails" | "succeeds"} renews now.
- DELETE /v1/subscriptions/{id} cancels at once: status canceled, `canceled_at`, `ended_at`,
  customer.subscription.deleted (https://docs.stripe.com/api/subscriptions/cancel).
"""

from __future__ import annotations

import calendar
import copy
import time

from provider_sandbox.stripe_api import (
    Change,
    RequestContext,
    _Record,
    as_dict,
    as_metadata,
    as_str,
    check_known,
    invalid,
    new_id,
)
from provider_sandbox.stripe_connect import ConnectState

RETRY_DAYS = 3  # when Smart Retries tries a failed renewal again, at the earliest
CANCELABLE = ("active", "past_due", "unpaid", "trialing", "incomplete", "paused")


def add_month(timestamp: int, months: int = 1) -> int:
    """The same day and time `months` later (the month's last day when it is shorter), as Stripe
    anchors monthly billing cycles."""
    moment = time.gmtime(timestamp)
    month0 = moment.tm_mon - 1 + months
    year, month = moment.tm_year + month0 // 12, month0 % 12 + 1
    day = min(moment.tm_mday, calendar.monthrange(year, month)[1])
    return calendar.timegm((year, month, day, moment.tm_hour, moment.tm_min, moment.tm_sec))


class BillingState(ConnectState):
    """``ConnectState`` plus Customers by API, Subscriptions and Invoices."""

    # -- customers -----------------------------------------------------------------------------------

    def create_customer(self, ctx: RequestContext, params: dict) -> dict:
        check_known(params, {"name", "email", "description", "metadata", "preferred_locales", "expand"})
        customer = self._new_customer(ctx.account, as_str(params["email"], "email", 512) if "email" in params else None)
        customer.obj.update(
            name=as_str(params["name"], "name", 256) if "name" in params else None,
            description=as_str(params["description"], "description", 350) if "description" in params else None,
            metadata=as_metadata(params.get("metadata", {})),
        )
        self._emit([("customer.created", customer)], ctx)
        return copy.deepcopy(customer.obj)

    # -- subscriptions -------------------------------------------------------------------------------

    def retrieve_subscription(self, ctx: RequestContext, params: dict, subscription_id: str) -> dict:
        check_known(params, {"expand"})
        return copy.deepcopy(self._get("subscription", subscription_id, ctx).obj)

    def cancel_subscription(self, ctx: RequestContext, params: dict, subscription_id: str) -> dict:
        check_known(params, {"invoice_now", "prorate", "cancellation_details", "expand"})
        record = self._get("subscription", subscription_id, ctx)
        if record.obj["status"] not in CANCELABLE:
            raise invalid(
                f"A canceled subscription can only update its cancellation_details and metadata. "
                f"This subscription ({subscription_id}) is {record.obj['status']}.",
            )
        details = as_dict(params.get("cancellation_details", {}), "cancellation_details")
        check_known(details, {"comment", "feedback"}, "cancellation_details")
        now = self.now()
        previous = {"status": record.obj["status"], "canceled_at": None, "ended_at": None}
        record.obj.update(
            status="canceled",
            canceled_at=now,
            ended_at=now,
            cancellation_details={
                "comment": details.get("comment"),
                "feedback": details.get("feedback"),
                "reason": "cancellation_requested",
            },
        )
        self._emit([("customer.subscription.deleted", record, {"previous_attributes": previous})], ctx)
        return copy.deepcopy(record.obj)

    def retrieve_invoice(self, ctx: RequestContext, params: dict, invoice_id: str) -> dict:
        check_known(params, {"expand"})
        return copy.deepcopy(self._get("invoice", invoice_id, ctx).obj)

    def _pay_subscription(self, session: _Record, email: str | None) -> dict:
        """The hosted page's Pay in subscription mode: the card is saved as the customer's default,
        the subscription starts and its first invoice is paid."""
        email = session.obj["customer_email"] or email or None
        changes: list[Change] = []
        customer_id = session.obj["customer"]
        if customer_id is None:
            customer = self._new_customer(session.account, email)
            changes.append(("customer.created", customer))
        else:
            customer = self._records[customer_id]
        payment_method = self._new_payment_method(session.account, email or customer.obj.get("email"))
        payment_method.obj["customer"] = customer.obj["id"]
        customer.obj["invoice_settings"]["default_payment_method"] = payment_method.obj["id"]
        changes.append(("payment_method.attached", payment_method))
        data = session.extra["subscription_data"]
        subscription = self._new_subscription(session, customer, payment_method, data)
        invoice = self._new_invoice(subscription, "subscription_create", paid=True)
        subscription.obj["latest_invoice"] = invoice.obj["id"]
        self._complete(
            session, customer.obj["id"], email, subscription=subscription.obj["id"], invoice=invoice.obj["id"]
        )
        self._emit(
            [
                *changes,
                ("checkout.session.completed", session),
                ("customer.subscription.created", subscription),
                ("invoice.created", invoice),
                ("invoice.finalized", invoice),
                ("invoice.paid", invoice),
                ("invoice.payment_succeeded", invoice),
            ],
            None,
        )
        return copy.deepcopy(session.obj)

    def _new_subscription(self, session: _Record, customer: _Record, payment_method: _Record, data: dict) -> _Record:
        now = self.now()
        subscription_id = new_id("sub")
        items = []
        for line in session.extra["line_items"]:
            price = copy.deepcopy(line["price"])
            price["active"] = True
            items.append(
                {
                    "id": new_id("si", 14),
                    "object": "subscription_item",
                    "created": now,
                    "current_period_start": now,
                    "current_period_end": add_month(now, price["recurring"]["interval_count"]),
                    "discounts": [],
                    "metadata": {},
                    "price": price,
                    "quantity": line["quantity"],
                    "subscription": subscription_id,
                    "tax_rates": [],
                }
            )
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "application": None,
            "billing_cycle_anchor": now,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": now,
            "currency": session.obj["currency"],
            "customer": customer.obj["id"],
            "days_until_due": None,
            "default_payment_method": payment_method.obj["id"],
            "description": data["description"],
            "ended_at": None,
            "items": {
                "object": "list",
                "data": items,
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={subscription_id}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": copy.deepcopy(data["metadata"]),
            "pause_collection": None,
            "start_date": now,
            "status": "active",
            "test_clock": None,
            "trial_end": None,
            "trial_start": None,
        }
        record = _Record(subscription, session.account)
        self._records[subscription_id] = record
        return record

    def _new_invoice(self, subscription: _Record, reason: str, paid: bool) -> _Record:
        now = self.now()
        sub = subscription.obj
        amount = sum(item["price"]["unit_amount"] * item["quantity"] for item in sub["items"]["data"])
        first = sub["items"]["data"][0]
        customer = self._records[sub["customer"]]
        number = customer.obj["next_invoice_sequence"]
        customer.obj["next_invoice_sequence"] = number + 1
        invoice_id = new_id("in")
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "amount_remaining": 0 if paid else amount,
            "attempt_count": 1,
            "attempted": True,
            "auto_advance": not paid,
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": sub["currency"],
            "customer": sub["customer"],
            "customer_email": customer.obj.get("email"),
            "hosted_invoice_url": f"{self.public_url}/invoices/{invoice_id}",
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": new_id("il"),
                        "object": "line_item",
                        "amount": item["price"]["unit_amount"] * item["quantity"],
                        "currency": sub["currency"],
                        "invoice": invoice_id,
                        "period": {"start": item["current_period_start"], "end": item["current_period_end"]},
                        "quantity": item["quantity"],
                        "parent": {
                            "type": "subscription_item_details",
                            "subscription_item_details": {
                                "subscription": sub["id"],
                                "subscription_item": item["id"],
                                "proration": False,
                            },
                        },
                    }
                    for item in sub["items"]["data"]
                ],
                "has_more": False,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": None if paid else now + RETRY_DAYS * 86400,
            "number": f"{customer.obj['invoice_prefix']}-{number:04d}",
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {"metadata": copy.deepcopy(sub["metadata"]), "subscription": sub["id"]},
            },
            "period_end": first["current_period_start"],
            "period_start": first["current_period_start"],
            "status": "paid" if paid else "open",
            "status_transitions": {
                "finalized_at": now,
                "marked_uncollectible_at": None,
                "paid_at": now if paid else None,
                "voided_at": None,
            },
            "subtotal": amount,
            "total": amount,
        }
        record = _Record(invoice, subscription.account)
        self._records[invoice_id] = record
        return record

    def renew_subscription(self, subscription_id: str, body: dict) -> dict:
        """Test control: the subscription's next period starts now and its invoice is paid or fails
        (what a test clock advanced past the period's end does, with a working or declining card)."""
        payment = body.get("payment", "succeeds")
        if set(body) - {"payment"} or payment not in ("succeeds", "fails"):
            raise invalid('The body must be {"payment": "succeeds" | "fails"}')
        with self.lock:
            record = self._records.get(subscription_id)
            if record is None or record.obj["object"] != "subscription":
                raise invalid(f"No such subscription: '{subscription_id}'")
            sub = record.obj
            if sub["status"] not in ("active", "past_due", "trialing"):
                raise invalid(f"This subscription is {sub['status']}: it does not renew.")
            now = self.now()
            previous_items = copy.deepcopy(sub["items"])
            for item in sub["items"]["data"]:
                item["current_period_start"] = now
                item["current_period_end"] = add_month(now, item["price"]["recurring"]["interval_count"])
            paid = payment == "succeeds"
            invoice = self._new_invoice(record, "subscription_cycle", paid=paid)
            previous = {"items": previous_items, "latest_invoice": sub["latest_invoice"]}
            status = "active" if paid else "past_due"
            if sub["status"] != status:
                previous["status"] = sub["status"]
            sub.update(status=status, latest_invoice=invoice.obj["id"])
            outcome = ("invoice.paid", invoice) if paid else ("invoice.payment_failed", invoice)
            self._emit(
                [
                    ("invoice.created", invoice),
                    ("invoice.finalized", invoice),
                    outcome,
                    ("customer.subscription.updated", record, {"previous_attributes": previous}),
                ],
                None,
            )
            return {"subscription": copy.deepcopy(sub), "invoice": copy.deepcopy(invoice.obj)}
