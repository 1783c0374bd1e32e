"""What every DynamoDB model shares: connection settings sized for Lambda, and the clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite


class LambdaMeta:
    """Base Meta for pynamodb models: fail fast instead of waiting out a 60 s default timeout."""

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    connect_timeout_seconds = 3
    read_timeout_seconds = 5
    max_retry_attempts = 3
    base_backoff_ms = 25


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A timestamp as clients see it: UTC, second precision, ISO 8601 with Z."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class TransactionCancelled(Exception):
    """A transaction whose conditions did not hold. `failed` maps each failing item's label to
    DynamoDB's reason (with the item as it was, where the caller asked for it)."""

    def __init__(self, failed: dict[str, Any]) -> None:
        super().__init__(f"transaction cancelled by: {', '.join(failed) or 'unknown reason'}")
        self.failed = failed


class Transaction:
    """pynamodb's TransactWrite, keeping a label per item so a cancellation says which condition
    failed. pynamodb sends condition checks, deletes, puts and updates in that order, and DynamoDB
    answers cancellation reasons in the order sent, so the labels are kept in the same buckets."""

    def __init__(self, model: type[Model]) -> None:
        # Reuse the model's own connection: a second botocore client costs tens of milliseconds.
        self._tx = TransactWrite(connection=model._get_connection().connection)
        self._labels: dict[str, list[str]] = {"check": [], "delete": [], "put": [], "update": []}

    def check(self, model_cls: type[Model], hash_key: Any, range_key: Any, condition: Condition, label: str) -> None:
        self._tx.condition_check(model_cls, hash_key, range_key, condition=condition)
        self._labels["check"].append(label)

    def put(self, model: Model, condition: Condition | None = None, *, label: str, return_old: bool = False) -> None:
        self._tx.save(model, condition=condition, return_values=ALL_OLD if return_old else None)
        self._labels["put"].append(label)

    def update(
        self,
        model: Model,
        actions: list[Action],
        condition: Condition | None = None,
        *,
        label: str,
        return_old: bool = False,
    ) -> None:
        self._tx.update(model, actions=actions, condition=condition, return_values=ALL_OLD if return_old else None)
        self._labels["update"].append(label)

    def commit(self) -> None:
        try:
            self._tx._commit()
        except TransactWriteError as error:
            reasons = error.cancellation_reasons
            if not reasons:
                raise
            labels = [*self._labels["check"], *self._labels["delete"], *self._labels["put"], *self._labels["update"]]
            failed = {label: reason for label, reason in zip(labels, reasons, strict=False) if reason is not None}
            raise TransactionCancelled(failed) from error
