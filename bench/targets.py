"""The performance targets ``make bench`` checks, each computed from rows of the same run.

A target whose rows were not run (``--only``, ``--skip-postgres``, no Prism) reads "not measured". The
thresholds are the ones of the issues that set them (issue 21 for the peers and ratios, the earlier targets
kept in docs/benchmarks.md for the rest); change them here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.wrk import Result

__all__ = ["Names", "Target", "render", "targets"]

Lookup = Callable[[str], Result | None]


@dataclass(frozen=True)
class Names:
    """The row names the targets read (some carry the run's sizes)."""

    baseline: str
    transport: str
    server_time: str
    get: str
    get_big: str
    get_redis: str
    prism: str
    vote: str
    vote_postgres: str
    bare_insert: str
    answer_first: str
    answer_last: str


@dataclass(frozen=True)
class Target:
    text: str
    measure: Callable[[Lookup], float | None]  # None: a row it needs was not run
    shown: Callable[[float], str]
    met: Callable[[float], bool] | None  # None: the issue gives no threshold, the figure is reported


def _ratio(numerator: str, denominator: str) -> Callable[[Lookup], float | None]:
    def measure(row: Lookup) -> float | None:
        top, bottom = row(numerator), row(denominator)
        if top is None or bottom is None or not bottom.requests_per_s:
            return None
        return top.requests_per_s / bottom.requests_per_s

    return measure


def _p99(name: str) -> Callable[[Lookup], float | None]:
    def measure(row: Lookup) -> float | None:
        found = row(name)
        return None if found is None else found.p99_ms

    return measure


def _errors_free_ratio(name: str, baseline: str) -> Callable[[Lookup], float | None]:
    """The ratio to the baseline, or 0 when the row had any error (so that an erring row cannot pass)."""
    ratio = _ratio(name, baseline)

    def measure(row: Lookup) -> float | None:
        value = ratio(row)
        found = row(name)
        return None if value is None or found is None else (value if found.errors == 0 else 0.0)

    return measure


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _times(value: float) -> str:
    return f"{value:.2f}×"


def targets(names: Names) -> list[Target]:
    """Issue 21's table (one process, 32 connections), then the older targets still in docs/benchmarks.md."""
    n = names
    return [
        Target(
            f"`{n.transport}` ≥ 50 % of the bare baseline",
            _ratio(n.transport, n.baseline),
            _percent,
            lambda v: v >= 0.50,
        ),
        Target(
            f"`{n.server_time}` ≥ 40 % of the bare baseline",
            _ratio(n.server_time, n.baseline),
            _percent,
            lambda v: v >= 0.40,
        ),
        Target(
            f"`{n.get}` ≥ 30 % of the bare baseline's requests/s",
            _ratio(n.get, n.baseline),
            _percent,
            lambda v: v >= 0.30,
        ),
        Target(
            f"`{n.get}` p99 < 10 ms at the run's connections", _p99(n.get), lambda v: f"{v:.2f} ms", lambda v: v < 10
        ),
        Target(
            f"`{n.get_big}` within 1.1× of `{n.get}` (requests/s of the 10 voters' / of the big poll's)",
            _ratio(n.get, n.get_big),
            _times,
            lambda v: v <= 1.1,
        ),
        Target(
            f"`{n.get_redis}` ≥ 25 % of the bare baseline",
            _ratio(n.get_redis, n.baseline),
            _percent,
            lambda v: v >= 0.25,
        ),
        Target(
            f"`{n.vote}` ≥ 12 % of the bare baseline, zero errors",
            _errors_free_ratio(n.vote, n.baseline),
            _percent,
            lambda v: v >= 0.12,
        ),
        Target(
            f"`{n.vote_postgres}` ≥ 0.5× a bare `INSERT … RETURNING` route on the same driver and server",
            _ratio(n.vote_postgres, n.bare_insert),
            _times,
            lambda v: v >= 0.5,
        ),
        Target(
            f"`{n.get}` ≥ 4× Prism serving the documented example", _ratio(n.get, n.prism), _times, lambda v: v >= 4
        ),
        Target(
            f"`{n.answer_last}` within 1.5× of the first page (first / last requests/s)",
            _ratio(n.answer_first, n.answer_last),
            _times,
            lambda v: v <= 1.5,
        ),
    ]


def render(names: Names, row: Lookup, extra: list[tuple[str, str, bool | None]]) -> list[str]:
    """The targets as a Markdown table; ``extra`` holds the lines computed elsewhere: (text, measured, met),
    ``met`` None for a figure reported without a threshold, or not measured when ``measured`` is empty."""
    lines = ["| target | measured | status |", "| --- | ---: | --- |"]
    for target in targets(names):
        value = target.measure(row)
        if value is None:
            lines.append(f"| {target.text} | | not measured |")
            continue
        status = "no threshold" if target.met is None else ("met" if target.met(value) else "**missed**")
        lines.append(f"| {target.text} | {target.shown(value)} | {status} |")
    for text, measured, met in extra:
        status = "not measured" if not measured else "no threshold" if met is None else "met" if met else "**missed**"
        lines.append(f"| {text} | {measured} | {status} |")
    return lines
