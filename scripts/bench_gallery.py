#!/usr/bin/env python3
"""A big gallery on the local stack (make bench-gallery): how long the client's listing takes and
how many AWS requests it makes, and what one 24 MP photo costs in storage.

    .venv/bin/python scripts/bench_gallery.py [--photos 500] [--runs 5]

1. A gallery with an access code and downloads on gets one real photo (presigned PUT, the image
   function), whose record is then copied under `--photos - 1` new ids straight into the table:
   every record is what processing writes, at the size it writes it. (Uploading 500 real photos
   locally takes many minutes and times out: moto deep-copies every table before each
   transaction, 0.6 s per transaction at 1200 items, and scans the whole index on every Query.)
2. The client lists all of them through GET /galleries/{id}, in pages of 100 (the default) and
   of 200 (the most a page holds), `--runs` times each after one warm-up: median wall time of
   a whole listing and the AWS requests per listing, counted by the local AWS endpoint (presigning makes none: it is a
   signature computed in the function). Then, in this process against the same stack, how that
   time splits between the DynamoDB Query (moto's share) and our own work (presigning four URLs
   per photo, building the answer).
3. The 24 MP JPEG of scripts/bench_images.py is uploaded to another gallery; the original kept
   in the originals bucket and the four renditions are weighed with HEAD requests.

Times are the local stack's (moto in server mode, one machine): compare them with each other, not
with AWS.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from caisse.media.rules import MAX_PAGE_SIZE, PAGE_SIZE
from caisse_local.authorizer import issue_token
from caisse_local.aws import client
from caisse_local.server import free_port
from caisse_local.stack import LocalStack, Ports

STAFF = {"Authorization": f"Bearer {issue_token(merchant_id='lumen')}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    stack = LocalStack(Ports(free_port(), free_port(), free_port()))
    stack.start()
    try:
        api = httpx.Client(base_url=stack.api_url, timeout=120)
        listing(stack, api, args.photos, args.runs)
        storage(stack, api)
    finally:
        stack.stop()
    return 0


def new_gallery(api: httpx.Client) -> dict:
    answer = api.post(
        "/admin/galleries",
        headers=STAFF,
        json={
            "title": "Bench wedding",
            "client": {"name": "Bench Client", "email": "bench@example.test"},
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            "downloads": True,
            "access_code": True,
        },
    )
    answer.raise_for_status()
    return answer.json()


def upload(api: httpx.Client, gallery_id: str, data: bytes, name: str) -> str:
    answer = api.post(
        "/uploads",
        headers=STAFF,
        json={
            "purpose": "gallery",
            "gallery_id": gallery_id,
            "filename": name,
            "content_type": "image/jpeg",
            "size": len(data),
        },
    )
    answer.raise_for_status()
    target = answer.json()["upload"]
    httpx.request("PUT", target["url"], headers=target["headers"], content=data, timeout=60).raise_for_status()
    return answer.json()["media_id"]


def wait_ready(api: httpx.Client, gallery_id: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        counts = api.get(f"/admin/galleries/{gallery_id}", headers=STAFF, params={"limit": 1}).json()["counts"]
        if counts["ready"] + counts["failed"] >= count:
            if counts["failed"]:
                raise RuntimeError(f"{counts['failed']} photos failed")
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{counts['ready']} of {count} photos ready after {timeout:.0f} s")
        time.sleep(0.5)


def small_jpeg(n: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (960, 640), (n % 256, 120, 200)).save(out, "JPEG", quality=85)
    return out.getvalue()


def listing(stack: LocalStack, api: httpx.Client, photos: int, runs: int) -> None:
    gallery = new_gallery(api)
    gallery_id = gallery["gallery_id"]
    signature = gallery["link"].split("signature=", 1)[1]
    client_headers = {"X-Access-Code": gallery["access_code"]}
    first = upload(api, gallery_id, small_jpeg(0), "IMG_0000.jpg")
    wait_ready(api, gallery_id, 1, timeout=120)
    copy_records(stack, gallery_id, first, photos - 1)

    def whole_listing(limit: int) -> tuple[float, int, int]:
        httpx.delete(f"{stack.aws_url}/_caisse/requests", timeout=5)
        began = time.perf_counter()
        seen, pages, cursor = 0, 0, None
        while True:
            params = {"signature": signature, "limit": limit, **({"cursor": cursor} if cursor else {})}
            answer = api.get(f"/galleries/{gallery_id}", params=params, headers=client_headers)
            answer.raise_for_status()
            body = answer.json()
            seen, pages = seen + len(body["photos"]), pages + 1
            cursor = body["next_cursor"]
            if not cursor:
                break
        elapsed = time.perf_counter() - began
        if seen != photos:
            raise RuntimeError(f"listed {seen} of {photos}")
        counts = httpx.get(f"{stack.aws_url}/_caisse/requests", timeout=5).json()
        requests = {
            f"{service}.{op}": n
            for service, ops in counts.items()
            if service in ("dynamodb", "s3", "ssm")  # not the local stack's own SQS and stream pollers
            for op, n in ops.items()
        }
        return elapsed, pages, requests

    print(f"The client lists all {photos} photos (thumbnail, preview, watermarked and full URLs), median of {runs}:")
    for limit in (PAGE_SIZE, MAX_PAGE_SIZE):
        whole_listing(limit)  # warm the function's container, as a second visitor would find it
        results = [whole_listing(limit) for _ in range(runs)]
        times = sorted(r[0] for r in results)
        _, pages, requests = results[-1]
        detail = ", ".join(f"{name} {n}" for name, n in sorted(requests.items()))
        print(
            f"  pages of {limit}: {pages} HTTP requests, {statistics.median(times):.2f} s "
            f"(min {times[0]:.2f}, max {times[-1]:.2f}); AWS requests per listing: {sum(requests.values())} ({detail})"
        )
    split(gallery_id, MAX_PAGE_SIZE, runs)


def copy_records(stack: LocalStack, gallery_id: str, media_id: str, copies: int) -> None:
    """`copies` more ready photos in the gallery: the processed record under new ids (renditions
    and original shared: a presigned URL does not care), and the gallery's count to match."""
    import uuid

    dynamodb = client("dynamodb", stack.aws_url)
    table = next(t for t in dynamodb.list_tables()["TableNames"] if t.endswith("MediaTable"))
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"MEDIA#{media_id}"}}, ConsistentRead=True)["Item"]
    started = time.perf_counter()
    for start in range(0, copies, 25):
        batch = []
        for n in range(start, min(start + 25, copies)):
            new_id = str(uuid.uuid4())
            created = f"2026-12-01T10:{n // 60 % 60:02d}:{n % 60:02d}Z"
            batch.append(
                {
                    "PutRequest": {
                        "Item": {
                            **item,
                            "pk": {"S": f"MEDIA#{new_id}"},
                            "media_id": {"S": new_id},
                            "filename": {"S": f"IMG_{n + 1:04d}.jpg"},
                            "created_at": {"S": created},
                        }
                    }
                }
            )
        dynamodb.batch_write_item(RequestItems={table: batch})
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": f"GALLERY#{gallery_id}"}},
        UpdateExpression="SET ready_count = :n",
        ExpressionAttributeValues={":n": {"N": str(copies + 1)}},
    )
    print(
        f"{copies + 1} ready photos in the gallery ({copies} records copied in {time.perf_counter() - started:.1f} s)"
    )
    print(f"  one record: {len(json.dumps(item))} bytes of DynamoDB JSON")


