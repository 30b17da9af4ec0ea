"""The production timer (APScheduler): a due job always runs, even while its previous run goes on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from scheduler.timers import APSTimer


async def test_a_job_set_again_while_it_runs_is_not_skipped() -> None:
    timer = APSTimer()
    timer.start()
    first_running, release, second_ran = asyncio.Event(), asyncio.Event(), asyncio.Event()
    runs = 0

    async def job() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            first_running.set()
            await release.wait()  # a slow send: still running when the next wake-up is due
        else:
            second_ran.set()

    try:
        timer.call_at("outbox:main", datetime.now(UTC), job)
        await asyncio.wait_for(first_running.wait(), 10)
        timer.call_at("outbox:main", datetime.now(UTC), job)
        await asyncio.wait_for(second_ran.wait(), 10)  # APScheduler alone would skip this run
        assert runs == 2
    finally:
        release.set()
        timer.shutdown()
