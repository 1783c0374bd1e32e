"""Every function of template.yaml, invoked with its sample event from events/ through the local
stack's Lambda Invoke API (what `sam local invoke -e events/<module>.json` does where Docker
exists), and what each answers. The samples name the local stack's resources and are signed with
its obviously fake keys where a signature can be reproduced; a provider's signature over a stored
sample cannot be, and is refused as a real replay would be."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import boto3
import pytest
from e2e_support import STACK, sent_emails, wait_for

from caisse_local import template
from caisse_local.lambda_api import ROOT, sample_events
from caisse_local.stack import DEMO_GALLERY_ID

SAMPLES = sample_events(template.load(ROOT / "template.yaml"))
SAMPLE_ORDER = "34647689-f278-56f9-97de-262bc40e0939"  # the order create_checkout.json's Idempotency-Key names


def lambda_client(stack):
    """A Lambda client for the stack's Invoke API (the local API port), as `aws lambda invoke` uses."""
    return boto3.client(
        "lambda",
        endpoint_url=stack.api,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@pytest.fixture(scope="module")
def invoke(stack):
    client = lambda_client(stack)

    def call(function: str) -> dict:
        payload = SAMPLES[function].read_bytes()
        answer = client.invoke(FunctionName=function, Payload=payload)
        result = json.loads(answer["Payload"].read())
        assert "FunctionError" not in answer, result
        return result

    return call


def body(result: dict) -> dict:
    return json.loads(result["body"])


def test_every_function_has_a_sample_event_of_its_own():
    assert len(SAMPLES) >= 59
    assert [function for function, path in SAMPLES.items() if not path.is_file()] == []
    assert len(set(SAMPLES.values())) == len(SAMPLES)


def test_the_unknown_function_is_not_found(stack):
    client = lambda_client(stack)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="NoSuchFunction", Payload=b"{}")


