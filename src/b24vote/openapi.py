"""The OpenAPI 3.1 document of b24vote's HTTP surface, built from the method registry.

Every registered method gets the webhook paths ``/rest/{user_id}/{code}/{method}`` and ``….json``, each with
GET (query string) and POST (JSON or form body); its parameters and result come from
:mod:`b24vote.methods.schemas`. Errors are the Bitrix24 body ``{error, error_description}`` under every
status a REST call can answer with. The OAuth token endpoint, the report download, the results page, the
health routes and (when ``B24VOTE_ADMIN_TOKEN`` is set) the admin API are described too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from b24vote import __version__
from b24vote.admin.routes import ADMIN_PREFIX, ADMIN_ROUTES, AdminRoute
from b24vote.config import Settings
from b24vote.domain.polls import IM_ENTITY_TYPE
from b24vote.methods.registry import Method, Registry
from b24vote.methods.schema_parts import BOOL, COMPONENTS, INT, NUMBER, STR, list_of, obj, ref
from b24vote.methods.schemas import DOCS, FILE_TYPES, MethodDoc, Param

__all__ = ["REST_STATUSES", "RESULTS_EVENT", "admin_routes", "build_openapi"]

Schema = dict[str, Any]

# Every status the REST route can answer with, and why.
REST_STATUSES: dict[int, str] = {
    400: "A well-formed call the portal refuses, or bad parameters: as on Bitrix24, every method error is HTTP 400 "
    "with its code — an unknown or unreadable poll (`ATTACH_NOT_FOUND`), a closed one (`403`), a missing or "
    "mistyped parameter (`100`, `ERROR_ARGUMENT`), a chat the caller is not in (`WRONG_REQUEST`), a body that "
    "is not JSON (`INVALID_REQUEST`), …",
    401: "NO_AUTH_FOUND, expired_token, invalid_token or authorization_error",
    403: "insufficient_scope",
    404: "ERROR_METHOD_NOT_FOUND",
    405: "ERROR_METHOD_NOT_ALLOWED: an HTTP method other than GET or POST",
    413: "REQUEST_TOO_LARGE: the body is larger than B24VOTE_MAX_BODY_BYTES",
    429: "OPERATION_TIME_LIMIT: the method's operating-time budget is spent",
    500: "INTERNAL_SERVER_ERROR",
    503: "QUERY_LIMIT_EXCEEDED: the leaky bucket is full",
}
_DESCRIPTION = """\
b24vote speaks the Bitrix24 REST API of the `vote` module. Every method is listed in its incoming-webhook form
`/rest/{user_id}/{code}/{method}`; the same method also answers at `/rest/{method}` with an OAuth access token
in the `auth` parameter (query or body). Parameters may come in the query string, a JSON body or a form body
with PHP bracket syntax (`ballot[5][]=12`); the body wins over the query. Successes are
`{"result": …, "time": {…}}` (list methods add `total` and `next`); errors are `{"error", "error_description"}`.

Parameters are read the way the portal's PHP reads them, and the schemas say so: a repeated name keeps its
last value, a text parameter takes any scalar (`12` is `"12"`, `true` is `"1"`), a flag any value (`Y`, `1`,
`true`, …; anything else is false), a JSON `null` is a parameter not given, and a JSON body may be a list (its
items are the parameters `0`, `1`, …). A well-formed call the portal refuses — an unknown poll, a closed one,
a chat the caller is not in — is answered with HTTP 400 and a Bitrix24 code, not 404 or 409.
"""
_PATH_PARAM = re.compile(r"\{([^}:]+)")
OBJECT: Schema = {"type": "object"}


def admin_routes() -> Sequence[AdminRoute]:
    """The admin API's routes, as ``b24vote.admin.routes`` lists them (the hook the document reads)."""
    return ADMIN_ROUTES


