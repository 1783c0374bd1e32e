"""The whole system on one machine, offline: emulated AWS (moto), the provider sandbox, and the
functions of template.yaml behind a local API Gateway, wired from template.yaml itself.

Secrets seeded here are obviously fake and only ever exist in the emulated SSM (LOCAL_SECRETS,
plus the Stripe webhook secret and PayPal webhook id the sandbox issues when the stack registers
its webhook URLs, as a shop does in the providers' dashboards).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs

import httpx

from caisse_local import aws
from caisse_local import template as templates
from caisse_local.apigateway import ApiGateway
from caisse_local.event_sources import EventSources
from caisse_local.lambda_api import LambdaInvokeApi
from caisse_local.runtime import FunctionPool, apply_environment
from caisse_local.s3_events import S3Notifications
from caisse_local.server import BackgroundServer, RawHeadersRequestHandler

ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "caisse-local"
STAGE = "dev"
STRIPE_TEST_KEY = "sk_test_local_not_a_real_key"
LOCAL_SECRETS = {
    "stripe/secret_key": STRIPE_TEST_KEY,
    "order_token_key": "local-order-token-key-not-a-secret",
    "campay/token": "campay-local-token-not-a-secret",
    "campay/webhook_key": "campay-local-webhook-key-not-a-secret-0000",
    "paydunya/master_key": "paydunya-local-master-key-not-a-secret",
    "paydunya/private_key": "test_private_local_not_a_secret",
    "paydunya/token": "paydunya-local-token-not-a-secret",
    "paypal/client_id": "paypal-local-client-id",
    "paypal/client_secret": "paypal-local-client-secret-not-a-secret",
    # An Ed25519 seed (32 bytes, base64) that signs the tickets' QR codes.
    "tickets/signing_key": "bG9jYWwtdGlja2V0cy1rZXktbm90LWEtc2VjcmV0ISE=",
}
START_TIMEOUT = 60.0
DEMO_GALLERY_ID = "5d1e7a3c-2b4f-4e6a-8c9d-0f1e2d3c4b5a"
"""Lumen's demo gallery, which the gallery and upload sample events in events/ name."""

DRAIN_PATH = "/_caisse/drain"  # LocalStack.settle over HTTP, see LocalStack._with_drain


@dataclass
class Ports:
    """Where the local stack listens; every script and make target reads them from the same
    variables, so a stack on moved ports is the one they talk to."""

    api: int = 3000
    aws: int = 4566
    sandbox: int = 4010

    @classmethod
    def from_env(cls) -> Ports:
        defaults = cls()
        return cls(
            int(os.environ.get("CAISSE_API_PORT") or defaults.api),
            int(os.environ.get("CAISSE_AWS_PORT") or defaults.aws),
            int(os.environ.get("CAISSE_SANDBOX_PORT") or defaults.sandbox),
        )

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{getattr(self, name)}"