def test_api_samples_answer_as_the_api_does(invoke):
    assert body(invoke("HealthFunction"))["status"] == "ok"
    skus = {p["sku"] for p in body(invoke("ListCatalogFunction"))["products"]}
    assert {"FEST-DAY-PASS", "SONG-STANDARD", "OL-CONCERT-VIP"} <= skus

    created = invoke("CreateCheckoutFunction")
    assert created["statusCode"] == 201, created
    order = body(created)
    assert order["order_id"] == SAMPLE_ORDER and order["total"] == {"amount": 9000, "currency": "USD"}
    assert order["next_action"]["type"] == "redirect"

    back = invoke("ProviderReturnFunction")  # the customer back from the provider's page
    assert back["statusCode"] == 303
    assert back["multiValueHeaders"]["Location"][0].endswith(f"/order/{SAMPLE_ORDER}?result=success")  # hosted page
    page = invoke("OrderPageFunction")  # the hosted page's HTML shell, whatever the order
    assert page["statusCode"] == 200 and '<main id="app"' in page["body"]
    assert "script-src 'self'" in page["headers"]["Content-Security-Policy"]
    console = invoke("ConsoleFunction")  # the staff console's main module
    assert console["statusCode"] == 200 and console["headers"]["Content-Type"].startswith("text/javascript")
    assert "signInPage" in console["body"]
    seen = body(invoke("GetOrderFunction"))  # the sample carries this order's token under the local key
    assert (seen["order_id"], seen["status"]) == (SAMPLE_ORDER, "pending_payment")
    assert seen["ticket_returns"] == []  # nothing paid, no event changed: nothing to give back
    given_back = invoke("GiveBackTicketsFunction")
    assert given_back["statusCode"] == 409 and body(given_back)["error"] == "nothing_to_give_back"
    staff_view = body(invoke("AdminGetOrderFunction"))
    assert staff_view["customer"]["email"] == "ada@example.test"
    assert staff_view["refund_terms"]["refundable"] == {"amount": 0, "currency": "USD"}  # nothing paid yet

    attached = invoke("AdminAttachDeliverableFunction")
    assert attached["statusCode"] == 201 and body(attached)["upload"]["method"] == "PUT"
    download = invoke("DownloadDeliverableFunction")
    location = download["multiValueHeaders"]["Location"][0]
    assert download["statusCode"] == 302 and "festival-programme.pdf" in urlsplit(location).path

    refused = invoke("AdminRefundOrderFunction")  # nothing was paid yet
    assert refused["statusCode"] == 409 and body(refused)["error"] == "conflict"
    assert invoke("AdminConfirmRefundFunction")["statusCode"] == 404
    door = invoke("AdminCheckInTicketFunction")  # a code no ticket has: refused, nothing written
    assert door["statusCode"] == 404 and body(door)["error"] == "unknown_ticket"
    attendees = invoke("AdminEventAttendeesFunction")  # the festival's list, for the door
    assert attendees["statusCode"] == 200 and attendees["body"].startswith("code,state,holder,")
    cancelled = invoke("AdminUpdateOrderStatusFunction")
    assert cancelled["statusCode"] == 200 and body(cancelled)["status"] == "cancelled"

    assert body(invoke("GetAvailabilityFunction"))["slots"]
    connect = body(invoke("ConnectMerchantFunction"))
    assert connect["merchant"] == "sparky-electrical" and connect["onboarding_url"]
    dashboard = invoke("StripeLoginLinkFunction")  # Sparky's standard account has Stripe's own dashboard
    assert dashboard["statusCode"] == 409 and body(dashboard)["error"] == "not_express"
    service = body(invoke("PutServiceFunction"))
    assert service["service_id"] == "switchboard-inspection" and service["deposit"] == {"percent": 25}
    hours = body(invoke("PutBookingHoursFunction"))
    assert hours["weekly"]["mon"] == [["07:00", "15:00"]] and hours["slot_minutes"] == 60
    # Plans (caisse.payments.plans): the demo tradie comes from the catalog file, not a sign-up: no plan.
    plans = body(invoke("ListPlansFunction"))["plans"]
    assert {plan["id"]: plan["fee_percent"] for plan in plans} == {"starter": "3 %", "pro": "1.5 %"}
    refused = invoke("SubscribeMerchantFunction")
    assert refused["statusCode"] == 409 and body(refused)["error"] == "not_a_platform_merchant"
    no_plan = invoke("EndPlanFunction")
    assert no_plan["statusCode"] == 409 and body(no_plan)["error"] == "not_a_platform_merchant"
    no_card = invoke("UpdateCardFunction")
    assert no_card["statusCode"] == 409 and body(no_card)["error"] == "not_a_platform_merchant"
    no_invoice = invoke("PayPlanInvoiceFunction")
    assert no_invoice["statusCode"] == 409 and body(no_invoice)["error"] == "not_a_platform_merchant"
    billing = body(invoke("GetBillingFunction"))
    assert billing["merchant"] == "sparky-electrical" and billing["on_platform"] is False and billing["taking_orders"]
    for function in ("ChargeBalanceFunction", "CancelBookingFunction"):
        answer = invoke(function)
        assert answer["statusCode"] == 404 and body(answer)["message"] == "no such booking"

    # The gallery samples name Lumen's demo gallery, which the local stack seeds.
    created = invoke("CreateGalleryFunction")
    assert created["statusCode"] == 201 and body(created)["access_code"] and body(created)["link"]
    listed = body(invoke("ListGalleriesFunction"))
    assert listed["merchant"] == "lumen" and DEMO_GALLERY_ID in [g["gallery_id"] for g in listed["galleries"]]
    upload = invoke("CreateUploadFunction")
    assert upload["statusCode"] == 201 and body(upload)["upload"]["url"]
    assert body(upload)["gallery_id"] == DEMO_GALLERY_ID
    assert invoke("GetMediaFunction")["statusCode"] == 404
    staff_gallery = body(invoke("AdminGetGalleryFunction"))
    assert staff_gallery["status"] == "processing" and staff_gallery["counts"]["pending"] >= 1
    assert body(invoke("UpdateGalleryFunction"))["downloads"] is True
    client_view = invoke("GetGalleryFunction")  # signed with the local key; the demo gallery has no code
    assert client_view["statusCode"] == 200 and body(client_view)["title"] == "Demo wedding"
    favourite = invoke("MarkFavouriteFunction")  # the sample names a photo the gallery does not have
    assert favourite["statusCode"] == 404 and body(favourite)["message"] == "no such photo in this gallery"
    deleted = invoke("DeleteGalleryFunction")  # another gallery id: the demo one stays
    assert deleted["statusCode"] == 404

    listed = body(invoke("AdminListMerchantsFunction"))  # platform staff: every merchant, the demo shops too
    assert {"festival", "fixit-plumbing", "lumen"} <= {row["merchant"] for row in listed["merchants"]}
    suspended = invoke("SuspendMerchantFunction")  # a merchant the platform does not have
    assert suspended["statusCode"] == 404 and body(suspended)["error"] == "not_found"
    lifted = invoke("LiftSuspensionFunction")  # the festival is not suspended: nothing to lift
    assert lifted["statusCode"] == 409 and body(lifted)["error"] == "not_suspended"
    signup = invoke("SignupMerchantFunction")  # a florist: a kind the platform does not take, nothing written
    assert signup["statusCode"] == 400 and body(signup)["error"] == "kind_not_offered"