def _error(description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def _envelope(doc: MethodDoc) -> Schema:
    properties: dict[str, Schema] = {"result": doc.result}
    if doc.paged:
        properties["next"] = {**INT, "description": "offset of the next page, when there is one"}
        properties["total"] = INT
    properties["time"] = ref("Time")
    return obj(properties, optional=("next", "total"))


def _success(doc: MethodDoc, name: str) -> Schema:
    if doc.file:
        binary = {"schema": {"type": "string", "format": "binary"}}
        return {"description": "The report file", "content": {t: binary for t in FILE_TYPES}}
    return {"description": "Success", "content": {"application/json": {"schema": ref(f"{name}.reply")}}}


def _is_object(schema: Schema) -> bool:
    return schema.get("type") == "object" or any(s.get("type") == "object" for s in schema.get("anyOf", ()))


def _repeatable(schema: Schema) -> Schema:
    """A query value as PHP reads it: ``a=1&a=2`` is ``a=2``, so a repeated name is as valid as a single one."""
    if not schema.get("type") and not schema.get("enum") and "const" not in schema:
        return schema  # any value already
    return {"anyOf": [schema, {"type": "array", "items": schema, "description": "repeated: the last one counts"}]}


def _query_parameter(param: Param) -> Schema:
    """PHP reads arrays from ``name[]=…`` and maps from ``name[key]=…``."""
    schema, name = param.schema, param.name
    entry: Schema = {"in": "query", "required": param.required, "description": param.description}
    if schema.get("type") == "array":
        entry |= {"name": f"{name}[]", "schema": schema, "style": "form", "explode": True}
    elif _is_object(schema):
        entry |= {"name": name, "schema": {"type": "object"}, "style": "deepObject", "explode": True}
    else:
        entry |= {"name": name, "schema": _repeatable(schema), "style": "form", "explode": True}
    if param.example is not None and "[" not in entry["name"] and entry.get("style") != "deepObject":
        entry["example"] = param.example
    return entry


def _takes_null(schema: Schema) -> bool:
    kinds = schema.get("type")
    return (isinstance(kinds, list) and "null" in kinds) or None in schema.get("enum", ())


def _param_schema(param: Param) -> Schema:
    """A body parameter: an optional one may also be JSON ``null``, which PHP reads as not given."""
    if param.required or _takes_null(param.schema):
        return {**param.schema, "description": param.description}
    return {"anyOf": [param.schema, {"type": "null"}], "description": param.description}


def _params_schema(doc: MethodDoc) -> Schema:
    props = {p.name: _param_schema(p) for p in doc.params}
    schema = obj(props, optional=tuple(p.name for p in doc.params if not p.required), closed=False)
    if doc.alternatives:
        schema["anyOf"] = [{"required": list(names)} for names in doc.alternatives]
        schema["description"] = "Name the poll by " + ", or by ".join(
            " + ".join(f"`{n}`" for n in names) for names in doc.alternatives
        )
    return schema


def _body(doc: MethodDoc, schema: Schema) -> Schema:
    example = {p.name: p.example for p in doc.params if p.example is not None}
    # PHP reads a JSON list as the parameters 0, 1, …: a method that needs none of its own takes one too.
    listed = {"type": "array", "description": "a JSON list: PHP's parameters 0, 1, …, none of them this method's"}
    needs = doc.alternatives or any(p.required for p in doc.params)
    json_body: Schema = {"schema": schema if needs else {"anyOf": [schema, listed]}}
    if example:
        json_body["example"] = example
    nested = {p.name: {"style": "deepObject", "explode": True} for p in doc.params if _is_object(p.schema)}
    form: Schema = {"schema": schema}
    if nested:
        form["encoding"] = nested
    return {"required": False, "content": {"application/json": json_body, "application/x-www-form-urlencoded": form}}


def _webhook_parameters() -> list[Schema]:
    return [
        {"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
        {
            "name": "code",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^[a-z0-9]{16}$"},
            "description": "The webhook's secret code",
        },
    ]


# Where a reply names what the next call needs (schemathesis' stateful phase follows these, and Swagger UI
# shows them): from the message a poll was posted in to the poll, from the poll to what can be done with it.
_BY_ATTACH = {"attachId": "$response.body#/result/attach/ID"}
_LINKS: dict[str, dict[str, tuple[str, Schema]]] = {
    "vote.Integration.Im.send": {
        "ThePoll": (
            "vote.AttachedVote.get",
            {"moduleId": "im", "entityType": IM_ENTITY_TYPE, "entityId": "$response.body#/result/messageId"},
        ),
    },
    "vote.AttachedVote.get": {
        "Voters": ("vote.AttachedVote.getWithVoted", _BY_ATTACH),
        "Recall": ("vote.AttachedVote.recall", _BY_ATTACH),
        "Report": ("vote.AttachedVote.download", {"signedAttachId": "$response.body#/result/attach/signedAttachId"}),
    },
    "im.chat.add": {"Members": ("im.chat.user.list", {"CHAT_ID": "$response.body#/result"})},
}


def _links(method: Method, suffix: str) -> Schema:
    return {
        name: {"operationId": f"rest.{target}{suffix}.post", "requestBody": body}
        for name, (target, body) in _LINKS.get(method.name, {}).items()
    }


def _rest_operation(method: Method, doc: MethodDoc, verb: str, suffix: str) -> Schema:
    responses: Schema = {"200": _success(doc, method.name)}
    if links := _links(method, suffix):
        responses["200"]["links"] = links
    responses |= {str(status): {"$ref": f"#/components/responses/rest{status}"} for status in REST_STATUSES}
    operation: Schema = {
        "operationId": f"rest.{method.name}{suffix}.{verb}",
        "summary": doc.summary,
        "tags": [method.scope or "basic"],
        "parameters": _webhook_parameters(),
        "responses": responses,
    }
    if verb == "get":
        operation["parameters"] = [*_webhook_parameters(), *(_query_parameter(p) for p in doc.params)]
    else:
        operation["requestBody"] = _body(doc, ref(f"{method.name}.params"))
    if not method.batchable:
        operation["description"] = "Not allowed inside batch."
    return operation


def _undocumented(method: Method) -> MethodDoc:
    # A method registered without an entry in methods/schemas.py still appears, with an open result.
    return MethodDoc(f"{method.name} (not described yet)", {})


def _rest_paths(methods: Iterable[Method], components: dict[str, Schema]) -> dict[str, Schema]:
    """The webhook paths; each method's parameters and reply go to ``components`` once for both paths."""
    paths: dict[str, Schema] = {}
    for method in methods:
        doc = DOCS.get(method.name) or _undocumented(method)
        components[f"{method.name}.params"] = _params_schema(doc)
        if not doc.file:
            components[f"{method.name}.reply"] = _envelope(doc)
        for suffix in ("", ".json"):
            paths[f"/rest/{{user_id}}/{{code}}/{method.name}{suffix}"] = {
                verb: _rest_operation(method, doc, verb, suffix) for verb in ("get", "post")
            }
    return paths


_TOKEN_PARAMS = (
    Param("grant_type", {"enum": ["authorization_code", "refresh_token"]}, "The grant", required=True),
    Param("client_id", {**STR, "minLength": 1}, "The application's client_id", required=True),
    Param("client_secret", STR, "The application's client_secret", required=True),
    Param("code", STR, "The authorization code: required, not empty, for the `authorization_code` grant"),
    Param("refresh_token", STR, "The refresh token: required, not empty, for the `refresh_token` grant"),
)


def _token_path() -> Schema:
    doc = MethodDoc("Exchange a code or a refresh token for a new token pair", {}, _TOKEN_PARAMS)
    responses = {
        "200": {"description": "A new token pair", "content": {"application/json": {"schema": ref("Token")}}},
        "400": _error(
            "`invalid_request`: no or an empty `client_id`, another `grant_type`, the grant's `code` or "
            "`refresh_token` missing or empty, a body over B24VOTE_MAX_BODY_BYTES; `invalid_grant`: a code or "
            "refresh token that is unknown, used or expired"
        ),
        "401": _error("invalid_client"),
        "500": _error("server_error"),
    }
    common = {"summary": doc.summary, "tags": ["oauth"], "responses": responses}
    return {
        "get": {**common, "operationId": "oauth.token.get", "parameters": [_query_parameter(p) for p in doc.params]},
        "post": {**common, "operationId": "oauth.token.post", "requestBody": _body(doc, _params_schema(doc))},
    }


def _download_path() -> Schema:
    params = (
        Param("action", {"const": "vote.AttachedVote.download"}, "The controller action", required=True),
        Param("SITE_ID", STR, "Ignored, as `downloadUrl` carries it"),
        Param(
            "signedAttachId",
            {**STR, "pattern": "\\S"},
            "The poll's signed id (`<attachId>.<signature>`) or its 16-character code: the link is the read right",
            required=True,
        ),
        Param("format", {"enum": ["xls", "xlsx", "csv"]}, "Report format (default xls)"),
    )
    doc = MethodDoc("The report behind an attach's `downloadUrl`", {}, params, file=True)
    responses = {
        "200": _success(doc, "download"),
        "400": _error(
            "`ATTACH_NOT_FOUND`: `signedAttachId` blank, unknown or with a signature that does not verify; `100`: "
            "a format other than xls, xlsx or csv; `INVALID_REQUEST`: malformed parameters"
        ),
        "404": _error("ERROR_NOT_FOUND: another action"),
        "500": _error("INTERNAL_SERVER_ERROR"),
    }
    operation = {
        "operationId": "web.download",
        "summary": doc.summary,
        "tags": ["web"],
        "parameters": [_query_parameter(p) for p in params],
        "responses": responses,
    }
    return {"get": operation}


def _page(
    operation_id: str,
    summary: str,
    media: str,
    statuses: dict[int, str],
    code: bool = False,
    body: Schema = STR,
    query: Sequence[Schema] = (),
) -> Schema:
    operation: Schema = {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["web"],
        "responses": {
            str(status): {"description": text, "content": {media: {"schema": body}}}
            if status < 400
            else {"description": text, "content": {"text/html": {"schema": STR}}}
            for status, text in statuses.items()
        },
    }
    if code:
        operation["parameters"] = [
            {
                "name": "code",
                "in": "path",
                "required": True,
                "schema": STR,
                "description": "What `resultUrl` carries: the attach's UID or its signed id",
            }
        ]
    if query:
        operation["parameters"] = [*operation.get("parameters", []), *query]
    return {"get": operation}


# The viewer part of a user's own results link (`b24vote poll link --user`): the page marks that user's choices.
_VIEWER = {
    "name": "viewer",
    "in": "query",
    "required": False,
    "schema": {**STR, "pattern": r"^[1-9][0-9]{0,17}\.[0-9a-f]{64}$"},
    "description": (
        "One user's own link: `<userId>.<signature>`, signed with the portal's secret for this poll. "
        "The page marks the answers that user chose (on anonymous polls too); one that does not verify gets 403"
    ),
}
_RESULT_STATUSES = {404: "Unknown code", 403: "A `viewer` that does not verify for this poll", 500: "Failed"}


_VOTER_PAGE = obj(
    {
        "total": INT,
        "page": INT,
        "pages": INT,
        "first": INT,
        "last": INT,
        "items": list_of(
            obj({"id": INT, "name": STR, "initials": STR, "position": STR, "photo": {"type": ["string", "null"]}})
        ),
    }
)
_LIVE_ANSWER = obj(
    {
        "id": INT,
        "counter": INT,
        "count_label": STR,
        "percent": NUMBER,
        "percent_label": {**STR, "description": "a whole number, `67%`"},
        "exact_label": {**STR, "description": "the API's PERCENT, `66.67%`"},
        "leading": BOOL,
        "mine": {**BOOL, "description": "the viewer chose it; only on a personal link (`viewer`)"},
        "bar": NUMBER,
        "voters": {**_VOTER_PAGE, "description": "the shown page of voters; never for anonymous polls"},
    },
    optional=("voters", "mine"),
)
RESULTS_EVENT = obj(
    {
        "state": {"enum": ["open", "stopped", "closed"]},
        "state_label": STR,
        "ends_at": {"type": "string", "format": "date-time"},
        "ends_label": {**STR, "description": "empty while the poll runs to its default end, ten years ahead"},
        "total": INT,
        "total_label": STR,
        "questions": list_of(obj({"id": INT, "counter": INT, "counter_label": STR, "answers": list_of(_LIVE_ANSWER)})),
        "viewer": {
            **obj({"voted": BOOL, "label": STR}),
            "description": "only on a personal link (`viewer`): whether that user voted, and the page's line about it",
        },
    },
    optional=("viewer",),
)
_STREAM = """\
Server-Sent Events. First `retry: 3000`, then at once and after every vote, recall, stop and resume of the poll:

    event: results
    data: {…}

where `data` is a [ResultsEvent](#/components/schemas/ResultsEvent) JSON object (the whole page model);
`event: gone` with `data: {}` when the poll can no longer be read, and a `: keep-alive` comment every 15 s
when nothing changed. The stream stays open until the client leaves or the server stops."""


def _web_paths() -> dict[str, Schema]:
    plain = {200: "OK"}
    return {
        "/bitrix/services/main/ajax.php": _download_path(),
        "/vote-result/{code}": _page(
            "web.results", "The results page", "text/html", {200: "The page", **_RESULT_STATUSES}, True, query=[_VIEWER]
        ),
        "/vote-result/{code}/events": _page(
            "web.results.events",
            "Live updates of the results page",
            "text/event-stream",
            {200: _STREAM, **_RESULT_STATUSES},
            True,
            query=[_VIEWER],
        ),
        "/healthz": _page("health.live", "Liveness", "text/plain", plain),
        "/readyz": _page("health.ready", "Readiness: the database answers", "text/plain", {**plain, 503: "Down"}),
        "/metrics": _page("health.metrics", "Prometheus metrics", "text/plain", plain),
        "/openapi.json": _page("docs.openapi", "This document", "application/json", plain, body=OBJECT),
        "/docs": _page("docs.html", "This document in Swagger UI", "text/html", plain),
        "/docs/openapi.json": _page(
            "docs.ui", "This document as /docs shows it: one entry per method", "application/json", plain, body=OBJECT
        ),
    }


def _admin_operation(route: AdminRoute) -> Schema:
    params = [{"name": name, "in": "path", "required": True, "schema": STR} for name in _PATH_PARAM.findall(route.path)]
    operation: Schema = {
        "operationId": f"admin.{route.method.lower()}.{route.path.strip('/').replace('/', '.') or 'root'}",
        "summary": route.summary,
        "tags": ["admin"],
        "security": [{"adminToken": []}],
        "responses": {
            "200": {"description": "Done", "content": {"application/json": {"schema": {"type": "object"}}}},
            "400": _error("INVALID_REQUEST"),
            "401": _error("ADMIN_AUTH_REQUIRED: no or a wrong bearer token"),
            "404": _error("ERROR_NOT_FOUND"),
            "413": _error("REQUEST_TOO_LARGE"),
        },
    }
    if params:
        operation["parameters"] = params
    if route.method == "POST":
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}
    return operation


def _admin_paths(routes: Sequence[AdminRoute]) -> dict[str, Schema]:
    paths: dict[str, Schema] = {}
    for route in routes:
        paths.setdefault(ADMIN_PREFIX + route.path, {})[route.method.lower()] = _admin_operation(route)
    return paths


def build_openapi(settings: Settings, methods: Registry) -> dict[str, Any]:
    """The whole document for this server's settings (its public URL; the admin API only when enabled)."""
    schemas = {**COMPONENTS, "ResultsEvent": RESULTS_EVENT}
    paths = _rest_paths(methods, schemas)
    paths["/oauth/token/"] = _token_path()
    paths |= _web_paths()
    if settings.admin_token:
        paths |= _admin_paths(admin_routes())
    return {
        "openapi": "3.1.0",
        "info": {"title": "b24vote", "version": __version__, "description": _DESCRIPTION},
        "servers": [{"url": settings.public_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {f"rest{status}": _error(text) for status, text in REST_STATUSES.items()},
            "securitySchemes": {
                "adminToken": {"type": "http", "scheme": "bearer"},
                # The applications' flow; the REST calls themselves carry the access token in `auth`.
                "oauth": {
                    "type": "oauth2",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": "/oauth/authorize/",
                            "tokenUrl": "/oauth/token/",
                            "refreshUrl": "/oauth/token/",
                            "scopes": {scope: f"the `{scope}` methods" for scope in methods.scopes()},
                        }
                    },
                },
            },
        },
    }
