"""The command line every one-off migration of the orders table shares: which table, which
endpoint (the local stack's, or none for AWS), and `--apply` (a dry run without it). It points
the AWS SDK through the environment, so each migration reads and writes as the functions do."""

from __future__ import annotations

import argparse
import os

USAGE = """
    %(prog)s --table caisse-prod-OrdersTable-XXXX            # dry run
    %(prog)s --table caisse-prod-OrdersTable-XXXX --apply
    %(prog)s --endpoint-url http://127.0.0.1:4566 --apply     # the local stack

It reads the table with a Scan (a one-off migration, not a request path)."""


def arguments(doc: str | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=doc, epilog=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--table", default="caisse-local-OrdersTable")
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--apply", action="store_true", help="write the changes (default: only print them)")
    args = parser.parse_args()
    os.environ["ORDERS_TABLE"] = args.table
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    return args
