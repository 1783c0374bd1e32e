"""The shape the code keeps: one webhook contract with one "not authentic" exception, and thin
webhook handlers. Which way dependencies point is import-linter's to check (`make lint`, the
contracts in pyproject.toml)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared" / "caisse"


def test_one_not_authentic_exception():
    defined = [
        f"{path.relative_to(ROOT)}: {node.name}"
        for path in SHARED.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name.startswith("Invalid") and node.name != "InvalidRequest"
    ]
    assert defined == ["shared/caisse/payments/base.py: InvalidWebhook"]


@pytest.mark.parametrize("handler", sorted((ROOT / "functions").glob("*webhook*/*.py")))
def test_every_webhook_handler_is_the_one_contract(handler):
    """Five handlers, one body: build the provider's adapter, hand the event to `handle`."""
    tree = ast.parse(handler.read_text())
    [function] = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert function.name == "handler"
    [statement] = function.body
    assert (
        isinstance(statement, ast.Return) and ast.unparse(statement.value) == "handle(adapter, event, logger, metrics)"
    )
