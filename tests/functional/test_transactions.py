"""Transactions against the local AWS endpoint (moto in server mode, as the local stack runs it):
a transaction whose answer is lost is retried by the SDK and applied once; DynamoDB's
ClientRequestToken rules; a conflict with another transaction is retried, never read as a failed
condition."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from caisse import db
from caisse_local import aws

TABLE = "caisse-functional-transactions"


class Counter(db.CaisseModel):
    class Meta(db.LambdaMeta):
        table_name = TABLE

    pk = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with aws.serve(port=0) as server:
        yield server.url


@pytest.fixture
def table(endpoint, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    db.shared_connection.cache_clear()
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", **aws.LOCAL_CREDENTIALS)
    try:
        client.describe_table(TableName=TABLE)
    except client.exceptions.ResourceNotFoundException:
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    yield endpoint
    httpx.delete(f"{endpoint}{aws.FAULTS_PATH}")
    db.shared_connection.cache_clear()


def fault(endpoint: str, **spec) -> None:
    httpx.post(f"{endpoint}{aws.FAULTS_PATH}", json={"service": "dynamodb", **spec}).raise_for_status()


def new_counter(key: str) -> db.Transaction:
    """Create the counter only if it does not exist, and count 1: applied twice, it fails."""
    tx = db.Transaction()
    tx.put(Counter(key, value=1), Counter.pk.does_not_exist(), label="counter")
    return tx


def test_a_transaction_whose_answer_is_lost_is_retried_and_applied_once(table):
    key = f"lost-{uuid.uuid4()}"
    fault(table, operation="TransactWriteItems", drop_response=True)

    new_counter(key).commit()  # the SDK's retry carries the same token: answered as the success it was

    assert Counter.get(key, consistent_read=True).value == 1
    fired = httpx.get(f"{table}{aws.FAULTS_PATH}").json()["faults"][0]
    assert fired["fired"] == 1 and fired["drop_response"] is True


def test_the_same_token_is_answered_once_and_refused_with_other_parameters(table):
    client = boto3.client("dynamodb", endpoint_url=table, region_name="us-east-1", **aws.LOCAL_CREDENTIALS)
    key, token = f"token-{uuid.uuid4()}", str(uuid.uuid4())
    item = {"Put": {"TableName": TABLE, "Item": {"pk": {"S": key}}, "ConditionExpression": "attribute_not_exists(pk)"}}

    client.transact_write_items(TransactItems=[item], ClientRequestToken=token)
    client.transact_write_items(TransactItems=[item], ClientRequestToken=token)  # same request: success
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=[item], ClientRequestToken=str(uuid.uuid4()))
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    other = {"Put": {**item["Put"], "Item": {"pk": {"S": key}, "extra": {"S": "x"}}}}
    with pytest.raises(ClientError) as mismatch:
        client.transact_write_items(TransactItems=[other], ClientRequestToken=token)
    assert mismatch.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"


def conflict(endpoint: str, count: int | None) -> None:
    fault(
        endpoint,
        operation="TransactWriteItems",
        status=400,
        code="TransactionCanceledException",
        message="Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
        count=count,
        details={"CancellationReasons": [{"Code": "TransactionConflict", "Message": "Transaction is ongoing"}]},
    )


def test_a_conflict_with_another_transaction_is_tried_again(table):
    key = f"conflict-{uuid.uuid4()}"
    conflict(table, count=2)

    new_counter(key).commit()

    assert Counter.get(key, consistent_read=True).value == 1


def test_a_lasting_conflict_is_a_conflict_not_a_failed_condition(table):
    key = f"busy-{uuid.uuid4()}"
    conflict(table, count=None)

    with pytest.raises(db.TransactionConflict) as raised:
        new_counter(key).commit()

    assert raised.value.status == 409 and raised.value.code == "concurrent_update"
    httpx.delete(f"{table}{aws.FAULTS_PATH}")
    new_counter(key).commit()
    with pytest.raises(db.TransactionCancelled) as cancelled:  # a condition that fails is still that
        new_counter(key).commit()
    assert set(cancelled.value.failed) == {"counter"}


def test_batch_get_reads_more_keys_than_one_call_may_carry(table):
    # A tradie's week of bookings, each with its PersonalData item, is over DynamoDB's 100 keys.
    keys = [f"batch-{uuid.uuid4()}" for _ in range(db.BATCH_GET_KEYS + 30)]
    with Counter.batch_write() as writer:
        for number, key in enumerate(keys):
            writer.save(Counter(key, value=number))
    missing = f"batch-missing-{uuid.uuid4()}"

    found = db.batch_get([(Counter, key, None) for key in [*keys, missing, keys[0]]])

    assert sorted((c.pk, c.value) for c in found) == sorted((key, number) for number, key in enumerate(keys))
