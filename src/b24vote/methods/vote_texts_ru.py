"""The vote module's texts on a Russian-language portal (``B24VOTE_LANGUAGE=ru``).

Quoted: VOTE_IS_NOT_ACTIVE (../shared/reference/bitrix24-docs/vote/vote.attachedvote.vote.md) and the Im.send
errors (../shared/reference/bitrix24-docs/vote/vote.integration.im.send.md, "Возможные коды ошибок"). The rest is
b24vote's own wording, listed in docs/compatibility.md.
"""

from __future__ import annotations

from b24vote.methods.vote_texts import VoteTexts

__all__ = ["TEXTS"]

TEXTS = VoteTexts(
    poll_inactive="Опрос неактивен.",
    stop_message=(
        "[USER={user_id}]{user_name}[/USER] завершил(а) опрос [CONTEXT=chat{chat_id}/{message_id}]{question}[/CONTEXT]"
    ),
    export_date="Дата",
    export_name="Пользователь",
    anonymously="Анонимно",
    guest="Гость",
    poll_data={
        "VOTE_ANSWERS_EMPTY": "Не указаны варианты ответа на вопрос «{detail}»",
        "VOTE_QUESTION_EMPTY": "Не указан текст вопроса",
        "VOTE_INTEGRATION_IM_QUESTIONS_EMPTY": "Введите вопрос и варианты ответов",
        "VOTE_INTEGRATION_IM_TO_MANY_QUESTIONS": "Максимальное количество вопросов: 1",
        "VOTE_INTEGRATION_IM_MIN_ANSWERS": "Минимальное количество ответов: 2",
        "VOTE_INTEGRATION_IM_TO_MANY_ANSWERS": "Максимальное количество ответов: 10",
        "VOTE_INTEGRATION_IM_MESSAGE_FAILED": "Недостаточно прав для создания опроса",
    },
)
