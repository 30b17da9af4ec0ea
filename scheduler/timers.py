"""Timers: when to call back. APScheduler in production, a fake in tests.

The database is the truth; a timer only says *when*. Jobs carry deterministic ids and
scheduling the same id again replaces the earlier one.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from datetime import datetime

from bot.core.clock import Callback, FakeClock

log = logging.getLogger(__name__)


class APSTimer:
    """APScheduler 3.x's AsyncIOScheduler, used only as a timer.

    A due callback is started as its own task and the scheduler's job ends at once. APScheduler
    skips a job whose previous run is still going ("maximum number of running instances
    reached"): a wake-up set while the same job ran (the outbox pump scheduling its next paced
    send, say) would be lost and its messages would wait for unrelated traffic. Callbacks here
    are safe to overlap (the outbox pump takes its lock, timeline jobs are exactly-once).
    """

    def __init__(self) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        # Late jobs still run: the runner decides whether a late job is still worth sending.
        self._scheduler = AsyncIOScheduler(job_defaults={"misfire_grace_time": None, "coalesce": True})
        self._running: set[asyncio.Future[None]] = set()

    def call_at(self, job_id: str, when: datetime, func: Callback) -> None:
        self._scheduler.add_job(
            self._start, "date", run_date=when, id=job_id, args=(job_id, func), replace_existing=True
        )

    async def _start(self, job_id: str, func: Callback) -> None:
        task = asyncio.ensure_future(func())
        task.set_name(f"timer:{job_id}")
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("timer job %s failed", task.get_name(), exc_info=task.exception())

    def cancel(self, job_id: str) -> None:
        from apscheduler.jobstores.base import JobLookupError

        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(job_id)

    def job_ids(self) -> set[str]:
        return {job.id for job in self._scheduler.get_jobs()}

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for task in self._running:
            task.cancel()


class FakeTimer:
    """Fires due callbacks in time order as a FakeClock is moved: a day plays in milliseconds."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self._heap: list[tuple[datetime, int, str]] = []
        self._jobs: dict[str, tuple[datetime, int, Callback]] = {}
        self._seq = itertools.count()

    def call_at(self, job_id: str, when: datetime, func: Callback) -> None:
        seq = next(self._seq)
        self._jobs[job_id] = (when, seq, func)
        heapq.heappush(self._heap, (when, seq, job_id))

    def cancel(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)

    def job_ids(self) -> set[str]:
        return set(self._jobs)

    def start(self) -> None:
        pass

    def shutdown(self) -> None:
        self._jobs.clear()
        self._heap.clear()

    def next_due(self) -> datetime | None:
        while self._heap:
            when, seq, job_id = self._heap[0]
            live = self._jobs.get(job_id)
            if live is not None and live[1] == seq:
                return when
            heapq.heappop(self._heap)  # replaced or cancelled
        return None

    async def run_due(self) -> int:
        """Run every job due at the current time (jobs may schedule more due ones)."""
        fired = 0
        while (due := self.next_due()) is not None and due <= self.clock.now():
            _, _, job_id = heapq.heappop(self._heap)
            _, _, func = self._jobs.pop(job_id)
            await func()
            fired += 1
        return fired

    async def advance_to(self, when: datetime) -> int:
        """Move the clock to ``when``, stopping at each due job on the way to fire it."""
        fired = await self.run_due()
        while (due := self.next_due()) is not None and due <= when:
            if due > self.clock.now():
                self.clock.set(due)
            fired += await self.run_due()
        if when > self.clock.now():
            self.clock.set(when)
        return fired + await self.run_due()
