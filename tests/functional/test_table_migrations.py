"""The one-off migrations of the orders table (scripts/migrate_money_state.py, index_orders.py,
set_personal_data_apart.py), run as an operator runs them against the emulated AWS: a dry run
writes nothing, --apply upgrades an order written before the money state, the staff lists and the
PersonalData item, and a second run finds nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from caisse_local import aws
from caisse_local import template as templates

ROOT = Path(__file__).resolve().parents[2]
ORDER_KEY = {"pk": {"S": "ORDER#legacy-1"}, "sk": {"S": "ORDER"}}


@pytest.fixture(scope="module")
def orders_table() -> Iterator[tuple[str, str]]:
    # The orders table alone, keyed as template.yaml keys it: moto in this process keeps one state for
    # every server it runs, so provisioning the whole template here would leave its SES and SQS names
    # taken for other tests' stacks (the migrations read and write this table only).
    server = aws.serve("127.0.0.1", 0)
    try:
        keys = templates.load(ROOT / "template.yaml").resources["OrdersTable"]["Properties"]["KeySchema"]
        table = "caisse-migration-OrdersTable"
        dynamodb = aws.client("dynamodb", server.url)
        dynamodb.create_table(
            TableName=table,
            KeySchema=keys,
            AttributeDefinitions=[{"AttributeName": key["AttributeName"], "AttributeType": "S"} for key in keys],
            BillingMode="PAY_PER_REQUEST",
        )
        s = lambda value: {"S": value}  # noqa: E731
        dynamodb.put_item(  # a paid order as issue 10 found them: no money state, no index keys
            TableName=table,
            Item={
                **ORDER_KEY,
                "type": s("order"),
                "order_id": s("legacy-1"),
                "order_number": s("LP-2025-0001"),
                "merchant": s("lumen"),
                "status": s("paid"),
                "version": {"N": "2"},
                "currency": s("USD"),
                "total_amount": {"N": "5000"},
                "items": {
                    "L": [
                        {
                            "M": {
                                "sku": s("PHOTO-PRINT-A3"),
                                "name": s("Print"),
                                "quantity": {"N": "1"},
                                "unit_amount": {"N": "5000"},
                            }
                        }
                    ]
                },
                "customer": {
                    "M": {
                        "name": s("Ada Lovelace"),
                        "email": s("ada@example.test"),
                        "locale": s("en"),
                        "phone_sealed": s("CIPHERTEXT-OF-THE-PHONE"),
                        "phone_ending": s("77"),
                    }
                },
                "answers_sealed": s("CIPHERTEXT-OF-THE-BRIEF"),
                "provider": s("stripe"),
                "request_fingerprint": s("f"),
                "created_at": s("2025-01-02T03:04:05Z"),
                "updated_at": s("2025-01-02T03:04:06.000000+0000"),
                "expires_at": s("2025-01-02T03:34:05.000000+0000"),
                "refunded_amount": {"N": "0"},
            },
        )
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": s("ORDER#legacy-1"),
                "sk": s("HISTORY#0000000002"),
                "type": s("history"),
                "version": {"N": "2"},
                "from_status": s("pending_payment"),
                "to_status": s("paid"),
                "at": s("2025-01-02T03:04:06.000000+0000"),
                "actor": s("provider"),
                "actor_id": s("stripe"),
            },
        )
        yield server.url, table
    finally:
        server.stop()


def migrate(script: str, endpoint: str, table: str, *extra: str) -> str:
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "ORDERS_"))}
    done = subprocess.run(  # noqa: S603 - our own scripts, our own interpreter
        [sys.executable, str(ROOT / "scripts" / script), "--table", table, "--endpoint-url", endpoint, *extra],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def stored(endpoint: str, table: str) -> dict:
    return aws.client("dynamodb", endpoint).get_item(TableName=table, Key=ORDER_KEY, ConsistentRead=True)["Item"]


def test_an_old_order_gets_its_money_state_then_its_index_keys_once(orders_table):
    endpoint, table = orders_table
    assert migrate("migrate_money_state.py", endpoint, table) == "1 orders to update (dry run: --apply writes them)"
    assert "money_state" not in stored(endpoint, table)
    assert migrate("migrate_money_state.py", endpoint, table, "--apply") == "1 orders updated"
    assert migrate("migrate_money_state.py", endpoint, table) == "0 orders to update (dry run: --apply writes them)"

    assert migrate("index_orders.py", endpoint, table).startswith("1 orders to index (dry run")
    assert "listed_at" not in stored(endpoint, table)
    assert migrate("index_orders.py", endpoint, table, "--apply") == "1 orders indexed; 0 moved"
    assert migrate("index_orders.py", endpoint, table).startswith("0 orders to index")

    order = stored(endpoint, table)
    assert (order["status"]["S"], order["money_state"]["S"]) == ("paid", "paid")
    assert order["listed_at"]["S"] == "2025-01-02T03:04:05.000000Z#legacy-1"
    assert order["merchant_status"]["S"] == "lumen#paid" and order["name_key"]["S"].startswith("ada lovelace#")


def test_an_old_orders_encrypted_fields_move_into_its_personal_item_as_they_are(orders_table):
    endpoint, table = orders_table
    assert migrate("set_personal_data_apart.py", endpoint, table).startswith("1 orders to set apart (dry run")
    assert "answers_sealed" in stored(endpoint, table)
    assert migrate("set_personal_data_apart.py", endpoint, table, "--apply") == "1 orders set apart; 0 moved"
    assert migrate("set_personal_data_apart.py", endpoint, table).startswith("0 orders to set apart")

    order = stored(endpoint, table)
    assert "CIPHERTEXT" not in str(order) and sorted(order["sealed_apart"]["L"], key=str) == [
        {"S": "answers"},
        {"S": "phone"},
    ]
    assert order["customer"]["M"]["phone_ending"] == {"S": "77"} and order["version"] == {"N": "2"}
    personal = aws.client("dynamodb", endpoint).get_item(
        TableName=table, Key={"pk": {"S": "ORDER#legacy-1"}, "sk": {"S": "PERSONAL"}}, ConsistentRead=True
    )["Item"]
    assert personal["answers_sealed"] == {"S": "CIPHERTEXT-OF-THE-BRIEF"}
    assert personal["phone_sealed"] == {"S": "CIPHERTEXT-OF-THE-PHONE"} and "job_sealed" not in personal
