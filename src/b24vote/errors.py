"""Every error b24vote can answer with, as Bitrix24 codes.

One class carries the wire code, the description and the HTTP status; only the transport turns it into a
response. The tree::

    B24Error                       any error answered in the Bitrix24 envelope
    ├── PlatformError              REST platform errors (auth, scope, unknown method, malformed input, limits)
    ├── MethodError                errors raised by a method's own logic (HTTP 400 unless said otherwise)
    ├── OAuthError                 errors of the OAuth token endpoint (invalid_grant, invalid_client, ...)
    └── AdminError                 errors of the emulator controls under /_b24vote/ (bad rule, unknown snapshot)

Platform codes and statuses follow ../shared/reference/bitrix24-docs/platform/system-errors.md. Method
errors follow the real server: the REST layer answers a controller error with HTTP 400 and the error's code
as a string (../shared/reference/notes/vote-semantics.md §0.1).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

__all__ = ["AdminError", "B24Error", "ErrorCode", "MethodError", "OAuthError", "PlatformError"]


class ErrorCode(Enum):
    """Platform error codes with their HTTP status and default description."""

    INTERNAL_SERVER_ERROR = (500, "Internal server error")
    QUERY_LIMIT_EXCEEDED = (503, "Too many requests")
    OPERATION_TIME_LIMIT = (429, "Method is blocked due to operation time limit")
    ERROR_BATCH_METHOD_NOT_ALLOWED = (405, "Method is not allowed for batch usage")
    ERROR_BATCH_LENGTH_EXCEEDED = (400, "Max batch length exceeded")
    NO_AUTH_FOUND = (401, "Wrong authorization data")
    INVALID_REQUEST = (400, "Invalid request")
    INVALID_CREDENTIALS = (403, "Invalid request credentials")
    INSUFFICIENT_SCOPE = (403, "The request requires higher privileges than provided by the webhook token")
    EXPIRED_TOKEN = (401, "The access token provided has expired")
    INVALID_TOKEN = (401, "The access token provided is invalid")
    AUTHORIZATION_ERROR = (401, "Unable to authorize user")
    ERROR_METHOD_NOT_FOUND = (404, "Method not found!")
    REQUEST_TOO_LARGE = (413, "Request body is too large")
    ERROR_ARGUMENT = (400, "Invalid argument")
    ERROR_REQUIRED_PARAMETER = (400, "Required parameter is missing")
    ACCESS_DENIED = (403, "Access denied")
    ERROR_NOT_FOUND = (404, "Not found")

    @property
    def status(self) -> int:
        return self.value[0]

    @property
    def description(self) -> str:
        return self.value[1]

    @property
    def wire(self) -> str:
        """The code as sent on the wire (a few Bitrix24 codes are lower-case)."""
        return _WIRE_NAMES.get(self, self.name)


_WIRE_NAMES = {
    ErrorCode.INSUFFICIENT_SCOPE: "insufficient_scope",
    ErrorCode.EXPIRED_TOKEN: "expired_token",
    ErrorCode.INVALID_TOKEN: "invalid_token",
    ErrorCode.AUTHORIZATION_ERROR: "authorization_error",
}


class B24Error(Exception):
    """An error answered as ``{"error": code, "error_description": text}`` with an HTTP status."""

    def __init__(self, code: str, description: str, status: int, extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        return {"error": self.code, "error_description": self.description, **self.extra}


class PlatformError(B24Error):
    """An error of the REST platform itself."""

    def __init__(self, code: ErrorCode, description: str | None = None) -> None:
        super().__init__(code.wire, description or code.description, code.status)
        self.error_code = code


class MethodError(B24Error):
    """An error from a method's own logic; the real REST layer sends these with HTTP 400."""

    def __init__(self, code: str | int, description: str, status: int = 400) -> None:
        super().__init__(str(code), description, status)


class OAuthError(B24Error):
    """An error of the OAuth server (``/oauth/token/``); statuses follow RFC 6749 §5.2."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(code, description, status)


class AdminError(B24Error):
    """An error of the admin API, answered in the same ``{error, error_description}`` shape."""

    def __init__(self, description: str, status: int = 400, code: str = "INVALID_REQUEST") -> None:
        super().__init__(code, description, status)