def split(gallery_id: str, photos: int, runs: int) -> None:
    """Where one full page's time goes, measured in this process against the same stack."""
    from caisse.media import client as gallery_client
    from caisse.media import galleries
    from caisse.media.models import READY, Media

    gallery = galleries.load(gallery_id)
    query, ours = [], []
    for _ in range(runs):
        began = time.perf_counter()
        page, _ = galleries.photos(gallery, limit=photos, cursor=None, filter_condition=Media.status == READY)
        query.append(time.perf_counter() - began)
        began = time.perf_counter()
        view = gallery_client.view(gallery, limit=photos, cursor=None)
        both = time.perf_counter() - began
        ours.append(max(0.0, both - query[-1]))
    assert len(page) == photos and len(view["photos"]) == photos
    size = len(json.dumps(view))
    print(
        f"  one page of {photos}, in process: DynamoDB Query {statistics.median(query):.2f} s (moto), "
        f"our work {statistics.median(ours) * 1000:.0f} ms ({4 * photos} presigned URLs and the answer, "
        f"{size / 1e6:.2f} MB of JSON)"
    )


def storage(stack: LocalStack, api: httpx.Client) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_images import generate

    with tempfile.TemporaryDirectory() as directory:
        photo = dict((name, path) for name, path in generate(Path(directory), quick=True))["24 MP JPEG, orientation 6"]
        data = photo.read_bytes()
    gallery_id = new_gallery(api)["gallery_id"]
    media_id = upload(api, gallery_id, data, "24mp.jpg")
    wait_ready(api, gallery_id, 1, timeout=120)
    media = api.get(f"/media/{media_id}", headers=STAFF).json()
    s3 = client("s3", stack.aws_url)
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    originals = next(b for b in buckets if b.endswith("originalsbucket"))
    renditions = next(b for b in buckets if b.endswith("renditionsbucket"))
    kept = s3.head_object(Bucket=originals, Key=media["original"]["key"])["ContentLength"]
    sizes = {
        name: s3.head_object(Bucket=renditions, Key=r["key"])["ContentLength"]
        for name, r in media["renditions"].items()
    }
    total = kept + sum(sizes.values())
    print(f"Storage for one 24 MP JPEG ({media['original']['width']} x {media['original']['height']} shown):")
    print(f"  original kept: {kept / 1e6:.2f} MB (the upload, byte for byte)")
    for name, size in sizes.items():
        r = media["renditions"][name]
        print(f"  {name:<12} {r['width']} x {r['height']}: {size / 1e6:.2f} MB")
    print(f"  total: {total / 1e6:.2f} MB per photo ({sum(sizes.values()) / 1e6:.2f} MB of renditions)")


if __name__ == "__main__":
    sys.exit(main())
