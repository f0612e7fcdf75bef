"""What each REST method reads and answers, for the OpenAPI document (``b24vote.openapi``).

One :class:`MethodDoc` per registered method, keyed by its name: the parameters its handler reads (through
``Params``) and the JSON Schema of ``result``. The method modules stay as they are; a test holds this table
and the registry to the same set of names. Shapes follow docs/compatibility.md and the method specs in
../shared/reference/bitrix24-docs/method-specs/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from b24vote.methods.schema_parts import (
    BOOL,
    EMPTY_LIST,
    FLAG,
    INT,
    NULL,
    STR,
    TEXT,
    id_map,
    list_of,
    obj,
    or_empty,
    ref,
)

__all__ = ["DOCS", "FILE_TYPES", "MethodDoc", "Param"]

Schema = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: its name, JSON Schema and meaning; ``example`` feeds the docs and the fuzzer."""

    name: str
    schema: Schema
    description: str
    required: bool = False
    example: Any = None


@dataclass(frozen=True, slots=True)
class MethodDoc:
    """A method's summary, parameters and result; ``paged`` lifts total/next, ``file`` answers a download."""

    summary: str
    result: Schema
    params: tuple[Param, ...] = ()
    paged: bool = False
    file: bool = False
    # Sets of parameters one of which must be given whole (the ways of naming a poll); none: no such rule.
    alternatives: tuple[tuple[str, ...], ...] = ()


FILE_TYPES = (
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/csv",
)

_INTLIKE: Schema = {"type": ["integer", "string"], "description": "an integer, or a string of digits"}
# Any JSON value: what PHP reads leniently (the description says how).
_ANY: Schema = {"type": ["object", "array", "string", "number", "boolean", "null"]}
# A number read with PHP's (int): digits count, anything else (a map, a list, a word) is 0.
_NUMBERISH = _ANY


def _php_array(items: Schema) -> Schema:
    """A PHP array: a JSON list, or an object whose values are read in order (``{"0": 5}`` is ``[5]``)."""
    return {"anyOf": [list_of(items), {"type": "object", "additionalProperties": items}]}


_UNREAD = " (a string; not read at all when `attachId` is given, so then any value)"
_ADDRESS = (
    Param("attachId", _INTLIKE, "The attached poll's id; wins over the other ways of naming it", example=1),
    Param("moduleId", _ANY, "With entityType and entityId: `im` for chat polls, `blog` for feed polls" + _UNREAD),
    Param("entityType", _ANY, "`Bitrix\\Vote\\Attachment\\ImMessageConnector` for chat polls" + _UNREAD),
    Param("entityId", _ANY, "The chat message (or feed post) the poll is attached to" + _UNREAD),
    Param(
        "signedAttachId",
        _ANY,
        "`<attachId>.<signature>` or the 16-character code of `resultUrl`: grants reading" + _UNREAD,
    ),
)
# A poll is named by its id, its signed id, or the entity it is attached to (all three): one of them is required.
_NAMED = (("attachId",), ("signedAttachId",), ("moduleId", "entityType", "entityId"))
_ACTION = Param("actionUuid", _ANY, "A string echoed in live events (other values are ignored); never de-duplicates")
_MOBILE = Param(
    "userForMobileFormat",
    _ANY,
    "true: list voters as the mobile app's user objects (read as PHP reads a flag)",
    example=True,
)
_VOTERS: Schema = {"anyOf": [ref("Voter"), ref("MobileVoter")]}
_ATTACH_RESULT = obj({"attach": ref("Attach")})
_BALLOT: Schema = {
    "type": "object",
    "description": "question id → the chosen answer ids",
    "additionalProperties": {"anyOf": [list_of(_INTLIKE), _INTLIKE]},
}
_VOTE_DATA = obj(
    {
        "QUESTIONS": list_of(
            obj(
                {
                    "QUESTION": STR,
                    "FIELD_TYPE": {**_NUMBERISH, "description": "0 radio, 1 checkbox (PHP's (int))"},
                    "ANSWERS": list_of(obj({"MESSAGE": STR}, closed=False)),
                },
                optional=("FIELD_TYPE",),
                closed=False,
            )
        ),
        "ANONYMITY": {**_NUMBERISH, "description": "1 public (default), 2 anonymous (PHP's (int))"},
        "OPTIONS": {**_NUMBERISH, "description": "1 allows re-voting (PHP's (int))"},
    },
    optional=("ANONYMITY", "OPTIONS"),
    closed=False,
)
_CHAT_ID = Param("CHAT_ID", _INTLIKE, "The chat (names are case-insensitive in im.*)", required=True, example=1)
_BATCH_MAP = {"anyOf": [{"type": "object"}, list_of({})], "description": "by command key; a list for keys 0…n-1"}

