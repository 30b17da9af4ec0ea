"""Kill the bot (no clean shutdown) at several points of the timeline and start it again on the
same database: nothing lost, nothing sent twice, overdue must-run work done, stale reminders skipped."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.engine import Engine

from bot.store.db import make_engine
from bot.testing import Harness, build_harness
from tests.timeline_support import ANNOUNCEMENT, Sent, day_settings, local, notices, record_sends


def _start(engine_url: str, when, log: list[Sent]) -> Harness:  # type: ignore[no-untyped-def]
    h = build_harness(day_settings(production_pacing=False), make_engine(engine_url), when)
    record_sends(h, log)
    return h


async def test_killed_at_several_points_and_restarted(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    log: list[Sent] = []

    # Process 1: the campaign is made; the morning and evening reminders go out. Then it dies.
    p1 = _start(url, local(5, 9), log)
    await p1.app.__aenter__()
    await p1.say("王姐", ANNOUNCEMENT)
    await p1.at(local(5, 19, 31))
    del p1  # killed: no __aexit__, the timer's jobs die with it

    # Process 2 comes back during the golden ten minutes: the stale countdowns and the rain
    # start are skipped (never "10 minutes left" at 19:56), the rest of the countdown runs.
    p2 = _start(url, local(5, 19, 56, 10), log)
    await p2.app.__aenter__()
    await p2.timer.run_due()
    await p2.at(local(5, 20, 0, 30))
    # The network drops; the T+30 sales post is committed with its SentNotice but never delivered.
    p2.transport.online = False
    await p2.at(local(5, 20, 30, 5))
    del p2

    # Process 3 starts after the close time: the waiting sales post goes out, the close runs
    # late (must-run), the last calls missed while down are skipped.
    p3 = _start(url, local(5, 23, 10), log)
    await p3.app.__aenter__()
    await p3.timer.run_due()
    await p3.at(local(6, 9))
    await p3.app.__aexit__(None, None, None)

    group = p3.settings.groups[0].id
    sent = Counter(t for s in log if s.message.chat_id == group for t in s.templates)
    assert sent["timeline/preheat"] == 1
    assert sent["timeline/remind_open"] == 2
    assert sent["timeline/countdown"] == 1  # only T-1; T-10 and T-5 were stale
    assert sent["redpacket/rain_start"] == 0 and sent["redpacket/rain_end"] == 0
    assert sent["campaign/announcement"] == 1
    assert sent["timeline/sales"] == 1  # committed in p2, delivered by p3, once
    assert sent["timeline/last_call"] == 0
    assert sent["campaign/closed"] == 1
    assert all(n == 1 for t, n in sent.items() if t != "timeline/remind_open"), sent

    sales = next(s for s in log if "timeline/sales" in s.templates)
    assert sales.at == local(5, 23, 10)
    closed = next(s for s in log if "campaign/closed" in s.templates)
    assert closed.at == local(5, 23, 10)

    keys = notices(p3)
    skipped = sorted(
        k.split(":", 2)[2] for k, n in keys.items() if n.kind == "skipped" and ":alert:" not in k
    )
    # Alert checks missed while the bot was down are skipped too (stale numbers help nobody).
    assert any(":alert:" in k and n.kind == "skipped" for k, n in keys.items())
    assert skipped == ["countdown:10", "countdown:5", "last_call:120", "last_call:30", "rain_start:0"]
    assert keys["campaign:1:rain_end:0"].kind == "rain_end"  # must-run, found nothing to announce


async def test_a_double_start_on_one_database_sends_once(engine: Engine) -> None:
    """Two starts of the same owner over one database (a restart loop): the open fires once."""
    url = engine.url.render_as_string(hide_password=False)
    log: list[Sent] = []
    p1 = _start(url, local(5, 9), log)
    await p1.app.__aenter__()
    await p1.say("王姐", ANNOUNCEMENT)
    p2 = _start(url, local(5, 20, 0, 1), log)
    p1.clock.set(local(5, 20, 0, 1))
    await p2.app.__aenter__()
    await p1.timer.run_due()
    await p2.timer.run_due()
    opens = [s for s in log if "campaign/announcement" in s.templates]
    assert len(opens) == 1
