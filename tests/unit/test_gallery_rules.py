"""Galleries' rules that need no AWS: the signed link and the access code, which emails a gallery
becoming ready calls for (and to whom, in which language), and the requests staff may send."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from caisse.media.models import Gallery
from caisse.media.schemas import GalleryIn, GalleryUpdate, UploadIn
from caisse.notifications import changes, dispatch
from caisse.notifications.kinds import Kind, Recipient
from caisse.orders import links, tokens

KEY = "unit-test-token-key"
GALLERY_ID = "3b9d6c1e-5f2a-4c8b-9e0d-7a1f2b3c4d5e"


def signature_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["signature"][0]


def test_a_gallery_link_opens_its_gallery_only():
    url = links.gallery_link(GALLERY_ID, KEY)
    assert urlsplit(url).path.endswith(f"/galleries/{GALLERY_ID}")
    signature = signature_of(url)
    assert links.gallery_link_valid(GALLERY_ID, signature, KEY)
    assert not links.gallery_link_valid("3b9d6c1e-5f2a-4c8b-9e0d-7a1f2b3c4d5f", signature, KEY)
    assert not links.gallery_link_valid(GALLERY_ID, signature, "another-key")
    assert not links.gallery_link_valid(GALLERY_ID, signature[:-1] + "0", KEY)


def test_signatures_made_for_one_purpose_never_open_another():
    # The same key signs order tokens, download links, gallery links and access codes.
    download = links.signature("download", GALLERY_ID, KEY)
    assert not links.gallery_link_valid(GALLERY_ID, download, KEY)
    assert not links.gallery_link_valid(GALLERY_ID, tokens.issue(GALLERY_ID, KEY), KEY)
    assert links.signature("gallery", GALLERY_ID, KEY) != links.signature("gallery-code", GALLERY_ID, KEY)


def test_an_access_code_is_eight_unambiguous_signs_and_typing_it_loosely_works():
    code = links.gallery_access_code(GALLERY_ID, "salt-1", KEY)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code)
    assert links.access_code_matches(GALLERY_ID, "salt-1", code, KEY)
    assert links.access_code_matches(GALLERY_ID, "salt-1", f"  {code.lower().replace('-', ' ')} ", KEY)
    assert not links.access_code_matches(GALLERY_ID, "salt-1", code[:-1], KEY)
    assert not links.access_code_matches(GALLERY_ID, "salt-1", "", KEY)
    # A new salt (staff asked for a new code) or another gallery gives another code.
    assert links.gallery_access_code(GALLERY_ID, "salt-2", KEY) != code
    assert not links.access_code_matches(GALLERY_ID, "salt-2", code, KEY)
    assert links.gallery_access_code("3b9d6c1e-5f2a-4c8b-9e0d-7a1f2b3c4d5f", "salt-1", KEY) != code


def gallery(status: str = "ready", *, ready_round: int = 1, salt: str | None = "s4lt", locale: str = "fr") -> Gallery:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return Gallery(
        Gallery.key(GALLERY_ID),
        gallery_id=GALLERY_ID,
        merchant="lumen",
        merchant_name="Lumen Photography",
        parent=Gallery.listed_under("lumen"),
        title="Mariage Dupont",
        client_name="Awa Ndiaye",
        client_email="awa@example.test",
        client_locale=locale,
        expires_at=datetime(2027, 1, 31, 23, 0, tzinfo=UTC),
        downloads=False,
        access_code_salt=salt,
        status=status,
        pending=0,
        ready_count=12,
        failed_count=1,
        ready_round=ready_round,
        created_by="staff:1",
        created_at="2026-12-01T00:00:00Z",
        updated_at=now,
    )


MERCHANT = SimpleNamespace(staff_email="bookings@lumen.example", reply_to="hello@lumen.example", default_locale="en")


def test_a_ready_gallery_emails_its_client_in_their_language_and_the_photographer():
    client, photographer = changes.for_gallery_change("processing", gallery(), MERCHANT)
    assert (client.kind, client.recipient, client.to, client.locale) == (
        Kind.GALLERY_READY,
        Recipient.CUSTOMER,
        "awa@example.test",
        "fr",
    )
    assert (photographer.kind, photographer.to, photographer.locale) == (
        Kind.GALLERY_PROCESSED,
        "bookings@lumen.example",
        "en",
    )
    assert client.context["gallery"]["count"] == 12 and client.context["gallery"]["failed"] == 1
    assert client.context["gallery"]["expires_on"] == "2027-01-31"
    assert "access_code" not in client.context["gallery"]  # only the salt travels; the code is made at sending
    assert client.id == f"gallery:{GALLERY_ID}:v1:gallery_ready:customer"


def test_each_ready_round_is_emailed_once():
    first = changes.for_gallery_change("processing", gallery(ready_round=1), MERCHANT)
    again = changes.for_gallery_change("processing", gallery(ready_round=1), MERCHANT)  # a redelivered record
    second = changes.for_gallery_change("processing", gallery(ready_round=2), MERCHANT)  # photos added later
    assert [n.id for n in first] == [n.id for n in again]
    assert {n.id for n in first}.isdisjoint(n.id for n in second)
    assert changes.for_gallery_change("ready", gallery(), MERCHANT) == []  # already ready: no news
    assert changes.for_gallery_change("ready", gallery("processing"), MERCHANT) == []
    no_staff_address = SimpleNamespace(staff_email=None, reply_to=None, default_locale="en")
    assert [n.kind for n in changes.for_gallery_change("processing", gallery(), no_staff_address)] == [
        Kind.GALLERY_READY
    ]


def test_the_email_function_adds_the_link_and_derives_the_code():
    client, photographer = changes.for_gallery_change("processing", gallery(), MERCHANT)
    for notification in (client, photographer):
        context = dispatch._with_links(notification, KEY)
        assert links.gallery_link_valid(GALLERY_ID, signature_of(context["links"]["gallery"]), KEY)
        assert context["gallery"]["access_code"] == links.gallery_access_code(GALLERY_ID, "s4lt", KEY)
        assert "code_salt" not in context["gallery"]
    [open_gallery, _] = changes.for_gallery_change("processing", gallery(salt=None), MERCHANT)
    assert dispatch._with_links(open_gallery, KEY)["gallery"]["access_code"] is None


def valid_gallery(**changes_) -> dict:
    body = {
        "title": "Dupont wedding",
        "client": {"name": "Awa", "email": "awa@example.test"},
        "expires_at": "2027-01-31T23:00:00+01:00",
    }
    return {**body, **changes_}


@pytest.mark.parametrize(
    "body",
    [
        valid_gallery(expires_at="2027-01-31T23:00:00"),  # no time zone: which evening?
        valid_gallery(client={"name": "Awa", "email": "not-an-address"}),
        valid_gallery(client={"name": "Awa", "email": "awa@example.test", "locale": "de"}),
        valid_gallery(order_id="SC-2026-0001"),
        valid_gallery(access_code="1234"),  # codes are generated, never chosen
        valid_gallery(title=""),
        valid_gallery(merchant="Lumen!"),
        {**valid_gallery(), "downloads": "yes please"},
    ],
)
def test_gallery_requests_that_cannot_be_right_are_refused(body):
    with pytest.raises(ValidationError):
        GalleryIn.model_validate(body)


def test_a_change_names_something_to_change_and_uploads_name_a_gallery():
    assert GalleryIn.model_validate(valid_gallery()).downloads is None  # left out: the merchant's default
    with pytest.raises(ValidationError, match="give expires_at, downloads or access_code"):
        GalleryUpdate.model_validate({})
    with pytest.raises(ValidationError):
        GalleryUpdate.model_validate({"access_code": "1234"})
    assert GalleryUpdate.model_validate({"access_code": "none"}).access_code == "none"
    upload = {"purpose": "gallery", "filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    with pytest.raises(ValidationError):
        UploadIn.model_validate({**upload, "gallery_id": "smith-wedding"})
    assert UploadIn.model_validate({**upload, "gallery_id": GALLERY_ID}).gallery_id == GALLERY_ID
