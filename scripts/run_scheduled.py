#!/usr/bin/env python3
"""Run a scheduled function once, now, against the running local stack: reconciliation on demand,
the expiry sweep. (In AWS, invoke the function: `aws lambda invoke --function-name <name> out.json`.)

    scripts/run_scheduled.py ReconcilePaymentsFunction
    CAISSE_AWS_PORT=4567 scripts/run_scheduled.py ExpireCheckoutsFunction   # a stack on moved ports
    scripts/run_scheduled.py ReconcilePaymentsFunction --event-id run-1 --detail '{"stop_after_seconds": 60}'

`--event-id` sends the same event again, as Lambda does when it retries a failed asynchronous
invocation: a reconciliation stopped before its deadline resumes from its checkpoint. A function
that fails prints Lambda's error document after the marker and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime

from caisse_local.runtime import FunctionError, FunctionPool, apply_environment
from caisse_local.stack import LocalStack, Ports

RESULT_MARKER = "--- result ---"


def scheduled_event(function: str, event_id: str | None = None, detail: dict | None = None) -> dict:
    """The event EventBridge sends a scheduled target."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/{function}"],
        "detail": detail or {},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="logical id in template.yaml, e.g. ReconcilePaymentsFunction")
    ports = Ports.from_env()  # CAISSE_API_PORT, CAISSE_AWS_PORT, CAISSE_SANDBOX_PORT, as the stack reads them
    parser.add_argument("--api-port", type=int, default=ports.api)
    parser.add_argument("--aws-port", type=int, default=ports.aws)
    parser.add_argument("--sandbox-port", type=int, default=ports.sandbox)
    parser.add_argument("--event-id", help="the event's id: the same id again is Lambda's retry of that event")
    parser.add_argument("--detail", type=json.loads, default={}, help="the event's detail, as JSON")
    args = parser.parse_args()

    stack = LocalStack(Ports(args.api_port, args.aws_port, args.sandbox_port))
    stack.configure_process()  # the same environment the running stack gives its functions
    spec = stack.template.function(args.function, stack.ctx)
    apply_environment([spec])
    status = 0
    with FunctionPool(spec, max_concurrency=1) as pool:
        try:
            result = pool.invoke(scheduled_event(args.function, args.event_id, args.detail))
        except FunctionError as error:
            result, status = error.payload(), 2
    # The function's own logs went to stdout above; the answer comes after this line.
    print(RESULT_MARKER)
    print(json.dumps(result, indent=2, default=str))
    return status


if __name__ == "__main__":
    sys.exit(main())
