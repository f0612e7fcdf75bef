"""Driving wrk (a C load generator, in its own process) and reading its report."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class Result:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx, socket errors, and replies the scenario's check refused


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk (make bench does this)")
    return path


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    if not match:
        raise ValueError(f"unreadable wrk latency {value!r}")
    return float(match[1]) * _UNITS[match[2]]


def parse(output: str, check_errors: int = 0) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    p50 = _ms(re.search(r"\n\s+50%\s+(\S+)", output)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"\n\s+99%\s+(\S+)", output)[1])  # type: ignore[index]
    requests = int(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    errors = check_errors
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        errors += int(non2xx[1])
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        errors += sum(int(x) for x in socket.groups())
    return Result(rps, p50, p99, requests, errors)


LUA_TEMPLATE = """
local paths = {%(paths)s}
local body_for = %(body_fn)s
local n = 0
local bad = 0
wrk.method = "%(method)s"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local i = ((n - 1) %% #paths) + 1
  return wrk.format(nil, paths[i], nil, body_for(n))
end
response = function(status, headers, body)
  if status ~= 200 or %(refuse)s then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("CHECK_ERRORS %%d\\n", bad))
end
"""


def run(
    url_base: str,
    *,
    paths: list[str],
    body_lua: str,
    method: str = "POST",
    refuse_lua: str = "false",
    duration: float,
    connections: int,
    max_requests: int | None = None,
) -> Result:
    """Load ``url_base`` for ``duration`` seconds; ``body_lua`` is a Lua function of the request number."""
    script = LUA_TEMPLATE % {
        "paths": ", ".join(f'"{p}"' for p in paths),
        "body_fn": body_lua,
        "method": method,
        "refuse": refuse_lua,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        output = subprocess.run(
            [
                require_wrk(),
                "-t1",
                f"-c{connections}",
                f"-d{duration:.0f}s",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                handle.name,
                url_base,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=True,
        ).stdout
    finally:
        Path(handle.name).unlink()
    check = re.search(r"CHECK_ERRORS (\d+)", output)
    return parse(output, int(check[1]) if check else 0)
