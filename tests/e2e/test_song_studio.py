"""The custom-song studio's whole order on the local stack (issue 15): a brief kept encrypted, the
daily capacity, the package's own stages and revisions, delivery with a file, refunds by stage,
the customer's export and erasure, retention on a schedule, and no brief in any log."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from dateutil.relativedelta import relativedelta
from e2e_support import (
    STACK,
    count_orders,
    customer_client,
    emails_for,
    order_status,
    queues_idle,
    song_brief,
    studio_day,
    upload_deliverable,
    wait_for,
)
from e2e_support import merchant_token as token

STUDIO = "songstudio"
SECRETS: list[str] = []  # every brief text and phone this module sent: never in a log


def secret_story() -> str:
    story = f"Our secret {uuid.uuid4().hex}: the night at Kribi beach"
    SECRETS.append(story)
    return story


def staff(merchant: str = STUDIO) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(merchant)}"}


def checkout(api, sku="SONG-STANDARD", *, answers=None, day=None, customer=None, currency="USD", key=None):
    body = {
        "items": [{"sku": sku, "quantity": 1}],
        "currency": currency,
        "customer": customer or {"name": "Awa Ndiaye", "email": f"awa-{uuid.uuid4().hex[:8]}@example.test"},
        "answers": answers if answers is not None else song_brief(story=secret_story()),
        "day": day or studio_day(),
    }
    return api.post("/checkouts", json=body, headers={"Idempotency-Key": key} if key else {})


def paid_order(api, sku="SONG-STANDARD", **kwargs) -> dict:
    answer = checkout(api, sku, **kwargs)
    assert answer.status_code == 201, answer.text
    order = answer.json()
    httpx.post(f"{order['next_action']['url']}/pay", timeout=10)
    wait_for(lambda: order_status(api, order) == "paid", what="paid")
    return order


def move(api, order, status: str, message: str | None = None) -> httpx.Response:
    """A stage change by staff, with what the customer is told (their page, the stage's email)."""
    body = {"status": status, **({"message": message} if message else {})}
    return api.post(f"/admin/orders/{order['order_id']}/status", json=body, headers=staff())


def walk(api, order, *stages: str) -> None:
    for stage in stages:
        answer = move(api, order, stage)
        assert answer.status_code == 200, (stage, answer.text)


def raw_items(stack, order_id: str) -> list[dict]:
    """Every item of the order's partition, as DynamoDB holds it (read from moto)."""
    return stack.table("OrdersTable").query(
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"ORDER#{order_id}"}, ConsistentRead=True
    )["Items"]


