"""The results page's texts, one catalogue per portal language (``Settings.language``: ``en`` or ``ru``).

Every string a person sees or hears on ``/vote-result/{code}`` comes from here: headings, labels, counts with
their plural forms, dates, the live status line that results.js writes (handed to it in data attributes) and
the error pages. Bitrix24 documents no wording for this page, so the texts are b24vote's own; they are listed
in docs/results-page.md. Russian counts follow the three plural forms (1 голос, 2 голоса, 5 голосов).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

__all__ = ["CATALOGUES", "EN", "RU", "PageTexts", "page_texts"]


def _english_form(count: int) -> int:
    return 0 if count == 1 else 1


def _russian_form(count: int) -> int:
    """0: 1, 21, 101 (голос); 1: 2–4, 22–24 (голоса); 2: 0, 5–20, 25… (голосов)."""
    ones, tens = count % 10, count % 100
    if ones == 1 and tens != 11:
        return 0
    if 2 <= ones <= 4 and not 12 <= tens <= 14:
        return 1
    return 2


@dataclass(frozen=True, slots=True)
class PageTexts:
    """The page in one language. ``{…}`` fields are filled by :meth:`str.format`."""

    lang: str  # <html lang>
    plural_form: Callable[[int], int]  # the index into a tuple of forms for a count
    votes: tuple[str, ...]
    voters: tuple[str, ...]
    months: tuple[str, ...]  # January … December, as a date writes them
    decimal_mark: str
    title: str  # "{title} · results"
    eyebrow: str
    several_questions: str  # the heading of a poll with more than one question
    about: str  # aria-label of the facts list
    states: Mapping[str, str]  # open / stopped / closed
    closes: str
    ended: str
    anonymous: str
    answers: str  # the hidden heading of a single question's answers
    several_answers: str
    leading: str
    mine: str  # the viewer's own choice
    viewer_voted: str
    viewer_not_voted: str
    viewer_private: str  # on an anonymous poll: the link shows the viewer's choice to whoever holds it
    who_voted: str
    voted_for: str  # aria-label of an answer's voter list: "{answer}"
    voter_pages: str  # aria-label of its pager: "{answer}"
    previous: str  # "{count}"
    next: str
    voter_range: str  # "{first}", "{last}", "{total}"
    unnamed: str  # a user without a name: "{id}"
    downloads: str
    live_on: str
    live_gone: str
    live_stopped: str
    live_retrying: str
    not_found: str
    not_found_message: str
    bad_viewer: str
    bad_viewer_message: str
    failed: str
    failed_message: str

    def count(self, count: int, forms: tuple[str, ...]) -> str:
        """``3 votes``, ``3 голоса``."""
        return f"{count} {forms[self.plural_form(count)]}"

    def number(self, value: int | float) -> str:
        """A number as the language writes it: ``66.67`` or ``66,67``."""
        return str(value).replace(".", self.decimal_mark)

    def moment(self, moment: datetime) -> str:
        """``25 Nov 2026, 12:00 UTC+03:00`` in the portal's offset (the datetime arrives already shifted)."""
        offset = moment.strftime("%z")
        zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
        return f"{moment.day} {self.months[moment.month - 1]} {moment.year}, {moment:%H:%M} {zone}"

    def script_texts(self) -> dict[str, str]:
        """What results.js writes itself, as ``data-text-*`` attributes of the page's ``<main>``."""
        return {
            "live-on": self.live_on,
            "live-gone": self.live_gone,
            "live-stopped": self.live_stopped,
            "live-retrying": self.live_retrying,
            "range": self.voter_range,
        }


