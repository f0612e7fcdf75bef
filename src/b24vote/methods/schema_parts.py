"""JSON Schema pieces for the OpenAPI document: the envelope, the error body and the vote module's objects.

Every schema describes what b24vote puts on the wire, which is what the real server sends (the method specs'
``resultExample`` in ../shared/reference/bitrix24-docs/method-specs/ and docs/compatibility.md): ids and
counters inside ``QUESTIONS`` are strings (integers when the current call changed them), and PHP's empty
arrays are ``[]`` where a map would otherwise be, so several objects are "a map, or an empty list".
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BOOL",
    "COMPONENTS",
    "EMPTY_LIST",
    "FLAG",
    "INT",
    "NULL",
    "NUMBER",
    "STR",
    "TEXT",
    "id_map",
    "list_of",
    "obj",
    "or_empty",
    "ref",
]

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
NULL: Schema = {"type": "null"}
EMPTY_LIST: Schema = {"type": "array", "maxItems": 0, "description": "PHP's empty array"}
# What the REST methods read as PHP does (methods/params.py): a text parameter takes any scalar (12 is "12",
# true is "1", false and null are ""; an object or a list is refused with ERROR_ARGUMENT), and a flag any value
# at all (Y/N, true/false, 1/0, yes/on; anything else is false).
TEXT: Schema = {"type": ["string", "number", "boolean", "null"]}
FLAG: Schema = {"description": "`Y`/`N`, `true`/`false`, `1`/`0`, `yes`, `on`: any other value is false"}
_ID_KEY = "^-?[0-9]+$"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Schema], *, optional: tuple[str, ...] = (), closed: bool = True) -> Schema:
    """An object with these keys, all required unless listed in ``optional``; ``closed``: no other keys."""
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": [k for k in properties if k not in optional],
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def id_map(values: Schema) -> Schema:
    """A JSON object keyed by numeric ids (``{"12": …}``)."""
    return {"type": "object", "propertyNames": {"pattern": _ID_KEY}, "additionalProperties": values}


def list_of(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def or_empty(schema: Schema) -> Schema:
    """The value, or ``[]`` where PHP's ``json_encode`` met an empty array."""
    return {"anyOf": [schema, EMPTY_LIST]}


def _either(*types: str) -> Schema:
    return {"type": list(types)}


_TIME = obj(
    {
        "start": NUMBER,
        "finish": NUMBER,
        "duration": NUMBER,
        "processing": NUMBER,
        "date_start": {"type": "string", "format": "date-time"},
        "date_finish": {"type": "string", "format": "date-time"},
        "operating_reset_at": INT,
        "operating": NUMBER,
    }
)

_ERROR = {
    **obj({"error": STR, "error_description": STR}),
    "description": "Every error: a Bitrix24 code (vote methods send numeric codes as strings) and its text.",
}

_ANSWER = obj(
    {
        "ID": STR,
        "ACTIVE": STR,
        "TIMESTAMP_X": STR,
        "QUESTION_ID": STR,
        "C_SORT": STR,
        "IMAGE_ID": NULL,
        "MESSAGE": STR,
        "MESSAGE_TYPE": STR,
        "COUNTER": {**_either("string", "integer"), "description": "an integer only when this call changed it"},
        "FIELD_TYPE": STR,
        "FIELD_WIDTH": STR,
        "FIELD_HEIGHT": STR,
        "FIELD_PARAM": NULL,
        "COLOR": STR,
        "REACTION": _either("string", "null"),
        "~FIELD_NAME": STR,
        "FIELD_NAME": STR,
        "MESSAGE_FIELD_NAME": STR,
        "~PERCENT": NUMBER,
        "PERCENT": NUMBER,
    }
)

_QUESTION = obj(
    {
        "ID": STR,
        "ACTIVE": STR,
        "TIMESTAMP_X": STR,
        "VOTE_ID": STR,
        "C_SORT": STR,
        "COUNTER": {**_either("string", "integer"), "description": "an integer only when this call changed it"},
        "QUESTION": STR,
        "QUESTION_TYPE": STR,
        "IMAGE_ID": NULL,
        "DIAGRAM": STR,
        "DIAGRAM_TYPE": STR,
        "REQUIRED": {"enum": ["Y", "N"]},
        "FIELD_TYPE": STR,
        "FIELD_NAME": STR,
        "IMAGE": NULL,
        "ANSWERS": or_empty(id_map(ref("Answer"))),
    }
)

