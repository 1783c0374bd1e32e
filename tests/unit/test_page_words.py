"""The pages' words (console and order page): every English word has its French one with the same
blanks, and the console's words for an API refusal name a code the API answers with, so a code
renamed on one side is not silently shown in English again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "functions/pages/static"
WORD_FILES = [STATIC / "console/words.js", STATIC / "shared/i18n.js"]
ENTRY = re.compile(r"^\s+'([^']+)':\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|`([^`]*)`)", re.M)
BLANK = re.compile(r"\{(\w+)\}")
# Codes the API answers with: a CaisseError's code=..., a class's code = ..., a body's "error": ...
API_CODE = re.compile(r"(?:\bcode\s*=\s*|\"error\":\s*)\"([a-z_]+)\"")
VARIANTS = {"refund_too_large_per_payment"}  # ui.js refusalText picks it for a refund_too_large


def languages(path: Path) -> dict[str, dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    en, fr = text.index("\n  en: {"), text.index("\n  fr: {")
    return {
        language: {m.group(1): next(g for g in m.groups()[1:] if g is not None) for m in ENTRY.finditer(block)}
        for language, block in (("en", text[en:fr]), ("fr", text[fr:]))
    }


@pytest.mark.parametrize("path", WORD_FILES, ids=lambda p: p.name)
def test_every_word_is_said_in_both_languages_with_the_same_blanks(path):
    words = languages(path)
    assert len(words["en"]) > 50
    assert sorted(words["en"].keys() - words["fr"].keys()) == []
    assert sorted(words["fr"].keys() - words["en"].keys()) == []
    differ = {
        key: (text, words["fr"][key])
        for key, text in words["en"].items()
        if set(BLANK.findall(text)) != set(BLANK.findall(words["fr"][key]))
    }
    assert differ == {}


def test_the_consoles_refusal_words_name_codes_the_api_answers_with():
    sources = [*(ROOT / "shared/caisse").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    codes = {code for source in sources for code in API_CODE.findall(source.read_text(encoding="utf-8"))}
    assert {"refund_too_large", "concurrent_update", "service_unavailable"} <= codes
    worded = {key.removeprefix("api.") for key in languages(WORD_FILES[0])["en"] if key.startswith("api.")}
    assert sorted(worded - codes - VARIANTS) == []
