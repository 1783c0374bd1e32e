"""The emails Caisse sends, and who receives each."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    ORDER_CONFIRMED = "order_confirmed"
    PAYMENT_FAILED = "payment_failed"
    STAGE_CHANGED = "stage_changed"
    DELIVERY = "delivery"
    REFUND_PROCESSED = "refund_processed"
    NEW_BOOKING = "new_booking"
    GALLERY_READY = "gallery_ready"  # to the photographer's client: the link and access code
    GALLERY_PROCESSED = "gallery_processed"  # to the photographer: what is ready, what failed
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_CLOSED = "dispute_closed"
    PAYMENT_WITHOUT_ORDER = "payment_without_order"
    PAYMENT_FLAGGED = "payment_flagged"
    BALANCE_DUE = "balance_due"
    BALANCE_PAID = "balance_paid"  # to the customer: the receipt of a booking's balance
    PAYMENT_UNDER_REVIEW = "payment_under_review"  # to the customer: a person checks the payment
    PAYMENT_REFUSED = "payment_refused"  # to the customer: the checked payment was not accepted
    EVENT_CHANGED = "event_changed"  # to a ticket holder: the event's new date, time or place, the tickets again
    EVENT_CANCELLED = "event_cancelled"  # to a ticket holder: the event will not happen, the tickets are refunded
    # to the merchant's staff: a holder gave back tickets for an event that changed (refunded, or owed by hand)
    TICKETS_GIVEN_BACK = "tickets_given_back"
    EMAIL_UNDELIVERABLE = "email_undeliverable"  # to staff: the customer's email could not be sent
    NEW_ORDER = "new_order"  # to the merchant's staff: an order was paid
    MERCHANT_SUSPENDED = "merchant_suspended"  # to the merchant's staff: the platform stopped its new orders
    MERCHANT_REINSTATED = "merchant_reinstated"  # to the merchant's staff: the suspension was lifted
    PLAN_PAYMENT_FAILED = "plan_payment_failed"  # to the merchant: its plan's invoice was not paid
    PLAN_LAPSED = "plan_lapsed"  # to the merchant: its plan ended, new orders stopped
    PLAN_ACTIVE = "plan_active"  # to the merchant: its plan is active (again)
    PLAN_CHANGED = "plan_changed"  # to the merchant: its running subscription moved to another plan
    PLAN_ENDING = "plan_ending"  # to the merchant: its plan is set to end with the period it paid for


class Recipient(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"  # the merchant's staff: payment problems
    MERCHANT = "merchant"  # the merchant as a business: new bookings


RECIPIENTS: dict[Kind, Recipient] = {
    Kind.ORDER_CONFIRMED: Recipient.CUSTOMER,
    Kind.PAYMENT_FAILED: Recipient.CUSTOMER,
    Kind.STAGE_CHANGED: Recipient.CUSTOMER,
    Kind.DELIVERY: Recipient.CUSTOMER,
    Kind.REFUND_PROCESSED: Recipient.CUSTOMER,
    Kind.GALLERY_READY: Recipient.CUSTOMER,  # the gallery's client
    Kind.GALLERY_PROCESSED: Recipient.MERCHANT,  # the photographer
    Kind.NEW_BOOKING: Recipient.MERCHANT,
    Kind.DISPUTE_OPENED: Recipient.STAFF,
    Kind.DISPUTE_CLOSED: Recipient.STAFF,
    Kind.PAYMENT_WITHOUT_ORDER: Recipient.STAFF,  # the shop's operators (ALERT_EMAIL)
    Kind.PAYMENT_FLAGGED: Recipient.STAFF,
    Kind.BALANCE_DUE: Recipient.CUSTOMER,
    Kind.BALANCE_PAID: Recipient.CUSTOMER,
    Kind.PAYMENT_UNDER_REVIEW: Recipient.CUSTOMER,
    Kind.PAYMENT_REFUSED: Recipient.CUSTOMER,
    Kind.EVENT_CHANGED: Recipient.CUSTOMER,
    Kind.EVENT_CANCELLED: Recipient.CUSTOMER,
    Kind.TICKETS_GIVEN_BACK: Recipient.MERCHANT,
    Kind.EMAIL_UNDELIVERABLE: Recipient.STAFF,
    Kind.NEW_ORDER: Recipient.MERCHANT,
    Kind.MERCHANT_SUSPENDED: Recipient.STAFF,
    Kind.MERCHANT_REINSTATED: Recipient.STAFF,
    Kind.PLAN_PAYMENT_FAILED: Recipient.MERCHANT,
    Kind.PLAN_LAPSED: Recipient.MERCHANT,
    Kind.PLAN_ACTIVE: Recipient.MERCHANT,
    Kind.PLAN_CHANGED: Recipient.MERCHANT,
    Kind.PLAN_ENDING: Recipient.MERCHANT,
}

# The customer's emails staff may send again (POST /admin/orders/{id}/emails).
RESENDABLE = (
    Kind.ORDER_CONFIRMED,
    Kind.STAGE_CHANGED,
    Kind.DELIVERY,
    Kind.REFUND_PROCESSED,
    Kind.PAYMENT_FAILED,
    Kind.BALANCE_DUE,
)
