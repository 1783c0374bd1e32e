#!/usr/bin/env python3
"""Cold start and DynamoDB requests of every function, measured (make bench).

Every probe runs in a fresh Python 3.13 process that sees only what Lambda would: the function's
directory and a copy of the two layers built for this machine (.bench/layer: requirements/runtime.txt
and shared/caisse, .pyc compiled like `sam build` does), not the dev virtualenv.

1. Import time: each handler module imported in a fresh Python 3.13 process (median of --runs),
   with the function's own environment from template.yaml, beside a naive webhook (Tracer,
   validated resolver, eager pydantic, stripe, pynamodb: scripts/bench/naive_webhook.py). Also
   whether the process loaded Pillow, the X-Ray SDK or stripe.
2. First request: a fresh process imports the checkout or webhook handler and serves one request,
   then a second, against the local stack (moto + sandbox) - this includes SSM, the boto3 and
   Stripe clients being created.
3. DynamoDB requests for one checkout and one webhook, counted by the local AWS endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from caisse_local import template as templates
from caisse_local.sandbox.signing import checkout_completed, sign
from caisse_local.server import free_port
from caisse_local.stack import LocalStack, Ports

ROOT = Path(__file__).resolve().parent.parent


# Both probes start the same way: import the handler module as Lambda does, timing it.
LOAD_HANDLER = """
import time, json, sys
t0 = time.perf_counter()
import importlib.util
spec = importlib.util.spec_from_file_location(sys.argv[1], sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
t1 = time.perf_counter()
"""

IMPORT_PROBE = (
    LOAD_HANDLER
    + """
print(json.dumps({"import_ms": (t1 - t0) * 1000, "modules": len(sys.modules),
                  "PIL": "PIL" in sys.modules, "aws_xray_sdk": "aws_xray_sdk" in sys.modules,
                  "stripe": "stripe" in sys.modules, "boto3": "boto3" in sys.modules}))
"""
)

FIRST_REQUEST_PROBE = (
    LOAD_HANDLER
    + """
class Context:
    function_name = sys.argv[1]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = "512"
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 30000
events = json.loads(sys.stdin.read())
context = Context()
first = module.handler(events[0], context)
t2 = time.perf_counter()
second = module.handler(events[1], context)
t3 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_ms": (t2 - t1) * 1000, "second_ms": (t3 - t2) * 1000,
                  "status": [first["statusCode"], second["statusCode"]]}))
"""
)


LAYER = ROOT / ".bench" / "layer"
IMAGING = ROOT / ".bench" / "imaging"  # the image function's own layer (Pillow)
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)


def build_layer() -> None:
    """The two layers for this machine's architecture, rebuilt when requirements or code change."""
    stamp = LAYER / ".stamp"
    wanted = str(
        hash((ROOT / "requirements" / "runtime.txt").read_text() + (ROOT / "requirements" / "imaging.txt").read_text())
        + sum(p.stat().st_mtime_ns for p in (ROOT / "shared" / "caisse").rglob("*"))
    )
    if stamp.exists() and stamp.read_text() == wanted:
        return
    subprocess.run(["rm", "-rf", str(LAYER), str(IMAGING)], check=True)  # noqa: S603, S607
    for target, requirements in ((LAYER, "runtime.txt"), (IMAGING, "imaging.txt")):
        subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--only-binary=:all:",
                "--target",
                str(target),
                "-r",
                str(ROOT / "requirements" / requirements),
            ],
            check=True,
        )
    subprocess.run(["cp", "-r", str(ROOT / "shared" / "caisse"), str(LAYER)], check=True)  # noqa: S603, S607
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(LAYER)],
        check=True,
    )
    stamp.write_text(wanted)


def lambda_env(spec: templates.FunctionSpec, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.pathsep.join(
            [str(IMAGING), str(LAYER)]
            if "ImagingLayer" in json.dumps(spec.properties.get("Layers", []))
            else [str(LAYER)]
        ),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        **spec.environment,
        **(extra or {}),
    }
    return env


def run(code: str, module: str, path: Path, env: dict[str, str], stdin: str = "") -> tuple[dict, float]:
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        # -S: this machine's interpreter has a .pth file that imports certifi (~20 ms) in every
        # process; Lambda's has none, so the site module is left out of every probe alike.
        [BASE_PYTHON, "-S", "-c", code, module, str(path)],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    wall = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{module}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def import_times(template: templates.Template, ctx: templates.Context, runs: int) -> list[dict]:
    rows = []
    targets = [
        (spec.logical_id, spec.module, spec.code_uri / f"{spec.module}.py", lambda_env(spec))
        for spec in template.functions(ctx)
    ]
    webhook = template.function("StripeWebhookFunction", ctx)
    targets.append(
        (
            "naive webhook (yardstick)",
            "naive_webhook",
            ROOT / "scripts" / "bench" / "naive_webhook.py",
            lambda_env(webhook),
        )
    )
    for name, module, path, env in targets:
        samples = [run(IMPORT_PROBE, module, path, env) for _ in range(runs)]
        probe = samples[-1][0]
        rows.append(
            {
                "function": name,
                "import_ms": statistics.median(s[0]["import_ms"] for s in samples),
                "process_ms": statistics.median(s[1] for s in samples),
                "modules": probe["modules"],
                "loads": ",".join(k for k in ("stripe", "boto3", "aws_xray_sdk", "PIL") if probe[k]) or "-",
            }
        )
    return rows


