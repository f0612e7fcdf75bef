"""Response formats: ``.json`` (the default) and ``.xml``, rendered as Bitrix24's ``CRestServer::outputXml``.

The XML form wraps the reply in ``<response>``; every key becomes an element, integer keys (list items)
become ``<item>``, and scalars are written as PHP prints them: ``true`` → ``1``, ``false``/``null`` → empty,
floats with PHP's 14 significant digits. There is no XML declaration, as on the real server.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.responses import Response

from b24vote.errors import B24Error
from b24vote.transport.envelope import JSONResponse

__all__ = ["XMLResponse", "encode", "php_string", "render", "render_error", "response_format", "to_xml"]

_JSON = b"application/json; charset=utf-8"
_XML = b"text/xml; charset=utf-8"

_INT_KEY = re.compile(r"-?(0|[1-9][0-9]{0,18})")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})


class XMLResponse(Response):
    """A reply in Bitrix24's XML transport."""

    media_type = "text/xml; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return to_xml({"response": content}).encode()


def response_format(path: str) -> str:
    """``xml`` when the method segment of a REST path ends in ``.xml``, else ``json``."""
    parts = [p for p in path.split("/") if p]
    return "xml" if parts and parts[-1].lower().endswith(".xml") else "json"


def php_string(value: Any) -> str:
    """A scalar as PHP's string conversion prints it."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        return _php_float(value)
    return str(value)


def _php_float(value: float) -> str:
    if value != value:
        return "NAN"
    if value in (float("inf"), float("-inf")):
        return "INF" if value > 0 else "-INF"
    text = format(value, ".14G")
    if "E" not in text:
        return text
    mantissa, exponent = text.split("E")
    if "." not in mantissa:
        mantissa += ".0"
    power = int(exponent)
    return f"{mantissa}E{'+' if power >= 0 else '-'}{abs(power)}"


def to_xml(data: Any) -> str:
    """Elements for each key of a map (or item of a list), recursively."""
    items = enumerate(data) if isinstance(data, list) else data.items()
    out: list[str] = []
    for key, value in items:
        name = "item" if isinstance(key, int) or _INT_KEY.fullmatch(str(key)) else str(key)
        inner = to_xml(value) if isinstance(value, (dict, list)) else php_string(value).translate(_ESCAPES)
        out.append(f"<{name}>{inner}</{name}>")
    return "".join(out)


def encode(body: dict[str, Any], fmt: str) -> tuple[bytes, bytes]:
    """The reply body in the requested format, and its media type."""
    if fmt == "xml":
        return to_xml({"response": body}).encode(), _XML
    return orjson.dumps(body), _JSON


def render(body: dict[str, Any], status: int, fmt: str) -> Response:
    """The reply body in the requested format."""
    if fmt == "xml":
        return XMLResponse(body, status_code=status)
    return JSONResponse(body, status_code=status)


def render_error(error: B24Error, fmt: str) -> Response:
    return render(error.body(), error.status, fmt)
