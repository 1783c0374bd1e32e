#!/usr/bin/env python3
"""Cold start and DynamoDB requests of every function, measured (make bench).

1. Cold start, against three anchors, in one run. Each probe is a fresh Python 3.13 process set
   up the way Lambda sets up the function: its code alone in its own task root (LAMBDA_TASK_ROOT,
   first on the path, no .pyc: `sam build` compiles the layers, not the function, and /var/task is
   read-only), then its layers only (built here for this machine: requirements/*.txt and
   shared/caisse, compiled with unchecked-hash .pyc as the layer Makefiles do), Lambda's
   environment variables (AWS_EXECUTION_ENV, AWS_LAMBDA_FUNCTION_NAME, memory, log group, X-Ray
   daemon, TZ...) and the function's own from template.yaml. The interpreter is a bare venv of
   the same Python: `site` runs as in Lambda, without this machine's site-packages. A probe ends
   once the handler module is imported (Lambda's init phase). The anchors are `python -c pass`,
   a process that only imports boto3 (from the same layer), and the naive webhook
   (scripts/bench/naive_webhook.py: Tracer, validated resolver, eager pydantic, stripe,
   pynamodb), in the webhook's environment. One more row, FLOOR, imports only the libraries
   checkout cannot start without (pynamodb and its botocore, pydantic, Powertools' Logger,
   Metrics and REST resolver), none of our code: how close to its goal checkout can come. Every
   round runs every probe once, in a new shuffled order, so load from other work hits all of them
   alike; ratios are the median of the ratios within each round. CPU time (user + system of the
   child) is what the goals are judged on: on a shared machine wall time also counts the time
   spent waiting for a CPU.
2. First request: a fresh process imports the checkout or webhook handler and serves one request,
   then a second, against the local stack (moto + sandbox) - this includes SSM, the boto3 and
   Stripe clients being created.
3. DynamoDB requests for one checkout and one webhook, counted by the local AWS endpoint, and for
   one paid Stripe order from the customer's Pay at the sandbox to its emails sent (every webhook
   the sandbox delivers, the stream, the notification queue); the size of that order's item
   (DynamoDB bills a write per started KB: over 1 024 bytes, each write of it costs two), and
   the order item of a typical checkout of each demo shop, pending and paid (caisse_local.aws
   sizes items as DynamoDB does).

    .venv/bin/python scripts/bench_cold_start.py [--runs 11] [--only Health,Webhook] [--skip-stack | --requests-only]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from caisse_local import aws
from caisse_local import template as templates
from caisse_local.server import free_port
from caisse_local.stack import LocalStack, Ports, output_to
from provider_sandbox.signing import checkout_completed, sign

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
LAYERS = BENCH / "layers"
TASKS = BENCH / "task"
PYTHON = BENCH / "python" / "bin" / "python"
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)

# What each layer of template.yaml holds, built for this machine (the layer Makefiles build the
# same for Linux arm64): pip requirements, or a package copied from shared/.
LAYER_CONTENTS = {
    "DependenciesLayer": ROOT / "requirements" / "runtime.txt",
    "DomainLayer": ROOT / "shared" / "caisse",
    "ImagingLayer": ROOT / "requirements" / "imaging.txt",
}

# Set by Lambda for every python3.13 function (the function's own variables come on top).
LAMBDA_ENV = {
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
    "_AWS_XRAY_DAEMON_PORT": "2000",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only: the handler is compiled at every cold start
}

IMPORT_HANDLER = "import importlib, sys; importlib.import_module(sys.argv[1])"
LOADS_PROBE = (
    IMPORT_HANDLER + "\nimport json; print(json.dumps({'modules': len(sys.modules), 'loads': [m for m in"
    " ('stripe', 'boto3', 'pydantic', 'aws_xray_sdk', 'PIL') if m in sys.modules]}))"
)
FIRST_REQUEST_PROBE = """
import importlib, json, sys, time
c0, t0 = time.process_time(), time.perf_counter()
module = importlib.import_module(sys.argv[1])
c1, t1 = time.process_time(), time.perf_counter()
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
c2, t2 = time.process_time(), time.perf_counter()
second = module.handler(events[1], context)
c3, t3 = time.process_time(), time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_ms": (t2 - t1) * 1000, "second_ms": (t3 - t2) * 1000,
                  "import_cpu": (c1 - c0) * 1000, "first_cpu": (c2 - c1) * 1000, "second_cpu": (c3 - c2) * 1000,
                  "status": [first["statusCode"], second["statusCode"]]}))
