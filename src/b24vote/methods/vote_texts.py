"""The vote module's texts: what a catalogue holds in each language, and the texts every portal sends alike.

A portal answers in its own language (``B24VOTE_LANGUAGE``); one catalogue per language holds the texts that
change with it (``vote_texts_en``, ``vote_texts_ru``; looked up by ``vote_language``). Texts quoted in
../shared/reference/bitrix24-docs/vote/*.md (Russian) and ../shared/reference/bitrix24-docs-en/vote/*.md
(English) are copied; for language keys whose text the reference does not give, b24vote writes its own
(listed per language in docs/compatibility.md).

The texts below are the same on every portal: the framework and the attach code write them in English
whatever the language (the Russian pages quote them in English too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ACCESS_DENIED_EXCEPTION",
    "ATTACH_NOT_FOUND",
    "IM_ACCESS_DENIED",
    "NO_PAYLOAD",
    "READ_DENIED",
    "VoteTexts",
    "missing_parameter",
    "wrong_type",
]

NO_PAYLOAD = "Bitrix\\Vote\\Attach All parameters in the constructor must have real class type"
ACCESS_DENIED_EXCEPTION = "Access denied."
ATTACH_NOT_FOUND = "Attach not found"
READ_DENIED = "Attach read access denied"
IM_ACCESS_DENIED = "Access denied"  # vote.Integration.Im.send for a caller who is nobody


@dataclass(frozen=True, slots=True)
class VoteTexts:
    """The texts of one portal language; each field names the vote module's language key it stands for."""

    poll_inactive: str
    """VOTE_IS_NOT_ACTIVE: voting on a stopped or finished poll."""
    stop_message: str
    """VOTE_INTEGRATION_IM_EVENT_HANDLER_MESSAGE_STOP, with ``{user_id}``, ``{user_name}``, ``{chat_id}``,
    ``{message_id}`` and ``{question}``: the system message posted to the chat when a poll is stopped."""
    export_date: str
    """V_EXPORT_DATE: the report's date column."""
    export_name: str
    """V_EXPORT_NAME: the report's user column."""
    anonymously: str
    """VOTE_ANONYMOUSLY: the report's name for a voter of an anonymous poll."""
    guest: str
    """VOTE_GUEST: the report's name for a voter without a user."""
    poll_data: Mapping[str, str]
    """vote.Integration.Im.send's errors by language key (PollDataError.key and the send steps), ``{detail}``
    being the question a rule is about."""

    def im_send(self, key: str, detail: str = "") -> str:
        """The Im.send error text of ``key`` (the key itself for one no catalogue knows)."""
        return self.poll_data.get(key, key).format(detail=detail)


def missing_parameter(name: str) -> str:
    return f"Could not find value for parameter {{{name}}}"


def wrong_type(value: object, name: str, kind: str) -> str:
    return f"Invalid value {{{value}}} to match with parameter {{{name}}}. Should be value of type {kind}."
