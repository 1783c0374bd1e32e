"""Local Stripe sandbox: a stateful fake of api.stripe.com and the hosted Checkout page.

Point the real SDK at it with ``stripe.StripeClient("sk_test_...", base_addresses={"api": url})``.
It is the provider's side of the edge, so it must never import the ``caisse`` domain package.
"""

from provider_sandbox.app import SandboxApp, SandboxServer, create_app, serve_in_thread
from provider_sandbox.signing import sign

__all__ = ["SandboxApp", "SandboxServer", "create_app", "serve_in_thread", "sign"]
