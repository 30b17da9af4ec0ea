"""Pacing: per-chat and per-account token buckets with jitter; merged, ordered, nothing dropped."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.config import PacingConfig
from bot.core.messages import Reply
from bot.core.pacing import Pacer
from bot.testing import build_harness
from tests.timeline_support import Sent, check_pacing, day_settings, local, record_sends

T0 = datetime(2026, 12, 5, 12, tzinfo=UTC)


def drain(pacer: Pacer, chats: list[str], sends: int) -> list[tuple[datetime, str]]:
    """Send as fast as the pacer allows, round-robin over chats."""
    now, out = T0, []
    for i in range(sends):
        chat = chats[i % len(chats)]
        now = max(now, pacer.ready_at(chat, now))
        pacer.take(chat, now)
        out.append((now, chat))
    return out


def test_one_chat_gets_a_burst_then_the_rate() -> None:
    config = PacingConfig()
    sends = drain(Pacer(config, random.Random(1)), ["g"], 60)
    in_first_minute = [t for t, _ in sends if t - T0 < timedelta(minutes=1)]
    assert config.burst <= len(in_first_minute) <= config.burst + config.per_chat_per_minute
    gaps = [(b - a).total_seconds() for (a, _), (b, _) in itertools.pairwise(sends)]
    assert all(g > 0 for g in gaps)  # jitter: never two sends at one instant
    assert len({round(g, 3) for g in gaps}) > 10  # and not a fixed beat


def test_the_account_limit_holds_across_many_chats() -> None:
    config = PacingConfig()
    sends = drain(Pacer(config, random.Random(2)), [f"g{i}" for i in range(20)], 200)
    times = [t for t, _ in sends]
    for i, start in enumerate(times):
        window = [t for t in times[i:] if t - start < timedelta(seconds=90)]
        assert len(window) <= config.burst * 2 + config.per_account_per_minute * 1.5 < 60


async def test_a_flood_is_merged_in_order_and_nothing_is_dropped(engine: Engine) -> None:
    settings = day_settings()
    h = build_harness(settings, engine, local(5, 9))
    log: list[Sent] = []
    record_sends(h, log)
    group = settings.groups[0].id
    async with h.app:
        with Session(h.app.engine) as s:
            replies = [Reply("timeline/none", chat_id=group, must_send=i % 10 == 0) for i in range(40)]
            h.app.send_in_transaction(s, replies)
            s.commit()
        await h.app.outbox.pump()
        await h.advance(timedelta(minutes=5))
        assert h.app.outbox.pending() == []
    parts = sum(len(s.templates) if "+" in s.message.template else 1 for s in log)
    texts = "\n\n".join(s.message.text for s in log)
    assert texts.count("现在没有团") == 40  # every one delivered (must-send or not), in merged sends
    assert len(log) < 40 and parts >= len(log)
    check_pacing(log, PacingConfig())