def stream_records(stack, order_id: str) -> list[dict]:
    """The orders table's stream records of one order, read from moto's DynamoDB Streams."""
    streams = stack.boto("dynamodbstreams")
    arn = stack.boto("dynamodb").describe_table(TableName=f"{STACK}-OrdersTable")["Table"]["LatestStreamArn"]
    found = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            found += [r for r in page["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == f"ORDER#{order_id}"]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return found


def every_item(stack) -> str:
    """Every item of every table of the stack, as one JSON text."""
    items = []
    for table in ("CatalogTable", "OrdersTable", "WebhookEventsTable", "NotificationsTable", "MediaTable"):
        scan = stack.table(table).scan(ConsistentRead=True)
        items += scan["Items"]
        while scan.get("LastEvaluatedKey"):
            scan = stack.table(table).scan(ConsistentRead=True, ExclusiveStartKey=scan["LastEvaluatedKey"])
            items += scan["Items"]
    return json.dumps(items, default=str)


# ------------------------------------------------------------------------------ 1. the brief


def test_a_brief_is_kept_encrypted_and_only_the_merchants_staff_read_it(api, stack):
    story = secret_story()
    phone = f"2376{uuid.uuid4().int % 10**8:08d}"
    SECRETS.append(phone)
    customer = {"name": "Awa Ndiaye", "email": f"awa-{uuid.uuid4().hex[:8]}@example.test", "phone": phone}
    source = {"utm_source": "instagram", "utm_campaign": "valentines"}
    body = {
        "items": [{"sku": "SONG-STANDARD", "quantity": 1}],
        "currency": "USD",
        "customer": customer,
        "answers": song_brief(story=story, for_whom="Mariam Sow"),
        "day": studio_day(),
        "source": source,
    }
    answer = api.post("/checkouts", json=body)
    assert answer.status_code == 201, answer.text
    order = answer.json()

    items = raw_items(stack, order["order_id"])
    raw = json.dumps(items, default=str)
    [stored] = [i for i in items if i["sk"] == "ORDER"]
    [sealed] = [i for i in items if i["sk"] == "PERSONAL"]  # kept apart: every move rewrites the order item
    assert sealed["answers_sealed"] and sealed["phone_sealed"]
    assert sorted(stored["sealed_apart"]) == ["answers", "phone"]
    assert "answers_sealed" not in stored and "phone_sealed" not in stored["customer"]
    assert story not in raw and "Mariam Sow" not in raw and "Kribi" not in raw and phone not in raw
    assert stored["source"] == source  # UTM fields are plain metadata
    records = wait_for(lambda: stream_records(stack, order["order_id"]), what="the order's stream records")
    streamed = json.dumps(records, default=str)
    assert "answers_sealed" in streamed and story not in streamed and phone not in streamed

    other = api.get(f"/admin/orders/{order['order_id']}", headers=staff("festival"))
    assert other.status_code == 403
    view = api.get(f"/admin/orders/{order['order_id']}", headers=staff())
    assert view.status_code == 200, view.text
    seen = view.json()
    assert seen["answers"]["story"] == story and seen["answers"]["for_whom"] == "Mariam Sow"
    assert seen["customer"]["phone"] == phone and seen["source"] == source
    assert [(a["read"], a["purpose"]) for a in seen["access_log"]] == [(["answers", "phone"], "staff_view")]
    again = api.get(f"/admin/orders/{order['order_id']}", headers=staff()).json()
    assert len(again["access_log"]) == 2  # each read recorded, the 403 above was none
    customer_view = api.get(
        f"/orders/{order['order_id']}", headers={"Authorization": f"Bearer {order['order_token']}"}
    ).json()
    assert "answers" not in customer_view and "access_log" not in customer_view


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({k: v for k, v in song_brief().items() if k != "for_whom"}, "answers.for_whom", "required"),
        (song_brief(story="x" * 10_000), "answers.story", "at most 5000 characters"),
        (song_brief(occasion="divorce"), "answers.occasion", "wedding"),
        (song_brief(due_date="2020-01-01"), "answers.due_date", "today or later"),
        (song_brief(mood="sad"), "answers.mood", "not a question of this product"),
    ],
    ids=["missing-field", "story-too-long", "not-a-choice", "past-date", "unknown-question"],
)
def test_a_bad_brief_is_422_naming_the_field_and_nothing_is_written(api, stack, answers, field, message):
    before = count_orders(stack)
    answer = checkout(api, answers=answers)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["error"] == "invalid_answers"
    [detail] = problem["details"]
    assert detail["field"] == field and message in detail["message"]
    assert "x" * 100 not in answer.text  # what was typed is never repeated back
    assert count_orders(stack) == before


def test_the_catalog_publishes_each_products_questionnaire_in_both_languages(api):
    products = {p["sku"]: p for p in api.get("/catalog").json()["products"]}
    questions = {q["name"]: q for q in products["SONG-STANDARD"]["questionnaire"]}
    assert {"occasion", "for_whom", "from_whom", "story", "due_date"} <= questions.keys()
    assert questions["story"]["max_length"] == 5000 and questions["story"]["required"] is True
    assert questions["occasion"]["label"] == {"en": "What is the occasion?", "fr": "Pour quelle occasion ?"}
    assert products["SONG-EXPRESS"]["stages"] == ["writing", "production", "review", "delivered"]
    assert [products[s]["revisions"] for s in ("SONG-EXPRESS", "SONG-STANDARD", "SONG-PREMIUM")] == [0, 1, 2]
    assert "questionnaire" not in products["FEST-DAY-PASS"]


