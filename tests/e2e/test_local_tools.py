"""The developer's commands find a local stack on moved ports through CAISSE_API_PORT,
CAISSE_AWS_PORT and CAISSE_SANDBOX_PORT alone (this stack runs on free ports, never the defaults).
`make run-scheduled` and `make redrive` are driven the same way by the reconciliation and email
tests."""

from __future__ import annotations

import json
import sys

import httpx
from e2e_support import stripe_event


def test_make_invoke_and_admin_token_reach_the_stack_on_its_ports(stack):
    health = json.loads(stack.make("invoke", "FUNCTION=HealthFunction"))
    assert health["statusCode"] == 200 and json.loads(health["body"])["status"] == "ok"

    token = stack.make("admin-token", "MERCHANT=festival").strip()
    answer = httpx.get(
        f"{stack.api}/admin/orders/00000000-0000-4000-8000-000000000000",
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert answer.status_code == 404  # signed in (not 401), and there is no such order


def test_send_stripe_event_signs_with_the_stacks_secret_and_posts_to_its_api(stack, tmp_path):
    event = tmp_path / "event.json"
    event.write_bytes(stripe_event("checkout.session.completed", {"id": "cs_test_tool", "metadata": {}}))
    fresh = stack.run(sys.executable, "scripts/send_stripe_event.py", str(event))
    assert fresh.startswith("200 ")  # verified with the secret read from the stack's SSM
    stale = stack.run(sys.executable, "scripts/send_stripe_event.py", str(event), "--age", "600")
    assert stale.startswith("400 ")  # outside Stripe's five-minute tolerance