DOCS: dict[str, MethodDoc] = {
    "server.time": MethodDoc("The server's time in the portal's offset", {"type": "string", "format": "date-time"}),
    "scope": MethodDoc(
        "The scopes of the credential (all known scopes with `full`)",
        list_of(STR),
        (Param("full", FLAG, "List every scope the portal knows"),),
    ),
    "methods": MethodDoc(
        "Method names the credential may call",
        list_of(STR),
        (Param("scope", TEXT, "Only the methods of this scope"), Param("full", FLAG, "Every method")),
    ),
    "method.get": MethodDoc(
        "Whether a method exists and the credential may call it",
        obj({"isExisting": BOOL, "isAvailable": BOOL}),
        (Param("name", TEXT, "The method's name (any case)", example="user.current"),),
    ),
    "batch": MethodDoc(
        "Up to 50 commands in one request; later ones fail with ERROR_BATCH_LENGTH_EXCEEDED",
        obj(
            {
                "result": _BATCH_MAP,
                "result_error": _BATCH_MAP,
                "result_total": _BATCH_MAP,
                "result_next": _BATCH_MAP,
                "result_time": _BATCH_MAP,
            }
        ),
        (
            Param(
                "cmd",
                {"anyOf": [{"type": "object", "additionalProperties": STR}, list_of(STR), _ANY]},
                "key → `method?query`; `$result[key][field]` refers to an earlier command's result. A command "
                "that is not a string fails in `result_error`; without `cmd` (or with a scalar) the batch runs "
                "nothing and answers empty lists.",
                example={"now": "server.time", "me": "user.current"},
            ),
            Param("halt", FLAG, "Stop at the first failing command"),
        ),
    ),
    "user.current": MethodDoc("The calling user", {"anyOf": [ref("User"), {"type": "object", "maxProperties": 0}]}),
    "user.get": MethodDoc(
        "Users matching a filter, 50 a page",
        or_empty(list_of(ref("User"))),
        (
            Param(
                "FILTER",
                _ANY,
                "A map of ID, ACTIVE, NAME, LAST_NAME, EMAIL, WORK_POSITION (also top-level); other keys, and a "
                "list or a scalar, filter nothing",
            ),
            Param("ID", _ANY, "Filter by id: an id or a list of ids (values that are no id match nobody)"),
            Param("sort", TEXT, "`ID` (default), `NAME`, `LAST_NAME` or `EMAIL`, any case; anything else sorts by ID"),
            Param("order", TEXT, "`DESC` (any case) sorts descending; anything else ascending"),
            Param("start", _NUMBERISH, "Offset of the page (PHP's (int): anything but digits is 0)"),
        ),
        paged=True,
    ),
    "im.chat.add": MethodDoc(
        "Create a group chat with the caller in it; answers its id",
        INT,
        (
            Param("USERS", _php_array(_INTLIKE), "Members besides the caller", example=[2]),
            Param("TITLE", TEXT, "Title (a list of names when empty)"),
            Param("DESCRIPTION", TEXT, "Description"),
            Param("COLOR", TEXT, "`RED`, `GREEN`, `MINT`, …"),
            Param("TYPE", TEXT, "`OPEN` (any case) makes an open chat; anything else a closed one (`CHAT`)"),
            Param("MESSAGE", TEXT, "A first message from the caller"),
            Param("OWNER_ID", _NUMBERISH, "An invited user to own the chat (PHP's (int): anything but digits is 0)"),
            Param("ENTITY_TYPE", TEXT, "Your own tag, found again with im.chat.get"),
            Param("ENTITY_ID", TEXT, "Your own id, found again with im.chat.get"),
        ),
    ),
    "im.chat.get": MethodDoc(
        "The chat tagged with ENTITY_TYPE and ENTITY_ID",
        {"anyOf": [obj({"ID": INT}), NULL]},
        (Param("ENTITY_TYPE", TEXT, "Tag given to im.chat.add"), Param("ENTITY_ID", TEXT, "Id given to im.chat.add")),
    ),
    "im.chat.user.add": MethodDoc(
        "Add users to a chat the caller is in",
        {"const": True},
        (_CHAT_ID, Param("USERS", list_of(_INTLIKE), "Users to add", required=True, example=[2])),
    ),
    "im.chat.user.delete": MethodDoc(
        "Leave a chat, or (its owner) remove a member",
        {"const": True},
        (_CHAT_ID, Param("USER_ID", _INTLIKE, "The member to remove", required=True, example=2)),
    ),
    "im.message.delete": MethodDoc(
        "Delete a message (its author, or a portal administrator); a chat poll goes with its message",
        {"const": True},
        (Param("MESSAGE_ID", _INTLIKE, "The message", required=True, example=1),),
    ),
    "im.chat.user.list": MethodDoc("Member ids of a chat the caller is in ([] otherwise)", list_of(INT), (_CHAT_ID,)),
    "vote.Integration.Im.send": MethodDoc(
        "Create a poll and post it to a chat as the caller's message",
        obj({"messageId": INT, "voteId": INT}),
        (
            Param("chatId", _INTLIKE, "A chat the caller is in", required=True, example=1),
            Param(
                "IM_MESSAGE_VOTE_DATA",
                _VOTE_DATA,
                "One question with its answers",
                required=True,
                example={"QUESTIONS": [{"QUESTION": "Lunch?", "ANSWERS": [{"MESSAGE": "Yes"}, {"MESSAGE": "No"}]}]},
            ),
            Param(
                "templateId", _ANY, "A lower-case UUIDv4 string de-duplicates repeated calls; other values are ignored"
            ),
        ),
    ),
    "vote.AttachedVote.get": MethodDoc(
        "An attached poll as the caller sees it", _ATTACH_RESULT, _ADDRESS, alternatives=_NAMED
    ),
    "vote.AttachedVote.getMany": MethodDoc(
        "Several chat or feed polls by entity id; [] when one is missing or unreadable, or for more than 50",
        or_empty(obj({"items": list_of(ref("Attach"))})),
        (
            Param("moduleId", TEXT, "`im` or `blog`", required=True, example="im"),
            Param(
                "entityType",
                TEXT,
                "The connector class",
                required=True,
                example="Bitrix\\Vote\\Attachment\\ImMessageConnector",
            ),
            Param(
                "entityIds",
                _php_array(_ANY),
                "Up to 50 entity ids (an item that is not an id names no poll)",
                required=True,
                example=[1],
            ),
        ),
    ),
    "vote.AttachedVote.getWithVoted": MethodDoc(
        "A poll with the first voters of each answer (none for anonymous polls)",
        obj({"attach": ref("Attach"), "voted": or_empty(id_map(list_of(_VOTERS)))}),
        (*_ADDRESS, Param("pageSize", _NUMBERISH, "Voters per answer, 1–50 (default 10; PHP's (int))"), _MOBILE),
        alternatives=_NAMED,
    ),
    "vote.AttachedVote.getAnswerVoted": MethodDoc(
        "The voters of one answer, 50 a page (none for anonymous polls)",
        obj({"items": list_of(_VOTERS)}),
        (
            *_ADDRESS,
            Param("answerId", _INTLIKE, "An answer of this poll", required=True, example=1),
            Param("start", _NUMBERISH, "Offset of the page (PHP's (int): anything but digits is 0)"),
            _MOBILE,
        ),
        paged=True,
        alternatives=_NAMED,
    ),
    "vote.AttachedVote.vote": MethodDoc(
        "Vote (or re-vote); [] when the ballot is empty, incomplete or a repeat without re-voting",
        or_empty(_ATTACH_RESULT),
        (*_ADDRESS, Param("ballot", _BALLOT, "The choices", required=True, example={"1": [1]}), _ACTION),
        alternatives=_NAMED,
    ),
    "vote.AttachedVote.recall": MethodDoc(
        "Take back the caller's ballot; [] when the poll is closed or forbids re-voting",
        or_empty(_ATTACH_RESULT),
        (*_ADDRESS, _ACTION),
        alternatives=_NAMED,
    ),
    "vote.AttachedVote.stop": MethodDoc(
        "Close the poll (its author)", EMPTY_LIST, (*_ADDRESS, _ACTION), alternatives=_NAMED
    ),
    "vote.AttachedVote.resume": MethodDoc(
        "Reopen the poll for a year (its author)", EMPTY_LIST, (*_ADDRESS, _ACTION), alternatives=_NAMED
    ),
    "vote.AttachedVote.download": MethodDoc(
        "The results report as a file: the real server's HTML .xls, or XLSX / CSV",
        {"type": "string", "format": "binary"},
        (*_ADDRESS, Param("format", {"enum": ["xls", "xlsx", "csv", None]}, "Report format (default xls)")),
        file=True,
        alternatives=_NAMED,
    ),
}

