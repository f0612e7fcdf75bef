"""Settings read from the environment: the portal's language (``B24VOTE_LANGUAGE``)."""

from __future__ import annotations

import pytest

from b24vote.config import LANGUAGES, Settings, SettingsError


def test_language_defaults_to_russian() -> None:
    assert Settings.from_env({}).language == "ru"


@pytest.mark.parametrize(("raw", "language"), [("en", "en"), ("ru", "ru"), (" EN ", "en"), ("Ru", "ru")])
def test_language_values(raw: str, language: str) -> None:
    assert Settings.from_env({"B24VOTE_LANGUAGE": raw}).language == language


@pytest.mark.parametrize("raw", ["", "fr", "english", "en-US", "ру"])
def test_a_bad_language_names_the_variable(raw: str) -> None:
    with pytest.raises(SettingsError, match=r"^B24VOTE_LANGUAGE=.*expected one of en, ru$"):
        Settings.from_env({"B24VOTE_LANGUAGE": raw})


def test_languages_are_described() -> None:
    described = {env: (default, text) for env, default, text in Settings.describe()}
    default, text = described["B24VOTE_LANGUAGE"]
    assert default == "ru"
    assert all(language in text for language in LANGUAGES)
