#!/usr/bin/env python3
"""Invoke one function of template.yaml with an event, on the running local stack, the way
`sam local invoke -e` does where Docker exists: the answer is printed as Lambda returns it.

    scripts/invoke.py HealthFunction                          # with its sample, events/health.json
    scripts/invoke.py SendEmailFunction --event my-event.json
    make invoke FUNCTION=CreateCheckoutFunction

The stack is found on $CAISSE_API_PORT (default 3000), where it serves Lambda's Invoke API, so any
Lambda client works as well: `aws lambda invoke --endpoint-url http://127.0.0.1:3000 ...`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import boto3

from caisse_local import template
from caisse_local.lambda_api import ROOT, sample_events
from caisse_local.stack import Ports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="the function's logical id in template.yaml, e.g. HealthFunction")
    parser.add_argument("--event", type=Path, help="the event's JSON file (default: the function's sample)")
    args = parser.parse_args()

    samples = sample_events(template.load(ROOT / "template.yaml"))
    if args.event is None and args.function not in samples:
        parser.error(f"{args.function} is not a function of template.yaml; these are: {', '.join(sorted(samples))}")
    event = args.event or samples[args.function]
    client = boto3.client(
        "lambda",
        endpoint_url=Ports.from_env().url("api"),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - the local stack accepts anything
    )
    answer = client.invoke(FunctionName=args.function, Payload=event.read_bytes())
    print(json.dumps(json.loads(answer["Payload"].read()), indent=2))
    return 1 if answer.get("FunctionError") else 0


if __name__ == "__main__":
    sys.exit(main())