"""

PASS, BOTO3, NAIVE = "python -c pass", "import boto3 (bare process)", "naive webhook"
# What an API function that writes DynamoDB through pynamodb and validates with pydantic cannot
# avoid importing at init, before any code of ours: checkout's floor, in checkout's environment.
FLOOR = "pynamodb+pydantic+Powertools"
FLOOR_CODE = (
    "import caisse.rest_only, pynamodb.models, pydantic\n"
    "from aws_lambda_powertools import Logger, Metrics\n"
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
    "from aws_lambda_powertools.event_handler.openapi.params import Header"
)
GOALS = {"StripeWebhookFunction": 1.2, "CreateCheckoutFunction": 1.2, "HealthFunction": 0.5}  # x bare boto3


# --------------------------------------------------------------------------- setting up as Lambda does


def _digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def build_layers() -> None:
    """Each layer for this machine's architecture, rebuilt when its requirements or code change,
    plus the bare interpreter every probe runs."""
    if not PYTHON.exists():
        subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", str(PYTHON.parent.parent)], check=True)  # noqa: S603
    for name, source in LAYER_CONTENTS.items():
        target = LAYERS / name
        stamp = target / ".stamp"
        wanted = _digest(source)
        if stamp.exists() and stamp.read_text() == wanted:
            continue
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        if source.is_dir():
            shutil.copytree(source, target / source.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
            pip += ["--only-binary=:all:", "--target", str(target), "-r", str(source)]
            done = subprocess.run(pip, capture_output=True, text=True, check=False)  # noqa: S603
            if done.returncode != 0:
                raise RuntimeError(f"pip install for {name} failed:\n{done.stderr[-3000:]}")
            shutil.rmtree(target / "bin", ignore_errors=True)
        compileall = [sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
        subprocess.run([*compileall, str(target)], check=True)  # noqa: S603
        stamp.write_text(wanted)


def task_root(name: str, *sources: Path) -> Path:
    """The function's code alone, as /var/task holds it: the .py files, no __pycache__."""
    root = TASKS / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for source in sources:
        if source.is_dir():
            shutil.copytree(source, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / source.name)
    return root


