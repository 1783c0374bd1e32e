"""A product's questionnaire (the song studio's brief: occasion, names, story, due date): the
questions a customer answers at checkout, declared in the catalog, and the answers checked
against them with a pydantic model built from the declaration.

A question: {"name", "type", "required", "label": {"en", "fr"}, "help"?: {"en", "fr"}} and, by
type, "max_length" (text, long_text: at most 10 000), "choices" with "choice_labels"
({"en": {choice: label}, "fr": ...}) for choice, "min"/"max" for number, "future" for date
(today or later). Types: text (one line), long_text, choice, date, number, boolean.

Errors name the field and never repeat what was typed: the answers are personal and are only
ever stored encrypted.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import ErrorDetails

from caisse.clock import utcnow
from caisse.date_input import Day
from caisse.errors import InvalidRequest

TYPES = ("text", "long_text", "choice", "date", "number", "boolean")
LOCALES = ("en", "fr")
MAX_TEXT = 10_000
NAME = r"^[a-z][a-z0-9_]{0,39}$"


Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Help = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Choice = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
MAX_QUESTIONS = 30


class Question(BaseModel):
    """One question as the catalog file or staff declare it, checked when the catalog is seeded or
    a product saved (built then, not at the cold start of a checkout, which only checks answers)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    name: str = Field(pattern=NAME, description="The answer's key: lower case, digits and _")
    type: Literal["text", "long_text", "choice", "date", "number", "boolean"]
    required: bool = False
    label: dict[Literal["en", "fr"], Label] = Field(description="In English and French")
    help: dict[Literal["en", "fr"], Help] | None = None
    max_length: int | None = Field(default=None, ge=1, le=MAX_TEXT, description="text and long_text: needed")
    choices: list[Choice] | None = Field(default=None, min_length=1, max_length=50, description="choice: needed")
    choice_labels: dict[Literal["en", "fr"], dict[str, Label]] | None = None
    min: int | None = None
    max: int | None = None
    future: bool = Field(default=False, description="date: today or later")

    @model_validator(mode="after")
    def _coherent(self) -> Question:
        if set(self.label) != set(LOCALES):
            raise ValueError(f"{self.name}: give a label in {' and '.join(LOCALES)}")
        if self.type in ("text", "long_text") and self.max_length is None:
            raise ValueError(f"{self.name}: a {self.type} question needs max_length")
        if (self.type == "choice") != (self.choices is not None):
            raise ValueError(f"{self.name}: choices belong to choice questions, and they need some")
        if self.choices is not None and len(set(self.choices)) != len(self.choices):
            raise ValueError(f"{self.name}: each choice once")
        for locale, labels in (self.choice_labels or {}).items():
            if set(labels) != set(self.choices or ()):
                raise ValueError(f"{self.name}: choice_labels[{locale}] must label every choice")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.name}: min is more than max")
        return self


def parse(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check a questionnaire (ValueError if it is wrong: pydantic's ValidationError is one); what is
    stored."""
    if len(raw) > MAX_QUESTIONS:
        raise ValueError(f"at most {MAX_QUESTIONS} questions")
    questions = [Question.model_validate(item) for item in raw]
    names = [q.name for q in questions]
    if len(set(names)) != len(names):
        raise ValueError("question names must be distinct")
    return [
        q.model_dump(exclude_none=True, exclude_defaults=True) | {"name": q.name, "type": q.type} for q in questions
    ]


def stored(raw: list[dict[str, Any]] | None) -> str | None:
    """A questionnaire as a product keeps it (JSON), or None for no questions."""
    return json.dumps(parse(raw), ensure_ascii=False) if raw else None


def _not_past(value: date) -> date:
    if value < utcnow().date():
        raise ValueError("must be today or later")
    return value


def _annotation(question: dict[str, Any]) -> Any:
    kind = question["type"]
    if kind in ("text", "long_text"):
        constraints: dict[str, Any] = {
            "strip_whitespace": True,
            "min_length": 1 if question.get("required") else 0,
            "max_length": question["max_length"],
        }
        if kind == "text":
            constraints["pattern"] = r"^[^\r\n]*$"
        return Annotated[str, StringConstraints(**constraints)]
    if kind == "choice":
        return Literal[tuple(question["choices"])]
    if kind == "date":
        return Annotated[Day, AfterValidator(_not_past)] if question.get("future") else Day
    if kind == "number":
        return Annotated[int, Field(strict=True, ge=question.get("min"), le=question.get("max"))]
    return Annotated[bool, Field(strict=True)]


@lru_cache(maxsize=32)
def _model(questionnaire: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for question in json.loads(questionnaire):
        annotation = _annotation(question)
        if question.get("required"):
            fields[question["name"]] = (annotation, ...)
        else:
            fields[question["name"]] = (annotation | None, None)
    return create_model("Answers", __config__=ConfigDict(extra="forbid"), **fields)


def _message(problem: ErrorDetails) -> str:
    if problem.get("type") == "string_too_long":
        return f"at most {problem['ctx']['max_length']} characters"
    if problem.get("type") in ("string_too_short", "missing"):
        return "required"
    if problem.get("type") == "string_pattern_mismatch":
        return "one line only"
    if problem.get("type") == "extra_forbidden":
        return "not a question of this product"
    return str(problem.get("msg", "invalid")).removeprefix("Value error, ")


def validate(questionnaire: str | None, answers: dict[str, Any] | None) -> dict[str, Any] | None:
    """The answers, checked and normalised (dates as YYYY-MM-DD, empty optional answers left out),
    or None for a product without questions. 422 `invalid_answers`, one detail per field."""
    if questionnaire is None:
        if answers:
            raise InvalidRequest("this product takes no answers", code="invalid_answers", details=[])
        return None
    try:
        checked = _model(questionnaire).model_validate(answers or {})
    except ValidationError as error:
        details = [
            {"field": ".".join(["answers", *(str(part) for part in problem["loc"])]), "message": _message(problem)}
            for problem in error.errors(include_input=False, include_url=False)
        ]
        raise InvalidRequest(
            "; ".join(f"{d['field']}: {d['message']}" for d in details), code="invalid_answers", details=details
        ) from None
    return {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in checked.model_dump().items()
        if value not in (None, "")
    }


def public(questionnaire: str | None) -> list[dict[str, Any]] | None:
    """The questions as the shop's front end renders them (GET /catalog)."""
    return json.loads(questionnaire) if questionnaire else None
