"""The ``downloadUrl`` of an attach: ``/bitrix/services/main/ajax.php?action=vote.AttachedVote.download``.

The real server serves it through its AJAX controller gateway without REST credentials: the signed attach
id is what grants read (../shared/reference/notes/vote-semantics.md §4.9, "WithSign, no Csrf"). b24vote
runs the REST method through the ordinary dispatch for a caller who is nobody (user 0), so only a valid signed
id gets a file.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from b24vote.errors import B24Error, ErrorCode, MethodError, PlatformError
from b24vote.methods import vote_texts as texts
from b24vote.methods.registry import FileResult
from b24vote.transport.auth import Credentials
from b24vote.transport.dispatch import SIGNED_READER, execute
from b24vote.transport.envelope import error_response, file_response
from b24vote.transport.routes import read_params

if TYPE_CHECKING:
    from b24vote.state import AppState

__all__ = ["AJAX_PATH", "DOWNLOAD_ACTION", "ajax_endpoint"]

log = logging.getLogger("b24vote.web")

AJAX_PATH = "/bitrix/services/main/ajax.php"
DOWNLOAD_ACTION = "vote.AttachedVote.download"


async def _download(state: AppState, params: dict[str, Any]) -> FileResult:
    signed = params.get("signedAttachId")
    if not isinstance(signed, str) or not signed.strip():
        raise MethodError("ATTACH_NOT_FOUND", texts.ATTACH_NOT_FOUND)
    # Only the signed id and the format are passed on: attachId or an entity would be read-checked for user 0.
    passed = {"signedAttachId": signed}
    if "format" in params:
        passed["format"] = params["format"]
    outcome = await execute(state, Credentials(), DOWNLOAD_ACTION, passed, caller=SIGNED_READER)
    if not isinstance(outcome.value, FileResult):  # pragma: no cover - the download handler returns a file
        raise TypeError(f"{DOWNLOAD_ACTION} returned {type(outcome.value).__name__}")
    return outcome.value


async def ajax_endpoint(request: Request) -> Response:
    state: AppState = request.app.state.b24
    try:
        params = await read_params(request, state.settings.max_body_bytes)
        action = params.get("action")
        if not isinstance(action, str) or action.lower() != DOWNLOAD_ACTION.lower():
            raise PlatformError(ErrorCode.ERROR_NOT_FOUND, "Unknown action")
        result = await _download(state, params)
    except B24Error as exc:
        return error_response(exc)
    except Exception:
        log.exception("unhandled error in %s", AJAX_PATH)
        return error_response(PlatformError(ErrorCode.INTERNAL_SERVER_ERROR))
    return file_response(result)
