"""``GET /openapi.json`` and ``GET /docs``: the OpenAPI document and a page that lists its operations.

The page is rendered on the server from the same document, with no script and nothing loaded from elsewhere
(the server may have no internet), under a Content-Security-Policy that allows only its own stylesheet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from b24vote.openapi import build_openapi
from b24vote.state import AppState
from b24vote.transport.envelope import JSONResponse

__all__ = ["Operation", "api_docs_routes", "document", "operations"]

_WEB = Path(__file__).resolve().parent
_templates = Environment(
    loader=FileSystemLoader(_WEB / "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True
)
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'",
}
_VERBS = ("get", "post", "put", "delete")


@dataclass(frozen=True, slots=True)
class Operation:
    """One row of the docs page."""

    tag: str
    verb: str
    path: str
    summary: str
    description: str
    parameters: list[tuple[str, str, bool, str]]  # name, where, required, description
    body: str  # the JSON body's schema, pretty-printed; "" when there is none
    example: str
    statuses: list[tuple[str, str]]


def document(request: Request) -> dict[str, Any]:
    """The document of this server, built on first use (the registry and settings do not change)."""
    cached: dict[str, Any] | None = getattr(request.app.state, "openapi", None)
    if cached is None:
        state: AppState = request.app.state.b24
        cached = build_openapi(state.settings, state.registry)
        request.app.state.openapi = cached
    return cached


def _parameters(operation: dict[str, Any]) -> list[tuple[str, str, bool, str]]:
    return [
        (p["name"], p["in"], bool(p.get("required")), p.get("description", "")) for p in operation.get("parameters", [])
    ]


def _body(operation: dict[str, Any]) -> tuple[str, str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return "", ""
    example = content.get("example")
    return json.dumps(content["schema"], indent=2, ensure_ascii=False), (
        json.dumps(example, ensure_ascii=False) if example is not None else ""
    )


def operations(doc: dict[str, Any]) -> list[Operation]:
    """Every operation of the document in path order, ``.json`` twins left out (they behave the same)."""
    found = []
    for path, item in doc["paths"].items():
        if path.endswith(".json") and path != "/openapi.json":
            continue
        for verb in _VERBS:
            operation = item.get(verb)
            if operation is None:
                continue
            body, example = _body(operation)
            found.append(
                Operation(
                    tag=operation.get("tags", ["other"])[0],
                    verb=verb.upper(),
                    path=path,
                    summary=operation.get("summary", ""),
                    description=operation.get("description", ""),
                    parameters=_parameters(operation),
                    body=body,
                    example=example,
                    statuses=[(code, r.get("description", "")) for code, r in operation["responses"].items()],
                )
            )
    return found


async def openapi_json(request: Request) -> Response:
    return JSONResponse(document(request))


async def docs_page(request: Request) -> Response:
    doc = document(request)
    groups: dict[str, list[Operation]] = {}
    for op in operations(doc):
        groups.setdefault(op.tag, []).append(op)
    html = _templates.get_template("api_docs.html").render(info=doc["info"], groups=groups, server=doc["servers"][0])
    return HTMLResponse(html, headers=_HEADERS)


def api_docs_routes() -> list[BaseRoute]:
    return [Route("/openapi.json", openapi_json, methods=["GET"]), Route("/docs", docs_page, methods=["GET"])]
