#!/usr/bin/env python3
"""Write a catalog document (default data/catalog.json) into the catalog table, as an upsert:
what the file defines (merchants, rules, services, products, prices) is written over what is
there; a live shop's stock, Stripe onboarding and order counters are never reset, nor what staff
set through the API (hours, new-order emails, a product taken off sale unless the file says).
Safe to run again after sales (caisse.catalog.service.seed).

Local stack:  scripts/seed_catalog.py --local      (the stack on $CAISSE_AWS_PORT, default 4566)
AWS:          scripts/seed_catalog.py --table caisse-dev-CatalogTable-XXXX   (uses your AWS profile)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=ROOT / "data" / "catalog.json")
    parser.add_argument("--table", default=None, help="catalog table name (default: the local stack's)")
    parser.add_argument("--endpoint-url", default=None, help="AWS endpoint, e.g. the local stack's moto server")
    parser.add_argument("--local", action="store_true", help="the running local stack ($CAISSE_AWS_PORT)")
    args = parser.parse_args()

    if args.local:
        from caisse_local.stack import Ports

        args.endpoint_url = args.endpoint_url or Ports.from_env().url("aws")
        os.environ["CATALOG_TABLE"] = "caisse-local-CatalogTable"  # the local stack's, whatever the shell says
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
        for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
            os.environ.setdefault(name, value)
        os.environ.setdefault("CATALOG_TABLE", "caisse-local-CatalogTable")
    if args.table:
        os.environ["CATALOG_TABLE"] = args.table
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    from caisse.catalog.document import CatalogError
    from caisse.catalog.service import seed  # after the environment names the table

    try:
        written = seed(json.loads(args.file.read_text()))
    except CatalogError as error:
        print(f"{args.file} is not a valid catalog; nothing was written:\n{error}", file=sys.stderr)
        return 1
    print(f"wrote {written} catalog records to {os.environ['CATALOG_TABLE']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
