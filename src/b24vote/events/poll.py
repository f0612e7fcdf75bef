"""The b24vote extension (``B24VOTE_POLL_EVENTS``): poll changes as events, read off a call's live events.

No portal sends these; their names start with ``B24VOTE.`` so nobody takes them for one (docs/events.md). An
anonymous poll's vote and recall name no user and carry no tokens, so a handler learns no more than the
results page shows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from b24vote.events.queue import Cause, queue_event
from b24vote.live import LiveEvent

__all__ = ["queue_poll_events"]

# method → (event, the live event that says the call changed something)
_BY_METHOD = {
    "vote.AttachedVote.vote": ("B24VOTE.POLL.VOTE", "user_vote"),
    "vote.AttachedVote.recall": ("B24VOTE.POLL.RECALL", "voting"),
    "vote.AttachedVote.stop": ("B24VOTE.POLL.STOP", "stop"),
    "vote.AttachedVote.resume": ("B24VOTE.POLL.RESUME", "resume"),
    "im.message.delete": ("B24VOTE.POLL.DELETE", "delete"),  # the message held a poll (methods/vote_removal.py)
}


def _voter(live: list[LiveEvent], cause: Cause) -> int | None:
    """The voting user when the poll is public (the ``voting`` event names them), else nobody."""
    voting = next((e for e in live if e.name == "voting"), None)
    if voting is None:
        return cause.user_id
    author = voting.params.get("AUTHOR_ID")
    return int(author) if author else None


def queue_poll_events(conn: Connection, cause: Cause, method: str, live: list[LiveEvent]) -> int:
    """Queue the poll event of one call, if it changed a poll; returns how many deliveries were queued."""
    found = _BY_METHOD.get(method)
    if found is None:
        return 0
    event, witness = found
    change = next((e for e in live if e.name == witness), None)
    if change is None:
        return 0
    user = _voter(live, cause) if witness in ("user_vote", "voting") else cause.user_id
    data: dict[str, Any] = {
        "VOTE_ID": str(change.vote_id),
        "ATTACH_ID": str(change.attach_id),
        "ENTITY_ID": str(change.params.get("entityId", "")),
    }
    if user is not None:
        data["USER_ID"] = str(user)
    return queue_event(conn, replace(cause, user_id=user), event, {"FIELDS": data})
