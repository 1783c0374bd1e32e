"""What every DynamoDB model shares: connection settings sized for Lambda, and the clock."""

from __future__ import annotations

import base64
import binascii
import json
import os
import random
import time
import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from pynamodb.attributes import ListAttribute, MapAttribute, UnicodeAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from caisse.errors import Conflict, InvalidRequest


class LambdaMeta:
    """Base Meta for pynamodb models: fail fast instead of waiting out a 60 s default timeout."""

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    connect_timeout_seconds = 3
    read_timeout_seconds = 5
    max_retry_attempts = 2


@cache
def shared_connection() -> Connection:
    """One botocore session and DynamoDB client for every table (and the SSM client is made from
    the same session): each separate session costs about 35 ms of cold start (make bench)."""
    return Connection(
        region=LambdaMeta.region,
        connect_timeout_seconds=LambdaMeta.connect_timeout_seconds,
        read_timeout_seconds=LambdaMeta.read_timeout_seconds,
        max_retry_attempts=LambdaMeta.max_retry_attempts,
    )


class CaisseModel(Model):
    """Base of our models: all tables go through the shared connection."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        table = super()._get_connection()
        shared = shared_connection()
        if table.connection is not shared:
            if table.table_name not in shared._tables:
                shared.add_meta_table(table.get_meta_table())
            table.connection = shared
        return table


def aws_client(service: str, config: Any = None) -> Any:
    """A botocore client for another service, from the shared session (cheap: models are cached).
    `config` is a botocore Config, e.g. SigV4 for S3 presigned URLs (botocore presigns SigV2 by
    default, which S3 refuses for buckets created since 2020)."""
    connection = shared_connection()
    return connection.session.create_client(service, region_name=LambdaMeta.region, config=config)


def document(**options: Any) -> MapAttribute[str, Any]:
    """A map whose keys are data, not declared attributes (pynamodb's raw MapAttribute), typed as
    what it holds."""
    return MapAttribute(**options)


def string_list(**options: Any) -> ListAttribute[str]:
    """A list of strings. pynamodb types `ListAttribute(of=UnicodeAttribute)` as a list of
    attributes; what it reads and writes is a list of str."""
    return cast("ListAttribute[str]", ListAttribute(of=UnicodeAttribute, **options))


BATCH_GET_KEYS = 100  # DynamoDB's most keys in one BatchGetItem


def batch_get(wanted: Sequence[tuple[type[Model], Any, Any]]) -> list[Any]:
    """BatchGetItem across tables (pynamodb's batch_get reads one table): `wanted` holds (model
    class, hash key, range key or None); the answer holds the records that exist. One call per
    100 keys, DynamoDB's limit."""
    keys: list[tuple[str, dict[str, Any]]] = []
    models: dict[str, type[Model]] = {}
    for model, hash_key, range_key in wanted:
        meta = model._get_connection().get_meta_table()
        key = {meta.hash_keyname: {"S": hash_key}}
        if range_key is not None:
            key[str(meta.range_keyname)] = {"S": range_key}
        table = str(model.Meta.table_name)
        if (table, key) not in keys:
            keys.append((table, key))
        # The table's root model reads any record of it (its discriminator picks the class).
        models[table] = next(
            cls
            for cls in reversed(model.__mro__)
            if isinstance(cls, type) and issubclass(cls, CaisseModel) and cls is not CaisseModel
        )
    found: list[Model] = []
    for start in range(0, len(keys), BATCH_GET_KEYS):
        tables: dict[str, dict[str, Any]] = {}
        for table, key in keys[start : start + BATCH_GET_KEYS]:
            tables.setdefault(table, {"Keys": [], "ConsistentRead": True})["Keys"].append(key)
        found.extend(_batch_get_all(tables, models))
    return found


def _batch_get_all(pending: dict[str, dict[str, Any]], models: dict[str, type[Model]]) -> list[Model]:
    found: list[Model] = []
    for _ in range(5):  # unprocessed keys come back under load; a few tries, then fail loudly
        answer = shared_connection().client.batch_get_item(RequestItems=pending)
        for table, items in answer.get("Responses", {}).items():
            found.extend(models[table].from_raw_data(item) for item in items)
        pending = answer.get("UnprocessedKeys") or {}
        if not pending:
            return found
    raise RuntimeError("DynamoDB kept keys unprocessed")


class TransactionCancelled(Exception):
    """A transaction whose conditions did not hold. `failed` maps each failing item's label to
    DynamoDB's reason (with the item as it was, where the caller asked for it)."""

    def __init__(self, failed: dict[str, Any]) -> None:
        super().__init__(f"transaction cancelled by: {', '.join(failed) or 'unknown reason'}")
        self.failed = failed


class TransactionConflict(Conflict):
    """Another transaction held one of the items at the same moment, attempt after attempt: nothing
    was written and no condition failed, so the same request may simply be tried again."""

    code = "concurrent_update"

    def __init__(self, labels: list[str]) -> None:
        super().__init__("another request changed the same records at the same moment; please try again")
        self.labels = labels


# Reasons that say "not now" rather than "no": another transaction held an item, or DynamoDB
# throttled it. Nothing was written; the transaction is tried again, then TransactionConflict.
_RETRYABLE_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
CONFLICT_ATTEMPTS = 4
CONFLICT_BACKOFF_SECONDS = 0.05


class Transaction:
    """pynamodb's TransactWrite, keeping a label per item so a cancellation says which condition
    failed. pynamodb sends condition checks, deletes, puts and updates in that order, and DynamoDB
    answers cancellation reasons in the order sent, so the labels are kept in the same buckets.

    Every commit carries a ClientRequestToken, so the SDK's own retry of a request whose answer was
    lost (a read timeout after DynamoDB committed) is answered as the success it was, instead of
    failing against the transaction's own first attempt; DynamoDB remembers a token for 10 minutes.
    A cancellation only for conflicts with another transaction is retried with a new token (nothing
    was written), then raised as TransactionConflict, never as a failed condition."""

    def __init__(self) -> None:
        self._items: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._labels: dict[str, list[str]] = {"check": [], "delete": [], "put": [], "update": []}

    def check(self, model_cls: type[Model], hash_key: Any, range_key: Any, condition: Condition, label: str) -> None:
        self._items.append(("condition_check", (model_cls, hash_key, range_key), {"condition": condition}))
        self._labels["check"].append(label)

    def put(self, model: Model, condition: Condition | None = None, *, label: str, return_old: bool = False) -> None:
        self._items.append(
            ("save", (model,), {"condition": condition, "return_values": ALL_OLD if return_old else None})
        )
        self._labels["put"].append(label)

    def update(
        self,
        model: Model,
        actions: Sequence[Action],
        condition: Condition | None = None,
        *,
        label: str,
        return_old: bool = False,
    ) -> None:
        self._items.append(
            (
                "update",
                (model,),
                {"actions": list(actions), "condition": condition, "return_values": ALL_OLD if return_old else None},
            )
        )
        self._labels["update"].append(label)

    def delete(self, model: Model, condition: Condition | None = None, *, label: str) -> None:
        self._items.append(("delete", (model,), {"condition": condition}))
        self._labels["delete"].append(label)

    def _write(self, token: str) -> TransactWrite:
        tx = TransactWrite(connection=shared_connection(), client_request_token=token)
        for method, args, kwargs in self._items:
            getattr(tx, method)(*args, **kwargs)
        return tx

    def commit(self) -> None:
        labels = [*self._labels["check"], *self._labels["delete"], *self._labels["put"], *self._labels["update"]]
        conflicts: list[str] = []
        token = str(uuid.uuid4())
        for attempt in range(CONFLICT_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0.5, 1.5) * CONFLICT_BACKOFF_SECONDS * 2 ** (attempt - 1))  # noqa: S311
            try:
                self._write(token)._commit()
                return
            except TransactWriteError as error:
                if error.cause_response_code == "TransactionInProgressException":
                    # The SDK retried while our first attempt was still running: ask again with the
                    # same token, which answers what that attempt did.
                    conflicts = ["in progress"]
                    continue
                reasons = error.cancellation_reasons
                if not reasons:
                    raise
                failed = {label: reason for label, reason in zip(labels, reasons, strict=False) if reason is not None}
                refused = {label: reason for label, reason in failed.items() if reason.code not in _RETRYABLE_REASONS}
                if refused or not failed:
                    raise TransactionCancelled(refused or failed) from error
                conflicts = list(failed)
                token = str(uuid.uuid4())  # nothing was written: the next attempt is a new transaction
        raise TransactionConflict(conflicts)