@dataclass
class LocalStack:
    ports: Ports = field(default_factory=Ports)
    host: str = "127.0.0.1"
    catalog: Path | None = ROOT / "data" / "catalog.json"
    max_concurrency: int = 4
    children: list[subprocess.Popen] = field(default_factory=list)
    pools: dict[str, FunctionPool] = field(default_factory=dict)
    api_server: BackgroundServer | None = None
    event_sources: EventSources | None = None
    s3_notifications: S3Notifications | None = None
    template: templates.Template | None = None
    ctx: templates.Context | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.ports.api}"

    @property
    def aws_url(self) -> str:
        return f"http://{self.host}:{self.ports.aws}"

    @property
    def sandbox_url(self) -> str:
        return f"http://{self.host}:{self.ports.sandbox}"

    # ------------------------------------------------------------------ start / stop
    def start(self, progress: Callable[[str], None] | None = None) -> None:
        """Start everything; `progress` hears one line per step, with the time it took."""
        steps = [
            ("emulated AWS (moto) and provider sandbox started", self._start_children),
            ("functions configured from template.yaml", self.configure_process),
            ("tables, queues, buckets, secrets and demo catalog created", self._provision),
            ("DynamoDB stream, SQS and SNS event sources polling", self._start_event_sources),
            ("S3 notifications to the image function wired", self._start_s3_notifications),
            (f"API listening on {self.api_url}", self._start_api),
        ]
        try:
            for what, step in steps:
                started = time.monotonic()
                step()
                if progress is not None:
                    progress(f"caisse: {what} ({time.monotonic() - started:.1f} s)")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.api_server is not None:
            self.api_server.stop()
            self.api_server = None
        if self.event_sources is not None:
            self.event_sources.stop()
            self.event_sources = None
        if self.s3_notifications is not None:
            self.s3_notifications.stop()
            self.s3_notifications = None
        for pool in self.pools.values():
            pool.close()
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5)
        self.children.clear()

    def _spawn(self, module: str, *args: str) -> None:
        child = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT)  # noqa: S603
        self.children.append(child)

    def _start_children(self) -> None:
        self._spawn("caisse_local.aws", "--host", self.host, "--port", str(self.ports.aws))
        self._spawn(
            "provider_sandbox",
            "--host",
            self.host,
            "--port",
            str(self.ports.sandbox),
            "--public-url",
            self.sandbox_url,
            "--quiet",
        )
        _wait_until_up(f"{self.aws_url}/_caisse/requests", self.children)
        _wait_until_up(f"{self.sandbox_url}/_sandbox/health", self.children)

    def configure_process(self) -> None:
        """The functions run in this process: give it the environment Lambda would give them."""
        self.template = templates.load(ROOT / "template.yaml")
        self.ctx = templates.Context(
            stack_name=STACK_NAME,
            parameter_overrides={
                "Stage": STAGE,
                "StripeApiBase": self.sandbox_url,
                "CampayApiBase": f"{self.sandbox_url}/campay",
                "PaydunyaApiBase": f"{self.sandbox_url}/paydunya/sandbox-api/v1",
                "PaypalApiBase": f"{self.sandbox_url}/paypal",
                "ShopUrl": f"{self.sandbox_url}/shop",
                "PublicApiUrl": self.api_url,
                "StaffSignIn": "local-token",  # no Cognito here: staff paste a `make admin-token`
                # Email retries wait 1 s, 2 s, 4 s... locally instead of 30 s, 60 s...
                "EmailRetryBaseSeconds": os.environ.get("CAISSE_EMAIL_RETRY_BASE_SECONDS", "1"),
                "CatalogCacheSeconds": os.environ.get("CAISSE_CATALOG_CACHE_SECONDS", "30"),
                # A cancelled event's tickets swept again 3 s after its telling, not 15 minutes.
                "CancellationSweepSeconds": os.environ.get("CAISSE_CANCELLATION_SWEEP_SECONDS", "3"),
            },
        )
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.aws_url,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": self.ctx.region,
                "AWS_REGION": self.ctx.region,
            }
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)

    def _provision(self) -> None:
        assert self.template is not None and self.ctx is not None
        aws.provision(self.template, self.ctx, self.aws_url)
        specs = self.template.functions(self.ctx)
        apply_environment(specs)
        prefix = f"/caisse/{STAGE}"
        ssm = aws.client("ssm", self.aws_url, self.ctx.region)
        secrets = {
            **LOCAL_SECRETS,
            "stripe/webhook_secret": self._register_stripe_webhook(),
            "stripe/connect_webhook_secret": self._register_stripe_webhook(connect=True),
            "paypal/webhook_id": self._register_paypal_webhook(),
        }
        self._configure_campay_app()
        for name, value in secrets.items():
            ssm.put_parameter(Name=f"{prefix}/{name}", Value=value, Type="SecureString", Overwrite=True)
        if self.catalog is not None:
            from caisse.catalog.service import seed  # imported once the environment names the tables

            catalog = json.loads(self.catalog.read_text())
            seed(catalog)
            self._connect_demo_merchants(catalog)
            if any(merchant["id"] == "lumen" for merchant in catalog["merchants"]):
                self._seed_demo_gallery()
        self.pools = {spec.logical_id: FunctionPool(spec, self.max_concurrency) for spec in specs}

    def _start_event_sources(self) -> None:
        """Poll the template's DynamoDB, SQS and SNS events into the functions, as Lambda does."""
        assert self.template is not None and self.ctx is not None
        window = os.environ.get("CAISSE_MAX_BATCHING_WINDOW_SECONDS")
        self.event_sources = EventSources(
            self.template,
            self.ctx,
            self.aws_url,
            self.pools,
            max_batching_window=float(window) if window else None,
        ).start()

    def _start_s3_notifications(self) -> None:
        """Invoke the functions with S3 events of template.yaml when objects land in their bucket."""
        assert self.template is not None and self.ctx is not None
        self.s3_notifications = S3Notifications(self.template, self.ctx, self.aws_url, self.pools).start()

    def _register_stripe_webhook(self, *, connect: bool = False) -> str:
        """Register our webhook URLs with the sandbox, as a shop does in Stripe's dashboard: one for
        the platform's own events, one (connect) for its merchants' connected accounts, each
        subscribed to exactly the events its adapter acts on."""
        import stripe

        from caisse.payments.stripe.events import CONNECT_EVENTS, PLATFORM_EVENTS

        client = stripe.StripeClient(STRIPE_TEST_KEY, base_addresses={"api": self.sandbox_url})
        path = "/webhooks/stripe-connect" if connect else "/webhooks/stripe"
        events = CONNECT_EVENTS if connect else PLATFORM_EVENTS
        params = {"url": f"{self.api_url}{path}", "enabled_events": list(events)}
        if connect:
            params["connect"] = True
        return str(client.v1.webhook_endpoints.create(params=params).secret)

    def _connect_demo_merchants(self, catalog: dict) -> None:
        """The demo catalog's tradies get connected accounts at the sandbox; those marked
        demo_onboarded start able to take charges (one does not, to show onboarding)."""
        import stripe

        from caisse.catalog.models import Merchant
        from caisse.payments.stripe.connect import ConnectedAccount, account_params

        client = stripe.StripeClient(STRIPE_TEST_KEY, base_addresses={"api": self.sandbox_url})
        for merchant in catalog["merchants"]:
            connect = merchant.get("connect")
            if not connect:
                continue
            params = account_params(
                connect.get("type", "express"),
                connect.get("country", "AU"),
                merchant.get("staff_email") or merchant.get("reply_to"),
                merchant["name"],
                merchant["id"],
            )
            account = client.v1.accounts.create(params=params)
            ConnectedAccount(ConnectedAccount.key(account.id), merchant=merchant["id"]).save()
            onboarded = bool(connect.get("demo_onboarded"))
            if onboarded:
                httpx.post(
                    f"{self.sandbox_url}/_sandbox/stripe/accounts/{account.id}/state",
                    json={"charges_enabled": True, "payouts_enabled": True},
                    timeout=10,
                ).raise_for_status()
            Merchant(Merchant.key(merchant["id"])).update(
                actions=[
                    Merchant.stripe_account.set(account.id),
                    Merchant.charges_enabled.set(onboarded),
                    Merchant.payouts_enabled.set(onboarded),
                ]
            )

    def _seed_demo_gallery(self) -> None:
        """An empty gallery of the photography demo shop (Lumen) for a client, open for a year."""
        from datetime import timedelta

        from caisse.clock import iso, utcnow
        from caisse.media.models import EMPTY, Gallery

        now = utcnow()
        Gallery(
            Gallery.key(DEMO_GALLERY_ID),
            gallery_id=DEMO_GALLERY_ID,
            merchant="lumen",
            merchant_name="Lumen Photography",
            parent=Gallery.listed_under("lumen"),
            title="Demo wedding",
            client_name="Ada Lovelace",
            client_email="ada@example.test",
            client_locale="en",
            expires_at=now + timedelta(days=365),
            status=EMPTY,
            created_by="local-stack",
            created_at=iso(now),
            updated_at=now,
        ).save()

    def _register_paypal_webhook(self) -> str:
        """Register our PayPal webhook URL with the sandbox (PayPal's dashboard, in AWS)."""
        import base64

        credentials = f"{LOCAL_SECRETS['paypal/client_id']}:{LOCAL_SECRETS['paypal/client_secret']}"
        token = httpx.post(
            f"{self.sandbox_url}/paypal/v1/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {base64.b64encode(credentials.encode()).decode()}"},
            timeout=10,
        ).json()["access_token"]
        webhook = httpx.post(
            f"{self.sandbox_url}/paypal/v1/notifications/webhooks",
            json={"url": f"{self.api_url}/webhooks/paypal", "event_types": [{"name": "*"}]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        webhook.raise_for_status()
        return str(webhook.json()["id"])

    def _configure_campay_app(self) -> None:
        """CamPay's callback is a dashboard setting of the app: URL, method and webhook key."""
        httpx.post(
            f"{self.sandbox_url}/_sandbox/campay/app",
            json={
                "callback_url": f"{self.api_url}/webhooks/campay",
                "callback_method": os.environ.get("CAISSE_CAMPAY_CALLBACK_METHOD", "POST"),
                "webhook_key": LOCAL_SECRETS["campay/webhook_key"],
                "permanent_token": LOCAL_SECRETS["campay/token"],
            },
            timeout=10,
        ).raise_for_status()

    def _start_api(self) -> None:
        assert self.template is not None and self.ctx is not None
        gateway = ApiGateway.from_template(self.template, self.ctx, self.pools)
        self.api_server = BackgroundServer(
            self._with_drain(LambdaInvokeApi(self.pools, gateway)),
            self.host,
            self.ports.api,
            request_handler=RawHeadersRequestHandler,
            name="caisse-api",
        )
        self.api_server.start()

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until nothing is in flight: every webhook and callback the sandbox emitted so far
        answered, then every event source idle at one moment (EventSources.drain: streams read to
        their end, queues empty, nothing running), what those deliveries caused included.
        TimeoutError names what is still busy."""
        flushed = httpx.post(
            f"{self.sandbox_url}/_sandbox/deliveries/flush", params={"timeout": timeout}, timeout=timeout + 5
        )
        if flushed.is_error:
            raise TimeoutError(f"sandbox deliveries still in flight after {timeout:g}s: {flushed.text}")
        if self.event_sources is not None:
            self.event_sources.drain(timeout)

    def _with_drain(self, app: Callable[..., Any]) -> Callable[..., Any]:
        """`POST /_caisse/drain?timeout=30` on the API port answers 204 once the stack has settled
        (`settle`), 504 naming what is still busy after the timeout. Tests wait on it before they
        count the requests an action makes, so work an earlier action caused is not counted with it."""

        def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if environ.get("PATH_INFO") != DRAIN_PATH or environ.get("REQUEST_METHOD") != "POST":
                return app(environ, start_response)
            timeout = float(parse_qs(environ.get("QUERY_STRING", "")).get("timeout", ["30"])[0])
            try:
                self.settle(timeout)
            except TimeoutError as busy:
                start_response("504 Gateway Timeout", [("Content-Type", "text/plain; charset=utf-8")])
                return [str(busy).encode()]
            start_response("204 No Content", [])
            return []

        return serve

    def parameter(self, name: str) -> str:
        """A secret the stack put in the emulated SSM, e.g. "stripe/webhook_secret"."""
        ssm = aws.client("ssm", self.aws_url, self.ctx.region if self.ctx else "us-east-1")
        return ssm.get_parameter(Name=f"/caisse/{STAGE}/{name}", WithDecryption=True)["Parameter"]["Value"]

    def banner(self) -> str:
        assert self.template is not None and self.ctx is not None
        routes = "\n".join(
            f"    {route.method:<6} {self.api_url}{route.path}" for route in self.template.api_routes(self.ctx)
        )
        return (
            "Caisse local stack ready\n"
            f"  API (template.yaml routes):\n{routes}\n"
            f"  AWS endpoint (moto):       {self.aws_url}   sent email: {self.aws_url}/moto-api/data.json\n"
            f"  Provider sandbox:          {self.sandbox_url}   deliveries: {self.sandbox_url}/_sandbox/deliveries\n"
            "  Staff token:               make admin-token  (MERCHANT=<id> make admin-token for one merchant)\n"
            "  Stop with Ctrl-C."
        )


def _wait_until_up(url: str, children: list[subprocess.Popen], timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        for child in children:
            if child.poll() is not None:
                raise RuntimeError(f"{' '.join(map(str, child.args))} exited with {child.returncode}")
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError as error:
            last = error
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s ({last})")


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[TextIO]:
    """Send this process's stdout and stderr (the functions' logs, the children's too if started
    inside) to a file, so a benchmark's own figures stay readable; it yields the console."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as log, open(os.dup(saved[0]), "w", buffering=1) as console:  # noqa: SIM115
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield console
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