# --- events (methods/events.py, methods/events_offline.py): an application's context only ---------------------

_EVENT = Param("event", STR, "Event name, e.g. ONAPPTEST (case-insensitive)", required=True, example="ONAPPTEST")
_HANDLER = Param("handler", STR, "The handler URL (http or https; loopback allowed)", example="http://127.0.0.1:9/h")
_AUTH_TYPE = Param("auth_type", _INTLIKE, "The user whose tokens the handler gets (0: who caused the event)")
_EVENT_TYPE = Param("event_type", {"enum": ["online", "offline"]}, "offline: queue for event.offline.get")
_CONNECTOR = Param(
    "auth_connector",
    STR,
    "Source key (part of the call's authorisation): the offline queue of that key; an application's change made "
    "with it is not queued in its own queue of that key",
)
_PROCESS = Param("process_id", STR, "The reserved batch", required=True, example="0f1e2d3c")
_MESSAGE_ID = {"type": "string", "minLength": 32, "maxLength": 32, "description": "a MESSAGE_ID (an MD5)"}
_OFFLINE_FIELDS = "ID, TIMESTAMP_X (ISO 8601), EVENT_NAME, MESSAGE_ID"
_FILTER_GET = Param(
    "filter",
    {"type": "object", "additionalProperties": TEXT, "example": {">=ID": 1, "=EVENT_NAME": "ONAPPTEST"}},
    f"Conditions on {_OFFLINE_FIELDS}: the operation (=, >, <, >=, <=; none is =) before the field name",
)
_FILTER_LIST = Param(
    "filter",
    {"type": "object", "example": {"ERROR": 0, "@ID": [1, 2]}},
    f"Conditions on {_OFFLINE_FIELDS}, PROCESS_ID, ERROR: =, >, <, >=, <=, @ (one of a list), % (a substring) "
    "before the field name; none is = (a list: one of it)",
)


