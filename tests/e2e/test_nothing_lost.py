"""Issue 11: nothing committed is lost. Emails survive an SQS outage (the stream consumer's failed
batches are replayed from the stream; the sweep finds what even a lost batch missed), every refund
is told, an email SES refuses for good is flagged to the merchant, and a transaction whose answer
is lost is retried and applied once."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from e2e_support import (
    STACK,
    admin_view,
    aws_faults,
    emails_for,
    merchant_token,
    order_status,
    queues_idle,
    sent_emails,
    wait_for,
)

OUTAGE_SECONDS = 60


def buy(api, sku: str = "SONG-STANDARD", email: str | None = None) -> dict:
    email = email or f"buyer-{uuid.uuid4().hex[:8]}@example.test"
    answer = api.post(
        "/checkouts",
        json={"items": [{"sku": sku, "quantity": 1}], "currency": "USD", "customer": {"name": "Ada", "email": email}},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert answer.status_code == 201, answer.text
    return {**answer.json(), "email": email}


def pay(api, checkout: dict) -> None:
    assert httpx.post(f"{checkout['next_action']['url']}/pay", timeout=10).status_code in (200, 303)
    wait_for(lambda: order_status(api, checkout) == "paid", what="paid")


def failure_queue(stack) -> tuple[object, str]:
    sqs = stack.boto("sqs")
    return sqs, sqs.get_queue_url(QueueName=f"{STACK}-OrderStreamFailuresQueue")["QueueUrl"]


def messages_in(sqs, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def test_an_sqs_outage_during_ten_payments_loses_no_confirmation(api, stack):
    # SQS refuses every SendMessageBatch for 60 s: the stream consumer cannot queue any email, gives
    # up on its batches after its retries, and Lambda leaves only their description in the failure
    # queue. Nobody does anything by hand.
    aws_faults(stack, service="sqs", operation="SendMessageBatch", code="ServiceUnavailable", seconds=OUTAGE_SECONDS)
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    orders = [buy(api) for _ in range(10)]
    for checkout in orders:
        pay(api, checkout)
    assert time.monotonic() < outage_ends, "the ten payments must all happen during the outage"
    assert all(emails_for(stack, checkout["order_id"], "order_confirmed") == [] for checkout in orders)

    def all_confirmed() -> bool:
        return all(emails_for(stack, checkout["order_id"], "order_confirmed") for checkout in orders)

    wait_for(all_confirmed, timeout=OUTAGE_SECONDS + 180, interval=0.5, what="ten confirmations after the outage")
    recovered = time.monotonic() - outage_ends
    print(f"\nall 10 confirmations sent {recovered:.1f} s after the 60 s SQS outage ended")
    wait_for(lambda: queues_idle(stack), timeout=60, what="the notification queue to drain")
    for checkout in orders:
        assert len(emails_for(stack, checkout["order_id"], "order_confirmed")) == 1, checkout["order_id"]
    replayed = [line for line in stack.output if "OrderStreamFailuresQueue" in line and "sent to" in line]
    assert replayed, "the outage outlasted the stream retries: some batches went through the failure queue"


def test_the_sweep_queues_an_email_whose_stream_batch_was_lost(api, stack):
    aws_faults(stack, service="sqs", operation="SendMessageBatch", code="ServiceUnavailable", count=None)
    sqs, url = failure_queue(stack)
    try:
        seen = len(stack.output)
        checkout = buy(api)
        pay(api, checkout)
        wait_for(lambda: messages_in(sqs, url) > 0, timeout=90, what="the batch in the failure queue")
        wait_for(  # its replay was tried, and failed: SQS is still down
            lambda: any("[ReplayStreamFailuresFunction]" in line for line in stack.output[seen:]),
            timeout=60,
            what="a failed replay",
        )
        sqs.purge_queue(QueueUrl=url)  # and then the failure record is lost too
    finally:
        aws_faults(stack)
    assert emails_for(stack, checkout["order_id"]) == []
    # Ten minutes on (the sweep leaves recent changes to the stream and the email function).
    earlier = (datetime.now(UTC) - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
    stack.table("OrdersTable").update_item(
        Key={"pk": f"ORDER#{checkout['order_id']}", "sk": "ORDER"},
        UpdateExpression="SET updated_at = :at",
        ExpressionAttributeValues={":at": earlier},
    )

    first = json.loads(stack.make("run-scheduled", "FUNCTION=SweepNotificationsFunction").split("--- result ---")[1])
    confirmation = f"order:{checkout['order_id']}:v2:order_confirmed:customer"
    assert confirmation in first["queued"], first
    [mail] = wait_for(lambda: emails_for(stack, checkout["order_id"], "order_confirmed"), what="the swept email")
    assert mail["to"] == checkout["email"]
    again = json.loads(stack.make("run-scheduled", "FUNCTION=SweepNotificationsFunction").split("--- result ---")[1])
    assert confirmation not in again["queued"]
    wait_for(lambda: queues_idle(stack), what="the notification queue to drain")
    assert len(emails_for(stack, checkout["order_id"], "order_confirmed")) == 1


def test_two_partial_refunds_send_two_refund_emails(api, stack):
    checkout = buy(api)
    pay(api, checkout)
    token = merchant_token("songstudio")
    refunds = []
    for amount in (1000, 1500):
        answer = api.post(
            f"/admin/orders/{checkout['order_id']}/refunds",
            json={"amount": amount, "reason": "goodwill"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
        )
        assert answer.status_code in (200, 201), answer.text
        refunds.append(answer.json()["refund_id"])
    mails = wait_for(
        lambda: (
            len(emails_for(stack, checkout["order_id"], "refund_processed")) == 2
            and emails_for(stack, checkout["order_id"], "refund_processed")
        ),
        what="two refund emails",
    )
    assert sorted(m["notification"] for m in mails) == sorted(
        f"order:{checkout['order_id']}:refund-{refund}:refund_processed:customer" for refund in refunds
    )
    texts = " ".join(m["text"].replace("\u00a0", " ") for m in mails)
    assert "USD 10.00" in texts and "USD 15.00" in texts
    assert admin_view(api, checkout["order_id"], "songstudio")["status"] == "paid"


def test_a_permanent_send_failure_after_payment_flags_the_order_and_tells_the_merchant(api, stack):
    checkout = buy(api)
    wait_for(lambda: queues_idle(stack), what="earlier emails to be sent")  # the fault is for this email
    aws_faults(stack, service="sesv2", operation="SendEmail", status=400, code="MessageRejected", count=1)
    try:
        pay(api, checkout)
        [told] = wait_for(
            lambda: emails_for(stack, checkout["order_id"], "email_undeliverable"), what="the merchant's email"
        )
    finally:
        aws_faults(stack)
    assert told["to"] == "team@songstudio.example"  # the merchant's staff
    assert checkout["order_number"] in told["subject"] and "order confirmed email was not delivered" in told["text"]
    assert emails_for(stack, checkout["order_id"], "order_confirmed") == []
    view = admin_view(api, checkout["order_id"], "songstudio")
    assert view["status"] == "paid" and view["email_problem"]["kind"] == "order_confirmed"
    assert any("could not be delivered" in (entry.get("note") or "") for entry in view["history"])


def test_a_transaction_whose_first_answer_is_lost_is_retried_and_succeeds_once(api, stack):
    # The checkout's first TransactWriteItems (the pending order, its history and holds) commits and
    # its answer never arrives; the SDK retries with the same ClientRequestToken.
    before = sent_emails(stack)
    wait_for(lambda: queues_idle(stack), what="earlier emails to be sent")  # nothing else writes meanwhile
    aws_faults(stack, service="dynamodb", operation="TransactWriteItems", drop_response=True, count=1)
    try:
        checkout = buy(api)
    finally:
        fired = httpx.get(f"{stack.aws}/_caisse/faults", timeout=5).json()["faults"]
        aws_faults(stack)
    assert fired[0]["fired"] == 1
    assert checkout["status"] == "pending_payment" and checkout["next_action"]["type"] == "redirect"
    page = httpx.get(checkout["next_action"]["url"], timeout=10)
    assert page.status_code == 200 and "expired" not in page.text.lower()  # a live payment link
    pay(api, checkout)
    [mail] = wait_for(lambda: emails_for(stack, checkout["order_id"], "order_confirmed"), what="the confirmation")
    assert mail["to"] == checkout["email"]
    assert len(sent_emails(stack)) > len(before)
