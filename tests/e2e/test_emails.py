"""Transactional email on the local stack: the orders stream → the notification queue → SES.
Every email that should go goes once, in the customer's language, whatever is redelivered or
fails for a while."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
from e2e_support import (
    STACK,
    aws_faults,
    emails_for,
    made_to_order,
    merchant_token,
    order_status,
    plain,
    queues_idle,
    sent_emails,
    wait_for,
)


def buy(api, sku="SONG-STANDARD", locale="en", email=None, name="Awa <b>Ndiaye</b>") -> dict:
    email = email or f"buyer-{uuid.uuid4().hex[:8]}@example.test"
    answer = api.post(
        "/checkouts",
        json={
            "items": [{"sku": sku, "quantity": 1}],
            "currency": "USD",
            "customer": {"name": name, "email": email, "locale": locale},
            **made_to_order(sku),
        },
    )
    assert answer.status_code == 201, answer.text
    return {**answer.json(), "email": email}


def pay(api, checkout) -> None:
    httpx.post(f"{checkout['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, checkout) == "paid", what="paid")


def test_a_paid_order_sends_exactly_one_confirmation(api, stack):
    stack.sandbox_config(duplicates=3, shuffle=True)  # every Stripe event three times, out of order
    checkout = buy(api)
    pay(api, checkout)
    [mail] = wait_for(lambda: emails_for(stack, checkout["order_id"], "order_confirmed"), what="the confirmation")
    wait_for(lambda: queues_idle(stack), what="the notification queue to drain")
    assert len(emails_for(stack, checkout["order_id"], "order_confirmed")) == 1
    assert [m["kind"] for m in emails_for(stack, checkout["order_id"])] == ["order_confirmed", "new_order"]
    assert mail["to"] == checkout["email"]
    assert mail["subject"].startswith(f"Order {checkout['order_number']} confirmed")
    assert "Custom Song Studio" in mail["from"]
    assert mail["reply_to"] == "hello@songstudio.example"
    assert "USD 99.00" in plain(mail["text"])
    assert "Awa <b>Ndiaye</b>" in mail["text"] and "Awa &lt;b&gt;Ndiaye&lt;/b&gt;" in mail["html"]
    assert f"/order/{checkout['order_id']}#token=" in mail["text"]  # the hosted order page


def test_a_french_customer_gets_french(api, stack):
    checkout = buy(api, locale="fr", name="Fatou")
    pay(api, checkout)
    [mail] = wait_for(lambda: emails_for(stack, checkout["order_id"], "order_confirmed"), what="the confirmation")
    assert mail["subject"].startswith(f"Commande {checkout['order_number']} confirmée")
    assert "Merci, Fatou" in mail["text"]
    assert "99,00 USD" in plain(mail["text"])


def test_a_queue_message_delivered_twice_is_mailed_once(api, stack):
    checkout = buy(api)
    pay(api, checkout)
    [mail] = wait_for(lambda: emails_for(stack, checkout["order_id"], "order_confirmed"), what="the confirmation")
    sqs = stack.boto("sqs")
    url = sqs.get_queue_url(QueueName=f"{STACK}-NotificationsQueue.fifo")["QueueUrl"]
    again = {
        "id": mail["notification"],
        "kind": "order_confirmed",
        "to": checkout["email"],
        "locale": "en",
        "source": f"order:{checkout['order_id']}",
        "version": 2,
        "context": {},
    }
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(again),
        MessageGroupId=again["source"],
        MessageDeduplicationId=uuid.uuid4().hex,
    )  # a new id: SQS's own dedup cannot help
    wait_for(lambda: queues_idle(stack), what="the duplicate to be consumed")
    assert len(emails_for(stack, checkout["order_id"], "order_confirmed")) == 1
    record = stack.table("NotificationsTable").get_item(Key={"pk": f"EMAIL#{mail['notification']}"})["Item"]
    assert record["status"] == "sent" and record["ses_message_id"]


def test_ses_failing_for_a_while_delays_the_email_but_sends_it_once(api, stack):
    # Each delivery tries SES three times: four failures make the first delivery fail for good
    # and the second succeed on its second try.
    aws_faults(stack, service="sesv2", operation="SendEmail", status=503, code="ServiceUnavailable", count=4)
    try:
        checkout = buy(api)
        pay(api, checkout)
        wait_for(lambda: emails_for(stack, checkout["order_id"], "order_confirmed"), timeout=40, what="the email")
        wait_for(lambda: queues_idle(stack), what="the queue to drain")
    finally:
        aws_faults(stack)
    assert len(emails_for(stack, checkout["order_id"], "order_confirmed")) == 1
    notification = emails_for(stack, checkout["order_id"], "order_confirmed")[0]["notification"]
    record = stack.table("NotificationsTable").get_item(Key={"pk": f"EMAIL#{notification}"})["Item"]
    assert record["status"] == "sent"
    assert record["attempts"] == 2  # one failed delivery, one that sent


def test_an_email_that_keeps_failing_ends_in_the_dlq_and_the_redrive_sends_it_once(api, stack):
    sqs = stack.boto("sqs")
    dlq = sqs.get_queue_url(QueueName=f"{STACK}-NotificationsDLQ.fifo")["QueueUrl"]

    def in_dlq() -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    aws_faults(stack, service="sesv2", operation="SendEmail", status=503, code="ServiceUnavailable", count=None)
    try:
        checkout = buy(api)
        pay(api, checkout)
        # The customer's confirmation and the shop's new-order email (each in its own group).
        wait_for(lambda: in_dlq() == 2, timeout=120, interval=0.5, what="both messages to reach the DLQ")
        assert emails_for(stack, checkout["order_id"]) == []
    finally:
        aws_faults(stack)
    assert "moved 2 message" in stack.make("redrive")  # finds the stack through CAISSE_AWS_PORT
    wait_for(lambda: emails_for(stack, checkout["order_id"], "order_confirmed"), timeout=30, what="the redriven email")
    wait_for(lambda: queues_idle(stack), what="the queue to drain")
    assert len(emails_for(stack, checkout["order_id"], "order_confirmed")) == 1
    assert len(emails_for(stack, checkout["order_id"], "new_order")) == 1
    assert in_dlq() == 0


def test_a_bounced_address_is_suppressed_and_the_skip_is_recorded(api, stack):
    email = f"gone-{uuid.uuid4().hex[:8]}@example.test"
    bounce = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": email, "diagnosticCode": "smtp; 550 user unknown"}],
        },
        "mail": {"destination": [email]},
    }
    stack.boto("sns").publish(
        TopicArn=f"arn:aws:sns:us-east-1:123456789012:{STACK}-EmailFeedbackTopic", Message=json.dumps(bounce)
    )
    table = stack.table("NotificationsTable")
    wait_for(lambda: table.get_item(Key={"pk": f"SUPPRESSED#{email}"}).get("Item"), what="the suppression")
    checkout = buy(api, email=email)
    pay(api, checkout)

    def skipped():
        items = table.scan(
            FilterExpression="#to = :to",
            ExpressionAttributeNames={"#to": "to"},
            ExpressionAttributeValues={":to": email},
        )["Items"]
        return [item for item in items if item["status"] == "skipped"]

    [record] = wait_for(skipped, what="the skip to be recorded")
    assert record["reason"] == "suppressed"
    wait_for(lambda: queues_idle(stack), what="the queue to drain")
    assert sent_emails(stack, to=email) == []


def test_a_declined_payment_emails_the_reason_and_a_way_to_try_again(api, stack):
    checkout = buy(api)
    httpx.post(f"{checkout['next_action']['url']}/decline", timeout=10)
    [mail] = wait_for(lambda: emails_for(stack, checkout["order_id"], "payment_failed"), what="the failure email")
    assert "did not go through" in mail["subject"]
    assert "Your card was declined." in mail["text"]
    assert f"Try again: {checkout['next_action']['url']}" in mail["text"]


def test_each_stage_emails_the_customer_and_delivery_links_the_file(api, stack):
    checkout = buy(api)
    pay(api, checkout)
    token = merchant_token("songstudio")
    headers = {"Authorization": f"Bearer {token}"}
    order_path = f"/admin/orders/{checkout['order_id']}"
    for stage in ("discovery", "writing", "production", "review"):
        assert api.post(f"{order_path}/status", json={"status": stage}, headers=headers).status_code == 200
    song = b"ID3" + bytes(range(256)) * 40
    wanted = {"filename": "your song.mp3", "content_type": "audio/mpeg", "size": len(song)}
    upload = api.post(f"{order_path}/deliverable", json=wanted, headers=headers)
    assert upload.status_code == 201, upload.text
    put = upload.json()["upload"]
    # The size is signed like the type: S3 refuses a file of any other length.
    assert put["headers"] == {"Content-Type": "audio/mpeg", "Content-Length": str(len(song))}
    assert parse_qs(urlsplit(put["url"]).query)["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    too_big = api.post(f"{order_path}/deliverable", json={**wanted, "size": 3 * 1024**3}, headers=headers)
    assert too_big.status_code == 422 and too_big.json()["details"][0]["field"] == "size"
    assert httpx.put(put["url"], content=song, headers=put["headers"], timeout=10).status_code == 200
    assert (
        api.post(f"{order_path}/status", json={"status": "delivered", "message": "Enjoy!"}, headers=headers).status_code
        == 200
    )

    stages = wait_for(
        lambda: (
            len(emails_for(stack, checkout["order_id"], "stage_changed")) == 4
            and emails_for(stack, checkout["order_id"], "stage_changed")
        ),
        what="four stage emails",
    )
    assert sorted(m["subject"].split(": ")[-1] for m in stages) == ["discovery", "production", "review", "writing"]
    [delivery] = wait_for(lambda: emails_for(stack, checkout["order_id"], "delivery"), what="the delivery email")
    assert "Enjoy!" in delivery["text"]
    link = next(line.split(": ", 1)[1] for line in delivery["text"].splitlines() if line.startswith("Download: "))
    assert link.startswith(f"{stack.api}/orders/{checkout['order_id']}/download?")
    redirect = httpx.get(link, timeout=10)
    assert redirect.status_code == 302
    assert httpx.get(redirect.headers["location"], timeout=10).content == song
    signature = link.split("signature=")[1]
    forged = link.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    assert httpx.get(forged, timeout=10).status_code == 403
    expired = link.split("expires=")[0] + f"expires={int(time.time()) - 1}&" + link.split("&", 1)[1]
    assert httpx.get(expired, timeout=10).status_code == 403


def test_a_gallery_whose_photos_are_all_ready_emails_its_client_in_french_and_the_photographer(api, stack):
    import io
    from datetime import UTC, datetime, timedelta

    from PIL import Image

    headers = {"Authorization": f"Bearer {merchant_token('lumen')}"}
    client = f"client-{uuid.uuid4().hex[:8]}@example.test"
    created = api.post(
        "/admin/galleries",
        headers=headers,
        json={
            "title": "Mariage Dupont",
            "client": {"name": "Awa Ndiaye", "email": client, "locale": "fr"},
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
    )
    assert created.status_code == 201, created.text
    gallery = created.json()["gallery_id"]
    media = []
    for index in range(2):
        photo = io.BytesIO()
        Image.new("RGB", (640, 480), (index * 90, 120, 200)).save(photo, "JPEG")
        created = api.post(
            "/uploads",
            headers=headers,
            json={
                "purpose": "gallery",
                "gallery_id": gallery,
                "filename": f"p{index}.jpg",
                "content_type": "image/jpeg",
                "size": len(photo.getvalue()),
            },
        )
        assert created.status_code == 201, created.text
        target = created.json()["upload"]
        httpx.request(target["method"], target["url"], headers=target["headers"], content=photo.getvalue(), timeout=15)
        media.append(created.json()["media_id"])

    def ready_mails():
        mails = sent_emails(stack, source=f"gallery:{gallery}")
        return mails if len(mails) == 2 else None

    mails = wait_for(ready_mails, timeout=60, what="the gallery-ready emails")
    by_kind = {mail["kind"]: mail for mail in mails}
    to_client, to_photographer = by_kind["gallery_ready"], by_kind["gallery_processed"]
    assert to_client["to"] == client and to_client["subject"] == "Vos photos sont prêtes - Lumen Photography"
    assert "2 photos sont prêtes dans la galerie Mariage Dupont" in plain(to_client["text"])
    assert to_photographer["to"] == "bookings@lumen.example"
    assert (
        "2 photos are ready" in to_photographer["text"]
        and "Awa Ndiaye has been sent the link" in to_photographer["text"]
    )
    for media_id in media:
        assert api.get(f"/media/{media_id}", headers=headers).json()["status"] == "ready"
