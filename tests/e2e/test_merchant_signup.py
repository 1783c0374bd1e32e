"""A business signs itself up: a person signs up in the staff user pool (the local stand-in speaks
Cognito's API), confirms the code emailed to them, signs in with no business, names it through
POST /signup/merchant, refreshes their token and is staff of the new merchant, and of nothing else."""

from __future__ import annotations

import re

import pytest
from e2e_support import aws_faults, sent_emails
from signup_support import (
    PASSWORD,
    bearer,
    business,
    cognito,
    emailed_code,
    new_email,
    new_slug,
    refreshed,
    sign_in,
    signed_up,
)

from caisse_local.cognito import CLIENT_ID


def test_a_person_signs_up_with_the_emailed_code_and_a_wrong_code_is_refused(stack):
    pool, email = cognito(stack), new_email()
    pool.sign_up(
        ClientId=CLIENT_ID, Username=email, Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": email}]
    )
    code = emailed_code(stack, email)
    mail = sent_emails(stack, to=email)[-1]
    assert mail["subject"] == "Your verification code" and code in mail["text"]

    with pytest.raises(pool.exceptions.UserNotConfirmedException):
        sign_in(stack, email)  # not before the code
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(pool.exceptions.CodeMismatchException):
        pool.confirm_sign_up(ClientId=CLIENT_ID, Username=email, ConfirmationCode=wrong)
    pool.resend_confirmation_code(ClientId=CLIENT_ID, Username=email)
    fresh = emailed_code(stack, email, count=2)
    with pytest.raises(pool.exceptions.CodeMismatchException):  # the first code no longer confirms
        pool.confirm_sign_up(ClientId=CLIENT_ID, Username=email, ConfirmationCode=code)
    pool.confirm_sign_up(ClientId=CLIENT_ID, Username=email, ConfirmationCode=fresh)

    tokens = sign_in(stack, email)
    with stack.client() as api:
        # Signed in, staff of no business: the admin routes refuse, the sign-up route is open.
        refused = api.get("/admin/orders", headers=bearer(tokens["IdToken"]))
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"


def test_a_signed_up_person_names_a_business_and_becomes_its_staff_of_it_alone(stack):
    email, slug = new_email(), new_slug()
    tokens = signed_up(stack, email)
    with stack.client() as api:
        created = api.post("/signup/merchant", json=business(slug), headers=bearer(tokens["IdToken"]))
        assert created.status_code == 200, created.text
        assert created.json()["merchant_id"] == slug and re.fullmatch(r"[A-Z0-9]{2,8}", created.json()["order_prefix"])

        # The same token still names no business; the refreshed one is staff of the new one.
        assert api.get(f"/admin/merchants/{slug}", headers=bearer(tokens["IdToken"])).status_code == 403
        staff = bearer(refreshed(stack, tokens))
        mine = api.get(f"/admin/merchants/{slug}", headers=staff)
        assert mine.status_code == 200, mine.text
        settings = mine.json()
        assert settings["name"] == "Bright Sparks Electrical" and settings["timezone"] == "Australia/Brisbane"
        assert settings["hours"]["slot_minutes"] == 30 and settings["stages"] == ["scheduled", "job_done"]

        # Scoped like the demo merchants' staff: another merchant's records answer 403, through
        # several admin routes, and lists show only its own.
        for path in (
            "/admin/merchants/fixit-plumbing",
            "/admin/orders?merchant=fixit-plumbing",
            "/admin/bookings?merchant=fixit-plumbing",
            "/admin/products?merchant=festival",
        ):
            answer = api.get(path, headers=staff)
            assert answer.status_code == 403, (path, answer.text)
        assert api.get("/admin/orders", headers=staff).json()["orders"] == []
        assert api.get("/admin/products", headers=staff).json()["products"] == []
        put = api.put(
            "/admin/merchants/fixit-plumbing/services/callout",
            headers=staff,
            json={
                "name": "Hijack",
                "duration_minutes": 60,
                "currency": "AUD",
                "full_price": 100,
                "deposit": {"percent": 25},
            },
        )
        assert put.status_code == 403, put.text

        # A second business's staff never see the first's.
        other_tokens = signed_up(stack, new_email())
        other_slug = new_slug("plumb")
        assert (
            api.post("/signup/merchant", json=business(other_slug), headers=bearer(other_tokens["IdToken"])).status_code
            == 200
        )
        other = bearer(refreshed(stack, other_tokens))
        assert api.get(f"/admin/merchants/{slug}", headers=other).status_code == 403
        assert api.get(f"/admin/orders?merchant={slug}", headers=other).status_code == 403
        assert api.get(f"/admin/merchants/{other_slug}", headers=other).status_code == 200