def query_index(
    table: str,
    index: str,
    partition: tuple[str, str],
    sort: tuple[str, str, str],
    *,
    forward: bool,
    limit: int,
) -> list[dict[str, Any]]:
    """One Query of an index partition for the keys of up to `limit` items whose sort key lies
    between two bounds (inclusive), in sort order: `partition` is (attribute, value), `sort`
    (attribute, low, high). Keys only: the caller reads the items it keeps (BatchGetItem)."""
    (hash_name, hash_value), (sort_name, low, high) = partition, sort
    answer = shared_connection().client.query(
        TableName=table,
        IndexName=index,
        KeyConditionExpression="#h = :h AND #s BETWEEN :low AND :high",
        ExpressionAttributeNames={"#h": hash_name, "#s": sort_name},
        ExpressionAttributeValues={":h": {"S": hash_value}, ":low": {"S": low}, ":high": {"S": high}},
        ScanIndexForward=forward,
        Limit=limit,
    )
    items: list[dict[str, Any]] = answer.get("Items", [])
    return items


def query_partitions(
    table: str,
    index: str,
    partitions: tuple[str, list[str] | tuple[str, ...]],
    sort: tuple[str, str, str],
    *,
    forward: bool,
    limit: int,
    after: str | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """The keys of the next `limit` items after the sort key `after` across several partitions
    of an index (one Query each), merged in sort order, and whether more may follow them.
    `partitions` is (attribute, values), `sort` (attribute, low, high), bounds inclusive."""
    (hash_name, values), (sort_name, low, high) = partitions, sort
    if after is not None:
        low, high = (max(low, after), high) if forward else (low, min(high, after))
    if low > high:
        return [], False
    merged: list[dict[str, Any]] = []
    more = False
    for value in values:
        items = query_index(table, index, (hash_name, value), (sort_name, low, high), forward=forward, limit=limit + 1)
        more = more or len(items) > limit  # read to its limit: the partition may hold more
        merged.extend(item for item in items if item[sort_name]["S"] != after)
    merged.sort(key=lambda item: item[sort_name]["S"], reverse=not forward)
    return merged[:limit], more or len(merged) > limit


# --------------------------------------------------------------------------- paging


def encode_cursor(position: str | None, fingerprint: str) -> str | None:
    """An opaque cursor: the sort key of the last item looked at, and which list it belongs to."""
    if position is None:
        return None
    raw = json.dumps({"after": position, "list": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, fingerprint: str) -> str | None:
    """A cursor this list gave out, or a 422: it must come from the same list (same filters)."""
    if not cursor:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        valid = isinstance(found, dict) and found.get("list") == fingerprint
        position = found.get("after") if valid else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        position = None
    if not isinstance(position, str) or not position:
        raise InvalidRequest("cursor: not a cursor of this list (same filters and search)", field="cursor")
    return position
