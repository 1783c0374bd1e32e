"""A photographer's gallery on the running local stack, from both sides: staff open a gallery for
a client with an access code and upload three photos through presigned PUTs; the image function
makes their renditions and keeps the originals; the client gets the gallery-ready email, follows
its link with the code, lists the photos, downloads what the gallery allows and marks favourites,
which the photographer's staff then see. Expiry, a wrong code, deletion and an upload whose file
never came, as a client and a photographer would notice them."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from e2e_support import STACK, jpeg, merchant_token, plain, sent_emails, wait_for
from PIL import Image

from caisse_local.lambda_api import ROOT, sample_events
from caisse_local.template import load

STAFF = {"Authorization": f"Bearer {merchant_token('lumen')}"}
ORIGINALS_BUCKET = f"{STACK}-OriginalsBucket".lower()
RENDITIONS_BUCKET = f"{STACK}-RenditionsBucket".lower()


def new_gallery(api: httpx.Client, **changes) -> dict:
    body = {
        "title": "Smith wedding",
        "client": {"name": "Awa Ndiaye", "email": f"awa-{uuid.uuid4().hex[:8]}@example.test", "locale": "en"},
        "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "downloads": False,
        "access_code": True,
        **changes,
    }
    answer = api.post("/admin/galleries", headers=STAFF, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def upload(api: httpx.Client, gallery_id: str, data: bytes, filename: str, *, send: bool = True) -> dict:
    answer = api.post(
        "/uploads",
        headers=STAFF,
        json={
            "purpose": "gallery",
            "gallery_id": gallery_id,
            "filename": filename,
            "content_type": "image/jpeg",
            "size": len(data),
        },
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    if send:
        target = created["upload"]
        put = httpx.request(target["method"], target["url"], headers=target["headers"], content=data, timeout=15)
        assert put.status_code == 200, put.text
    return created


def staff_view(api: httpx.Client, gallery_id: str, **query) -> dict:
    answer = api.get(f"/admin/galleries/{gallery_id}", headers=STAFF, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def client_mail(stack, gallery_id: str, round_: int = 1) -> dict:
    found = wait_for(
        lambda: sent_emails(stack, notification=f"gallery:{gallery_id}:v{round_}:gallery_ready:customer"),
        timeout=90,
        interval=0.2,
        what="the client's gallery-ready email",
    )
    assert len(found) == 1, found
    return found[0]


def from_email(mail: dict) -> tuple[str, str, str | None]:
    """What the client has: the gallery id and signature of the email's link, and the code."""
    [link] = re.findall(r"https?://\S+/galleries/\S+", mail["text"])
    parts = urlsplit(link)
    code = re.search(r"(?:Access code|Code d'accès) ?: ([2-9A-Z]{4}-[2-9A-Z]{4})", plain(mail["text"]))
    return parts.path.rsplit("/", 1)[1], parse_qs(parts.query)["signature"][0], code[1] if code else None


def open_as_client(api: httpx.Client, gallery_id: str, signature: str, code: str | None, **query) -> httpx.Response:
    headers = {"X-Access-Code": code} if code else {}
    return api.get(f"/galleries/{gallery_id}", params={"signature": signature, **query}, headers=headers)


@pytest.fixture(scope="module")
def delivered(stack) -> dict:
    """Three photos uploaded to a new gallery with an access code, and the client's email."""
    with stack.client() as api:
        gallery = new_gallery(api)
        media = [
            upload(api, gallery["gallery_id"], jpeg(shade=60 * n), f"IMG_{n:04d}.jpg")["media_id"] for n in range(3)
        ]
        mail = client_mail(stack, gallery["gallery_id"])
        gallery_id, signature, code = from_email(mail)
    return {"gallery": gallery, "media": media, "mail": mail, "id": gallery_id, "signature": signature, "code": code}


def test_three_photos_uploaded_to_a_gallery_email_the_client_the_link_and_the_access_code(delivered, stack):
    gallery, mail = delivered["gallery"], delivered["mail"]
    assert mail["to"] == gallery["client"]["email"]
    assert mail["subject"] == "Your photos are ready - Lumen Photography"
    assert "3 photos are ready to view in Smith wedding" in mail["text"]
    assert delivered["id"] == gallery["gallery_id"]
    assert delivered["code"] == gallery["access_code"]  # the code staff were given is the one the client got
    assert gallery["access_code"] in mail["html"]
    # The photographer's email is its own message in the queue: it may land after the client's.
    notification = f"gallery:{gallery['gallery_id']}:v1:gallery_processed:merchant"
    [photographer] = wait_for(lambda: sent_emails(stack, notification=notification), what="the photographer's email")
    assert photographer["to"] == "bookings@lumen.example" and "3 photos are ready" in photographer["text"]