_CHOICE = obj({"EVENT_ID": STR, "EVENT_QUESTION_ID": STR, "ANSWER_ID": STR, "ID": STR, "MESSAGE": STR})

_ATTACH = obj(
    {
        "ID": INT,
        "VOTE_ID": INT,
        "COUNTER": INT,
        "QUESTIONS": or_empty(id_map(ref("Question"))),
        "ANONYMITY": {**INT, "description": "1 public, 2 anonymous"},
        "OPTIONS": {**INT, "description": "bit mask: 1 re-voting allowed, 2 results hidden"},
        "userAnswerMap": {
            **or_empty(id_map(id_map(ref("Choice")))),
            "description": "the caller's own ballot by question and answer id, or []",
        },
        "canEdit": BOOL,
        "canVote": BOOL,
        "canRevote": BOOL,
        "isVoted": BOOL,
        "signedAttachId": {"type": "string", "pattern": "^[0-9]+\\.[0-9a-f]{64}$"},
        "resultUrl": {"type": "string", "pattern": "^/vote-result/"},
        "downloadUrl": STR,
        "entityId": INT,
        "isFinished": BOOL,
    }
)

_VOTER = obj({"ID": INT, "NAME": STR, "IMAGE": _either("string", "null"), "WORK_POSITION": STR})
_NULL_STR = _either("string", "null")
_NULL_BOOL = _either("boolean", "null")
# userForMobileFormat=true: the mobile module's user object instead (docs/compatibility.md).
_MOBILE_VOTER = obj(
    {
        "id": INT,
        "login": _NULL_STR,
        "name": _NULL_STR,
        "lastName": _NULL_STR,
        "secondName": _NULL_STR,
        "fullName": _NULL_STR,
        "email": _NULL_STR,
        "workPhone": _NULL_STR,
        "workPosition": _NULL_STR,
        "link": _NULL_STR,
        "avatarSizeOriginal": _NULL_STR,
        "avatarSize100": _NULL_STR,
        "isAdmin": _NULL_BOOL,
        "isRootAdmin": _NULL_BOOL,
        "isCollaber": _NULL_BOOL,
        "isExtranet": _NULL_BOOL,
        "isGuest": _NULL_BOOL,
        "personalMobile": _NULL_STR,
        "personalPhone": _NULL_STR,
        "lastActivityDate": _NULL_STR,
        "timezone": {"type": ["object", "null"]},
        "personalGender": _NULL_STR,
        "dateRegister": _either("integer", "null"),
    }
)

_USER = obj(
    {
        "ID": STR,
        "XML_ID": STR,
        "ACTIVE": BOOL,
        "NAME": STR,
        "LAST_NAME": STR,
        "SECOND_NAME": STR,
        "EMAIL": STR,
        "DATE_REGISTER": STR,
        "IS_ONLINE": STR,
        "TIME_ZONE": STR,
        "PERSONAL_GENDER": STR,
        "PERSONAL_PHOTO": STR,
        "WORK_POSITION": STR,
        "UF_DEPARTMENT": list_of(INT),
        "USER_TYPE": STR,
    },
    # Fields without a value are left out, as user.get does with the `user` scope.
    optional=("PERSONAL_PHOTO",),
)

_TOKEN = obj(
    {
        "access_token": STR,
        "expires": INT,
        "expires_in": INT,
        "scope": STR,
        "domain": STR,
        "server_endpoint": STR,
        "status": STR,
        "client_endpoint": STR,
        "member_id": STR,
        "user_id": INT,
        "refresh_token": STR,
    }
)

COMPONENTS: dict[str, Schema] = {
    "Time": _TIME,
    "Error": _ERROR,
    "Attach": _ATTACH,
    "Question": _QUESTION,
    "Answer": _ANSWER,
    "Choice": _CHOICE,
    "Voter": _VOTER,
    "MobileVoter": _MOBILE_VOTER,
    "User": _USER,
    "Token": _TOKEN,
}
