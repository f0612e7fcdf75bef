"""Deleting a poll with what it is attached to: a chat poll goes with its message, a feed poll with its post.

The vote module's index page (../shared/reference/bitrix24-docs-en/vote/index.md, "How to Delete a Poll"): the
poll and its results go with the message (``im.message.delete``) or the post that holds it. Everything is
removed in the caller's transaction; the live event tells open results pages the poll is gone.
"""

from __future__ import annotations

from sqlalchemy import Connection

from b24vote.domain.polls import IM_ENTITY_TYPE, Attach
from b24vote.live import LiveEvent
from b24vote.storage import polls

__all__ = ["DELETED", "delete_attached", "delete_polls_of_message"]

# The live event of a deleted poll; results pages answer it with their ``gone`` event.
DELETED = "delete"


def delete_attached(conn: Connection, attach: Attach) -> LiveEvent:
    """Remove the attach's poll, its ballots and counters; returns the event to publish after the commit."""
    polls.delete_poll(conn, attach.vote_id)
    return LiveEvent(DELETED, attach.vote_id, attach.id, {"voteId": attach.vote_id, "entityId": attach.entity_id})


def delete_polls_of_message(conn: Connection, message_id: int) -> list[LiveEvent]:
    """Remove every poll attached to a chat message (there is one, unless the data was written by hand)."""
    events = []
    while (attach := polls.find_attach_by_entity(conn, "im", IM_ENTITY_TYPE, message_id)) is not None:
        events.append(delete_attached(conn, attach))
    return events
