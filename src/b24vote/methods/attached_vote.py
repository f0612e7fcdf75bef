"""vote.AttachedVote.*: read, vote, recall, stop, resume and download attached polls.

Behaviour follows the real server (../shared/reference/notes/vote-semantics.md §4); where it differs from the
doc pages, docs/compatibility.md says how.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from b24vote.domain.people import User
from b24vote.domain.polls import (
    Anonymity,
    AttachedPoll,
    UserBallot,
    is_open,
    listed_voters,
    missing_required,
    normalise_ballot,
    resume_end,
)
from b24vote.errors import MethodError
from b24vote.live import LiveEvent
from b24vote.methods import vote_texts as texts
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext, Page, registry
from b24vote.methods.vote_access import can_edit, can_read, int_value, require_payload, resolve_readable
from b24vote.methods.vote_format import (
    Touched,
    answer_map,
    format_attach,
    mobile_voter_dto,
    voter_dto,
    voting_questions,
)
from b24vote.methods.vote_language import texts_of
from b24vote.storage import ballots, people, polls, reads

__all__: list[str] = []

GET_MANY_LIMIT = 50
PAGE_SIZE = 50  # REST pages getAnswerVoted by the standard `start` parameter, 50 at a time


def _emit(
    ctx: CallContext, target: AttachedPoll, name: str, params: dict[str, Any], to_user: int | None = None
) -> None:
    ctx.emit(LiveEvent(name, target.poll.id, target.attach.id, params, to_user))


def _voting_event(ctx: CallContext, target: AttachedPoll, ballot: UserBallot | None, voter: User | None) -> None:
    """The ``voting`` event; only public polls name the voter (no actionUuid in it, as on the real server).

    ``voter``: the calling user, read by the caller before the counters changed (None for other polls).
    """
    poll = target.poll
    public = poll.anonymity == Anonymity.PUBLICLY
    params: dict[str, Any] = {
        "VOTE_ID": poll.id,
        "AUTHOR_ID": ctx.caller.user_id if public else None,
        "COUNTER": poll.counter,
        "QUESTIONS": voting_questions(poll),
        "entityId": target.attach.entity_id,
    }
    if voter is not None:
        params["userAnswerMap"] = answer_map(ballot)
        params["user"] = voter_dto(voter)
    _emit(ctx, target, "voting", params)


def _voter(ctx: CallContext, target: AttachedPoll) -> User | None:
    """The caller as the ``voting`` event of a public poll names them (as authentication read them, in this call
    or, on SQLite's read model, since the last commit anywhere)."""
    if target.poll.anonymity != Anonymity.PUBLICLY:
        return None
    known = ctx.caller.user
    if known is not None and known.id == ctx.caller.user_id:
        return known
    return people.get_user(ctx.conn, ctx.caller.user_id)


@registry.add("vote.AttachedVote.get", scope="vote", ahead="poll+ballot")
def get(ctx: CallContext, params: Params) -> dict[str, Any]:
    target = resolve_readable(ctx, params, signed_grants_read=True)
    return {"attach": format_attach(ctx, target, ballot=_caller_ballot(ctx, target))}


def _caller_ballot(ctx: CallContext, target: AttachedPoll) -> UserBallot | None:
    """The calling user's ballot on the target's poll."""
    return ballots.ballot_of(ctx.conn, target.poll.id, ctx.caller.user_id)


def _entity_ids(params: Params) -> list[int]:
    raw = params.raw("entityIds")
    if raw is None:
        raise MethodError(100, texts.missing_parameter("entityIds"))
    if not isinstance(raw, (list, dict)):
        raise MethodError(100, texts.wrong_type(raw, "entityIds", "array"))
    values = raw.values() if isinstance(raw, dict) else raw
    # Each id is cast to int and the falsy ones are dropped (PHP array_filter).
    return [n for n in (int_value(v) or 0 for v in values) if n]


@registry.add("vote.AttachedVote.getMany", scope="vote")
def get_many(ctx: CallContext, params: Params) -> dict[str, Any] | list[Any]:
    for name in ("moduleId", "entityType"):
        if params.raw(name) is None:
            raise MethodError(100, texts.missing_parameter(name))
    module, entity_type = params.string("moduleId"), params.string("entityType")
    ids = _entity_ids(params)
    if len(ids) > GET_MANY_LIMIT:
        return []  # the real controller records "To many entity ids" and answers an empty success
    loaded = reads.load_by_entities(ctx.conn, module, entity_type, ids, ctx.caller.user_id)
    targets = []
    for entity_id in ids:
        target = loaded.get(entity_id)
        if target is None:
            return []  # "Attach with entityId <id> not found " — also an empty success on the wire
        if not can_read(ctx, target):
            return []  # "Attach with entityId <id> read access denied"
        targets.append(target)
    found = ballots.ballots_of(ctx.conn, sorted({t.poll.id for t in targets}), ctx.caller.user_id)
    return {"items": [format_attach(ctx, t, ballot=found.get(t.poll.id)) for t in targets]}


def _voter_shape(params: Params) -> Callable[[User], dict[str, Any]]:
    """How voters are listed: the web's four fields, or the mobile app's user with ``userForMobileFormat``."""
    return mobile_voter_dto if params.boolean("userForMobileFormat") else voter_dto


@registry.add("vote.AttachedVote.getWithVoted", scope="vote")
def get_with_voted(ctx: CallContext, params: Params) -> dict[str, Any]:
    target = resolve_readable(ctx, params, signed_grants_read=True)
    page_size = min(max(params.integer("pageSize", 10), 1), 50)
    shape = _voter_shape(params)
    voted: dict[str, list[dict[str, Any]]] = {}
    for question in target.poll.questions:
        for answer in question.answers:
            if answer.counter <= 0:
                continue
            ids = ballots.voters_of_answer(ctx.conn, answer.id, offset=0, limit=page_size)
            users = people.get_users_by_ids(ctx.conn, ids)
            listed = [shape(users[uid]) for uid in ids if uid in users]
            if listed:
                voted[str(answer.id)] = listed
    return {"attach": format_attach(ctx, target, ballot=_caller_ballot(ctx, target)), "voted": voted or []}


@registry.add("vote.AttachedVote.getAnswerVoted", scope="vote")
def get_answer_voted(ctx: CallContext, params: Params) -> Page:
    require_payload(params)
    if params.raw("answerId") is None:
        raise MethodError(100, texts.missing_parameter("answerId"))
    answer_id = int_value(params.raw("answerId"))
    if answer_id is None:
        raise MethodError(100, texts.wrong_type(params.raw("answerId"), "answerId", "int"))
    target = resolve_readable(ctx, params, signed_grants_read=True)
    if answer_id not in target.poll.answer_ids():
        raise MethodError(403, texts.ACCESS_DENIED_EXCEPTION)
    offset = max(params.integer("start"), 0) // PAGE_SIZE * PAGE_SIZE
    answer = next(a for q in target.poll.questions for a in q.answers if a.id == answer_id)
    total = listed_voters(target.poll, answer)  # the materialised counter, never a COUNT over the ballots
    ids = ballots.voters_of_answer(ctx.conn, answer_id, offset=offset, limit=PAGE_SIZE, total=total)
    users = people.get_users_by_ids(ctx.conn, ids)
    shape = _voter_shape(params)
    items = [shape(users[uid]) for uid in ids if uid in users]
    after = offset + len(ids)
    return Page({"items": items}, total=total, next=after if after < total else None)


def _action_uuid(params: Params) -> str:
    return params.string("actionUuid")[:1000] if params.raw("actionUuid") is not None else ""


def _ballot(params: Params) -> dict[str, Any]:
    raw = params.raw("ballot")
    if raw is None:
        raise MethodError(100, texts.missing_parameter("ballot"))
    if isinstance(raw, list):
        return {str(i): v for i, v in enumerate(raw)}
    if not isinstance(raw, dict):
        raise MethodError(100, texts.wrong_type(raw, "ballot", "array"))
    return {str(k): v for k, v in raw.items()}


@registry.add("vote.AttachedVote.vote", scope="vote", write=True, one_statement=True, ahead="poll")
def vote(ctx: CallContext, params: Params) -> dict[str, Any] | list[Any]:
    require_payload(params)
    raw_ballot = _ballot(params)
    target = resolve_readable(ctx, params, signed_grants_read=False)
    action_uuid = _action_uuid(params)
    poll, user_id = target.poll, ctx.caller.user_id
    if not is_open(poll, ctx.now):
        raise MethodError(403, texts_of(ctx).poll_inactive)
    chosen = normalise_ballot(poll, raw_ballot)
    if not chosen or missing_required(poll, chosen) is not None:
        return []  # USER_VOTE_EMPTY / VOTE_REQUIRED_MISSING: the real server answers an empty success
    # Every read first, the ballot and its counters last: on PostgreSQL the counter rows of the poll stay locked
    # from their update to the commit, and every other vote on the poll waits for them.
    voter = _voter(ctx, target)
    cast = polls.cast_ballot(ctx.conn, ctx.now, poll, user_id, chosen)
    if cast is None:
        return []  # VOTE_ERROR_BY_USER_ID (a ballot there, no re-vote): also an empty success
    ballot, removed, added = cast.ballot, cast.removed, cast.added
    target = replace(target, poll=cast.poll)
    touched = Touched(set(removed.questions | added.questions), set(removed.answers | added.answers))
    _voting_event(ctx, target, ballot, voter)
    _emit(
        ctx,
        target,
        "user_vote",
        {
            "VOTE_ID": poll.id,
            "AUTHOR_ID": user_id,
            "COUNTER": target.poll.counter,
            "QUESTIONS": voting_questions(target.poll),
            "userAnswerMap": answer_map(ballot),
            "entityId": target.attach.entity_id,
            "actionUuid": action_uuid,
        },
        to_user=user_id,
    )
    return {"attach": format_attach(ctx, target, touched=touched, ballot=ballot)}


@registry.add("vote.AttachedVote.recall", scope="vote", write=True)
def recall(ctx: CallContext, params: Params) -> dict[str, Any] | list[Any]:
    target = resolve_readable(ctx, params, signed_grants_read=False)
    # actionUuid is accepted but has nowhere to go: the `voting` event carries none.
    poll, user_id = target.poll, ctx.caller.user_id
    if not is_open(poll, ctx.now):
        return []  # "Access denied" (cannot participate): an empty success on the wire
    ballots.lock_voter(ctx.conn, poll.id, user_id)
    existing = ballots.ballot_of(ctx.conn, poll.id, user_id)
    if existing is not None and not poll.revote_allowed:
        return []  # VOTE_ERROR_BY_USER_ID
    voter = _voter(ctx, target)
    removed = ballots.remove_ballot(ctx.conn, poll.id, user_id) if existing is not None else ballots.BallotRows()
    if not removed.empty:
        target = replace(target, poll=polls.count(ctx.conn, poll, removed, ballots.BallotRows()))
    touched = Touched(set(removed.questions), set(removed.answers))
    _voting_event(ctx, target, None, voter)
    return {"attach": format_attach(ctx, target, touched=touched, ballot=None)}


def _editable(ctx: CallContext, params: Params) -> AttachedPoll:
    target = resolve_readable(ctx, params, signed_grants_read=False)
    if not can_edit(ctx, target):
        raise MethodError(403, texts.ACCESS_DENIED_EXCEPTION)
    return target


@registry.add("vote.AttachedVote.stop", scope="vote", write=True)
def stop(ctx: CallContext, params: Params) -> list[Any]:
    target = _editable(ctx, params)
    action_uuid = _action_uuid(params)
    polls.set_date_end(ctx.conn, target.poll.id, ctx.now)
    if target.message is not None and polls.mark_stop_handled(ctx.conn, target.poll.id):
        _post_stop_message(ctx, target)
    _emit(
        ctx, target, "stop", {"voteId": target.poll.id, "entityId": target.attach.entity_id, "actionUuid": action_uuid}
    )
    return []


def _post_stop_message(ctx: CallContext, target: AttachedPoll) -> None:
    message = target.message
    if message is None:  # pragma: no cover - stop() posts only for chat polls
        return
    author = people.get_user(ctx.conn, message.author_id)
    question = target.poll.questions[0].text if target.poll.questions else ""
    text = texts_of(ctx).stop_message.format(
        user_id=message.author_id,
        user_name=author.full_name if author else "",
        chat_id=message.chat_id,
        message_id=message.id,
        question=question,
    )
    people.add_message(
        ctx.conn, ctx.now, chat_id=message.chat_id, author_id=message.author_id, message=text, system=True
    )


@registry.add("vote.AttachedVote.resume", scope="vote", write=True)
def resume(ctx: CallContext, params: Params) -> list[Any]:
    target = _editable(ctx, params)
    action_uuid = _action_uuid(params)
    polls.set_date_end(ctx.conn, target.poll.id, resume_end(ctx.now, ctx.tz))
    _emit(
        ctx,
        target,
        "resume",
        {"voteId": target.poll.id, "entityId": target.attach.entity_id, "actionUuid": action_uuid},
    )
    return []