def lambda_env(spec: templates.FunctionSpec, root: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Lambda's environment for this function: its task root, then its layers (a later layer
    overrides an earlier one in /opt, so it comes first on the path)."""
    layers = [
        str(LAYERS / ref["Ref"])
        for ref in reversed(spec.properties.get("Layers", []))
        if isinstance(ref, dict) and ref.get("Ref") in LAYER_CONTENTS
    ]
    env = {
        **LAMBDA_ENV,
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.pathsep.join([str(root), *layers]),
        "LAMBDA_TASK_ROOT": str(root),
        "_HANDLER": spec.handler,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/24/[$LATEST]0123456789abcdef",
        **spec.environment,
        **(extra or {}),
    }
    log_format = (spec.properties.get("LoggingConfig") or {}).get("LogFormat")
    if log_format:
        env["AWS_LAMBDA_LOG_FORMAT"] = log_format
    return env


# --------------------------------------------------------------------------- cold start


@dataclass
class Probe:
    name: str
    code: str
    env: dict[str, str]
    module: str = ""


def probes(template: templates.Template, ctx: templates.Context, only: list[str]) -> list[Probe]:
    webhook = template.function("StripeWebhookFunction", ctx)
    webhook_env = lambda_env(webhook, task_root(webhook.logical_id, webhook.code_uri))
    naive_root = task_root("NaiveWebhook", ROOT / "scripts" / "bench" / "naive_webhook.py")
    checkout = template.function("CreateCheckoutFunction", ctx)
    out = [
        Probe(PASS, "pass", webhook_env),
        Probe(BOTO3, "import boto3", webhook_env),
        Probe(NAIVE, IMPORT_HANDLER, lambda_env(webhook, naive_root), "naive_webhook"),
        Probe(FLOOR, FLOOR_CODE, lambda_env(checkout, task_root("CheckoutFloor", checkout.code_uri))),
    ]
    for spec in template.functions(ctx):
        if only and not any(part in spec.logical_id for part in only):
            continue
        env = lambda_env(spec, task_root(spec.logical_id, spec.code_uri))
        out.append(Probe(spec.logical_id, IMPORT_HANDLER, env, spec.module))
    return out


def run_probe(probe: Probe) -> tuple[float, float]:
    """(wall ms, CPU ms) of one fresh process running the probe."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(  # noqa: S603
            [str(PYTHON), "-c", probe.code, probe.module], env=probe.env, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = (time.perf_counter() - started) * 1000
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{probe.name}: {err.read().decode(errors='replace')[-2000:]}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def loads(probe: Probe) -> dict:
    if probe.code != IMPORT_HANDLER:
        return {"modules": 0, "loads": []}
    done = subprocess.run(  # noqa: S603
        [str(PYTHON), "-c", LOADS_PROBE, probe.module], env=probe.env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_starts(targets: list[Probe], runs: int) -> dict[str, list[tuple[float, float]]]:
    """Every probe once per round, in a new order each round."""
    samples: dict[str, list[tuple[float, float]]] = {probe.name: [] for probe in targets}
    shuffler = random.Random(19)  # noqa: S311 - an order, not a secret
    for _ in range(runs):
        order = list(targets)
        shuffler.shuffle(order)
        for probe in order:
            samples[probe.name].append(run_probe(probe))
    return samples


def ratio(samples: dict[str, list[tuple[float, float]]], name: str, anchor: str, index: int) -> float:
    """Median over rounds of this round's function / this round's anchor."""
    return statistics.median(a[index] / b[index] for a, b in zip(samples[name], samples[anchor], strict=True))


def report_cold_starts(targets: list[Probe], samples: dict[str, list[tuple[float, float]]]) -> None:
    anchors = (PASS, BOTO3, NAIVE)
    print(f"{'':<32} {'median':>15}  {'CPU time ratio to':^22}  {'wall time ratio to':^22}")
    head = f"{'process':<32} {'wall ms':>7} {'CPU ms':>7}  " + " ".join(f"{a:>7}" for a in ("pass", "boto3", "naive"))
    head += "  " + " ".join(f"{a:>7}" for a in ("pass", "boto3", "naive"))
    print(head + f" {'modules':>8}  loads")
    print("-" * (len(head) + 24))
    for probe in targets:
        name = probe.name
        wall = statistics.median(s[0] for s in samples[name])
        cpu = statistics.median(s[1] for s in samples[name])
        cpu_ratios = " ".join(f"{ratio(samples, name, a, 1):>6.2f}x" for a in anchors)
        wall_ratios = " ".join(f"{ratio(samples, name, a, 0):>6.2f}x" for a in anchors)
        seen = loads(probe)
        modules = seen["modules"] or ""
        print(
            f"{name:<32} {wall:>7.0f} {cpu:>7.0f}  {cpu_ratios}  {wall_ratios} {modules:>8}  "
            + (",".join(seen["loads"]) or "-")
        )
    print()
    for name, goal in GOALS.items():
        if name not in samples:
            continue
        cpu, wall = ratio(samples, name, BOTO3, 1), ratio(samples, name, BOTO3, 0)
        verdict = "met" if cpu <= goal else "missed"
        print(f"goal {name} <= {goal}x the bare boto3 process: {cpu:.2f}x CPU, {wall:.2f}x wall - {verdict}")


# --------------------------------------------------------------------------- against the local stack


def run(code: str, spec: templates.FunctionSpec, env: dict[str, str], stdin: str) -> dict:
    done = subprocess.run(  # noqa: S603
        [str(PYTHON), "-c", code, spec.module], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"{spec.logical_id}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def first_requests(stack: LocalStack, runs: int) -> list[dict]:
    template, ctx = stack.template, stack.ctx
    overrides = {"AWS_ENDPOINT_URL": stack.aws_url}
    rows = []
    checkout = template.function("CreateCheckoutFunction", ctx)
    checkout_env = lambda_env(checkout, task_root(checkout.logical_id, checkout.code_uri), overrides)
    sample = json.loads((ROOT / "events" / "create_checkout.json").read_text())
    samples = []
    for _ in range(runs):
        events = []
        for _ in range(2):
            event = json.loads(json.dumps(sample))
            key = str(uuid.uuid4())
            event["headers"]["Idempotency-Key"] = key
            event["multiValueHeaders"]["Idempotency-Key"] = [key]
            events.append(event)
        result = run(FIRST_REQUEST_PROBE, checkout, checkout_env, json.dumps(events))
        assert result["status"] == [201, 201], result
        samples.append(result)
    rows.append(_first_row("CreateCheckoutFunction", samples))

    webhook = template.function("StripeWebhookFunction", ctx)
    webhook_env = lambda_env(webhook, task_root(webhook.logical_id, webhook.code_uri), overrides)
    secret = stack.parameter("stripe/webhook_secret")
    samples = []
    for _ in range(runs):
        events = [_webhook_event(_new_order(stack), secret) for _ in range(2)]
        result = run(FIRST_REQUEST_PROBE, webhook, webhook_env, json.dumps(events))
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
        "cpu_ms": [statistics.median(s[key] for s in samples) for key in ("import_cpu", "first_cpu", "second_cpu")],
    }


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
    body = checkout_completed(order, f"pi_bench_{uuid.uuid4().hex[:16]}")  # one PaymentIntent per order
    event = json.loads((ROOT / "events" / "stripe_webhook.json").read_text())
    event["body"], event["isBase64Encoded"] = body.decode(), False
    signature = sign(body, secret)
    event["headers"]["Stripe-Signature"] = signature
    event["multiValueHeaders"]["Stripe-Signature"] = [signature]
    return event


def dynamodb_requests(stack: LocalStack) -> tuple[dict[str, dict[str, int]], int]:
    def counted(action) -> dict[str, int]:
        # What earlier requests set off (stream → email) must not be counted against this one.
        stack.event_sources.drain(timeout=60)
        httpx.delete(f"{stack.aws_url}/_caisse/requests", timeout=5)
        action()
        return httpx.get(f"{stack.aws_url}/_caisse/requests", timeout=5).json().get("dynamodb", {})

    results: dict[str, dict[str, int]] = {}
    _new_order(stack)  # not counted: a stack's first order also creates the merchant's counters
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
    secret = stack.parameter("stripe/webhook_secret")
    event = _webhook_event(order, secret)
    headers = {"Content-Type": "application/json", "Stripe-Signature": event["headers"]["Stripe-Signature"]}
    send = lambda: httpx.post(f"{stack.api_url}/webhooks/stripe", content=event["body"], headers=headers, timeout=30)  # noqa: E731
    results["webhook (settles the order)"] = counted(send)
    results["webhook (duplicate delivery)"] = counted(send)

    paid = _new_order(stack)

    def pay_at_the_sandbox() -> None:
        """The customer's Pay; then every webhook delivered, the stream read, the emails sent."""
        assert httpx.post(f"{paid['next_action']['url']}/pay", timeout=30).status_code == 303  # to the return page
        stack.settle(timeout=60)

    results["paid Stripe order: Pay, webhooks, stream, emails"] = counted(pay_at_the_sandbox)
    return results, aws.item_size(stored_order(stack, paid["order_id"]))


def stored_order(stack: LocalStack, order_id: str) -> dict:
    client = aws.client("dynamodb", stack.aws_url, "us-east-1")
    table = next(name for name in client.list_tables()["TableNames"] if name.endswith("-OrdersTable"))
    key = {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}
    return client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]


