"""Member history: repeat buyers, silent members and RFM segments; 会员 and `tuanbot members`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.member_history import Purchase, member_history
from bot.testing import Harness

NOW = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


def buy(member: str, campaign: int, days_ago: int, spend: int) -> Purchase:
    return Purchase(member, member.upper(), campaign, NOW - timedelta(days=days_ago), spend)


def test_repeat_silent_and_segments() -> None:
    purchases = [
        buy("a", 1, 100, 5000), buy("a", 5, 3, 5000),  # recent, repeat, big: 重要价值
        buy("b", 1, 100, 3000), buy("b", 2, 95, 3000),  # silent 90, repeat, big: 重要保持
        buy("c", 4, 40, 500),  # silent 30 only, once, small: 一般挽留
        buy("d", 5, 2, 800),  # recent, once, small: 一般发展
        buy("e", 5, 1, 9000),  # recent, once, big: 重要发展
    ]  # fmt: skip
    h = member_history(purchases, NOW, group_members={"a", "b", "c", "d", "e", "f", "g"}, campaigns=5)
    assert [m.member_id for m in h.members] == ["a", "e", "b", "d", "c"]  # by spend
    assert [(m.member_id, m.campaigns) for m in h.repeat] == [("a", 2), ("b", 2)]
    assert [m.member_id for m in h.silent[30]] == ["b", "c"]
    assert [m.member_id for m in h.silent[90]] == ["b"]
    assert h.never == 2 and h.median_spend_fen == 6000
    segments = {s.name: [m.member_id for m in s.members] for s in h.segments if s.members}
    assert segments == {
        "重要价值": ["a"],
        "重要保持": ["b"],
        "重要发展": ["e"],
        "一般发展": ["d"],
        "一般挽留": ["c"],
    }
    assert h.members[-1].days_since(NOW) == 40


def test_empty_history() -> None:
    h = member_history([], NOW)
    assert h.members == [] and h.repeat == [] and h.median_spend_fen == 0


async def test_members_command_private_for_the_leader(bot: Harness) -> None:
    await bot.say("王姐", "开团 周三蔬菜团\n白菜 3元/颗")
    await bot.say("李阿姨", "白菜2")
    await bot.say("张叔", "白菜1")
    await bot.say("王姐", "截团")
    await bot.say("王姐", "开团 周六水果团\n苹果 12.8元/斤")
    await bot.say("李阿姨", "苹果1")
    await bot.say("王姐", "截团")
    bot.new()
    out = await bot.say("王姐", "会员", private=True)
    assert [m.template for m in out] == ["members/report"] and not out[0].is_group
    text = out[0].text
    assert "共 2 个团，2 人下过单，2 人还没下过单" in text  # 赵姐 and 刘哥; leader and admin not counted
    assert "回头客（买过2个团及以上）1 人" in text and "李阿姨：2个团，¥18.8" in text
    assert "重要价值 1 人：李阿姨" in text
    # not in a group (a private list), not for members, and a question is not the command
    assert await bot.say("王姐", "会员") == []
    assert [m.template for m in await bot.say("李阿姨", "会员", private=True)] == ["common/refused"]
    assert await bot.say("王姐", "会员价是多少", private=True) == []
