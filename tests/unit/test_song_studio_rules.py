"""The song studio's pure rules: its questionnaire, its workflow with revisions, its daily capacity's
days, and the emails its changes call for."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from caisse.catalog import questionnaire
from caisse.catalog.service import product_questionnaire, product_workflow
from caisse.errors import IllegalTransition, InvalidRequest
from caisse.orders import states
from caisse.orders.capacity import DailyLimit

ROOT = Path(__file__).resolve().parents[2]
CATALOG = json.loads((ROOT / "data" / "catalog.json").read_text())
STUDIO = next(m for m in CATALOG["merchants"] if m["id"] == "songstudio")
PRODUCTS = {p["sku"]: p for p in CATALOG["products"]}
BRIEF = product_questionnaire(STUDIO, PRODUCTS["SONG-STANDARD"])


def good(**changes):
    return {
        "occasion": "birthday",
        "for_whom": "Awa",
        "from_whom": "Jean",
        "story": "A story",
        "due_date": (date.today() + timedelta(days=3)).isoformat(),
        **changes,
    }


def problems(answers) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as raised:
        questionnaire.validate(BRIEF, answers)
    assert raised.value.code == "invalid_answers"
    return {d["field"]: d["message"] for d in raised.value.details["details"]}


def test_good_answers_come_back_normalised():
    answers = questionnaire.validate(BRIEF, good(story="  A story  ", style=None))
    assert answers["story"] == "A story" and "style" not in answers
    assert answers["due_date"] == (date.today() + timedelta(days=3)).isoformat()


def test_every_problem_is_named_by_its_field_and_never_repeats_the_input():
    found = problems({"occasion": "funeral", "story": "s" * 5001, "for_whom": "two\nlines", "extra": 1})
    assert found == {
        "answers.occasion": found["answers.occasion"],
        "answers.for_whom": "one line only",
        "answers.from_whom": "required",
        "answers.story": "at most 5000 characters",
        "answers.due_date": "required",
        "answers.extra": "not a question of this product",
    }
    assert "funeral" not in found["answers.occasion"] and "'wedding'" in found["answers.occasion"]
    assert problems(good(for_whom="   ")) == {"answers.for_whom": "required"}
    assert problems(good(due_date="2001-01-01")) == {"answers.due_date": "must be today or later"}
    # A number is not read as Unix time (pydantic alone would take 1796169600 for a day in 2026).
    assert "YYYY-MM-DD" in problems(good(due_date=1796169600))["answers.due_date"]


def test_a_product_without_questions_takes_no_answers():
    assert questionnaire.validate(None, None) is None
    with pytest.raises(InvalidRequest):
        questionnaire.validate(None, {"story": "x"})


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ({"name": "story", "type": "long_text", "label": {"en": "Story", "fr": "Histoire"}}, "max_length"),
        ({"name": "story", "type": "text", "max_length": 9, "label": {"en": "Story"}}, "label"),
        ({"name": "pick", "type": "choice", "label": {"en": "P", "fr": "P"}}, "choices"),
        ({"name": "Bad Name", "type": "text", "max_length": 9, "label": {"en": "x", "fr": "x"}}, "pattern"),
        (
            {"name": "age", "type": "number", "min": 9, "max": 1, "label": {"en": "A", "fr": "A"}},
            "min is more than max",
        ),
        (
            {"name": "pick", "type": "choice", "choices": ["a", "a"], "label": {"en": "P", "fr": "P"}},
            "each choice once",
        ),
        ({"name": "pick", "type": "choice", "choices": ["A b"], "label": {"en": "P", "fr": "P"}}, "pattern"),
        ({"name": "story", "type": "text", "max_length": 9, "label": {"en": "", "fr": "x"}}, "at least 1 character"),
    ],
)
def test_a_wrong_questionnaire_is_refused_when_seeded_or_saved_by_staff(question, why):
    with pytest.raises(ValueError, match=why):
        questionnaire.parse([question])


def test_a_questionnaire_keeps_its_order_and_only_what_was_said():
    asked = [
        {"name": "mood", "type": "choice", "choices": ["joyful"], "label": {"en": "Mood", "fr": "Ambiance"}},
        {
            "name": "story",
            "type": "long_text",
            "max_length": 500,
            "required": True,
            "help": None,
            "label": {"en": "Story", "fr": "Histoire"},
            "future": False,
        },
    ]
    assert [q["name"] for q in questionnaire.parse(asked)] == ["mood", "story"]
    assert questionnaire.parse(asked)[1] == {
        "name": "story",
        "type": "long_text",
        "max_length": 500,
        "required": True,
        "label": {"en": "Story", "fr": "Histoire"},
    }
    assert questionnaire.stored([]) is None
    with pytest.raises(ValueError, match="at most 30 questions"):
        questionnaire.parse([{**asked[0], "name": f"q{n}"} for n in range(31)])


def workflow(sku: str) -> states.Workflow:
    item = PRODUCTS[sku]
    return states.Workflow.of(item.get("stages") or STUDIO["stages"], product_workflow(STUDIO, item))


def test_the_express_package_starts_at_writing_and_has_no_revision():
    express = workflow("SONG-EXPRESS")
    assert express.allowed(states.PAID, states.Actor.STAFF) == ["writing", "cancelled"]
    assert not express.can(states.PAID, "discovery", states.Actor.STAFF)
    assert express.allowed("review", states.Actor.STAFF) == ["delivered", "cancelled"]


def test_revisions_loop_from_review_as_many_times_as_the_package_includes():
    premium = workflow("SONG-PREMIUM")
    assert premium.allowed("review", states.Actor.STAFF, revisions_used=0) == ["delivered", "revision", "cancelled"]
    assert premium.allowed("revision", states.Actor.STAFF) == ["review", "cancelled"]
    assert premium.can("review", "revision", states.Actor.STAFF, revisions_used=1)
    with pytest.raises(IllegalTransition) as refused:
        premium.check("review", "revision", states.Actor.STAFF, revisions_used=2)
    assert refused.value.code == "no_revisions_left" and refused.value.status == 409
    assert refused.value.details["revisions"] == {"included": 2, "used": 2}
    assert premium.fulfilled("revision") and premium.closed("delivered") and not premium.closed("revision")
    assert premium.deliverable_stage == "delivered"


def test_a_workflow_without_revisions_is_the_merchants_stages_as_before():
    plain = states.Workflow.of(["tickets_issued"])
    assert plain.allowed(states.PAID, states.Actor.STAFF) == ["tickets_issued", "cancelled"]
    assert plain.revision_stage is None and plain.deliverable_stage is None


def test_the_days_a_checkout_may_take():
    limit = DailyLimit.of({"capacity": {"per_day": 3, "timezone": "Africa/Douala", "days_ahead": 30}})
    assert limit is not None
    late_evening = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # already 2 December in Douala
    assert limit.today(late_evening) == date(2026, 12, 2)
    assert limit.choose("songstudio", None, late_evening) == date(2026, 12, 2)
    with pytest.raises(InvalidRequest, match="passed"):
        limit.choose("songstudio", date(2026, 12, 1), late_evening)
    with pytest.raises(InvalidRequest, match="30 days"):
        limit.choose("songstudio", date(2027, 1, 2), late_evening)
    assert DailyLimit.of({}) is None
