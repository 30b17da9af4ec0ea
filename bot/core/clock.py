"""Injected time. Everything that needs 'now' asks a Clock, so tests can fake it; whatever
needs a call-back later asks a Timer (``scheduler.timers`` has APScheduler's and a fake)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    tz: ZoneInfo

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


Callback = Callable[[], Awaitable[None]]


class Timer(Protocol):
    """When to call back. Jobs carry deterministic ids; the same id again replaces the earlier one."""

    def call_at(self, job_id: str, when: datetime, func: Callback) -> None: ...

    def cancel(self, job_id: str) -> None: ...

    def job_ids(self) -> set[str]: ...

    def start(self) -> None: ...

    def shutdown(self) -> None: ...


class SystemClock:
    def __init__(self, tz: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz)

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to. Listeners run on every move (the fake scheduler)."""

    def __init__(self, start: datetime, tz: str = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz)
        if start.tzinfo is None:
            start = start.replace(tzinfo=self.tz)
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.tz)
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def local(clock: Clock, when: datetime) -> datetime:
    """Show a stored (UTC) time in the clock's zone."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(clock.tz)
