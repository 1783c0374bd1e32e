"""The stream consumer and the email function on real Lambda event shapes, against moto: one
committed change → one message → one email, however often either is delivered."""

from __future__ import annotations

import email
import json

import boto3
from conftest import sample, set_header
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

QUEUE = "caisse-test-NotificationsQueue.fifo"


def paid_order(invoke) -> tuple[dict, dict]:
    """An order checked out and then paid; and the stream event of that change, as Lambda hands
    it over (built here: moto's in-process DynamoDB Streams API answers 'not yet implemented')."""
    event = sample("create_checkout")
    set_header(event, "Idempotency-Key", None)
    order = json.loads(invoke("CreateCheckoutFunction", event)["body"])
    client = boto3.client("dynamodb")
    key = {"pk": {"S": f"ORDER#{order['order_id']}"}, "sk": {"S": "ORDER"}}
    old = client.get_item(TableName="caisse-test-OrdersTable", Key=key)["Item"]
    new = client.update_item(
        TableName="caisse-test-OrdersTable",
        Key=key,
        UpdateExpression="SET #s = :paid, version = :v",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":paid": {"S": "paid"}, ":v": {"N": "2"}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    arn = client.describe_table(TableName="caisse-test-OrdersTable")["Table"]["LatestStreamArn"]
    record = {
        "eventID": "c81e728d9d4c2f636f067f89cc14862c",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795000000,
            "Keys": key,
            "NewImage": new,
            "OldImage": old,
            "SequenceNumber": "111100000000000000000001",
            "SizeBytes": 1024,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": arn,
    }
    return order, {"Records": [record]}


def queue_event() -> tuple[dict, list[dict]]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT_ID}:{QUEUE}",
            "awsRegion": "us-east-1",
        }
        for m in messages
    ]
    return {"Records": records}, messages


def sent() -> list[email.message.Message]:
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [email.message_from_string(m.raw_data) for m in backend.sent_messages if hasattr(m, "raw_data")]


def test_one_change_makes_one_message_however_often_the_stream_record_comes(invoke):
    order, event = paid_order(invoke)
    assert invoke("NotifyOrderChangesFunction", event) == {"batchItemFailures": []}
    assert invoke("NotifyOrderChangesFunction", event) == {"batchItemFailures": []}  # the same batch again
    queued, _ = queue_event()
    bodies = [json.loads(r["body"]) for r in queued["Records"]]
    staff = "ops@sunsetfestival.example"
    assert sorted((b["kind"], b["to"]) for b in bodies) == [
        ("new_order", staff),
        ("order_confirmed", "ada@example.test"),
    ]
    ids = {b["kind"]: b["id"] for b in bodies}
    assert ids["order_confirmed"] == f"order:{order['order_id']}:v2:order_confirmed:customer"
    assert ids["new_order"] == f"order:{order['order_id']}:new-order:new_order:merchant"


def test_one_message_makes_one_email_however_often_it_is_delivered(invoke):
    _, changes = paid_order(invoke)
    invoke("NotifyOrderChangesFunction", changes)
    event, _ = queue_event()
    assert invoke("SendEmailFunction", event) == {"batchItemFailures": []}
    assert invoke("SendEmailFunction", event) == {"batchItemFailures": []}  # redelivered
    [message] = [m for m in sent() if m["To"] == "ada@example.test"]
    assert len(sent()) == 2  # the customer's confirmation and the shop's "new order"
    assert message["Reply-To"] == "tickets@sunsetfestival.example"
    assert [part.get_content_type() for part in message.walk() if not part.is_multipart()] == [
        "text/plain",
        "text/html",
    ]
    ledger = boto3.resource("dynamodb").Table("caisse-test-NotificationsTable").scan()["Items"]
    found = sorted((item["kind"], item["status"], int(item["attempts"])) for item in ledger)
    assert found == [("new_order", "sent", 1), ("order_confirmed", "sent", 1)]  # each once, redelivery or not
