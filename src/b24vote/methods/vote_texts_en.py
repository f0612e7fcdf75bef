"""The vote module's texts on an English-language portal (``B24VOTE_LANGUAGE=en``).

Quoted: VOTE_IS_NOT_ACTIVE (../shared/reference/bitrix24-docs-en/vote/vote.attachedvote.vote.md) and the
Im.send errors (../shared/reference/bitrix24-docs-en/vote/vote.integration.im.send.md, "Possible Error
Codes"). The rest is b24vote's own wording, listed in docs/compatibility.md.
"""

from __future__ import annotations

from b24vote.methods.vote_texts import VoteTexts

__all__ = ["TEXTS"]

TEXTS = VoteTexts(
    poll_inactive="The poll is inactive.",
    stop_message=(
        "[USER={user_id}]{user_name}[/USER] stopped the poll [CONTEXT=chat{chat_id}/{message_id}]{question}[/CONTEXT]"
    ),
    export_date="Date",
    export_name="User",
    anonymously="Anonymous",
    guest="Guest",
    poll_data={
        "VOTE_ANSWERS_EMPTY": "No answer options given for the question “{detail}”",
        "VOTE_QUESTION_EMPTY": "The question text is not given",
        "VOTE_INTEGRATION_IM_QUESTIONS_EMPTY": "Please enter a question and answer options",
        "VOTE_INTEGRATION_IM_TO_MANY_QUESTIONS": "Maximum number of questions: 1",
        "VOTE_INTEGRATION_IM_MIN_ANSWERS": "Minimum number of answers: 2",
        "VOTE_INTEGRATION_IM_TO_MANY_ANSWERS": "Maximum number of answers: 10",
        "VOTE_INTEGRATION_IM_MESSAGE_FAILED": "Insufficient rights to create a survey",
    },
)
