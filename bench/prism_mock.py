"""Stoplight Prism, the peer of ``get``: a mock server answering the documented example of vote.AttachedVote.get.

Prism is installed from the npm registry into bench/prism/node_modules (pinned in bench/prism/package-lock.json;
``make bench`` runs ``npm ci`` there). :func:`write_document` writes a tiny OpenAPI file with one operation,
``POST /rest/{user}/{code}/vote.AttachedVote.get``, whose request body must carry an integer ``attachId`` and
whose 200 reply is the documented response: the method spec's ``resultExample`` (the reference documents the
``result`` only) in the envelope of a REST reply, with the ``time`` block of the spec of
vote.AttachedVote.getMany. The spec files come from ../shared/reference beside the checkout, or
``B24VOTE_REFERENCE``. Prism runs as one process, static examples, request validation on (its default),
logging at ``warn`` (b24vote's access log is off in ``make bench`` too).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["PRISM", "command", "document", "method_specs", "write_document"]

PRISM = Path(__file__).resolve().parent / "prism" / "node_modules" / ".bin" / "prism"
GET_PATH = "/rest/{user}/{code}/vote.AttachedVote.get"


def method_specs() -> Path | None:
    """The reference's method-specs folder: ``B24VOTE_REFERENCE``, or ../shared/reference beside the checkout."""
    if os.environ.get("B24VOTE_REFERENCE"):
        found = Path(os.environ["B24VOTE_REFERENCE"]) / "bitrix24-docs" / "method-specs"
        return found if found.is_dir() else None
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "reference" / "bitrix24-docs" / "method-specs"
        if candidate.is_dir():
            return candidate
    return None


def documented_reply(specs: Path) -> dict[str, Any]:
    """The documented reply of vote.AttachedVote.get, as a whole REST envelope."""
    example = json.loads((specs / "vote.AttachedVote.get.json").read_text(encoding="utf-8"))["resultExample"]
    if "result" in example:  # a spec that documents the envelope already
        return dict(example)
    time_block = json.loads((specs / "vote.AttachedVote.getMany.json").read_text(encoding="utf-8"))["resultExample"]
    return {"result": example, "time": time_block["time"]}


def document(specs: Path) -> dict[str, Any]:
    """An OpenAPI 3.0 document with the one operation Prism serves."""
    path_param = [
        {"name": "user", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
    ]
    request_schema = {"type": "object", "required": ["attachId"], "properties": {"attachId": {"type": "integer"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "vote.AttachedVote.get, its documented example", "version": "1"},
        "paths": {
            GET_PATH: {
                "post": {
                    "operationId": "get",
                    "parameters": path_param,
                    "requestBody": {"required": True, "content": {"application/json": {"schema": request_schema}}},
                    "responses": {
                        "200": {
                            "description": "The attached poll",
                            "content": {
                                "application/json": {"schema": {"type": "object"}, "example": documented_reply(specs)}
                            },
                        }
                    },
                }
            }
        },
    }


def write_document(folder: Path, specs: Path) -> Path:
    target = folder / "prism-get.json"
    target.write_text(json.dumps(document(specs), ensure_ascii=False), encoding="utf-8")
    return target


def command(openapi: Path) -> list[str]:
    """``prism mock`` for the file, without its port (``bench.__main__.server`` appends ``--port N``)."""
    return [str(PRISM), "mock", "--host", "127.0.0.1", "--verboseLevel", "warn", str(openapi)]