def typical_checkouts(stack: LocalStack) -> dict[str, dict]:
    """What a customer of each demo shop typically sends, with every field the shop asks for."""
    person = {"name": "Awa Ndiaye-Lovelace", "email": "awa.ndiaye@example.test"}
    soon = datetime.now(UTC).date() + timedelta(days=90)
    wednesday = soon + timedelta(days=(2 - soon.weekday()) % 7)
    slots = httpx.get(
        f"{stack.api_url}/merchants/fixit-plumbing/availability",
        params={"service": "callout", "date": wednesday.isoformat()},
        timeout=30,
    ).json()["slots"]
    brief = {
        "occasion": "wedding",
        "for_whom": "Awa",
        "from_whom": "Jean",
        "story": "We met at the Douala market in the rain; she laughed at my umbrella.",
        "due_date": (soon + timedelta(days=30)).isoformat(),
        "style": "makossa",
    }
    return {
        "cart (Lumen: 2 prints)": {
            "items": [{"sku": "PHOTO-PRINT-A3", "quantity": 2}],
            "currency": "USD",
            "customer": person,
        },
        "tickets (festival: a duo pass, a donation)": {
            "items": [{"sku": "FEST-DUO-DAY-PASS", "quantity": 1}, {"sku": "FEST-DONATION-10", "quantity": 1}],
            "currency": "USD",
            "customer": person,
        },
        "song (a brief of 6 answers, a day)": {
            "items": [{"sku": "SONG-STANDARD", "quantity": 1}],
            "currency": "USD",
            "customer": person,
            "answers": brief,
            "day": soon.isoformat(),
        },
        "booking (FixIt: address, notes, phone)": {
            "booking": {
                "merchant": "fixit-plumbing",
                "service": "callout",
                "start": slots[0]["start"],
                "address": "12 Harbour Street, Pyrmont NSW 2009",
                "notes": "The leak is under the kitchen sink; the side gate is open.",
            },
            "currency": "AUD",
            "customer": {**person, "phone": "+61 412 345 678"},
        },
    }