EN = PageTexts(
    lang="en",
    plural_form=_english_form,
    votes=("vote", "votes"),
    voters=("voter", "voters"),
    months=("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    decimal_mark=".",
    title="{title} · results",
    eyebrow="Poll results",
    several_questions="Poll results",
    about="About this poll",
    states=MappingProxyType({"open": "Open", "stopped": "Stopped", "closed": "Closed"}),
    closes="closes {when}",
    ended="ended {when}",
    anonymous="This poll is anonymous: who voted for what is not shown.",
    answers="Answers",
    several_answers="Several answers could be chosen, so the percentages may add up to more than 100 %.",
    leading="Leading",
    mine="Your choice",
    viewer_voted="This is your personal link: your choice is marked “Your choice”.",
    viewer_not_voted="This is your personal link: you have not voted in this poll.",
    viewer_private="Anyone who opens this link sees your choice, so keep it to yourself.",
    who_voted="Who voted",
    voted_for="Voted for “{answer}”",
    voter_pages="Pages of voters for “{answer}”",
    previous="Previous {count}",
    next="Next {count}",
    voter_range="{first}–{last} of {total}",
    unnamed="User {id}",
    downloads="Download the report",
    live_on="Live: results update as people vote.",
    live_gone="This poll is no longer available.",
    live_stopped="Live updates stopped. Reload the page to see new votes.",
    live_retrying="Reconnecting…",
    not_found="Poll not found",
    not_found_message=(
        "This results link is not valid, or the poll no longer exists. Ask whoever shared it for a new link."
    ),
    bad_viewer="Personal link not valid",
    bad_viewer_message=(
        "This personal results link is damaged or was not made for this poll. Ask whoever gave it to you for a new one."
    ),
    failed="Something went wrong",
    failed_message="The results could not be shown. Try again.",
)

RU = PageTexts(
    lang="ru",
    plural_form=_russian_form,
    votes=("голос", "голоса", "голосов"),
    voters=("участник", "участника", "участников"),
    months=(
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ),
    decimal_mark=",",
    title="{title} · результаты",
    eyebrow="Результаты опроса",
    several_questions="Результаты опроса",
    about="Об опросе",
    states=MappingProxyType({"open": "Идёт", "stopped": "Завершён", "closed": "Закрыт"}),
    closes="завершится {when}",
    ended="завершён {when}",
    anonymous="Опрос анонимный: кто за что голосовал, не показывается.",
    answers="Ответы",
    several_answers="Можно было выбрать несколько ответов, поэтому сумма процентов может быть больше 100 %.",
    leading="Лидирует",
    mine="Ваш выбор",
    viewer_voted="Это ваша личная ссылка: ваш ответ отмечен «Ваш выбор».",
    viewer_not_voted="Это ваша личная ссылка: вы не голосовали в этом опросе.",
    viewer_private="Ваш выбор увидит любой, кто откроет эту ссылку, поэтому не пересылайте её.",
    who_voted="Кто голосовал",
    voted_for="Проголосовали за «{answer}»",
    voter_pages="Страницы проголосовавших за «{answer}»",
    previous="Предыдущие {count}",
    next="Следующие {count}",
    voter_range="{first}–{last} из {total}",
    unnamed="Пользователь {id}",
    downloads="Скачать отчёт",
    live_on="Результаты обновляются по мере голосования.",
    live_gone="Этот опрос больше недоступен.",
    live_stopped="Обновление остановлено. Обновите страницу, чтобы увидеть новые голоса.",
    live_retrying="Переподключение…",
    not_found="Опрос не найден",
    not_found_message=(
        "Ссылка на результаты неверна, или опроса больше нет. Попросите того, кто поделился ссылкой, прислать новую."
    ),
    bad_viewer="Личная ссылка недействительна",
    bad_viewer_message=(
        "Эта личная ссылка на результаты повреждена или сделана для другого опроса. Попросите того, кто её дал,"
        " прислать новую."
    ),
    failed="Что-то пошло не так",
    failed_message="Не удалось показать результаты. Попробуйте ещё раз.",
)

CATALOGUES: Mapping[str, PageTexts] = MappingProxyType({"en": EN, "ru": RU})


def page_texts(language: str) -> PageTexts:
    """The catalogue of a language ``Settings.language`` accepts."""
    return CATALOGUES[language]