def test_a_taken_slug_is_refused_with_a_suggestion_and_a_second_business_is_refused(stack):
    tokens = signed_up(stack, new_email())
    with stack.client() as api:
        demo = api.post("/signup/merchant", json=business("fixit-plumbing"), headers=bearer(tokens["IdToken"]))
        assert demo.status_code == 409 and demo.json()["error"] == "slug_taken"
        assert demo.json()["suggestion"] == "fixit-plumbing-2"

        slug = new_slug()
        assert api.post("/signup/merchant", json=business(slug), headers=bearer(tokens["IdToken"])).status_code == 200
        again = api.post("/signup/merchant", json=business(new_slug()), headers=bearer(tokens["IdToken"]))
        assert again.status_code == 409 and again.json()["error"] == "already_owner"
        assert again.json()["merchant"] == slug
        staff_again = api.post("/signup/merchant", json=business(new_slug()), headers=bearer(refreshed(stack, tokens)))
        assert staff_again.status_code == 409 and staff_again.json()["error"] == "already_staff"

        # Someone else asking for the slug just taken gets it refused too.
        someone = signed_up(stack, new_email())
        taken = api.post("/signup/merchant", json=business(slug), headers=bearer(someone["IdToken"]))
        assert taken.status_code == 409 and taken.json()["suggestion"] == f"{slug}-2"


def test_a_kind_the_platform_does_not_offer_or_bad_details_write_nothing(stack):
    tokens = signed_up(stack, new_email())
    with stack.client() as api:
        slug = new_slug("florist")
        florist = api.post("/signup/merchant", json=business(slug, kind="florist"), headers=bearer(tokens["IdToken"]))
        assert florist.status_code == 400 and florist.json()["error"] == "kind_not_offered"
        assert florist.json()["offered"] == ["photography", "trades"]
        for bad in ({"timezone": "Mars/Olympus"}, {"languages": ["de"]}, {"reply_to": "not an address"}, {"slug": "A"}):
            answer = api.post("/signup/merchant", json={**business(slug), **bad}, headers=bearer(tokens["IdToken"]))
            assert answer.status_code == 422 and answer.json()["error"] == "invalid_request", (bad, answer.text)
        assert "Item" not in stack.table("CatalogTable").get_item(Key={"pk": f"MERCHANT#{slug}"})
        # Nothing was reserved for this person: they still sign a business up afterwards.
        assert api.post("/signup/merchant", json=business(slug), headers=bearer(tokens["IdToken"])).status_code == 200


def test_signing_up_needs_a_token_of_the_user_pool(stack):
    with stack.client() as api:
        assert api.post("/signup/merchant", json=business(new_slug())).status_code == 401


def test_a_link_that_failed_is_answered_503_and_the_same_request_again_finishes_it(stack):
    tokens = signed_up(stack, new_email())
    slug = new_slug()
    with stack.client() as api:
        aws_faults(
            stack,
            service="cognito-idp",
            operation="AdminAddUserToGroup",
            status=503,
            code="ServiceUnavailable",
            count=10,
        )
        try:
            failed = api.post("/signup/merchant", json=business(slug), headers=bearer(tokens["IdToken"]))
        finally:
            aws_faults(stack)
        assert failed.status_code == 503 and failed.json()["error"] == "provider_unavailable", failed.text
        assert "send the same request again" in failed.json()["message"]

        again = api.post("/signup/merchant", json=business(slug), headers=bearer(tokens["IdToken"]))
        assert again.status_code == 200, again.text
        assert again.json()["merchant_id"] == slug
        assert api.get(f"/admin/merchants/{slug}", headers=bearer(refreshed(stack, tokens))).status_code == 200