def test_staff_set_a_products_questions_and_the_next_checkout_asks_them(api):
    """The studio adds a dedication package with its own short brief, then changes it: staff see the
    questions as stored, a wrong questionnaire is refused naming why with nothing written, and the
    next checkout asks the new questions (an answer to a question no longer asked is refused)."""
    sku = f"SONG-DEDICATION-{uuid.uuid4().hex[:6].upper()}"
    name_question = {
        "name": "for_whom",
        "type": "text",
        "required": True,
        "max_length": 80,
        "label": {"en": "Who is it for?", "fr": "Pour qui ?"},
    }
    created = api.post(
        "/admin/products",
        json={
            "sku": sku,
            "name": "Dedication",
            "kind": "song",
            "prices": {"USD": 4900},
            "max_per_order": 1,
            "questionnaire": [name_question],
        },
        headers=staff(),
    )
    assert created.status_code == 201, created.text
    assert created.json()["questionnaire"] == [name_question]

    mood = {
        "name": "mood",
        "type": "choice",
        "required": True,
        "choices": ["joyful", "tender"],
        "label": {"en": "Mood", "fr": "Ambiance"},
        "choice_labels": {
            "en": {"joyful": "Joyful", "tender": "Tender"},
            "fr": {"joyful": "Joyeuse", "tender": "Tendre"},
        },
    }
    twice = api.patch(f"/admin/products/{sku}", json={"questionnaire": [mood, mood]}, headers=staff())
    assert twice.status_code == 422 and twice.json()["error"] == "invalid_questionnaire", twice.text
    assert "distinct" in twice.json()["message"]
    unlabelled = {**mood, "choice_labels": {"en": {"joyful": "Joyful"}}}
    refused = api.patch(f"/admin/products/{sku}", json={"questionnaire": [unlabelled]}, headers=staff())
    assert refused.status_code == 422 and "must label every choice" in refused.text
    assert api.get(f"/admin/products/{sku}", headers=staff()).json()["questionnaire"] == [name_question]

    changed = api.patch(f"/admin/products/{sku}", json={"questionnaire": [mood, name_question]}, headers=staff())
    assert changed.status_code == 200, changed.text
    assert [q["name"] for q in changed.json()["questionnaire"]] == ["mood", "for_whom"]
    old_brief = {"for_whom": "Mariam"}
    asked = checkout(api, sku, answers=old_brief)
    assert asked.status_code == 422 and asked.json()["error"] == "invalid_answers"
    assert {d["field"] for d in asked.json()["details"]} == {"answers.mood"}
    assert checkout(api, sku, answers={**old_brief, "mood": "tender"}).status_code == 201

    none = api.patch(f"/admin/products/{sku}", json={"questionnaire": []}, headers=staff())
    assert none.status_code == 200 and none.json()["questionnaire"] is None
    no_brief = checkout(api, sku, answers={"mood": "tender"})
    assert no_brief.status_code == 422 and no_brief.json()["message"] == "this product takes no answers"


# ------------------------------------------------------------------------------ 2. capacity


