"""The REST transport alone, served over HTTP: ``bench.inprocess``'s "transport only" line as a server.

``uvicorn --factory bench.transport_only:create`` (with the options ``b24vote serve`` gives uvicorn) serves
b24vote's real application with one change: each method's execution (authentication, limits, the transaction,
the handler) is run once and its outcome reused for every later call of that method. What is left is what
every REST call does whatever its method: read the body, decode the parameters, look the path up, build the
envelope and its ``time`` block, encode it, count the metrics, send it. ``make bench`` drives it with the
requests of ``get, 10 voters``, so the two rows differ by exactly the method's execution.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from b24vote.asgi import create as create_b24vote
from b24vote.transport import routes as _routes

__all__ = ["create"]


def create() -> Starlette:
    """b24vote's served application with ``routes._execute`` memoised per method name."""
    routes: Any = _routes  # its module-level ``_execute`` is the name swapped (as bench/inprocess.py does)
    real = routes._execute
    memo: dict[str, Any] = {}

    async def memoised(state: Any, creds: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if name not in memo:  # concurrent first calls may each run it: the first to finish is kept
            memo.setdefault(name, await real(state, creds, name, *args, **kwargs))
        return memo[name]

    routes._execute = memoised
    return create_b24vote()