def order_item_sizes(stack: LocalStack) -> dict[str, tuple[int, int, list[tuple[int, str]]]]:
    """Per demo shop: the order item's size pending and once paid, and its largest attributes."""
    sizes = {}
    for kind, body in typical_checkouts(stack).items():
        answer = httpx.post(f"{stack.api_url}/checkouts", json=body, timeout=30)
        answer.raise_for_status()
        order = answer.json()
        pending = aws.item_size(stored_order(stack, order["order_id"]))
        assert httpx.post(f"{order['next_action']['url']}/pay", timeout=30).status_code == 303
        stack.settle(timeout=60)
        item = stored_order(stack, order["order_id"])
        largest = sorted(((aws.item_size({name: value}), name) for name, value in item.items()), reverse=True)
        sizes[kind] = (pending, aws.item_size(item), largest[:4])
    return sizes


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=11, help="rounds; every probe runs once per round")
    parser.add_argument("--only", default="", help="comma-separated parts of function names (anchors always run)")
    parser.add_argument("--skip-stack", action="store_true", help="cold starts only, no local stack")
    parser.add_argument("--requests-only", action="store_true", help="DynamoDB requests only, no cold starts")
    args = parser.parse_args()

    if not args.requests_only:
        build_layers()
        template = templates.load(ROOT / "template.yaml")
        ctx = templates.Context(stack_name="caisse-local")
        targets = probes(template, ctx, [part for part in args.only.split(",") if part])
        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {args.runs} rounds of {len(targets)} fresh "
            f"processes, shuffled each round; load average {load()} at the start"
        )
        samples = cold_starts(targets, args.runs)
        print(f"load average {load()} at the end\n")
        report_cold_starts(targets, samples)
    if args.skip_stack:
        return 0

    log = BENCH / "stack.log"
    log.unlink(missing_ok=True)
    with output_to(log):
        stack = LocalStack(Ports(free_port(), free_port(), free_port()))
        stack.start()
        try:
            rows = [] if args.requests_only else first_requests(stack, max(3, args.runs // 2))
            requests, order_size = dynamodb_requests(stack)
            item_sizes = order_item_sizes(stack)
        finally:
            stack.stop()
    print(f"\n{'fresh process, then 2 requests':<32} {'import ms':>10} {'1st req ms':>11} {'2nd req ms':>11}", end="")
    print(f"  {'CPU ms: import':>14} {'1st':>5} {'2nd':>5} {'to 1st answer':>13}")
    for row in rows:
        first, warm = row["first_request_ms"], row["warm_request_ms"]
        cpu = row["cpu_ms"]
        print(f"{row['function']:<32} {row['import_ms']:>10.0f} {first:>11.0f} {warm:>11.0f}", end="")
        print(f"  {cpu[0]:>14.0f} {cpu[1]:>5.0f} {cpu[2]:>5.0f} {cpu[0] + cpu[1]:>13.0f}")
    print("\nDynamoDB requests (counted by the local AWS endpoint)")
    for what, operations in requests.items():
        total = sum(operations.values())
        print(f"  {what:<50} {total}  {', '.join(f'{k} {v}' for k, v in sorted(operations.items()))}")
    units = -(-order_size // 1024)
    print(f"\nthe paid order's item: {order_size} bytes ({units} write unit{'s' if units > 1 else ''} per write)")
    print(f"\n{'order item, by DynamoDB sizing':<44} {'pending':>8} {'paid':>6}  largest attributes when paid")
    for kind, (pending, paid, largest) in item_sizes.items():
        biggest = ", ".join(f"{name} {size}" for size, name in largest)
        print(f"  {kind:<42} {pending:>8} {paid:>6}  {biggest}")
    print(f"\nload average {load()} at the end; the local stack's log is in {log.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
