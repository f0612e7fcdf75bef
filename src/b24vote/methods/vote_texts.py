"""Texts of the vote module's errors, as a Russian-language portal sends them.

Texts quoted in ../shared/reference/bitrix24-docs/vote/*.md are copied; for language keys whose text the
reference does not give, b24vote writes its own (listed in docs/compatibility.md).
"""

from __future__ import annotations

__all__ = ["IM_SEND", "NO_PAYLOAD", "POLL_INACTIVE", "missing_parameter", "wrong_type"]

NO_PAYLOAD = "Bitrix\\Vote\\Attach All parameters in the constructor must have real class type"
POLL_INACTIVE = "Опрос неактивен."
ACCESS_DENIED_EXCEPTION = "Access denied."
ATTACH_NOT_FOUND = "Attach not found"
READ_DENIED = "Attach read access denied"

IM_SEND = {
    "ACCESS_DENIED": "Access denied",
    "VOTE_ANSWERS_EMPTY": "Не указаны варианты ответа на вопрос «{detail}»",
    "VOTE_QUESTION_EMPTY": "Не указан текст вопроса",
    "VOTE_INTEGRATION_IM_QUESTIONS_EMPTY": "Введите вопрос и варианты ответов",
    "VOTE_INTEGRATION_IM_TO_MANY_QUESTIONS": "Максимальное количество вопросов: 1",
    "VOTE_INTEGRATION_IM_MIN_ANSWERS": "Минимальное количество ответов: 2",
    "VOTE_INTEGRATION_IM_TO_MANY_ANSWERS": "Максимальное количество ответов: 10",
    "VOTE_INTEGRATION_IM_SAVE_ERROR": "Не удалось сохранить данные опроса. Попробуйте ещё раз",
    "VOTE_INTEGRATION_IM_MESSAGE_FAILED": "Недостаточно прав для создания опроса",
}

# The chat is told once when a poll is stopped (VOTE_INTEGRATION_IM_EVENT_HANDLER_MESSAGE_STOP).
STOP_MESSAGE = (
    "[USER={user_id}]{user_name}[/USER] завершил(а) опрос [CONTEXT=chat{chat_id}/{message_id}]{question}[/CONTEXT]"
)

# Labels of the results report (V_EXPORT_DATE, V_EXPORT_NAME, VOTE_ANONYMOUSLY, VOTE_GUEST).
EXPORT_DATE = "Дата"
EXPORT_NAME = "Пользователь"
ANONYMOUSLY = "Анонимно"
GUEST = "Гость"


def missing_parameter(name: str) -> str:
    return f"Could not find value for parameter {{{name}}}"


def wrong_type(value: object, name: str, kind: str) -> str:
    return f"Invalid value {{{value}}} to match with parameter {{{name}}}. Should be value of type {kind}."