def _order(fields: str, default: str) -> Param:
    return Param(
        "order",
        {"type": "object", "additionalProperties": {"enum": ["ASC", "DESC", "asc", "desc"]}, "example": {"ID": "DESC"}},
        f"{{field: ASC|DESC}} on {fields} (default {default})",
    )


_OFFLINE_RECORD = obj(
    {
        "ID": STR,
        "TIMESTAMP_X": STR,
        "EVENT_NAME": STR,
        "EVENT_DATA": {},
        "EVENT_ADDITIONAL": BOOL,
        "MESSAGE_ID": STR,
    },
    closed=False,
)
_ONLINE_HANDLER = obj({"event": STR, "handler": STR, "auth_type": STR, "offline": {"const": 0}})
_OFFLINE_HANDLER = obj({"event": STR, "connector_id": STR, "offline": {"const": 1}})
DOCS.update(
    {
        "event.bind": MethodDoc(
            "Bind a handler to an event (or an offline queue)",
            BOOL,
            (
                _EVENT,
                _HANDLER,
                _AUTH_TYPE,
                _EVENT_TYPE,
                _CONNECTOR,
                Param("options", {"type": "object"}, "ONOFFLINEEVENT: minTimeout"),
            ),
        ),
        "event.unbind": MethodDoc(
            "Unbind handlers; answers how many",
            obj({"count": INT}),
            (_EVENT, _HANDLER, _AUTH_TYPE, _EVENT_TYPE, _CONNECTOR),
        ),
        "event.get": MethodDoc(
            "The application's handlers: online ones with handler and auth_type, offline ones with connector_id",
            list_of({"anyOf": [_ONLINE_HANDLER, _OFFLINE_HANDLER]}),
        ),
        "events": MethodDoc(
            "Events this portal sends",
            list_of(STR),
            (Param("SCOPE", STR, "Only the events of a scope"), Param("FULL", BOOL, "Every event")),
        ),
        "event.test": MethodDoc("Send ONAPPTEST with the call's parameters as data[QUERY]", INT),
        "event.offline.get": MethodDoc(
            "The first offline records, deleted or reserved under a process_id",
            obj({"process_id": {"type": ["string", "null"]}, "events": list_of(_OFFLINE_RECORD)}),
            (
                _FILTER_GET,
                _order(_OFFLINE_FIELDS, "TIMESTAMP_X ASC"),
                Param("limit", _INTLIKE, "How many, at least 1 (default 50; b24vote reads at most 1000)"),
                Param("clear", INT, "1 (default): delete the reservation once read; 0: keep it reserved"),
                Param("process_id", STR, "Read this reservation again (nothing new is reserved)"),
                Param("error", INT, "1: only the records marked as failed; otherwise only the others"),
                _CONNECTOR,
            ),
        ),
        "event.offline.clear": MethodDoc(
            "Delete a process's reserved records",
            BOOL,
            (
                _PROCESS,
                Param("id", list_of(_INTLIKE), "Only these records (positive ids)"),
                Param("message_id", list_of(_MESSAGE_ID), "Only these (read before id)"),
                _CONNECTOR,
            ),
        ),
        "event.offline.error": MethodDoc(
            "Mark a process's records as failed: they return to the queue for error=1",
            BOOL,
            (_PROCESS, Param("message_id", list_of(STR), "The records", required=True), _CONNECTOR),
        ),
        "event.offline.list": MethodDoc(
            "The offline queue, 50 a page, unchanged",
            list_of(_OFFLINE_RECORD),
            (
                _FILTER_LIST,
                _order(f"{_OFFLINE_FIELDS}, PROCESS_ID, ERROR", "ID ASC"),
                Param("start", _INTLIKE, "Offset of the page"),
                _CONNECTOR,
            ),
            paged=True,
        ),
    }
)
