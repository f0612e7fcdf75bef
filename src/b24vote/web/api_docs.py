"""``GET /openapi.json`` and ``GET /docs``: the OpenAPI document and Swagger UI showing it, from this server.

Swagger UI's dist files come from the ``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads OpenAPI 3.1;
the older ``swagger-ui-bundle`` ships 4.15, which does not), served under ``/docs/assets/``: nothing is loaded
from elsewhere, so self-hosted and offline installs work. The page shows :func:`ui_document`, the document
regrouped for people: one entry per REST method at ``/rest/{method}``, with a verb choice (GET or POST) and the
caller's webhook URL or OAuth token entered once in the page's header (``static/api_docs.js`` puts it into
every call it sends). docs/api.md says why Swagger UI.
"""

from __future__ import annotations

import copy
import hashlib
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from b24vote.errors import ErrorCode, PlatformError
from b24vote.openapi import build_openapi
from b24vote.state import AppState
from b24vote.transport.envelope import JSONResponse, error_response

__all__ = ["SWAGGER_UI_VERSION", "VERB_HEADER", "api_docs_routes", "document", "ui_document"]

_WEB = Path(__file__).resolve().parent
_STATIC = _WEB / "static"
_templates = Environment(
    loader=FileSystemLoader(_WEB / "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True
)
# Swagger UI sets inline styles and draws its icons as data: images; calls go to this server only.
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}
# The header the page's script reads to send a call by GET (its body moved to the query) instead of POST.
VERB_HEADER = "B24vote-Verb"
_REST_PREFIX = "/rest/{user_id}/{code}/"


def _swagger_ui_dir() -> Traversable:
    """``swagger_ui_bundle/vendor/swagger-ui-<version>``, found without importing the (untyped) package."""
    vendor = files("swagger_ui_bundle") / "vendor"
    (found,) = (d for d in vendor.iterdir() if d.name.startswith("swagger-ui-") and d.is_dir())
    return found


_SWAGGER_UI = _swagger_ui_dir()
SWAGGER_UI_VERSION = _SWAGGER_UI.name.removeprefix("swagger-ui-")
# Only what the page loads; the bundle's sample index.html (which points at a remote petstore) is not served.
_ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def _own_asset(name: str) -> str:
    digest = hashlib.sha256((_STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


_ASSETS = {
    "css": f"/docs/assets/swagger-ui.css?v={SWAGGER_UI_VERSION}",
    "js": f"/docs/assets/swagger-ui-bundle.js?v={SWAGGER_UI_VERSION}",
    "icon": f"/docs/assets/favicon-32x32.png?v={SWAGGER_UI_VERSION}",
    "own_css": _own_asset("api_docs.css"),
    "own_js": _own_asset("api_docs.js"),
}


def document(request: Request) -> dict[str, Any]:
    """The document of this server, built on first use (the registry and settings do not change)."""
    cached: dict[str, Any] | None = getattr(request.app.state, "openapi", None)
    if cached is None:
        state: AppState = request.app.state.b24
        cached = build_openapi(state.settings, state.registry)
        request.app.state.openapi = cached
    return cached


_VERB_PARAMETER = {
    "name": VERB_HEADER,
    "in": "header",
    "required": False,
    "schema": {"enum": ["POST", "GET"], "default": "POST"},
    "description": "How the page sends the call: POST with the body, or GET with the same parameters in the "
    "query string (PHP brackets, `ballot[1][]=2`). Not sent to the server.",
}


def _method_entry(name: str, post: dict[str, Any]) -> dict[str, Any]:
    """One method: the POST operation with a verb choice, the summary's Markdown kept in the description."""
    entry = copy.deepcopy(post)
    entry["operationId"] = name
    entry["parameters"] = [_VERB_PARAMETER]
    urls = (
        f"`GET` and `POST` at `{_REST_PREFIX}{name}` (and `….json`) with a webhook, "
        f"or at `/rest/{name}` with an OAuth token in `auth`."
    )
    entry["description"] = "\n\n".join(p for p in (post["summary"], post.get("description", ""), urls) if p)
    entry["summary"] = post["summary"].replace("`", "")
    return entry


def ui_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as the docs page shows it: one ``/rest/{method}`` entry per method, grouped by scope.

    The webhook forms ``/rest/{user_id}/{code}/{method}[.json]`` x GET/POST are four operations of one method;
    the page's script turns the entry into whichever the reader picks. Other paths stay as they are.
    """
    paths: dict[str, Any] = {}
    for path, item in doc["paths"].items():
        if not path.startswith(_REST_PREFIX):
            paths[path] = item
        elif not path.endswith(".json"):
            name = path.removeprefix(_REST_PREFIX)
            paths[f"/rest/{name}"] = {"post": _method_entry(name, item["post"])}
    tags = sorted({op["tags"][0] for item in paths.values() for op in item.values()})
    return {
        **doc,
        "servers": [{"url": "/", "description": "this server"}],
        "paths": paths,
        "tags": [{"name": tag} for tag in tags],
    }


async def openapi_json(request: Request) -> Response:
    return JSONResponse(document(request))


async def ui_json(request: Request) -> Response:
    cached: dict[str, Any] | None = getattr(request.app.state, "openapi_ui", None)
    if cached is None:
        cached = request.app.state.openapi_ui = ui_document(document(request))
    return JSONResponse(cached)


async def docs_page(request: Request) -> Response:
    doc = document(request)
    html = _templates.get_template("api_docs.html").render(info=doc["info"], assets=_ASSETS)
    return HTMLResponse(html, headers=_HEADERS)


async def swagger_asset(request: Request) -> Response:
    name = request.path_params["name"]
    media_type = _ASSET_TYPES.get(name)
    if media_type is None:
        return error_response(PlatformError(ErrorCode.ERROR_NOT_FOUND, "Page not found"))
    body = (_SWAGGER_UI / name).read_bytes()
    # The version is in the URL: the file never changes under it.
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}
    return Response(body, media_type=media_type, headers=headers)


def api_docs_routes() -> list[BaseRoute]:
    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs_page, methods=["GET"]),
        Route("/docs/openapi.json", ui_json, methods=["GET"]),
        Route("/docs/assets/{name}", swagger_asset, methods=["GET"]),
    ]
