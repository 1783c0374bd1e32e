"""The API's documentation as a developer reads it: GET /openapi.json and Swagger UI at /docs, in
a real browser (Debian's chromium), offline (every file from this origin) and under the page's
strict Content-Security-Policy (a violation would be reported to the page)."""

from __future__ import annotations

import json
from pathlib import Path

from browser_support import DESKTOP, open_page

ROOT = Path(__file__).resolve().parents[2]


def test_the_served_document_is_the_committed_one(api):
    answer = api.get("/openapi.json")
    assert answer.status_code == 200
    served = answer.json()
    committed = json.loads((ROOT / "functions" / "api_docs" / "openapi.json").read_text())
    assert {key: value for key, value in served.items() if key != "servers"} == committed
    # Reached through API Gateway's own endpoint, whose paths start with the stage (the local stack
    # reports its requests the same way): "Try it out" calls that stage.
    assert served["servers"] == [{"url": "/dev", "description": "this deployment"}]
    assert {"/admin/orders", "/admin/orders/export", "/admin/refunds/owed", "/openapi.json"} <= served["paths"].keys()


def test_swagger_ui_renders_every_route_offline_under_a_strict_policy(stack, browser):
    page = open_page(browser, DESKTOP)
    elsewhere, violations = [], []
    page.on("request", lambda request: None if request.url.startswith(stack.api) else elsewhere.append(request.url))
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    try:
        answer = page.goto(f"{stack.api}/docs")
        assert answer.status == 200
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy
        export = '.opblock-summary-path[data-path="/admin/orders/export"]'  # Swagger UI breaks the text with <wbr>
        page.wait_for_selector(export, timeout=20_000)
        operations = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/admin/orders" in " ".join(operations) and "/checkouts" in " ".join(operations)
        page.locator(export).first.click()
        page.wait_for_selector("text=UTF-8 with a byte-order mark", timeout=10_000)
        assert page.errors == [] and violations == []
        assert elsewhere == []  # no CDN: every file came from the API itself
    finally:
        page.context.close()
