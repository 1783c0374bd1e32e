#!/usr/bin/env python3
"""Give orders written before the money state existed their money state (issue 10).

Refund states used to be statuses; an order that was `refunded` goes back to the status it had
before its refunds, and its money state says `refunded`. Idempotent: orders that have a
`money_state` are left alone; each update is conditional on the order not having moved.

`--help` shows how to run it (scripts/table_migration.py: dry run, --apply, the local stack).
"""

from __future__ import annotations

import sys

import boto3
from boto3.dynamodb.conditions import Attr, Key
from table_migration import arguments

from caisse.orders.upgrade import legacy_split


def main() -> int:
    args = arguments(__doc__)
    table = boto3.resource("dynamodb").Table(args.table)

    scan = {"FilterExpression": Attr("type").eq("order") & Attr("money_state").not_exists()}
    changed = 0
    while True:
        page = table.scan(**scan)
        for order in page["Items"]:
            history = table.query(
                KeyConditionExpression=Key("pk").eq(order["pk"]) & Key("sk").begins_with("HISTORY#"),
                ConsistentRead=True,
            )["Items"]
            moves = [(int(h["version"]), h.get("from_status"), h["to_status"]) for h in history]
            paid = int(order.get("paid_amount") or order["total_amount"])
            status, money = legacy_split(order["status"], int(order.get("refunded_amount") or 0), paid, moves)
            print(f"{order['order_id']}: {order['status']} -> status {status}, money {money}")
            changed += 1
            if args.apply:
                table.update_item(
                    Key={"pk": order["pk"], "sk": order["sk"]},
                    UpdateExpression="SET #s = :status, money_state = :money, refund_reserved = :zero",
                    ConditionExpression="attribute_not_exists(money_state) AND version = :version",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":status": status,
                        ":money": money,
                        ":zero": 0,
                        ":version": order["version"],
                    },
                )
        if "LastEvaluatedKey" not in page:
            break
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    print(f"{changed} orders {'updated' if args.apply else 'to update (dry run: --apply writes them)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
