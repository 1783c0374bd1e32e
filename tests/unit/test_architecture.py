"""The shape the code keeps: dependencies point one way (money, errors, clock, config → catalog,
orders → payment providers → settlement, reconciliation, notifications, bookings → the web edge),
one webhook contract with one "not authentic" exception, and thin webhook handlers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared" / "caisse"

# Lower numbers are lower layers; a module may import its own layer and the ones below.
LAYERS: list[tuple[str, int]] = [
    ("caisse.money", 0),
    ("caisse.errors", 0),
    ("caisse.clock", 0),
    ("caisse.config", 0),
    ("caisse.db", 0),
    ("caisse.secrets", 0),
    ("caisse.staff", 0),
    ("caisse.observability", 0),
    ("caisse.email_address", 0),
    ("caisse.encryption", 0),
    ("caisse.phones", 0),
    ("caisse.catalog", 1),
    ("caisse.orders", 1),
    ("caisse.payments.settlement", 3),
    ("caisse.payments.reconciliation", 3),
    ("caisse.payments.checkout", 3),
    ("caisse.payments.refunds", 3),
    ("caisse.payments.webhook", 3),
    ("caisse.payments", 2),  # the provider adapters and their contract
    ("caisse.notifications", 3),
    ("caisse.media", 3),
    ("caisse.bookings", 3),
    ("caisse.privacy", 3),
    ("caisse.pages", 4),
    ("caisse.answers", 4),
    ("caisse.web", 4),
]


def layer(module: str) -> int:
    for prefix, number in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return number
    raise AssertionError(f"{module} has no layer: add it to LAYERS")


def modules() -> dict[str, Path]:
    found = {}
    for path in SHARED.rglob("*.py"):
        parts = path.relative_to(SHARED.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name != "caisse":
            found[name] = path
    return found


def imports(path: Path) -> set[str]:
    """Every caisse module imported, at the top or inside functions (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("caisse"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("caisse"))
    return found


@pytest.mark.parametrize("module", sorted(modules()))
def test_nothing_imports_upward(module):
    upward = sorted(name for name in imports(modules()[module]) if layer(name) > layer(module))
    assert not upward, f"{module} (layer {layer(module)}) imports {upward}"


def test_no_cycles_between_packages():
    def package(name: str) -> str:
        parts = name.split(".")
        return ".".join(parts[:3]) if parts[1] == "payments" and len(parts) > 2 else ".".join(parts[:2])

    edges: dict[str, set[str]] = {}
    for name, path in modules().items():
        for target in imports(path):
            if package(target) != package(name):
                edges.setdefault(package(name), set()).add(package(target))

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges.get(start, ()))

    cycles = sorted(f"{a} <-> {b}" for a in edges for b in edges[a] if reaches(b, a, {b}))
    assert not cycles, cycles


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
