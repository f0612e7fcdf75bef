"""The seed document (JSON or YAML): parsed into plain specs, every problem named by its path.

See docs/testing-with-b24vote.md for the format and examples/seed.yaml for an example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

from b24vote.config import LANGUAGES
from b24vote.domain.people import parse_scopes
from b24vote.domain.poll_data import MAX_CHAT_ANSWERS, MIN_CHAT_ANSWERS
from b24vote.domain.polls import ALLOW_REVOTE, HIDE_RESULT, Anonymity

__all__ = [
    "AppSpec",
    "ChatSpec",
    "OutgoingSpec",
    "PollSpec",
    "SeedDoc",
    "SeedError",
    "UserSpec",
    "WebhookSpec",
    "load",
    "parse",
]

SECTIONS = ("language", "users", "chats", "webhooks", "outgoing", "apps", "polls")
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
_OPTION_NAMES = {"revote": ALLOW_REVOTE, "hide_result": HIDE_RESULT}
_ANONYMITY = {"public": Anonymity.PUBLICLY, "anonymous": Anonymity.ANONYMOUSLY}


class SeedError(ValueError):
    """The seed document is wrong; the message starts with the path of the bad value."""


@dataclass(frozen=True, slots=True)
class UserSpec:
    id: int | None
    name: str
    last_name: str = ""
    second_name: str = ""
    email: str = ""
    position: str = ""
    admin: bool = False
    password: str | None = None


@dataclass(frozen=True, slots=True)
class ChatSpec:
    id: int | None
    title: str
    owner: int
    members: tuple[int, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    user: int
    scopes: frozenset[str]
    code: str | None = None
    title: str = ""


@dataclass(frozen=True, slots=True)
class OutgoingSpec:
    """An outgoing webhook: ``event`` sent to ``url``, set up by ``user``."""

    user: int
    url: str
    event: str


@dataclass(frozen=True, slots=True)
class AppSpec:
    name: str
    scopes: frozenset[str]
    redirect_uri: str = ""
    install_handler: str = ""


@dataclass(frozen=True, slots=True)
class PollSpec:
    chat: int
    author: int
    question: str
    answers: tuple[str, ...]
    anonymity: int = Anonymity.PUBLICLY
    options: int = 0
    multiple: bool = False
    ballots: dict[int, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SeedDoc:
    users: list[UserSpec] = field(default_factory=list)
    chats: list[ChatSpec] = field(default_factory=list)
    webhooks: list[WebhookSpec] = field(default_factory=list)
    outgoing: list[OutgoingSpec] = field(default_factory=list)
    apps: list[AppSpec] = field(default_factory=list)
    polls: list[PollSpec] = field(default_factory=list)
    language: str | None = None  # the portal's language (B24VOTE_LANGUAGE for this portal), kept in b24_settings


def load(raw: bytes | str, *, yaml_ok: bool = True) -> SeedDoc:
    """Parse JSON (or, with ``yaml_ok``, YAML) text and validate it."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        data = orjson.loads(text) if text.lstrip()[:1] in ("{", "[") or not yaml_ok else yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise SeedError(f"the document is neither valid JSON nor YAML: {exc}") from exc
    return parse(data if data is not None else {})


def parse(data: Any) -> SeedDoc:
    if not isinstance(data, dict):
        raise SeedError("the document must be a mapping of sections: " + ", ".join(SECTIONS))
    unknown = [str(k) for k in data if k not in SECTIONS]
    if unknown:
        raise SeedError(f"{unknown[0]}: unknown section (expected {', '.join(SECTIONS)})")
    return SeedDoc(
        language=_language(data.get("language")),
        users=[_user(_obj(r, p), p) for p, r in _items(data, "users")],
        chats=[_chat(_obj(r, p), p) for p, r in _items(data, "chats")],
        webhooks=[_webhook(_obj(r, p), p) for p, r in _items(data, "webhooks")],
        outgoing=[_outgoing(_obj(r, p), p) for p, r in _items(data, "outgoing")],
        apps=[_app(_obj(r, p), p) for p, r in _items(data, "apps")],
        polls=[_poll(_obj(r, p), p) for p, r in _items(data, "polls")],
    )


def _language(value: Any) -> str | None:
    if value is None:
        return None
    found = str(value).strip().lower() if isinstance(value, str) else ""
    if found not in LANGUAGES:
        raise SeedError(f"language: {value!r} is not one of {', '.join(LANGUAGES)}")
    return found


def _items(data: dict[str, Any], section: str) -> list[tuple[str, Any]]:
    value = data.get(section)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SeedError(f"{section}: must be a list")
    return [(f"{section}[{i}]", item) for i, item in enumerate(value)]


def _obj(raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SeedError(f"{path}: must be a mapping")
    return raw


def _check_keys(raw: dict[str, Any], path: str, allowed: set[str]) -> None:
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise SeedError(f"{path}.{unknown[0]}: unknown field (expected {', '.join(sorted(allowed))})")


def _text(raw: dict[str, Any], key: str, path: str, *, required: bool = False, default: str = "") -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise SeedError(f"{path}.{key}: required")
        return default
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise SeedError(f"{path}.{key}: must be text")
    text = str(value).strip()
    if required and not text:
        raise SeedError(f"{path}.{key}: must not be empty")
    return text


def _id(value: Any, path: str) -> int:
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise SeedError(f"{path}: must be a positive integer id")
    return value


def _optional_id(raw: dict[str, Any], key: str, path: str) -> int | None:
    return None if raw.get(key) is None else _id(raw[key], f"{path}.{key}")


def _flag(raw: dict[str, Any], key: str, path: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise SeedError(f"{path}.{key}: must be true or false")
    return value


def _scopes(raw: dict[str, Any], path: str) -> frozenset[str]:
    value = raw.get("scopes", "vote,im,user")
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise SeedError(f"{path}.scopes: must be a list of scopes or a comma-separated string")
    try:
        return parse_scopes(value)
    except ValueError as exc:
        raise SeedError(f"{path}.scopes: {exc}") from exc


def _user(raw: dict[str, Any], path: str) -> UserSpec:
    _check_keys(raw, path, {"id", "name", "last_name", "second_name", "email", "position", "admin", "password"})
    password = raw.get("password")
    if password is not None and (not isinstance(password, str) or not password):
        raise SeedError(f"{path}.password: must be non-empty text")
    return UserSpec(
        id=_optional_id(raw, "id", path),
        name=_text(raw, "name", path, required=True),
        last_name=_text(raw, "last_name", path),
        second_name=_text(raw, "second_name", path),
        email=_text(raw, "email", path),
        position=_text(raw, "position", path),
        admin=_flag(raw, "admin", path),
        password=password,
    )


def _chat(raw: dict[str, Any], path: str) -> ChatSpec:
    _check_keys(raw, path, {"id", "title", "owner", "members", "description"})
    if raw.get("owner") is None:
        raise SeedError(f"{path}.owner: required")
    members = raw.get("members", [])
    if not isinstance(members, list):
        raise SeedError(f"{path}.members: must be a list of user ids")
    return ChatSpec(
        id=_optional_id(raw, "id", path),
        title=_text(raw, "title", path, required=True),
        owner=_id(raw["owner"], f"{path}.owner"),
        members=tuple(_id(m, f"{path}.members[{i}]") for i, m in enumerate(members)),
        description=_text(raw, "description", path),
    )


def _webhook(raw: dict[str, Any], path: str) -> WebhookSpec:
    _check_keys(raw, path, {"user", "scopes", "code", "title"})
    if raw.get("user") is None:
        raise SeedError(f"{path}.user: required")
    code = raw.get("code")
    if code is not None and (not isinstance(code, str) or not CODE_PATTERN.fullmatch(code)):
        raise SeedError(f"{path}.code: must be 8 to 64 characters of A-Z, a-z, 0-9, '_' and '-'")
    return WebhookSpec(_id(raw["user"], f"{path}.user"), _scopes(raw, path), code, _text(raw, "title", path))


def _outgoing(raw: dict[str, Any], path: str) -> OutgoingSpec:
    _check_keys(raw, path, {"user", "url", "event"})
    if raw.get("user") is None:
        raise SeedError(f"{path}.user: required")
    url, event = _text(raw, "url", path, required=True), _text(raw, "event", path, required=True)
    return OutgoingSpec(_id(raw["user"], f"{path}.user"), url, event)


def _app(raw: dict[str, Any], path: str) -> AppSpec:
    _check_keys(raw, path, {"name", "scopes", "redirect_uri", "install_handler"})
    urls = [_text(raw, key, path) for key in ("redirect_uri", "install_handler")]
    for key, url in zip(("redirect_uri", "install_handler"), urls, strict=True):
        if url and not url.startswith(("http://", "https://")):
            raise SeedError(f"{path}.{key}: must be an http:// or https:// URL")
    return AppSpec(_text(raw, "name", path, required=True), _scopes(raw, path), *urls)


def _poll(raw: dict[str, Any], path: str) -> PollSpec:
    _check_keys(raw, path, {"chat", "author", "question", "answers", "anonymity", "options", "multiple", "ballots"})
    for key in ("chat", "author"):
        if raw.get(key) is None:
            raise SeedError(f"{path}.{key}: required")
    answers = raw.get("answers")
    if not isinstance(answers, list) or not MIN_CHAT_ANSWERS <= len(answers) <= MAX_CHAT_ANSWERS:
        raise SeedError(f"{path}.answers: must be a list of {MIN_CHAT_ANSWERS} to {MAX_CHAT_ANSWERS} answers")
    texts = tuple(_text({"a": a}, "a", f"{path}.answers[{i}]", required=True) for i, a in enumerate(answers))
    return PollSpec(
        chat=_id(raw["chat"], f"{path}.chat"),
        author=_id(raw["author"], f"{path}.author"),
        question=_text(raw, "question", path, required=True),
        answers=texts,
        anonymity=_anonymity(raw.get("anonymity", "public"), f"{path}.anonymity"),
        options=_options(raw.get("options", []), f"{path}.options"),
        multiple=_flag(raw, "multiple", path),
        ballots=_ballots(raw.get("ballots", {}), f"{path}.ballots", len(texts)),
    )


def _anonymity(value: Any, path: str) -> int:
    if isinstance(value, str) and value.lower() in _ANONYMITY:
        return int(_ANONYMITY[value.lower()])
    if value in (1, 2) and not isinstance(value, bool):
        return int(value)
    raise SeedError(f"{path}: must be public or anonymous")


def _options(value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
        return value
    if isinstance(value, list) and all(isinstance(v, str) and v in _OPTION_NAMES for v in value):
        bits = 0
        for name in value:
            bits |= _OPTION_NAMES[name]
        return bits
    raise SeedError(f"{path}: must be a list of {', '.join(_OPTION_NAMES)} (or a bit mask 0-3)")


def _ballots(value: Any, path: str, answers: int) -> dict[int, tuple[int, ...]]:
    if not isinstance(value, dict):
        raise SeedError(f"{path}: must map user ids to lists of answer indexes (0-based)")
    found: dict[int, tuple[int, ...]] = {}
    for key, chosen in value.items():
        where = f"{path}.{key}"
        user = _id(key, where)
        picks = chosen if isinstance(chosen, list) else [chosen]
        if not picks:
            raise SeedError(f"{where}: choose at least one answer")
        for i, pick in enumerate(picks):
            if not isinstance(pick, int) or isinstance(pick, bool) or not 0 <= pick < answers:
                raise SeedError(f"{where}[{i}]: no answer {pick!r} (indexes run from 0 to {answers - 1})")
        found[user] = tuple(dict.fromkeys(picks))
    return found
