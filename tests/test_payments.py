"""收款 and 已付款: the leader marks payments; bad references change nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.store.models import Order
from bot.testing import Harness


def paid(bot: Harness) -> dict[int, tuple[bool, bool]]:
    with Session(bot.app.engine) as s:
        return {o.follow_no: (o.paid, o.paid_reported) for o in s.exec(select(Order))}


async def _orders(bot: Harness) -> None:
    await bot.say("王姐", "开团 水果团\n苹果 10元/斤\n截团 今天18:00")
    for name in ["李阿姨", "张叔", "赵姐"]:
        await bot.say(name, "苹果1")


async def test_mark_paid_by_number_mention_and_all(bot: Harness) -> None:
    await _orders(bot)
    out = await bot.say("王姐", "收款 12")
    assert out[0].template == "payments/unknown" and "1、2、3" in out[0].text
    assert paid(bot) == {1: (False, False), 2: (False, False), 3: (False, False)}
    out = await bot.say("王姐", "收款 2 12")  # one unknown: nothing marked
    assert out[0].template == "payments/unknown" and paid(bot)[2] == (False, False)
    assert (await bot.say("王姐", "收款 2"))[0].template == "payments/marked"
    assert (await bot.say("王姐", "收款 @李阿姨", mentions=("李阿姨",)))[0].template == "payments/marked"
    assert paid(bot)[1] == (True, False) and paid(bot)[2] == (True, False)
    out = await bot.say("王姐", "收款 全部")
    assert "全部收齐" in out[0].text and all(p for p, _ in paid(bot).values())
    assert "之前已经收过款" in (await bot.say("王姐", "收款 1"))[0].text


async def test_member_reports_and_leader_is_told_privately(bot: Harness) -> None:
    await _orders(bot)
    out = await bot.say("张叔", "已付款")
    assert [m.template for m in out] == ["payments/reported", "payments/report_leader"]
    assert out[1].chat_id == bot.settings.groups[0].leader and not out[1].is_group
    assert "收款 2" in out[1].text and paid(bot)[2] == (False, True)
    assert (await bot.say("刘哥", "已付款"))[0].template == "payments/no_order"
    await bot.say("王姐", "收款 2")
    assert (await bot.say("张叔", "已付款"))[0].template == "payments/already_paid"


async def test_members_cannot_mark_and_chit_chat_stays_silent(bot: Harness) -> None:
    await _orders(bot)
    assert (await bot.say("李阿姨", "收款 1"))[0].template == "common/refused"
    assert await bot.say("李阿姨", "收款码发一下") == []
    assert await bot.say("李阿姨", "付了吗大家") == []
    assert paid(bot)[1] == (False, False)


async def test_reminders_merge_mentions_and_respect_quiet_hours(bot: Harness) -> None:
    await _orders(bot)
    await bot.say("王姐", "收款 1")
    out = await bot.advance(timedelta(hours=9, minutes=30))  # 18:00 close, 18:30 first stage
    reminder = next(m for m in out if m.template == "payments/reminder")
    assert set(reminder.mentions) == {bot.member_id("张叔"), bot.member_id("赵姐")}
    assert "张*" in reminder.text and "张叔" not in reminder.text
    # The second stage (22:00 after close + 4 h) is in quiet hours: it waits until 08:00.
    out = await bot.advance(timedelta(hours=13, minutes=29))  # 07:59 next day
    assert [m for m in out if m.template == "payments/reminder"] == []
    out = await bot.advance(timedelta(minutes=1))
    assert [m.template for m in out] == ["payments/reminder"]


async def test_unreadable_mark_gets_usage_and_changes_nothing(bot: Harness) -> None:
    await _orders(bot)
    for text in ("收款 12号半", "收款 #x", "收款 1 张三"):
        out = await bot.say("王姐", text)
        assert [m.template for m in out] == ["usage/mark_paid"], text
        assert "收款 12" in out[0].text
    assert await bot.say("王姐", "收款码发一下") == []  # no follow number: chit-chat
    assert await bot.say("李阿姨", "收款 12号半") == []  # members get no usage for a leader word
    assert not any(p for p, _ in paid(bot).values())


async def test_paid_report_goes_to_the_leader_when_an_admin_opened(bot: Harness) -> None:
    await bot.say("小陈", "开团 水果团\n苹果 10元/斤\n截团 今天18:00")
    await bot.say("张叔", "苹果1")
    out = await bot.say("张叔", "已付款")
    leader = bot.settings.groups[0].leader
    assert [(m.template, m.chat_id) for m in out][1] == ("payments/report_leader", leader)
    assert leader != bot.member_id("小陈") and not out[1].is_group
