"""The local AWS endpoint's DynamoDB request units (caisse_local.aws.capacity_units), which
make cost prices: sized like DynamoDB sizes items, per 1 KB written and 4 KB read, doubled in
transactions, halved for eventually consistent reads, nothing for a call that failed."""

from __future__ import annotations

import json

from caisse_local.aws import capacity_units, item_size


def _body(value: dict) -> bytes:
    return json.dumps(value).encode()


def test_an_item_is_sized_from_its_names_and_values():
    assert item_size({"pk": {"S": "ORDER#1"}}) == 2 + 7
    assert item_size({"ok": {"BOOL": True}, "n": {"N": "12345"}}) == 3 + 1 + 4
    # A number is one byte per two significant digits plus one: 150000 is 15 and four zeros.
    assert item_size({"n": {"N": "150000"}, "m": {"N": "-0.0025"}}) == (1 + 2) + (1 + 2)


def test_writes_count_per_kilobyte_and_double_in_a_transaction():
    big = {"pk": {"S": "x"}, "blob": {"S": "y" * 1500}}
    assert capacity_units("PutItem", _body({"Item": big}), b"{}") == {"write": 2}
    transaction = {"TransactItems": [{"Put": {"Item": big}}, {"Update": {"Key": {"pk": {"S": "x"}}}}]}
    assert capacity_units("TransactWriteItems", _body(transaction), b"{}") == {"write": 2 * 2 + 2 * 1}
    assert capacity_units("PutItem", _body({"Item": big}), _body({"__type": "ConditionalCheckFailed"})) == {}


def test_reads_count_per_four_kilobytes_halved_when_eventually_consistent():
    items = [{"pk": {"S": "x"}, "blob": {"S": "y" * 2500}} for _ in range(2)]  # about 5 KB together
    assert capacity_units("Query", _body({}), _body({"Items": items})) == {"read": 1.0}
    assert capacity_units("Query", _body({"ConsistentRead": True}), _body({"Items": items})) == {"read": 2.0}
    assert capacity_units("GetItem", _body({"ConsistentRead": True}), b"{}") == {"read": 1.0}  # nothing found
