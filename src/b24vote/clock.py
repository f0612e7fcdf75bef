"""Where b24vote gets the time from (system, frozen for tests, controllable for the emulator) and how it prints it."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

__all__ = ["Clock", "ControllableClock", "FrozenClock", "SystemClock", "iso"]


# The last second printed per time zone: every reply's `time` block prints the current second twice, and
# formatting a datetime costs more than the rest of that block.
_printed: dict[timezone, tuple[int, str]] = {}


def iso(when: datetime, tz: timezone) -> str:
    """``2025-08-06T11:46:56+03:00``: seconds precision with the portal's offset, as Bitrix24 prints."""
    second = math.floor(when.timestamp())
    last = _printed.get(tz)
    if last is not None and last[0] == second:
        return last[1]
    text = when.astimezone(tz).replace(microsecond=0).isoformat()
    _printed[tz] = (second, text)  # one tuple, swapped whole: threads see an old or a new pair, never half
    return text


class Clock(Protocol):
    """A source of time-zone-aware wall time and of a monotonic counter."""

    def now(self) -> datetime:
        """Current wall time, aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.perf_counter()


class FrozenClock:
    """A clock that moves only when told to (tests, emulator controls)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    def set(self, when: datetime) -> None:
        """Jump to an absolute time."""
        if when.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = when


class ControllableClock:
    """Wraps another clock so the emulator controls can freeze, set and advance the time everyone reads.

    Unfrozen, it runs with the wrapped clock plus an offset; frozen, it stands still. Unfreezing keeps the
    time it stood at and runs on from there. ``monotonic`` follows the wrapped clock plus every advance, so
    it never goes backwards, even when ``set`` moves the wall time back.
    """

    def __init__(self, base: Clock) -> None:
        self.base = base
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None
        self._advanced = 0.0
        self._lock = threading.Lock()

    @classmethod
    def wrap(cls, clock: Clock) -> ControllableClock:
        """``clock`` itself when it is controllable already, else a controllable clock over it."""
        return clock if isinstance(clock, ControllableClock) else cls(clock)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return self.base.now() + self._offset

    def monotonic(self) -> float:
        return self.base.monotonic() + self._advanced

    def freeze(self) -> None:
        """Stop the clock at the current time (no-op when frozen)."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self.base.now() + self._offset

    def unfreeze(self) -> None:
        """Run again from the time the clock stood at."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self.base.now()
                self._frozen_at = None

    def set(self, when: datetime) -> None:
        """Jump to an absolute time, frozen or running."""
        if when.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = when
            else:
                self._offset = when - self.base.now()

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds`` (not negative: use :meth:`set` to go back)."""
        if seconds < 0:
            raise ValueError("cannot advance by a negative number of seconds")
        step = timedelta(seconds=seconds)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += step
            else:
                self._offset += step
            self._advanced += seconds

    def reset(self) -> None:
        """Back to the wrapped clock's time, running."""
        with self._lock:
            self._offset = timedelta(0)
            self._frozen_at = None
