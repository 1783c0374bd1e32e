#!/usr/bin/env python3
"""Send the messages of a dead-letter queue back to the queue they came from, once the cause is
fixed (SES back, a bug deployed away). Messages keep their group (FIFO) and attributes; the email
ledger makes sure nothing that was already sent is sent again.

    scripts/redrive_dlq.py --local                       # the local stack's notifications DLQ ($CAISSE_AWS_PORT)
    scripts/redrive_dlq.py --local --stream-failures     # stream batches whose replay failed for a day
    scripts/redrive_dlq.py --dlq URL --to URL            # AWS (your profile), e.g. the stack's queues
    scripts/redrive_dlq.py --local --dry-run             # count, move nothing
"""

from __future__ import annotations

import argparse
import sys
import uuid

import boto3

LOCAL_PREFIX = "https://sqs.us-east-1.amazonaws.com/123456789012/caisse-local"


def redrive(sqs, dlq_url: str, target_url: str, *, dry_run: bool = False, limit: int = 10_000) -> int:
    moved = 0
    fifo = target_url.endswith(".fifo")
    while moved < limit:
        answer = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        for message in messages:
            if dry_run:
                moved += 1
                continue
            params = {"QueueUrl": target_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                params["MessageAttributes"] = message["MessageAttributes"]
            if fifo:
                attributes = message.get("Attributes", {})
                params["MessageGroupId"] = attributes.get("MessageGroupId", "redrive")
                # A new id: the original one may still be inside SQS's deduplication window.
                params["MessageDeduplicationId"] = f"redrive-{uuid.uuid4().hex}"
            sqs.send_message(**params)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
        if dry_run:
            break
    return moved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", action="store_true", help="the local stack's NotificationsDLQ → NotificationsQueue")
    parser.add_argument(
        "--stream-failures",
        action="store_true",
        help="with --local: OrderStreamFailuresDLQ → OrderStreamFailuresQueue (the replay reads them again)",
    )
    parser.add_argument("--dlq", help="URL of the dead-letter queue")
    parser.add_argument("--to", help="URL of the queue to send the messages back to")
    parser.add_argument("--endpoint-url", help="AWS endpoint (default: AWS, or the local stack with --local)")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()

    if args.local:
        names = ("OrderStreamFailuresDLQ", "OrderStreamFailuresQueue") if args.stream_failures else None
        dlq = args.dlq or (f"{LOCAL_PREFIX}-{names[0]}" if names else f"{LOCAL_PREFIX}-NotificationsDLQ.fifo")
        target = args.to or (f"{LOCAL_PREFIX}-{names[1]}" if names else f"{LOCAL_PREFIX}-NotificationsQueue.fifo")
        from caisse_local.stack import Ports

        endpoint = args.endpoint_url or Ports.from_env().url("aws")
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106
    elif args.dlq and args.to:
        dlq, target, endpoint, session = args.dlq, args.to, args.endpoint_url, boto3.session.Session()
    else:
        parser.error("give --local, or both --dlq and --to")
    sqs = session.client("sqs", endpoint_url=endpoint, region_name=session.region_name or "us-east-1")
    moved = redrive(sqs, dlq, target, dry_run=args.dry_run)
    print(f"{'would move' if args.dry_run else 'moved'} {moved} message(s) from {dlq} to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
