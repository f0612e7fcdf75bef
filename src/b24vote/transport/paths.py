"""REST paths: where ``/rest/`` calls live and what their path says (credentials, method, format)."""

from __future__ import annotations

from starlette.types import Scope

from b24vote.errors import ErrorCode, PlatformError
from b24vote.transport.auth import Credentials

__all__ = ["REST_PREFIX", "parse_rest_path", "rest_path", "route_path"]

REST_PREFIX = "/rest/"


def route_path(scope: Scope) -> str:
    """The request's path below the application's root path (``uvicorn --root-path``), if any."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :]
    return path


def rest_path(scope: Scope) -> str:
    """What follows ``/rest/`` in the path of a REST call."""
    return route_path(scope)[len(REST_PREFIX) :]


def parse_rest_path(path: str) -> tuple[Credentials | None, str]:
    """Split what follows ``/rest/`` into credentials (webhook) and a method name.

    Repeated and trailing slashes are tolerated (SDKs send ``/rest//method`` and ``…/code//method/``) and a
    ``.json`` or ``.xml`` suffix is dropped (:func:`response_format` reads it).
    """
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise PlatformError(ErrorCode.ERROR_METHOD_NOT_FOUND)
    method = parts[-1]
    if method.lower().endswith(".json"):
        method = method[: -len(".json")]
    elif method.lower().endswith(".xml"):
        method = method[: -len(".xml")]
    if len(parts) == 1:
        return None, method
    if len(parts) == 3:
        return Credentials(webhook_user=parts[0], webhook_code=parts[1]), method
    raise PlatformError(ErrorCode.ERROR_METHOD_NOT_FOUND)
