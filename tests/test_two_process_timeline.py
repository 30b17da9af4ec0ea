"""Two bot processes on one PostgreSQL schema, each with its own app and fake clock driven to the
same times in lock-step: every timeline notice goes out exactly once across both."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from bot.groupbuy.plan import plan_for
from bot.store.models import Campaign
from bot.testing import build_harness, isolated_engine
from tests.timeline_support import ANNOUNCEMENT, day_settings, local

PG_URL = os.environ.get("TUANBOT_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="set TUANBOT_TEST_PG_URL to run the two-process test")


def worker(url: str, owner: str, times: list[datetime], barrier, results) -> None:  # type: ignore[no-untyped-def]
    """One bot process: start on the shared store and follow the common clock."""
    from bot.store.db import make_engine
    from tests.timeline_support import Sent, record_sends

    async def run() -> list[tuple[str, str, str]]:
        h = build_harness(
            day_settings(production_pacing=False, reconcile_seconds=60),
            make_engine(url),
            times[0],
            owner=owner,
        )
        log: list[Sent] = []
        record_sends(h, log)
        async with h.app:
            for when in times:
                barrier.wait(timeout=60)  # both processes reach each moment together
                await h.at(when)
                await h.timer.run_due()
        return [(t, s.message.chat_id, s.at.isoformat()) for s in log for t in s.templates]

    results.put((owner, asyncio.run(run())))


async def test_two_processes_send_every_notice_once() -> None:
    assert PG_URL is not None
    with isolated_engine(PG_URL) as engine:
        url = engine.url.render_as_string(hide_password=False)
        setup = build_harness(day_settings(production_pacing=False), engine, local(5, 9), owner="setup")
        async with setup.app:
            await setup.say("王姐", ANNOUNCEMENT)
            with Session(engine) as s:
                campaign = s.get(Campaign, 1)
                assert campaign is not None
                due = sorted({j.run_at for j in plan_for(campaign)})
        # Each job's moment, and a second after it (a late second fire must find it done).
        times = [local(5, 9, 0, 1), *sorted({t for d in due for t in (d, d + timedelta(seconds=1))})]
        times = [t for t in times if t <= local(6, 12)]

        ctx = multiprocessing.get_context("spawn")
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(target=worker, args=(url, owner, times, barrier, results)) for owner in ("p1", "p2")
        ]
        for p in procs:
            p.start()
        logs = dict(results.get(timeout=180) for _ in procs)
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0

    group = setup.settings.groups[0].id
    sent = Counter(t for log in logs.values() for t, chat, _ in log if chat == group)
    assert sent == Counter(
        {
            "timeline/preheat": 1,
            "timeline/remind_open": 2,
            "timeline/countdown": 3,
            "redpacket/rain_start": 1,
            "redpacket/rain_end": 1,
            "campaign/announcement": 1,
            "campaign/jielong_post": 1,
            "recap/recap": 1,
            "recap/poster": 1,
            "timeline/sales": 1,
            "timeline/last_call": 2,
            "campaign/closed": 1,
        }
    ), sent
    every = Counter(t for log in logs.values() for t, _, _ in log)
    assert every["timeline/close_leader"] == 1  # the leader's private totals, once too