def first_requests(stack: LocalStack, runs: int) -> list[dict]:
    template, ctx = stack.template, stack.ctx
    overrides = {"AWS_ENDPOINT_URL": stack.aws_url}
    rows = []
    checkout = template.function("CreateCheckoutFunction", ctx)
    sample = json.loads((ROOT / "events" / "post_checkouts.json").read_text())
    samples = []
    for _ in range(runs):
        events = []
        for _ in range(2):
            event = json.loads(json.dumps(sample))
            key = str(uuid.uuid4())
            event["headers"]["Idempotency-Key"] = key
            event["multiValueHeaders"]["Idempotency-Key"] = [key]
            events.append(event)
        result, _ = run(
            FIRST_REQUEST_PROBE,
            checkout.module,
            checkout.code_uri / f"{checkout.module}.py",
            lambda_env(checkout, overrides),
            json.dumps(events),
        )
        assert result["status"] == [201, 201], result
        samples.append(result)
    rows.append(_first_row("CreateCheckoutFunction", samples))

    webhook = template.function("StripeWebhookFunction", ctx)
    secret = _parameter(stack, "stripe/webhook_secret")
    samples = []
    for _ in range(runs):
        events = [_webhook_event(_new_order(stack), secret) for _ in range(2)]
        result, _ = run(
            FIRST_REQUEST_PROBE,
            webhook.module,
            webhook.code_uri / f"{webhook.module}.py",
            lambda_env(webhook, overrides),
            json.dumps(events),
        )
        assert result["status"] == [200, 200], result
        samples.append(result)
    rows.append(_first_row("StripeWebhookFunction", samples))
    return rows


def _first_row(name: str, samples: list[dict]) -> dict:
    return {
        "function": name,
        "import_ms": statistics.median(s["import_ms"] for s in samples),
        "first_request_ms": statistics.median(s["first_ms"] for s in samples),
        "warm_request_ms": statistics.median(s["second_ms"] for s in samples),
    }


def _parameter(stack: LocalStack, name: str) -> str:
    from caisse_local.aws import client

    return client("ssm", stack.aws_url).get_parameter(Name=f"/caisse/dev/{name}", WithDecryption=True)["Parameter"][
        "Value"
    ]


def _new_order(stack: LocalStack) -> dict:
    answer = httpx.post(
        f"{stack.api_url}/checkouts",
        json={
            "items": [{"sku": "FEST-DONATION-10", "quantity": 1}],  # no brief: the figure stays comparable
            "currency": "USD",
            "customer": {"name": "Bench", "email": "bench@example.test", "locale": "en"},
        },
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()


def _webhook_event(order: dict, secret: str) -> dict:
    body = checkout_completed(order, "pi_bench")
    event = json.loads((ROOT / "events" / "post_webhooks_stripe.json").read_text())
    event["body"], event["isBase64Encoded"] = body.decode(), False
    signature = sign(body, secret)
    event["headers"]["Stripe-Signature"] = signature
    event["multiValueHeaders"]["Stripe-Signature"] = [signature]
    return event


def dynamodb_requests(stack: LocalStack) -> dict[str, dict[str, int]]:
    def counted(action) -> dict[str, int]:
        # What earlier requests set off (stream → email) must not be counted against this one.
        stack.event_sources.drain(timeout=60)
        httpx.delete(f"{stack.aws_url}/_caisse/requests", timeout=5)
        action()
        return httpx.get(f"{stack.aws_url}/_caisse/requests", timeout=5).json().get("dynamodb", {})

    results: dict[str, dict[str, int]] = {}
    order: dict = {}
    results["checkout"] = counted(lambda: order.update(_new_order(stack)))
    key = str(uuid.uuid4())
    body = {
        "items": [{"sku": "FEST-DAY-PASS", "quantity": 1}],
        "currency": "USD",
        "customer": {"name": "Bench", "email": "bench@example.test", "locale": "en"},
    }
    httpx.post(f"{stack.api_url}/checkouts", json=body, headers={"Idempotency-Key": key}, timeout=30)
    results["checkout replayed (same Idempotency-Key)"] = counted(
        lambda: httpx.post(f"{stack.api_url}/checkouts", json=body, headers={"Idempotency-Key": key}, timeout=30)
    )
    secret = _parameter(stack, "stripe/webhook_secret")
    event = _webhook_event(order, secret)
    headers = {"Content-Type": "application/json", "Stripe-Signature": event["headers"]["Stripe-Signature"]}
    send = lambda: httpx.post(f"{stack.api_url}/webhooks/stripe", content=event["body"], headers=headers, timeout=30)  # noqa: E731
    results["webhook (settles the order)"] = counted(send)
    results["webhook (duplicate delivery)"] = counted(send)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    build_layer()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.runs} fresh processes\n")
    template = templates.load(ROOT / "template.yaml")
    ctx = templates.Context(stack_name="caisse-local")
    print(f"{'function':<32} {'import ms':>10} {'process ms':>11} {'modules':>8}  loads")
    for row in import_times(template, ctx, args.runs):
        name, loads = row["function"], row["loads"]
        print(f"{name:<32} {row['import_ms']:>10.0f} {row['process_ms']:>11.0f} {row['modules']:>8}  {loads}")

    stack = LocalStack(Ports(free_port(), free_port(), free_port()))
    stack.start()
    try:
        print(f"\n{'fresh process, then 2 requests':<32} {'import ms':>10} {'1st req ms':>11} {'2nd req ms':>11}")
        for row in first_requests(stack, max(3, args.runs // 2)):
            first, warm = row["first_request_ms"], row["warm_request_ms"]
            print(f"{row['function']:<32} {row['import_ms']:>10.0f} {first:>11.0f} {warm:>11.0f}")
        print("\nDynamoDB requests (counted by the local AWS endpoint)")
        for what, operations in dynamodb_requests(stack).items():
            total = sum(operations.values())
            print(f"  {what:<44} {total}  {', '.join(f'{k} {v}' for k, v in sorted(operations.items()))}")
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
