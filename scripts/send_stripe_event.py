#!/usr/bin/env python3
"""Sign a Stripe event the way Stripe does and deliver it to a Caisse webhook URL: to replay an
event from Stripe's dashboard or the sandbox (`GET /_sandbox/events`), or to try a forgery.

    scripts/send_stripe_event.py event.json                   # to the local stack, secret from its SSM
                                                              # (on $CAISSE_API_PORT and $CAISSE_AWS_PORT)
    scripts/send_stripe_event.py event.json --times 5         # the same delivery five times
    scripts/send_stripe_event.py event.json --secret whsec_x --url https://.../webhooks/stripe
    scripts/send_stripe_event.py event.json --age 600         # a timestamp ten minutes old (refused)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

from caisse_local.aws import client
from caisse_local.stack import Ports
from provider_sandbox.signing import sign


def local_secret(endpoint: str) -> str:
    ssm = client("ssm", endpoint)
    return ssm.get_parameter(Name="/caisse/dev/stripe/webhook_secret", WithDecryption=True)["Parameter"]["Value"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("event", type=Path, help="the event's JSON, sent byte for byte as it is in the file")
    ports = Ports.from_env()
    parser.add_argument("--url", default=f"{ports.url('api')}/webhooks/stripe")
    parser.add_argument("--secret", help="endpoint signing secret (default: the local stack's, from its SSM)")
    parser.add_argument("--aws-endpoint", default=ports.url("aws"))
    parser.add_argument("--age", type=int, default=0, help="seconds to back-date the signature")
    parser.add_argument("--times", type=int, default=1)
    args = parser.parse_args()

    body = args.event.read_bytes()
    secret = args.secret or local_secret(args.aws_endpoint)
    header = sign(body, secret, int(time.time()) - args.age)
    for _ in range(args.times):
        answer = httpx.post(
            args.url, content=body, headers={"Content-Type": "application/json", "Stripe-Signature": header}, timeout=30
        )
        print(answer.status_code, answer.text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
