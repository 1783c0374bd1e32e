"""Helpers for the e2e tests: the running stack's addresses and a few ways to look into it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import boto3
import httpx
from PIL import Image

from caisse_local.authorizer import issue_token
from provider_sandbox.signing import sign

STACK = "caisse-local"
ROOT = Path(__file__).resolve().parents[2]

# One client for the local stack's own control endpoints (sent emails, request counts, faults, the
# drain, the sandbox's controls), which tests poll in wait_for loops: httpx's module functions
# build a client, and with it an SSL context from the CA bundle, on every call; polling ten orders'
# emails that way was most of a test worker's CPU. These endpoints set no cookies.
LOCAL = httpx.Client(timeout=15)


@dataclass
class Stack:
    api: str
    aws: str
    sandbox: str
    output: list[str]

    def client(self, timeout: float = 15.0) -> httpx.Client:
        return httpx.Client(base_url=self.api, timeout=timeout)

    def boto(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.aws,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            aws_session_token=None,
        )

    def table(self, logical_id: str):
        resource = boto3.resource(
            "dynamodb",
            endpoint_url=self.aws,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            aws_session_token=None,
        )
        return resource.Table(f"{STACK}-{logical_id}")

    def parameter(self, name: str) -> str:
        return self.boto("ssm").get_parameter(Name=f"/caisse/dev/{name}", WithDecryption=True)["Parameter"]["Value"]

    def sign_stripe(self, payload: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
        return sign(payload, secret or self.parameter("stripe/webhook_secret"), timestamp)

    def flush_deliveries(self) -> None:
        """Wait until every webhook and callback the sandbox emitted so far has been answered by
        the API (or dropped): after this, nothing more is on its way."""
        LOCAL.post(f"{self.sandbox}/_sandbox/deliveries/flush", params={"timeout": 30}, timeout=35).raise_for_status()

    def drain(self) -> None:
        """Wait until nothing is in flight on the stack: every webhook the sandbox emitted answered,
        then every stream read to its end, every queue empty, no function running for them
        (caisse_local.stack's /_caisse/drain, LocalStack.settle)."""
        drained = LOCAL.post(f"{self.api}/_caisse/drain", params={"timeout": 60}, timeout=65)
        assert drained.status_code == 204, f"the stack did not settle: {drained.status_code} {drained.text}"

    def tool_env(self) -> dict[str, str]:
        """The environment of a developer's shell beside this stack: its ports only through
        CAISSE_API_PORT, CAISSE_AWS_PORT and CAISSE_SANDBOX_PORT."""
        ports = {
            f"CAISSE_{name}_PORT": url.rsplit(":", 1)[1]
            for name, url in (("API", self.api), ("AWS", self.aws), ("SANDBOX", self.sandbox))
        }
        return {**os.environ, **ports}

    def run(self, *command: str, timeout: float = 120) -> str:
        """A command of the project's (`make -s <target>`, `scripts/...`) run from the repository
        in `tool_env()`; its output, once it succeeded."""
        done = subprocess.run(  # noqa: S603 - our own Makefile and scripts
            list(command), cwd=ROOT, env=self.tool_env(), capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def make(self, target: str, *variables: str) -> str:
        return self.run("make", "-s", target, *variables)

    def sandbox_config(self, **config) -> None:
        LOCAL.post(f"{self.sandbox}/_sandbox/reset-config", timeout=5).raise_for_status()
        if config:
            LOCAL.post(f"{self.sandbox}/_sandbox/config", json=config, timeout=5).raise_for_status()


def platform_token() -> str:
    return issue_token()


def merchant_token(merchant: str) -> str:
    return issue_token(merchant_id=merchant)


def check_in(api, code, merchant="festival", email="door@sunsetfestival.example") -> httpx.Response:
    """A ticket shown at the door, checked in by the merchant's door staff."""
    token = issue_token(merchant_id=merchant, email=email)
    return api.post(f"/admin/tickets/{code}/check-in", headers={"Authorization": f"Bearer {token}"})


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1, what: str = "condition"):
    """Poll until predicate() returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def customer(locale: str = "en") -> dict:
    return {"name": "Ada Lovelace", "email": "ada@example.test", "locale": locale}


def stripe_event(kind: str, obj: dict, event_id: str | None = None) -> bytes:
    event = {
        "id": event_id or f"evt_test_{time.time_ns()}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "type": kind,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def order_status(api: httpx.Client, checkout: dict) -> str:
    answer = api.get(f"/orders/{checkout['order_id']}", headers={"Authorization": f"Bearer {checkout['order_token']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["status"]


def start(api: httpx.Client, sku: str = "SONG-STANDARD", currency: str = "USD", quantity: int = 1, **extra) -> dict:
    answer = api.post(
        "/checkouts",
        json={
            "items": [{"sku": sku, "quantity": quantity}],
            "currency": currency,
            "customer": customer(),
            **made_to_order(sku),
            **extra,
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def add_product(
    stack, sku: str, stock: int | None, prices: dict[str, int] | None = None, merchant: str = "festival"
) -> None:
    """A product of an existing merchant, written straight into the catalog table for one test:
    its catalog settings and its place in the by_parent index copied as seeding writes them, so
    GET /catalog lists it."""
    table = stack.table("CatalogTable")
    sibling = next(
        item
        for item in table.scan(ConsistentRead=True)["Items"]
        if item.get("type") == "product" and item.get("merchant") == merchant
    )
    item = {
        **{
            key: sibling[key]
            for key in ("parent", "order_prefix", "stages", "merchant_contact", "merchant_rules")
            if key in sibling
        },
        "pk": f"PRODUCT#{sku}",
        "type": "product",
        "sku": sku,
        "merchant": merchant,
        "name": f"Test item {sku}",
        "kind": "ticket",
        "prices": prices or {"USD": 2500},
        "max_per_order": 10,
        "active": True,
    }
    if stock is not None:
        item["stock"] = stock
    stack.table("CatalogTable").put_item(Item=item)


def count_orders(stack) -> int:
    """Orders in the table (not the records beside them: history, references, figures...), every
    page of the Scan (one page reads 1 MB at most)."""
    table = stack.table("OrdersTable")
    query = {
        "Select": "COUNT",
        "ConsistentRead": True,
        "FilterExpression": "#type = :order",
        "ExpressionAttributeNames": {"#type": "type"},
        "ExpressionAttributeValues": {":order": "order"},
    }
    count, start = 0, None
    while True:
        page = table.scan(**query, **({"ExclusiveStartKey": start} if start else {}))
        count += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return count


def sent_emails(stack, **filters: str) -> list[dict]:
    """The emails the emulated SES accepted, parsed by the local stack (`GET /_caisse/emails`),
    filtered on `to`, `kind`, `source`, `recipient` or `notification`: to, from, reply_to, subject,
    text, html, attachments, notification, source, version, kind, recipient."""
    answer = LOCAL.get(f"{stack.aws}/_caisse/emails", params=filters, timeout=15)
    answer.raise_for_status()
    return answer.json()


def emails_for(stack, order_id: str, kind: str | None = None) -> list[dict]:
    """The emails sent about one order (of one kind, if given)."""
    return sent_emails(stack, source=f"order:{order_id}", **({"kind": kind} if kind else {}))


def queues_idle(stack) -> bool:
    """Nothing waiting or in flight in the notification queue."""
    sqs = stack.boto("sqs")
    url = sqs.get_queue_url(QueueName=f"{STACK}-NotificationsQueue.fifo")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return all(
        int(attributes[name]) == 0
        for name in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def aws_faults(stack, **fault) -> None:
    """Clear the injected faults, then inject `fault`, if given, once the stack has settled: what an
    earlier test left in flight (its emails, its stream records) would otherwise meet the fault meant
    for this test's own requests, and come back only after its visibility timeout."""
    LOCAL.delete(f"{stack.aws}/_caisse/faults", timeout=5).raise_for_status()
    if fault:
        stack.drain()
        LOCAL.post(f"{stack.aws}/_caisse/faults", json=fault, timeout=5).raise_for_status()


# --------------------------------------------------------------------------- added for issue 10

_addresses = iter(range(2, 60_000))


def client_address() -> str:
    """A loopback address no other test uses: 127.0.0.2, 127.0.0.3, ... (Linux routes all of
    127/8 to the loopback interface, so a client bound to it reaches the stack on 127.0.0.1)."""
    n = next(_addresses)
    return f"127.{n // 62_500 % 250}.{n // 250 % 250}.{n % 250 + 2}"


def customer_client(target, address: str | None = None, timeout: float = 15.0) -> httpx.Client:
    """An API client from a network of its own, as a different customer would be: API Gateway's
    sourceIp is the connection's address, which per-customer caps on open checkouts count.
    `target` is the Stack or an API client."""
    base = target.api if isinstance(target, Stack) else str(target.base_url)
    transport = httpx.HTTPTransport(local_address=address or client_address())
    return httpx.Client(base_url=base, timeout=timeout, transport=transport)


def order_view(api: httpx.Client, checkout: dict) -> dict:
    answer = api.get(f"/orders/{checkout['order_id']}", headers={"Authorization": f"Bearer {checkout['order_token']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def money_state(api: httpx.Client, checkout: dict) -> str:
    return order_view(api, checkout)["money_state"]


def admin_view(api: httpx.Client, order_id: str, merchant: str) -> dict:
    answer = api.get(f"/admin/orders/{order_id}", headers={"Authorization": f"Bearer {merchant_token(merchant)}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def sandbox_post(stack, path: str, body: dict | None = None) -> dict:
    """A provider-side action through the sandbox's control API (a dashboard refund, a dispute...)."""
    answer = LOCAL.post(f"{stack.sandbox}{path}", json=body or {}, headers={"Accept": "application/json"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def remaining_stock(api: httpx.Client, sku: str) -> int:
    return next(p for p in api.get("/catalog").json()["products"] if p["sku"] == sku)["remaining"]


# --------------------------------------------------------------------------- added for issue 15

_FIRST_TEST_DAY = 20  # days from today: the song studio's days used by other tests start here
_days = iter(range(_FIRST_TEST_DAY, 330))


def song_brief(**changes) -> dict:
    """A complete song brief (the studio's questionnaire), with `changes`."""
    return {
        "occasion": "wedding",
        "for_whom": "Awa",
        "from_whom": "Jean",
        "story": "We met at the Douala market in the rain; she laughed at my umbrella.",
        "due_date": (date.today() + timedelta(days=60)).isoformat(),
        "style": "makossa",
        **changes,
    }


def _studio_blackout() -> set[str]:
    catalog = json.loads((ROOT / "data" / "catalog.json").read_text())
    studio = next(m for m in catalog["merchants"] if m["id"] == "songstudio")
    return set(studio["rules"]["capacity"]["blackout_dates"])


def studio_day() -> str:
    """A day of the song studio's capacity (3 a day) that no other test takes, and it is open."""
    closed = _studio_blackout()
    while (day := (date.today() + timedelta(days=next(_days))).isoformat()) in closed:
        pass
    return day


def made_to_order(sku: str) -> dict:
    """What a checkout of this product needs besides the cart: the song studio's songs are made
    from a brief and take a day of its capacity."""
    if sku.startswith("SONG-"):
        return {"answers": song_brief(), "day": studio_day()}
    return {}


def pay(stack, order: dict) -> None:
    """The customer pays a checkout at its provider's sandbox: Pay on Stripe's or PayPal's page,
    Approve on the phone for CamPay (PayDunya is paid on its own page by its tests)."""
    if order["provider"] == "stripe":
        httpx.post(f"{order['next_action']['url']}/pay", timeout=10)
    elif order["provider"] == "paypal":
        paypal_order = order["next_action"]["url"].split("token=")[1]
        httpx.post(f"{stack.sandbox}/paypal/checkoutnow/{paypal_order}/pay", timeout=10)
    elif order["provider"] == "campay":
        prompts = LOCAL.get(f"{stack.sandbox}/handset", headers={"Accept": "application/json"}, timeout=10).json()
        reference = next(p["reference"] for p in prompts if order["order_number"] in p["description"])
        LOCAL.post(f"{stack.sandbox}/handset/{reference}/approve", headers={"Accept": "application/json"}, timeout=10)


def upload_deliverable(api: httpx.Client, order_id: str, token: str, content: bytes = b"ID3 a song") -> str:
    """Staff attach the file to deliver and upload it (the presigned PUT); its key."""
    headers = {"Authorization": f"Bearer {token}"}
    body = {"filename": "your song.mp3", "content_type": "audio/mpeg", "size": len(content)}  # the size is signed
    answer = api.post(f"/admin/orders/{order_id}/deliverable", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    put = answer.json()["upload"]
    assert httpx.put(put["url"], content=content, headers=put["headers"], timeout=10).status_code == 200
    return answer.json()["key"]


def jpeg(width: int = 1800, height: int = 1200, shade: int = 0) -> bytes:
    """A photo as a camera would send it (a JPEG a few hundred KB), a different one per shade."""
    out = io.BytesIO()
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    Image.blend(image, Image.new("RGB", (width, height), (shade, 90, 160)), 0.5).save(out, "JPEG", quality=90)
    return out.getvalue()


def dynamodb_requests(stack, action) -> dict[str, int]:
    """The DynamoDB requests made while `action` ran, counted by the local AWS endpoint (nothing
    else in flight: every webhook already emitted is answered, then every event source is idle)."""
    stack.drain()
    LOCAL.delete(f"{stack.aws}/_caisse/requests", timeout=5)
    action()
    return LOCAL.get(f"{stack.aws}/_caisse/requests", timeout=5).json().get("dynamodb", {})
