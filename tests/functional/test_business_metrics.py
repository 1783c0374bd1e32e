"""The business counts the operations dashboard and LowStockAlarm read, from the functions that
emit them (CloudWatch's embedded metric format on stdout, as Lambda hands it to CloudWatch Logs)."""

from __future__ import annotations

import json

from conftest import sample
from test_api_handlers import checkout_event


def emitted(out: str) -> list[dict]:
    """Every EMF record printed: {metric name: value, dimension: value, "_aws": {...}}."""
    records = []
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            records.append(json.loads(line))
    return records


def counts(out: str, name: str) -> list[tuple[float, dict[str, str]]]:
    """(value, dimensions) of each `name` in the EMF records printed."""
    found = []
    for record in emitted(out):
        for directive in record["_aws"]["CloudWatchMetrics"]:
            if name in [m["Name"] for m in directive["Metrics"]]:
                dimensions = {d: record[d] for group in directive["Dimensions"] for d in group}
                value = record[name]
                found.append((sum(value) if isinstance(value, list) else value, dimensions))
    return found


def set_stock(sku: str, stock: int) -> None:
    from caisse.catalog.models import Product

    Product(Product.key(sku)).update(actions=[Product.stock.set(stock)])


def test_a_checkout_that_leaves_a_product_at_or_under_its_merchants_threshold_counts_low_stock(invoke, capsys, caplog):
    set_stock("FEST-DAY-PASS", 23)  # the festival's low_stock_threshold is 20 (data/catalog.json)
    capsys.readouterr()
    assert (
        invoke("CreateCheckoutFunction", checkout_event([{"sku": "FEST-DAY-PASS", "quantity": 2}]))["statusCode"] == 201
    )
    assert counts(capsys.readouterr().out, "LowStock") == []  # 21 left: above the threshold
    assert [r for r in caplog.records if r.getMessage() == "low stock"] == []

    assert (
        invoke("CreateCheckoutFunction", checkout_event([{"sku": "FEST-DAY-PASS", "quantity": 1}]))["statusCode"] == 201
    )
    assert counts(capsys.readouterr().out, "LowStock") == [(1, {"service": "checkout"})]  # 20 left: at it
    [logged] = [r for r in caplog.records if r.getMessage() == "low stock"]
    assert (logged.merchant, logged.sku, logged.left, logged.threshold) == ("festival", "FEST-DAY-PASS", 20, 20)


def test_a_checkout_with_plenty_left_counts_no_low_stock(invoke, capsys):
    capsys.readouterr()
    assert (
        invoke("CreateCheckoutFunction", checkout_event([{"sku": "FEST-DAY-PASS", "quantity": 10}]))["statusCode"]
        == 201
    )
    out = capsys.readouterr().out
    assert counts(out, "CheckoutStarted") == [(1, {"service": "checkout"})]
    assert counts(out, "LowStock") == []  # 490 of 500 left


def test_a_paid_order_counts_once_in_orders_paid_and_revenue_per_currency(invoke, capsys, monkeypatch):
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME")  # as deployed: the currency is the only dimension
    event = sample("aggregate_figures")  # an order's record moving from unpaid to paid, USD 99.00
    capsys.readouterr()
    assert invoke("AggregateFiguresFunction", event) == {"batchItemFailures": []}
    out = capsys.readouterr().out
    assert counts(out, "OrdersPaid") == [(1, {"currency": "USD"})]
    assert counts(out, "Revenue") == [(9900, {"currency": "USD"})]  # minor units
    assert invoke("AggregateFiguresFunction", event) == {"batchItemFailures": []}  # Lambda delivers it again
    out = capsys.readouterr().out
    assert counts(out, "OrdersPaid") == [] and counts(out, "Revenue") == []
    assert counts(out, "FiguresDuplicate") == [(1, {"service": "aggregate-figures"})]