def test_the_client_lists_the_three_photos_from_the_emails_link(delivered, api):
    answer = open_as_client(api, delivered["id"], delivered["signature"], delivered["code"])
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert listed["title"] == "Smith wedding" and listed["count"] == 3
    assert sorted(p["media_id"] for p in listed["photos"]) == sorted(delivered["media"])
    for photo in listed["photos"]:
        for name in ("thumbnail", "preview", "watermarked"):
            rendition = photo["renditions"][name]
            image = httpx.get(rendition["url"], timeout=15)
            assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg", name
            assert Image.open(io.BytesIO(image.content)).size == (rendition["width"], rendition["height"])


def test_the_full_size_photo_is_only_reachable_while_downloads_are_on(delivered, api):
    def full_renditions() -> list[dict]:
        answer = open_as_client(api, delivered["id"], delivered["signature"], delivered["code"])
        assert answer.status_code == 200, answer.text
        return [p["renditions"]["full"] for p in answer.json()["photos"] if "full" in p["renditions"]]

    assert full_renditions() == []
    # Nor through the staff routes, without a staff token.
    assert api.get(f"/media/{delivered['media'][0]}").status_code == 401
    assert api.get(f"/admin/galleries/{delivered['id']}").status_code == 401
    try:
        assert api.patch(f"/admin/galleries/{delivered['id']}", headers=STAFF, json={"downloads": True}).is_success
        full = full_renditions()
        assert len(full) == 3
        image = httpx.get(full[0]["url"], timeout=15)
        assert image.status_code == 200
        assert Image.open(io.BytesIO(image.content)).size == (1800, 1200)  # the whole photo, unmarked
    finally:
        api.patch(f"/admin/galleries/{delivered['id']}", headers=STAFF, json={"downloads": False})
    assert full_renditions() == []


def test_a_wrong_access_code_answers_403_and_nothing_else(delivered, api):
    wrong = open_as_client(api, delivered["id"], delivered["signature"], "AAAA-AAAA")
    assert wrong.status_code == 403
    assert wrong.json() == {"error": "wrong_access_code", "message": "wrong access code"}
    missing = open_as_client(api, delivered["id"], delivered["signature"], None)
    assert missing.status_code == 401 and "Smith" not in missing.text
    forged = open_as_client(api, delivered["id"], "0" * 64, delivered["code"])
    assert forged.status_code == 404 and forged.json()["message"] == "no such gallery"


def test_an_expired_gallery_answers_410_until_staff_extend_it(delivered, api):
    gallery_id = delivered["id"]
    try:
        closed = api.patch(
            f"/admin/galleries/{gallery_id}", headers=STAFF, json={"expires_at": datetime.now(UTC).isoformat()}
        )
        assert closed.status_code == 200 and closed.json()["expired"] is True
        expired = open_as_client(api, gallery_id, delivered["signature"], delivered["code"])
        assert expired.status_code == 410 and expired.json()["error"] == "gallery_expired"
    finally:
        later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        assert api.patch(f"/admin/galleries/{gallery_id}", headers=STAFF, json={"expires_at": later}).is_success
    assert open_as_client(api, gallery_id, delivered["signature"], delivered["code"]).status_code == 200


def test_favourites_the_client_marks_are_what_the_photographers_staff_see(delivered, api):
    first, second, third = delivered["media"]

    def mark(media_id: str, favourite: bool = True) -> httpx.Response:
        return api.post(
            f"/galleries/{delivered['id']}/favourites",
            params={"signature": delivered["signature"]},
            headers={"X-Access-Code": delivered["code"]},
            json={"media_id": media_id, "favourite": favourite},
        )

    assert mark(first).json() == {"media_id": first, "favourite": True}
    assert mark(third).is_success and mark(third, False).json() == {"media_id": third, "favourite": False}
    view = staff_view(api, delivered["id"])
    assert view["counts"]["favourites"] == 1
    assert {p["media_id"]: p["favourite"] for p in view["photos"]} == {first: True, second: False, third: False}
    assert [p["media_id"] for p in staff_view(api, delivered["id"], favourites="true")["photos"]] == [first]
    listed = open_as_client(api, delivered["id"], delivered["signature"], delivered["code"]).json()["photos"]
    assert {p["media_id"]: p["favourite"] for p in listed}[first] is True
    other_staff = {"Authorization": f"Bearer {merchant_token('festival')}"}
    assert api.get(f"/admin/galleries/{delivered['id']}", headers=other_staff).status_code == 403


