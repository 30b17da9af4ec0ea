"""Live alerts reach the leader and admins privately, never the group."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.services.alerts import ActivityMeter
from bot.testing import build_harness, demo_settings
from tests.conftest import START


async def test_low_conversion_and_quiet_chat_alert_privately_once(engine: Engine) -> None:
    members = [f"邻居{i}" for i in range(20)]
    settings = demo_settings({"幸福里1群": {"leader": "王姐", "admins": ["小陈"], "members": members}})
    h = build_harness(settings, engine, START)
    async with h.app:
        await h.say("王姐", "开团 水果团\n苹果 10元/斤\n截团 今天18:00")
        await h.say("邻居1", "苹果1")  # 1 buyer of 22 members: far below 15%
        sent = await h.advance(timedelta(minutes=36))
        alerts = [m for m in sent if m.template == "timeline/alert"]
        assert {m.chat_id for m in alerts} == {h.member_id("王姐"), h.member_id("小陈")}
        assert all(not m.is_group for m in alerts)
        assert "转化" in alerts[0].text or "下单率" in alerts[0].text
        # The same problem is not repeated within the cool-down.
        again = await h.advance(timedelta(minutes=10))
        assert not [m for m in again if m.template == "timeline/alert"]
    group = h.group_id()
    assert not [m for m in h.transport.sent if m.chat_id == group and "alert" in m.template]


async def test_no_alert_when_the_group_is_buying(engine: Engine) -> None:
    members = [f"邻居{i}" for i in range(6)]
    settings = demo_settings(
        {"幸福里1群": {"leader": "王姐", "members": members}},
        alerts={"chat_per_minute_below": 0, "order_drop": 0.99},
    )
    h = build_harness(settings, engine, START)
    async with h.app:
        await h.say("王姐", "开团 水果团\n苹果 10元/斤\n截团 今天18:00")
        for name in members:
            await h.say(name, "苹果1")
        sent = await h.advance(timedelta(minutes=36))
    assert not [m for m in sent if m.template == "timeline/alert"]


QUIET_OTHERWISE = {"conversion_below": 0, "chat_per_minute_below": 0, "order_drop": 0.99}


async def _chat_then_fall_silent(engine: Engine, talkers: int) -> list[str]:
    """``talkers`` neighbours chat every 5 minutes for 35 minutes, then one speaks: alert texts."""
    members = [f"邻居{i}" for i in range(12)]
    settings = demo_settings({"幸福里1群": {"leader": "王姐", "members": members}}, alerts=QUIET_OTHERWISE)
    h = build_harness(settings, engine, START)
    sent = []
    async with h.app:
        await h.say("王姐", "开团 水果团\n苹果 10元/斤\n截团 今天18:00")
        sent += await h.advance(timedelta(minutes=1))  # chat mid-window, checks on the 5 minutes
        for _ in range(7):
            for name in members[:talkers]:
                await h.say(name, "今天的苹果甜不甜")
            sent += await h.advance(timedelta(minutes=5))
        await h.say(members[0], "好的")
        sent += await h.advance(timedelta(minutes=5))
    assert all(not m.is_group for m in sent if m.template == "timeline/alert")
    return [m.text for m in sent if m.template == "timeline/alert" and m.chat_id == h.member_id("王姐")]


async def test_leader_hears_when_far_fewer_members_speak_than_usual(engine: Engine) -> None:
    alerts = await _chat_then_fall_silent(engine, talkers=8)
    assert len(alerts) == 1
    assert "只有1位群友发言" in alerts[0] and "平时约8位" in alerts[0]


async def test_no_active_member_alert_for_a_group_that_is_always_quiet(engine: Engine) -> None:
    assert await _chat_then_fall_silent(engine, talkers=3) == []  # usually fewer than 5 speak


def test_active_members_counts_speakers_per_window_against_the_last_hour() -> None:
    meter = ActivityMeter()
    window = timedelta(minutes=5)
    at = START
    for minute in range(0, 30, 5):
        for who in ("a", "b", "c", "d"):
            meter.record("g", at + timedelta(minutes=minute), who)
    meter.record("g", at + timedelta(minutes=31), "a")
    meter.record("g", at + timedelta(minutes=32), "a")  # twice: one speaker
    assert meter.active_members("g", at + timedelta(minutes=9), window) is None  # too soon to judge
    speakers, usual = meter.active_members("g", at + timedelta(minutes=34), window) or (0, 0.0)
    assert speakers == 1
    assert usual == 4
    assert meter.active_members("other", at + timedelta(minutes=34), window) == (0, 0.0)