def test_thirty_checkouts_for_a_day_with_three_places_give_exactly_three_orders(api, stack):
    day = (date.today() + timedelta(days=350)).isoformat()
    next_day = (date.today() + timedelta(days=351)).isoformat()

    def attempt(n: int) -> httpx.Response:
        with customer_client(api, timeout=60) as own:
            return checkout(
                own, customer={"name": f"Racer {n}", "email": f"racer-{n}-{uuid.uuid4().hex[:6]}@example.test"}, day=day
            )

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(attempt, range(30)))
    won = [a for a in answers if a.status_code == 201]
    lost = [a for a in answers if a.status_code == 409]
    assert (len(won), len(lost)) == (3, 27), sorted(a.status_code for a in answers)
    assert {a.json()["day"] for a in won} == {day}
    assert {(a.json()["error"], a.json()["next_free_day"]) for a in lost} == {("day_unavailable", next_day)}
    counter = stack.table("CatalogTable").get_item(Key={"pk": f"CAPACITY#{STUDIO}#{day}"}, ConsistentRead=True)
    assert counter["Item"]["taken"] == 3

    # A checkout that expires gives its place back, through the expiry sweep.
    expired = won[0].json()
    started = datetime.now(UTC) - timedelta(minutes=31)  # as if started 31 minutes ago: its hold ran out
    stack.table("OrdersTable").update_item(
        Key={"pk": f"ORDER#{expired['order_id']}", "sk": "ORDER"},
        UpdateExpression="SET expires_at = :expired, created_at = :created",
        ExpressionAttributeValues={
            ":expired": (started + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
            ":created": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    report = json.loads(stack.make("run-scheduled", "FUNCTION=ExpireCheckoutsFunction").split("--- result ---", 1)[1])
    assert expired["order_id"] in report["expired"]
    counter = stack.table("CatalogTable").get_item(Key={"pk": f"CAPACITY#{STUDIO}#{day}"}, ConsistentRead=True)
    assert counter["Item"]["taken"] == 2
    assert checkout(api, day=day).status_code == 201  # the place is free again


def test_a_blackout_date_and_a_past_day_are_refused(api):
    closed = checkout(api, day="2026-12-25")
    assert closed.status_code == 409 and closed.json()["error"] == "day_unavailable"
    assert closed.json()["next_free_day"] == "2026-12-26"
    past = checkout(api, day=(date.today() - timedelta(days=1)).isoformat())
    assert past.status_code == 422 and past.json()["error"] == "day_in_past"
    festival = api.post(
        "/checkouts",
        json={
            "items": [{"sku": "FEST-DONATION-10", "quantity": 1}],
            "currency": "USD",
            "customer": {"name": "Ada", "email": "ada@example.test"},
            "day": studio_day(),
        },
    )
    assert festival.status_code == 422 and festival.json()["error"] == "day_not_offered"


# ------------------------------------------------------------------------------ 3. workflow


def test_the_express_package_goes_from_paid_straight_to_writing(api):
    order = paid_order(api, "SONG-EXPRESS")
    view = api.get(f"/admin/orders/{order['order_id']}", headers=staff()).json()
    assert view["stages"] == ["writing", "production", "review", "delivered"]
    assert view["next_statuses"] == ["writing", "cancelled"]
    refused = move(api, order, "discovery")
    assert refused.status_code == 409 and refused.json()["allowed"] == ["writing", "cancelled"]
    assert move(api, order, "writing").json()["status"] == "writing"
    walk(api, order, "production", "review")
    none = move(api, order, "revision")  # the express package includes no revision
    assert none.status_code == 409 and none.json()["error"] == "no_revisions_left"


def test_revisions_are_counted_delivery_needs_the_file_and_refunds_follow_the_stage(api, stack):
    order = paid_order(api, "SONG-STANDARD")  # 1 revision, USD 99.00
    refund = f"/admin/orders/{order['order_id']}/refunds"

    walk(api, order, "discovery", "writing")
    assert api.post(refund, json={"amount": 2000, "reason": "no video"}, headers=staff()).status_code == 201
    walk(api, order, "production")  # from here half of what was paid, in total: 4950
    too_much = api.post(refund, json={"amount": 3000}, headers=staff())
    assert too_much.status_code == 422 and too_much.json()["refundable"] == {"amount": 2950, "currency": "USD"}
    assert api.post(refund, json={"amount": 1000}, headers=staff()).status_code == 201
    walk(api, order, "review")

    revision = move(api, order, "revision", message="a slower bridge")
    assert revision.status_code == 200 and revision.json()["revisions"] == {"included": 1, "used": 1}
    assert api.post(refund, json={"amount": 1950}, headers=staff()).json()["money_state"] == "partially_refunded"
    nothing = api.post(refund, json={"amount": 1}, headers=staff())
    assert nothing.status_code == 409 and nothing.json()["error"] == "nothing_to_refund"
    walk(api, order, "review")
    second = move(api, order, "revision")
    assert second.status_code == 409 and second.json()["error"] == "no_revisions_left"
    assert second.json()["revisions"] == {"included": 1, "used": 1}

    no_file = move(api, order, "delivered")
    assert no_file.status_code == 409 and no_file.json()["error"] == "deliverable_missing"
    upload_deliverable(api, order["order_id"], token(STUDIO), b"ID3 the final mix")
    assert move(api, order, "delivered").status_code == 200
    after = api.post(refund, json={}, headers=staff())
    assert after.status_code == 409 and after.json()["error"] == "nothing_to_refund"

    view = api.get(f"/admin/orders/{order['order_id']}", headers=staff()).json()
    assert view["refunded"] == {"amount": 4950, "currency": "USD"} and view["money_state"] == "partially_refunded"
    steps = [h["to"] for h in view["history"] if h["to"] != h["from"]]
    assert steps[-7:] == ["discovery", "writing", "production", "review", "revision", "review", "delivered"]
    events = httpx.get(f"{stack.sandbox}/_sandbox/events", params={"type": "refund.created"}, timeout=5).json()
    made = [
        e["data"]["object"]["amount"]
        for e in events
        if e["data"]["object"]["metadata"].get("order_id") == order["order_id"]
    ]
    assert sorted(made) == [1000, 1950, 2000]
    [revised] = wait_for(
        lambda: [m for m in emails_for(stack, order["order_id"], "stage_changed") if "revision 1 of 1" in m["text"]],
        what="the revision email",
    )
    assert "a slower bridge" in revised["text"]


def test_the_delivery_email_can_be_sent_again_with_a_fresh_link_and_the_page_offers_the_download(api, stack):
    order = paid_order(api, "SONG-EXPRESS")
    walk(api, order, "writing", "production", "review")
    upload_deliverable(api, order["order_id"], token(STUDIO), b"ID3 the song")
    assert move(api, order, "delivered").status_code == 200
    [first] = wait_for(lambda: emails_for(stack, order["order_id"], "delivery"), what="the delivery email")

    page = api.get(f"/orders/{order['order_id']}", headers={"Authorization": f"Bearer {order['order_token']}"}).json()
    offer = page["download"]
    assert offer["available"] is True
    fetched = httpx.get(offer["url"], follow_redirects=True, timeout=10)
    assert fetched.status_code == 200 and fetched.content == b"ID3 the song"

    staff_of_another_shop = api.post(f"/admin/orders/{order['order_id']}/delivery-email", headers=staff("festival"))
    assert staff_of_another_shop.status_code == 403
    again = api.post(f"/admin/orders/{order['order_id']}/delivery-email", headers=staff())
    assert again.status_code == 202, again.text
    assert again.json()["delivery_round"] == 2

    def both():
        found = emails_for(stack, order["order_id"], "delivery")
        return found if len(found) == 2 else None

    mails = wait_for(both, what="the delivery email, sent again")
    [second] = [m for m in mails if m["notification"] != first["notification"]]

    def expiry(mail) -> int:
        link = next(word for word in mail["text"].split() if "/download?" in word)
        return int(parse_qs(urlsplit(link).query)["expires"][0])

    assert expiry(second) >= expiry(first)
    assert (
        api.post(
            f"/admin/orders/{paid_order(api, 'SONG-EXPRESS')['order_id']}/delivery-email", headers=staff()
        ).status_code
        == 409
    )


# ------------------------------------------------------------------------------ 5. privacy


def test_export_returns_everything_and_erasure_leaves_no_trace_but_the_accounts(api, stack):
    story = secret_story()
    name = f"Mariam {uuid.uuid4().hex[:6]}"
    email = f"mariam-{uuid.uuid4().hex[:8]}@example.test"
    phone = f"2376{uuid.uuid4().int % 10**8:08d}"
    SECRETS.append(phone)
    customer = {"name": name, "email": email, "phone": phone}
    delivered = paid_order(api, "SONG-EXPRESS", customer=customer, answers=song_brief(story=story, for_whom=name))
    walk(api, delivered, "writing", "production", "review")
    upload_deliverable(api, delivered["order_id"], token(STUDIO))
    walk(api, delivered, "delivered")
    open_order = checkout(api, customer=customer).json()  # still waiting for payment

    blocked = api.post("/admin/customers/erase", json={"email": email}, headers=staff())
    assert blocked.status_code == 409 and blocked.json()["error"] == "erasure_blocked"
    assert [o["order_id"] for o in blocked.json()["orders"]] == [open_order["order_id"]]
    move(api, open_order, "cancelled", message="customer asked to be forgotten")

    # confirmation, writing, production, review, delivery: all sent before anything is exported or erased
    # (five emails are not enough to wait for: the shop's new-order email is about the order too)
    wait_for(
        lambda: (
            len(emails_for(stack, delivered["order_id"], "stage_changed")) == 3
            and emails_for(stack, delivered["order_id"], "delivery")
            and queues_idle(stack)
        ),
        what="the emails",
    )
    assert api.post("/admin/customers/export", json={"email": email}, headers=staff("festival")).json()["orders"] == []
    exported = api.post("/admin/customers/export", json={"email": email.upper()}, headers=staff())
    assert exported.status_code == 200, exported.text
    record = exported.json()
    assert [o["order_id"] for o in record["orders"]] == [delivered["order_id"], open_order["order_id"]]
    assert record["orders"][0]["answers"]["story"] == story and record["orders"][0]["customer"]["phone"] == phone
    asked = {question["name"]: question for question in record["orders"][0]["questions"]}  # what each answer answered
    assert asked["story"]["label"]["en"] and set(record["orders"][0]["answers"]) <= set(asked)
    assert {"order_confirmed", "stage_changed", "delivery"} <= {e["kind"] for e in record["emails"]}
    assert {e["to"] for e in record["emails"]} == {email}

    before = api.get(f"/admin/orders/{delivered['order_id']}", headers=staff()).json()
    erased = api.post("/admin/customers/erase", json={"email": email, "reason": "request 42"}, headers=staff())
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"]["orders"] == 2
    assert sorted(erased.json()["orders"]) == sorted([delivered["order_number"], open_order["order_number"]])

    everything = every_item(stack)
    for trace in (email, name, phone, story, email.split("@")[0]):
        assert trace not in everything, trace
    after = api.get(f"/admin/orders/{delivered['order_id']}", headers=staff()).json()
    for kept in ("order_number", "total", "paid", "refunded", "items", "created_at", "paid_at"):
        assert after[kept] == before[kept], kept
    assert after["customer"]["email"] == "erased" and after["answers"] is None and after["erased_at"]
    assert after["history"][-1]["note"] == "personal data erased on request (request 42)"
    recorded = stack.table("OrdersTable").get_item(
        Key={"pk": f"ERASURE#{erased.json()['erasure_id']}", "sk": "ERASURE"}, ConsistentRead=True
    )["Item"]
    assert recorded["reason"] == "request" and recorded["actor_id"].startswith("staff:")
    assert sorted(recorded["orders"]) == sorted([delivered["order_number"], open_order["order_number"]])
    assert api.post("/admin/customers/export", json={"email": email}, headers=staff()).json()["orders"] == []


def test_retention_erases_customers_of_orders_closed_longer_ago_than_the_merchant_keeps_them(api, stack):
    story = secret_story()
    email = f"kept-{uuid.uuid4().hex[:8]}@example.test"
    order = paid_order(
        api, "SONG-EXPRESS", customer={"name": "Kept Two Years", "email": email}, answers=song_brief(story=story)
    )
    walk(api, order, "writing", "production", "review")
    upload_deliverable(api, order["order_id"], token(STUDIO))
    walk(api, order, "delivered")
    table = stack.table("OrdersTable")
    month = (datetime.now(UTC) + relativedelta(months=24)).strftime("%Y-%m")  # the studio keeps 24 months
    [item] = [
        i
        for i in table.query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": f"RETENTION#{month}"},
            ConsistentRead=True,
        )["Items"]
        if i["order_id"] == order["order_id"]
    ]
    # Two years pass: the item moves to where the sweep looks today.
    past = datetime.now(UTC) - timedelta(days=1)
    table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    table.put_item(
        Item={
            **item,
            "pk": f"RETENTION#{past.strftime('%Y-%m')}",
            "sk": f"{past.strftime('%Y-%m-%dT%H:%M:%SZ')}#{order['order_id']}",
        }
    )
    wait_for(lambda: queues_idle(stack), what="the order's emails")
    report = json.loads(stack.make("run-scheduled", "FUNCTION=ApplyRetentionFunction").split("--- result ---", 1)[1])
    assert order["order_number"] in report["orders"].get(STUDIO, [])
    everything = every_item(stack)
    assert email not in everything and story not in everything and "Kept Two Years" not in everything
    view = api.get(f"/admin/orders/{order['order_id']}", headers=staff()).json()
    assert view["total"] == {"amount": 14900, "currency": "USD"} and view["customer"]["name"] == "erased"


# ------------------------------------------------------------------------------ logs


def test_no_brief_and_no_phone_ever_reached_the_local_stacks_logs(stack):
    assert SECRETS, "the tests above sent briefs"
    logs = "".join(stack.output)
    assert "checkout started" in logs  # the functions' logs are there to search
    leaked = [secret for secret in SECRETS if secret in logs]
    assert leaked == []


def test_kms_keeps_the_brief_key_customer_managed_with_rotation(stack):
    kms = boto3.client(
        "kms", endpoint_url=stack.aws, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
    )
    keys = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]
    [key] = [k for k in keys if k["Description"].startswith("Caisse personal data")]
    assert key["KeyManager"] == "CUSTOMER" and key["KeyState"] == "Enabled"
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
