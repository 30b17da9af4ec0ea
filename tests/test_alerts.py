"""Live alerts reach the leader and admins privately, never the group."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

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
