#!/usr/bin/env python3
"""What a merchant's settings change costs (make bench-settings): on a local stack of its own,
the song studio's staff rename it (PATCH /admin/merchants/songstudio/settings: one transaction
with the merchant, its 3 products' copies and the change record) and read the change list
(GET .../changes, one Query of the by_parent index), alternating. Prints median and p90 latency;
the name is put back at the end.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from caisse_local.authorizer import issue_token
from caisse_local.child import child_stack

MERCHANT = "songstudio"


def summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    return f"median {statistics.median(ordered) * 1000:.0f} ms, p90 {ordered[int(len(ordered) * 0.9)] * 1000:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="changes (and reads) to time")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {issue_token(merchant_id=MERCHANT)}"}
    with (
        child_stack({"CAISSE_CATALOG_CACHE_SECONDS": "0"}, 90) as stack,
        httpx.Client(base_url=stack.api, timeout=30) as api,
    ):
        settings = f"/admin/merchants/{MERCHANT}/settings"
        original = api.get(settings, headers=headers).json()["name"]
        changes, reads = [], []
        for round_ in range(args.rounds):
            started = time.perf_counter()
            answer = api.patch(settings, json={"name": f"{original} {round_}"}, headers=headers)
            changes.append(time.perf_counter() - started)
            answer.raise_for_status()
            started = time.perf_counter()
            api.get(f"/admin/merchants/{MERCHANT}/changes", params={"limit": 20}, headers=headers).raise_for_status()
            reads.append(time.perf_counter() - started)
        api.patch(settings, json={"name": original}, headers=headers).raise_for_status()
    print(f"PATCH settings (3 product copies rewritten, the change recorded), {args.rounds} calls: {summary(changes)}")
    print(f"GET changes (limit 20), {args.rounds} calls: {summary(reads)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