def test_staff_operations_samples_answer_as_the_api_does(invoke, stack):
    """The sample order (festival, two day passes, Ada) as staff find and act on it: the samples
    carry festival staff's claims unless they name platform staff or a tradie's."""
    invoke("CreateCheckoutFunction")  # the sample order exists (created once, whichever test ran first)
    found = body(invoke("AdminListOrdersFunction"))  # q=<the sample order's id>
    assert [row["order_id"] for row in found["orders"]] == [SAMPLE_ORDER] and found["search"] == "id"
    exported = invoke("AdminExportOrdersFunction")
    assert exported["statusCode"] == 200 and SAMPLE_ORDER in exported["body"]
    assert exported["body"].startswith("\ufefforder_number,")
    noted = invoke("AdminAddOrderNoteFunction")
    assert noted["statusCode"] == 201
    assert body(noted)["notes"][-1]["note"] == "Customer called: collects the passes at the gate."
    resend = invoke("AdminResendEmailFunction")  # order_confirmed, of an order never paid
    assert resend["statusCode"] == 409 and body(resend)["error"] == "nothing_to_resend"
    assert body(invoke("AdminListOwedRefundsFunction"))["refunds"] == []
    assert "incidents" in body(invoke("AdminListIncidentsFunction"))
    assert invoke("AdminResolveIncidentFunction")["statusCode"] == 404  # the sample names no incident of ours
    assert "emails" in body(invoke("AdminListEmailProblemsFunction"))
    assert "runs" in body(invoke("AdminListReconciliationsFunction"))

    skus = {p["sku"] for p in body(invoke("AdminListProductsFunction"))["products"]}
    assert {"FEST-DAY-PASS", "FEST-WEEKEND-PASS", "FEST-DONATION-10"} <= skus
    assert body(invoke("AdminGetProductFunction"))["sku"] == "FEST-DAY-PASS"
    created = invoke("AdminCreateProductFunction")  # FEST-PARKING: created once, then it exists
    assert created["statusCode"] in (201, 409)
    added = invoke("AdminAddEventFunction")  # the after-party: added once, then it exists
    assert (added["statusCode"], body(added).get("id", body(added).get("event"))) in (
        (201, "sunset-festival-after-party-2027-07-11"),
        (409, "sunset-festival-after-party-2027-07-11"),
    )
    moved = body(invoke("AdminUpdateEventFunction"))  # no ticket admits to it yet: corrected
    assert (moved["id"], moved["venue"]) == ("sunset-festival-after-party-2027-07-11", "Le Trabendo")
    assert body(invoke("AdminUpdateProductFunction"))["description"] == "Ten dollars for the volunteers' kitchen"
    adjusted = body(invoke("AdminAdjustStockFunction"))
    assert adjusted["stock_movements"][0]["reason"] == "five passes returned by a sponsor"

    bookings = body(invoke("AdminListBookingsFunction"))
    assert (bookings["merchant"], bookings["timezone"]) == ("fixit-plumbing", "Australia/Sydney")
    merchant = body(invoke("AdminGetMerchantFunction"))
    assert merchant["merchant"] == "fixit-plumbing" and merchant["services"]
    settings = body(invoke("AdminUpdateMerchantFunction"))
    assert (settings["merchant"], settings["new_order_email"]) == ("festival", True)
    changes = body(invoke("AdminListMerchantChangesFunction"))
    assert changes["merchant"] == "fixit-plumbing" and isinstance(changes["changes"], list)
    figures = body(invoke("AdminGetFiguresFunction"))
    assert (figures["from"], figures["to"]) == ("2026-11-01", "2026-11-30")

    docs = invoke("ApiDocsFunction")
    assert docs["statusCode"] == 200 and "swagger-ui-bundle.js" in docs["body"]
    assert "script-src 'self'" in docs["headers"]["Content-Security-Policy"]


def test_the_figures_sample_counts_its_payment_once(invoke, stack):
    """The stream sample: a songstudio order paid (USD 99.00) on 2026-11-24, Douala time. However
    often it is delivered, it is counted once."""
    table = stack.table("OrdersTable")
    key = {"pk": "FIGURES#songstudio", "sk": "DAY#2026-11-24#USD"}
    assert invoke("AggregateFiguresFunction") == {"batchItemFailures": []}
    counted = table.get_item(Key=key, ConsistentRead=True)["Item"]
    assert invoke("AggregateFiguresFunction") == {"batchItemFailures": []}  # delivered again
    again = table.get_item(Key=key, ConsistentRead=True)["Item"]
    assert (int(counted["paid_orders"]), int(counted["revenue"])) == (1, 9900)
    assert again == counted


