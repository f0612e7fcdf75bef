"""What the portal holds that a test needs to know: users, chats, webhook URLs, OAuth apps and seeded polls."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

__all__ = ["OAuthApp", "SeedDocument", "SeededPoll", "World", "document_body"]

# A seed document: a mapping (sent as JSON), or the path of a JSON or YAML file.
SeedDocument = Mapping[str, Any] | str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class SeededPoll:
    """A chat poll the seed made: the ids a first ``get`` and ``vote`` need (``vote_id`` unknown for the demo's)."""

    attach_id: int
    message_id: int
    question_id: int
    answer_ids: tuple[int, ...]
    vote_id: int | None = None


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """A registered OAuth application and its credentials."""

    name: str
    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class World:
    """The known contents of the portal; ``webhooks`` maps a user id to the URL of a webhook acting as them."""

    users: tuple[int, ...] = ()
    chats: tuple[int, ...] = ()
    webhooks: Mapping[int, str] = field(default_factory=dict)
    apps: tuple[OAuthApp, ...] = ()
    polls: tuple[SeededPoll, ...] = ()

    @classmethod
    def from_demo(cls, answer: dict[str, Any]) -> World:
        """The demo portal, from the answer of ``POST /_b24vote/reset {"seed": "demo"}``."""
        users = tuple(answer["user_ids"])
        poll = answer.get("poll")
        polls = () if poll is None else (_poll(poll),)
        return cls(users, (answer["chat_id"],), {users[0]: answer["webhook_url"]}, (), polls)

    @classmethod
    def from_seed(cls, answer: dict[str, Any]) -> World:
        """What a seed made, from the answer of ``POST /_b24vote/seed`` (a user's first webhook is theirs)."""
        hooks: dict[int, str] = {}
        for hook in answer["webhooks"]:
            hooks.setdefault(hook["user"], hook["url"])
        apps = tuple(OAuthApp(a["name"], a["client_id"], a["client_secret"]) for a in answer["apps"])
        polls = tuple(_poll(p) for p in answer["polls"])
        return cls(tuple(answer["users"]), tuple(answer["chats"]), hooks, apps, polls)

    def plus(self, more: World) -> World:
        """This world with what ``more`` added (webhooks already known stay)."""
        return replace(
            self,
            users=self.users + more.users,
            chats=self.chats + more.chats,
            webhooks={**more.webhooks, **self.webhooks},
            apps=self.apps + more.apps,
            polls=self.polls + more.polls,
        )


def _poll(raw: dict[str, Any]) -> SeededPoll:
    answers = tuple(raw["answer_ids"])
    return SeededPoll(raw["attach_id"], raw["message_id"], raw["question_id"], answers, raw.get("vote_id"))


def document_body(document: SeedDocument) -> tuple[bytes, str]:
    """The body and content type that send ``document`` to ``POST /_b24vote/seed``."""
    if isinstance(document, Mapping):
        # Integer keys as in YAML (ballots: {2: [0]}) become JSON strings, which the seed reads as ids.
        return orjson.dumps(dict(document), option=orjson.OPT_NON_STR_KEYS), "application/json"
    path = Path(document)
    kind = "application/json" if path.suffix.lower() == ".json" else "application/yaml"
    return path.read_bytes(), kind