def test_originals_are_kept_after_processing_and_unreachable_without_credentials(delivered, api, stack):
    media = api.get(f"/media/{delivered['media'][0]}", headers=STAFF).json()
    key = media["original"]["key"]
    assert key.startswith(f"originals/lumen/{delivered['id']}/")
    s3 = stack.boto("s3")
    kept = s3.head_object(Bucket=ORIGINALS_BUCKET, Key=key)  # with credentials: it is there
    assert kept["ContentLength"] == media["original"]["bytes"]
    unsigned = httpx.get(f"{stack.aws}/{ORIGINALS_BUCKET}/{key}", timeout=10)
    assert unsigned.status_code == 403 and not unsigned.content  # a plain GET gets nothing
    rendition = media["renditions"]["full"]["key"]
    assert httpx.get(f"{stack.aws}/{RENDITIONS_BUCKET}/{rendition}", timeout=10).status_code == 403
    assert httpx.get(media["original"]["url"], timeout=10).status_code == 200  # staff's presigned GET works
    uploads = s3.list_objects_v2(Bucket=f"{STACK}-uploads-123456789012-us-east-1", Prefix="uploads/lumen/")
    assert not [o for o in uploads.get("Contents", []) if delivered["media"][0] in o["Key"]]  # inbox emptied


def test_an_upload_never_sent_is_swept_to_failed_and_the_gallery_is_ready_with_the_others(api, stack):
    gallery = new_gallery(api, client={"name": "Awa Ndiaye", "email": "awa-fr@example.test", "locale": "fr"})
    gallery_id = gallery["gallery_id"]
    sent = [upload(api, gallery_id, jpeg(900, 600, 40 * n), f"ok-{n}.jpg")["media_id"] for n in range(2)]
    never = upload(api, gallery_id, jpeg(900, 600), "never.jpg", send=False)["media_id"]

    def two_ready():
        view = staff_view(api, gallery_id)
        return view if view["counts"]["ready"] == 2 else None

    view = wait_for(two_ready, timeout=60, interval=0.2, what="the two photos sent to be ready")
    assert view["status"] == "processing" and view["counts"]["pending"] == 1  # waiting for the third

    # The third upload's link expired long ago, as if it had been created two hours back: the
    # record's creation time is all the sweep reads.
    hours_ago = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stack.table("MediaTable").update_item(
        Key={"pk": f"MEDIA#{never}"},
        UpdateExpression="SET created_at = :t",
        ExpressionAttributeValues={":t": hours_ago},
    )
    swept = httpx.post(
        f"{stack.api}/2015-03-31/functions/SweepUploadsFunction/invocations",
        content=sample_events(load(ROOT / "template.yaml"))["SweepUploadsFunction"].read_bytes(),
        timeout=30,
    )
    assert swept.status_code == 200 and never in swept.json()["failed"], swept.text

    view = staff_view(api, gallery_id)
    assert view["status"] == "ready"
    assert view["counts"] == {"pending": 0, "ready": 2, "failed": 1, "favourites": 0}
    [photo] = [p for p in view["photos"] if p["media_id"] == never]
    assert (photo["status"], photo["reason_code"]) == ("failed", "never_uploaded")
    mail = client_mail(stack, gallery_id)
    assert "2 photos sont prêtes" in plain(mail["text"]) and mail["to"] == "awa-fr@example.test"
    gallery_id_, signature, code = from_email(mail)
    listed = open_as_client(api, gallery_id_, signature, code).json()
    assert sorted(p["media_id"] for p in listed["photos"]) == sorted(sent)


def test_deleting_a_gallery_deletes_its_originals_renditions_and_the_clients_access(api, stack):
    gallery = new_gallery(api, access_code=False)
    created = upload(api, gallery["gallery_id"], jpeg(900, 600), "bye.jpg")
    mail = client_mail(stack, gallery["gallery_id"])
    gallery_id, signature, _ = from_email(mail)
    assert open_as_client(api, gallery_id, signature, None).status_code == 200
    media = api.get(f"/media/{created['media_id']}", headers=STAFF).json()
    keys = [media["original"]["key"], *(r["key"] for r in media["renditions"].values())]

    other_staff = {"Authorization": f"Bearer {merchant_token('festival')}"}
    assert api.delete(f"/admin/galleries/{gallery_id}", headers=other_staff).status_code == 403
    deleted = api.delete(f"/admin/galleries/{gallery_id}", headers=STAFF)
    assert deleted.status_code == 200 and deleted.json() == {
        "gallery_id": gallery_id,
        "deleted": True,
        "photos": 1,
        "files": 5,
    }
    s3 = stack.boto("s3")
    for bucket, key in zip([ORIGINALS_BUCKET] + [RENDITIONS_BUCKET] * 4, keys, strict=True):
        with pytest.raises(s3.exceptions.ClientError):
            s3.head_object(Bucket=bucket, Key=key)
    assert open_as_client(api, gallery_id, signature, None).status_code == 404
    assert api.get(f"/media/{created['media_id']}", headers=STAFF).status_code == 404
    assert gallery_id not in [g["gallery_id"] for g in api.get("/admin/galleries", headers=STAFF).json()["galleries"]]