def test_song_studio_and_privacy_samples(invoke):
    assert invoke("CreateCheckoutFunction")["statusCode"] == 201  # the sample order (replayed: the same one)
    again = invoke("AdminResendDeliveryFunction")  # a festival order, never delivered
    assert again["statusCode"] == 409 and "delivered" in body(again)["message"]
    exported = body(invoke("ExportCustomerFunction"))
    assert (exported["merchant"], exported["email"]) == ("festival", "ada@example.test")
    [sample] = [o for o in exported["orders"] if o["order_id"] == SAMPLE_ORDER]
    assert sample["customer"]["email"] == "ada@example.test" and sample["total"] == {"amount": 9000, "currency": "USD"}
    erased = body(invoke("EraseCustomerFunction"))  # an address with nothing recorded: nothing to erase
    assert erased["merchant"] == "festival" and erased["orders"] == []
    assert erased["erased"] == {"orders": 0, "emails": 0, "suppressions": 0, "galleries": 0}
    retention = invoke("ApplyRetentionFunction")  # nothing closed two years ago on a fresh stack
    assert retention == {"erased": 0, "orders": {}, "waiting": []}


def test_webhook_samples_are_checked_before_anything_is_written(invoke):
    # A stored provider signature never verifies again (Stripe's is time-bound; PayPal checks its
    # own): refused with a security event and nothing written, as a replayed request would be.
    for function in ("StripeWebhookFunction", "StripeConnectWebhookFunction", "PaypalWebhookFunction"):
        answer = invoke(function)
        assert answer["statusCode"] == 400 and body(answer)["error"] == "invalid_webhook", function
    # CamPay's JWT and PayDunya's hash are made from the local stack's keys, so they verify; the
    # order then settles only on what the provider says of the transaction, which it does not know.
    for function in ("CampayWebhookFunction", "PaydunyaWebhookFunction"):
        answer = invoke(function)
        assert answer["statusCode"] == 503 and body(answer)["error"] == "provider_unavailable", function


def test_stream_queue_topic_schedule_and_s3_samples(invoke, stack):
    assert invoke("NotifyOrderChangesFunction") == {"batchItemFailures": []}
    # The stream sample's paid order becomes a confirmation email through the real queue and sender.
    wait_for(
        lambda: sent_emails(stack, source="order:0e5c6b1a-7d2f-4a8e-9b3c-5d6e7f8a9b0c", kind="order_confirmed"),
        what="the stream sample's confirmation",
    )
    assert invoke("SendEmailFunction") == {"batchItemFailures": []}
    [mail] = sent_emails(stack, source="order:5b1e0c2d-3f4a-4b5c-8d6e-7f8091a2b3c4")
    assert mail["to"] == "ada@example.test" and mail["subject"].startswith("Commande FE-2026-0007")

    assert invoke("EmailFeedbackFunction") == {"suppressed": 1}
    suppressed = stack.table("NotificationsTable").get_item(Key={"pk": "SUPPRESSED#nobody@bounce.example.test"})
    assert suppressed["Item"]["reason"] == "bounce"

    for function in ("ReconcilePaymentsFunction", "ExpireCheckoutsFunction"):
        report = invoke(function)
        assert {"checked", "settled", "mismatches", "expired", "unavailable"} <= report.keys(), function
    assert invoke("SweepUploadsFunction").keys() == {"failed", "skipped", "discarded"}
    # A failed stream batch of a stream this stack does not have: nothing to read back, left to the sweep.
    assert invoke("ReplayStreamFailuresFunction") == {"batchItemFailures": []}
    # The telling of a revision the after-party never had (a later change took over): nobody to tell.
    assert invoke("TellTicketHoldersFunction") == {"batchItemFailures": []}
    assert invoke("SweepNotificationsFunction").keys() == {"orders", "expected", "queued"}

    # The sample names an upload this stack never created: read, recognised as no media of ours.
    assert invoke("ProcessImageFunction") == {
        "results": [
            {"media_id": "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f", "result": "ignored", "reason": "unknown_media"}
        ]
    }
    assert STACK == "caisse-local"  # the samples name this stack's buckets, tables and queues
