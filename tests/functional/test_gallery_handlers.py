"""The gallery functions, loaded from template.yaml, on API Gateway's event shapes against moto
in-process: staff create, read, change, list and delete galleries; the client opens one with the
link (and access code) staff got back, sees its ready photos, marks favourites; the sweep fails
uploads that never came."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from media_support import (
    MEDIA_TABLE,
    ORIGINALS,
    RENDITIONS,
    UPLOADS,
    api_event,
    items,
    new_gallery,
    objects,
    photo,
    post_upload,
    processed,
    uploaded,
)

MISSING = "00000000-0000-4000-8000-000000000000"


def answer(result: dict) -> tuple[int, dict]:
    return result["statusCode"], json.loads(result["body"])


def staff_get(invoke, gallery_id: str, *, staff_of: str | None = "lumen", **query) -> tuple[int, dict]:
    event = api_event(
        "admin_get_gallery",
        f"/admin/galleries/{gallery_id}",
        path_parameters={"gallery_id": gallery_id},
        query={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in query.items()},
        staff_of=staff_of,
    )
    return answer(invoke("AdminGetGalleryFunction", event))


def patch(invoke, gallery_id: str, change: dict, *, staff_of: str | None = "lumen") -> tuple[int, dict]:
    event = api_event(
        "update_gallery",
        f"/admin/galleries/{gallery_id}",
        path_parameters={"gallery_id": gallery_id},
        body=change,
        staff_of=staff_of,
    )
    return answer(invoke("UpdateGalleryFunction", event))


def signature(gallery: dict) -> str:
    return parse_qs(urlparse(gallery["link"]).query)["signature"][0]


def client_get(invoke, gallery: dict, *, code: str | None = "", sig: str | None = "", **query) -> tuple[int, dict]:
    """The client's browser: the link's signature, the code typed in the X-Access-Code header
    (by default what the email says)."""
    sig = signature(gallery) if sig == "" else sig
    code = gallery["access_code"] if code == "" else code
    event = api_event(
        "get_gallery",
        f"/galleries/{gallery['gallery_id']}",
        path_parameters={"gallery_id": gallery["gallery_id"]},
        query={**({"signature": sig} if sig else {}), **{k: str(v) for k, v in query.items()}},
        headers={"X-Access-Code": code} if code else None,
    )
    return answer(invoke("GetGalleryFunction", event))


def favourite(invoke, gallery: dict, media_id: str, mark: bool = True, *, code: str | None = None):
    event = api_event(
        "mark_favourite",
        f"/galleries/{gallery['gallery_id']}/favourites",
        path_parameters={"gallery_id": gallery["gallery_id"]},
        query={"signature": signature(gallery)},
        body={"media_id": media_id, "favourite": mark},
        headers={"X-Access-Code": code} if code else None,
    )
    return answer(invoke("MarkFavouriteFunction", event))


def in_future(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def ready_photos(invoke, gallery: dict, count: int) -> list[str]:
    ids = []
    for index in range(count):
        created = uploaded(invoke, gallery["gallery_id"], photo(640 + index, 480), filename=f"p{index}.jpg")
        assert processed(invoke, created)["result"] == "ready"
        ids.append(created["media_id"])
    return ids


# --------------------------------------------------------------------------- staff


def test_staff_create_a_gallery_for_a_client_and_get_its_link_and_code(aws, invoke):
    created = new_gallery(invoke, title="Dupont wedding", access_code=True, downloads=False)
    assert created["merchant"] == "lumen" and created["status"] == "empty"
    assert created["client"] == {"name": "Ada Lovelace", "email": "ada@example.test", "locale": "en"}
    assert created["access_code_required"] is True and len(created["access_code"]) == 9
    assert created["link"].startswith(f"http://127.0.0.1:9/shop/galleries/{created['gallery_id']}?signature=")
    [item] = items(f"GALLERY#{created['gallery_id']}")
    stored = json.dumps(item)
    assert created["access_code"] not in stored and created["access_code"].replace("-", "") not in stored
    assert item["access_code_salt"]["S"]  # what the code is derived from, with the key in SSM


def test_a_french_client_and_an_order_of_the_merchant(aws, invoke):
    order_id = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    boto3.client("dynamodb").put_item(
        TableName="caisse-test-OrdersTable",
        Item={
            "pk": {"S": f"ORDER#{order_id}"},
            "sk": {"S": "ORDER"},
            "type": {"S": "order"},
            "merchant": {"S": "lumen"},
        },
    )
    created = new_gallery(
        invoke, order_id=order_id, client={"name": "Awa", "email": "awa@example.test", "locale": "fr"}
    )
    assert created["order_id"] == order_id and created["client"]["locale"] == "fr"


@pytest.mark.parametrize(
    ("changes", "staff_of", "status", "error"),
    [
        ({"expires_at": "2020-01-01T00:00:00Z"}, "lumen", 422, "invalid_request"),
        ({"expires_at": in_future(days=4000)}, "lumen", 422, "invalid_request"),
        ({"expires_at": "2030-01-01T00:00:00"}, "lumen", 422, "invalid_request"),
        ({"order_id": MISSING}, "lumen", 422, "unknown_order"),
        ({"merchant": "festival"}, "lumen", 403, "forbidden"),
        ({}, None, 422, "invalid_request"),  # platform staff say for which merchant
        ({"merchant": "nobody"}, None, 422, "unknown_merchant"),
        ({"access_code": "1234"}, "lumen", 422, "invalid_request"),
    ],
)
def test_bad_gallery_requests_are_refused_and_nothing_is_written(aws, invoke, changes, staff_of, status, error):
    body = {**json.loads(api_event("create_gallery", "/admin/galleries")["body"]), **changes}
    event = api_event("create_gallery", "/admin/galleries", body=body, staff_of=staff_of)
    code, refused = answer(invoke("CreateGalleryFunction", event))
    assert (code, refused["error"]) == (status, error), refused
    assert refused["message"] and items() == []


def test_staff_list_their_galleries_newest_first_a_page_at_a_time(aws, invoke):
    made = [new_gallery(invoke, title=f"Gallery {n}")["gallery_id"] for n in range(3)]
    new_gallery(invoke, staff_of=None, merchant="festival")

    def page(**query):
        event = api_event("list_galleries", "/admin/galleries", query={k: str(v) for k, v in query.items()})
        return answer(invoke("ListGalleriesFunction", event))

    status, first = page(limit=2)
    assert status == 200 and first["merchant"] == "lumen"
    status, second = page(limit=2, cursor=first["next_cursor"])
    listed = [g["gallery_id"] for g in first["galleries"] + second["galleries"]]
    assert sorted(listed) == sorted(made) and len(set(listed)) == 3  # festival's is not among them
    assert page(cursor="bm90LWEtY3Vyc29y")[0] == 422
    assert page(merchant="festival")[0] == 403


def test_staff_change_expiry_downloads_and_code_and_other_merchants_cannot(aws, invoke):
    gallery = new_gallery(invoke, access_code=True)
    status, changed = patch(invoke, gallery["gallery_id"], {"downloads": True, "access_code": "new"})
    assert status == 200 and changed["downloads"] is True
    assert changed["access_code"] != gallery["access_code"]
    status, opened = patch(invoke, gallery["gallery_id"], {"access_code": "none"})
    assert opened["access_code"] is None and opened["access_code_required"] is False
    assert patch(invoke, gallery["gallery_id"], {})[0] == 422
    assert patch(invoke, gallery["gallery_id"], {"downloads": False}, staff_of="festival")[0] == 403
    assert patch(invoke, MISSING, {"downloads": False})[0] == 404
    assert staff_get(invoke, gallery["gallery_id"])[1]["downloads"] is True  # the refused changes changed nothing


# --------------------------------------------------------------------------- the client


def test_the_client_opens_the_gallery_with_the_link_and_the_code_only(aws, invoke):
    gallery = new_gallery(invoke, access_code=True)
    ready_photos(invoke, gallery, 2)
    code = gallery["access_code"]
    assert client_get(invoke, gallery, sig=None, code=code)[0] == 404
    assert client_get(invoke, gallery, sig="0" * 64, code=code)[0] == 404
    status, body = client_get(invoke, gallery, code=None)
    assert (status, body["error"]) == (401, "access_code_required")
    status, body = client_get(invoke, gallery, code="WRONG-CODE")
    assert status == 403 and body == {"error": "wrong_access_code", "message": "wrong access code"}
    status, body = client_get(invoke, gallery, code=code.lower().replace("-", " "))
    assert status == 200 and len(body["photos"]) == 2


def test_the_client_sees_ready_photos_and_the_full_size_only_when_downloads_are_on(aws, invoke):
    gallery = new_gallery(invoke)
    ready_photos(invoke, gallery, 2)
    failed = uploaded(invoke, gallery["gallery_id"], b"not a photo" * 50, filename="notes.jpg")
    assert processed(invoke, failed)["result"] == "failed"
    assert post_upload(invoke, gallery["gallery_id"], size=1000)["statusCode"] == 201  # never sent

    status, body = client_get(invoke, gallery)
    assert status == 200 and body["count"] == 2 and body["downloads"] is False
    assert [set(p["renditions"]) for p in body["photos"]] == [{"thumbnail", "preview", "watermarked"}] * 2
    url = body["photos"][0]["renditions"]["preview"]["url"]
    assert parse_qs(urlparse(url).query)["X-Amz-Expires"] == ["900"]
    assert all(RENDITIONS in p["renditions"]["watermarked"]["url"] for p in body["photos"])

    patch(invoke, gallery["gallery_id"], {"downloads": True})
    status, body = client_get(invoke, gallery)
    assert [set(p["renditions"]) for p in body["photos"]] == [{"thumbnail", "preview", "watermarked", "full"}] * 2
    assert ORIGINALS not in json.dumps(body)  # the originals are never handed out


def test_an_expired_gallery_answers_410_and_opens_again_when_staff_extend_it(aws, invoke):
    gallery = new_gallery(invoke)
    ready_photos(invoke, gallery, 1)
    patch(invoke, gallery["gallery_id"], {"expires_at": datetime.now(UTC).isoformat()})
    status, body = client_get(invoke, gallery)
    assert (status, body["error"]) == (410, "gallery_expired")
    assert "Lumen Photography" in body["message"]
    assert staff_get(invoke, gallery["gallery_id"])[1]["expired"] is True
    patch(invoke, gallery["gallery_id"], {"expires_at": in_future(days=30)})
    assert client_get(invoke, gallery)[0] == 200


def test_a_wrong_code_on_an_expired_gallery_is_still_only_a_wrong_code(aws, invoke):
    gallery = new_gallery(invoke, access_code=True)
    patch(invoke, gallery["gallery_id"], {"expires_at": datetime.now(UTC).isoformat()})
    assert client_get(invoke, gallery, code="AAAA-AAAA")[0] == 403
    assert client_get(invoke, gallery, code=gallery["access_code"])[0] == 410


def test_the_client_pages_through_a_gallery(aws, invoke):
    gallery = new_gallery(invoke)
    made = ready_photos(invoke, gallery, 3)
    status, first = client_get(invoke, gallery, limit=2)
    status, second = client_get(invoke, gallery, limit=2, cursor=first["next_cursor"])
    assert sorted(p["media_id"] for p in first["photos"] + second["photos"]) == sorted(made)
    other = new_gallery(invoke)
    assert client_get(invoke, other, cursor=first["next_cursor"])[0] == 422  # another gallery's place


def test_favourites_marked_by_the_client_are_what_staff_see(aws, invoke):
    gallery = new_gallery(invoke, access_code=True)
    first, second, third = ready_photos(invoke, gallery, 3)
    code = gallery["access_code"]
    assert favourite(invoke, gallery, first, code=code) == (200, {"media_id": first, "favourite": True})
    assert favourite(invoke, gallery, first, code=code)[0] == 200  # again: no change, no double count
    assert favourite(invoke, gallery, third, code=code)[0] == 200
    assert favourite(invoke, gallery, third, False, code=code) == (200, {"media_id": third, "favourite": False})
    assert favourite(invoke, gallery, second, code="AAAA-AAAA")[0] == 403
    assert favourite(invoke, gallery, MISSING, code=code)[0] == 404
    [elsewhere] = ready_photos(invoke, new_gallery(invoke), 1)
    assert favourite(invoke, gallery, elsewhere, code=code)[0] == 404

    status, view = staff_get(invoke, gallery["gallery_id"])
    assert status == 200 and view["counts"]["favourites"] == 1
    assert {p["media_id"]: p["favourite"] for p in view["photos"]} == {first: True, second: False, third: False}
    assert all(p["status"] == "ready" and p["thumbnail"]["url"] for p in view["photos"])
    status, only = staff_get(invoke, gallery["gallery_id"], favourites=True)
    assert [p["media_id"] for p in only["photos"]] == [first]
    seen = client_get(invoke, gallery, code=code)[1]["photos"]
    assert {p["media_id"]: p["favourite"] for p in seen} == {first: True, second: False, third: False}
    assert staff_get(invoke, gallery["gallery_id"], staff_of="festival")[0] == 403


# --------------------------------------------------------------------------- deleting, sweeping


def test_deleting_a_gallery_deletes_its_originals_renditions_uploads_and_records(aws, invoke):
    gallery = new_gallery(invoke)
    keep = new_gallery(invoke)
    ready_photos(invoke, keep, 1)
    ready_photos(invoke, gallery, 2)
    waiting = uploaded(invoke, gallery["gallery_id"], photo(), filename="late.jpg")  # its file is there, not processed
    assert len(objects(ORIGINALS)) == 3 and len(objects(RENDITIONS)) == 12

    event = api_event(
        "delete_gallery",
        f"/admin/galleries/{gallery['gallery_id']}",
        path_parameters={"gallery_id": gallery["gallery_id"]},
    )
    assert answer(invoke("DeleteGalleryFunction", {**event}))[0] == 200
    assert all(keep["gallery_id"] in key for key in objects(ORIGINALS) + objects(RENDITIONS))
    assert len(objects(ORIGINALS)) == 1 and len(objects(RENDITIONS)) == 4 and objects(UPLOADS) == []
    assert [i["pk"]["S"] for i in items() if gallery["gallery_id"] in json.dumps(i)] == []
    assert client_get(invoke, gallery)[0] == 404
    assert staff_get(invoke, gallery["gallery_id"])[0] == 404
    assert answer(invoke("DeleteGalleryFunction", event))[0] == 404
    # S3's notification for the upload arrives after the deletion: nothing comes back.
    assert processed(invoke, waiting)["result"] == "ignored"
    assert len(objects(ORIGINALS)) == 1 and len(objects(RENDITIONS)) == 4


def test_a_photo_processed_while_its_gallery_is_deleted_leaves_nothing_behind(aws, invoke, monkeypatch):
    from caisse.media import processing

    gallery = new_gallery(invoke)
    created = uploaded(invoke, gallery["gallery_id"], photo())
    real_finish = processing.finish

    def deleted_meanwhile(media, *args, **kwargs):
        boto3.client("dynamodb").update_item(
            TableName=MEDIA_TABLE,
            Key={"pk": {"S": f"GALLERY#{gallery['gallery_id']}"}},
            UpdateExpression="SET #s = :d",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":d": {"S": "deleting"}},
        )
        return real_finish(media, *args, **kwargs)

    monkeypatch.setattr(processing, "finish", deleted_meanwhile)
    result = processed(invoke, created)
    assert (result["result"], result["reason"]) == ("ignored", "gallery_deleted")
    assert objects(RENDITIONS) == [] and objects(ORIGINALS) == [] and objects(UPLOADS) == []
    assert items("MEDIA#") == []


def test_uploads_that_never_came_are_failed_and_their_gallery_settles(aws, invoke):
    from caisse.media.sweep import sweep_uploads

    gallery = new_gallery(invoke)
    ready_photos(invoke, gallery, 2)
    never = json.loads(post_upload(invoke, gallery["gallery_id"], size=1000)["body"])
    status, view = staff_get(invoke, gallery["gallery_id"])
    assert view["status"] == "processing" and view["counts"]["pending"] == 1

    created = datetime.now(UTC)
    assert sweep_uploads(now=created + timedelta(minutes=70)).failed == []  # its URL died only 55 minutes ago
    report = sweep_uploads(now=created + timedelta(minutes=76))
    assert report.failed == [never["media_id"]]
    status, view = staff_get(invoke, gallery["gallery_id"])
    assert view["status"] == "ready" and view["counts"] == {"pending": 0, "ready": 2, "failed": 1, "favourites": 0}
    [swept] = [p for p in view["photos"] if p["media_id"] == never["media_id"]]
    assert (swept["status"], swept["reason_code"]) == ("failed", "never_uploaded")
    assert sweep_uploads(now=created + timedelta(hours=3)).failed == []  # done once


def test_the_sweep_function_answers_what_it_did(aws, invoke):
    from conftest import sample

    assert invoke("SweepUploadsFunction", sample("sweep_uploads")) == {"failed": [], "skipped": [], "discarded": []}


def test_originals_are_private_cheaper_after_a_month_and_no_bucket_the_image_function_writes_can_trigger_it():
    from pathlib import Path

    from caisse_local import template as templates

    template = templates.load(Path(__file__).resolve().parents[2] / "template.yaml")
    originals = template.resources["OriginalsBucket"]["Properties"]
    assert set(originals["PublicAccessBlockConfiguration"].values()) == {True}
    assert "CorsConfiguration" not in originals and "NotificationConfiguration" not in originals
    [rule] = [r for r in originals["LifecycleConfiguration"]["Rules"] if r.get("Transitions")]
    assert rule["Prefix"] == "originals/" and rule["Status"] == "Enabled"
    assert rule["Transitions"] == [{"StorageClass": "GLACIER_IR", "TransitionInDays": 30}]
    triggers = [
        (name, event["Properties"])
        for name, function in template.resources_of_type("AWS::Serverless::Function").items()
        for event in (function["Properties"].get("Events") or {}).values()
        if event["Type"] == "S3"
    ]
    assert [(name, props["Bucket"]) for name, props in triggers] == [("ProcessImageFunction", {"Ref": "UploadsBucket"})]
    assert triggers[0][1]["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]
    assert "NotificationConfiguration" not in template.resources["RenditionsBucket"]["Properties"]
