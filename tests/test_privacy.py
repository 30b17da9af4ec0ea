"""Group posts never carry a member's full name, a phone number or a whole pickup code.

A whole group-buy is played through the bot with members who put names, rooms and phone numbers
into their orders, 接龙 lines and 售后 texts. Every message that went to a group is then checked;
the leader's private chat is checked to still hold the full details (so masking is not loss).
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session, select

from bot.core.messages import OutboundMessage
from bot.store.models import Order
from bot.testing import Harness
from tests.jielong_support import jl

OPEN = "开团 周六水果团\n苹果 12.8元/斤 库存100\n香蕉 9.9元/把 库存50\n截团 今天18:00\n自提 东门驿站"
PEOPLE = ("王姐", "小陈", "李阿姨", "张叔", "赵姐", "刘哥")
NOTE_NAME = "张建国"  # a name inside an order note
PHONE = re.compile(r"1[3-9]\d{9}")
DIGIT_RUN = re.compile(r"\d{7,}")


def _codes(bot: Harness) -> list[str]:
    with Session(bot.app.engine) as s:
        return [o.pickup_code for o in s.exec(select(Order).order_by(Order.follow_no)) if o.pickup_code]


def _leaks(message: OutboundMessage, codes: list[str]) -> list[str]:
    """What a group post gives away; [] when it is clean."""
    text = message.text
    found = [name for name in (*PEOPLE, NOTE_NAME) if name in text]
    found += PHONE.findall(text) + DIGIT_RUN.findall(text)
    found += [code for code in codes if re.search(rf"(?<!\d){code}(?!\d)", text)]
    return found


async def _play(bot: Harness) -> None:
    """Orders with notes, unknown items and unreadable lines; tally, admins, payments, close,
    pickup, after-sales, ratings, the recap and the payment reminders."""
    await bot.say("王姐", OPEN)
    await bot.say("李阿姨", "苹果2 3栋1202 电话13812345678")
    await bot.say("张叔", f"苹果1 找{NOTE_NAME} 放门口")
    await bot.say("赵姐", "香蕉1 榴莲13912345678")
    await bot.say("刘哥", "苹果2.5斤 13700001111")
    await bot.say("刘哥", jl("刘哥 香蕉2把 电话13698765432", "刘哥 菠萝13512345678个"))
    await bot.say("王姐", "统计")
    await bot.say("王姐", "统计", private=True)
    await bot.say("王姐", "管理员 添加 @赵姐", mentions=("赵姐",))
    await bot.say("王姐", "管理员 添加 @小陈", mentions=("小陈",))  # already an admin
    await bot.say("王姐", "收款 @小陈", mentions=("小陈",))  # no order: unknown
    await bot.say("张叔", "已付款")
    await bot.say("王姐", "收款 1")
    await bot.say("王姐", "截团")
    await bot.say("李阿姨", f"售后 苹果坏了两个 电话13812345678 找{NOTE_NAME}")
    await bot.say("王姐", "售后 1 已补发 退款 5 元")
    codes = _codes(bot)
    await bot.say("小陈", f"核销 {codes[0]}")
    await bot.say("小陈", f"核销 {codes[0]}")  # used already
    unused = next(f"{n:04d}" for n in range(10_000) if f"{n:04d}" not in codes)
    await bot.say("小陈", f"核销 {unused}")
    await bot.say("王姐", "未取货")
    await bot.say("王姐", "取货提醒")
    await bot.say("李阿姨", "评价 5 很新鲜")
    await bot.say("王姐", "战报")
    await bot.advance(timedelta(hours=1))  # 催付 after close


async def test_group_posts_hide_names_phones_and_pickup_codes(bot: Harness) -> None:
    await _play(bot)
    codes = _codes(bot)
    sent = bot.transport.sent
    group = [m for m in sent if m.is_group and m.kind == "text"]
    templates = {m.template for m in group}
    # The flow reached every kind of group post this test is about.
    for expected in (
        "orders/placed",
        "jielong/applied",
        "campaign/tally",
        "admin/changed",
        "payments/unknown",
        "payments/reported",
        "payments/marked",
        "campaign/closed",
        "support/opened",
        "support/answered",
        "pickup/verified",
        "pickup/used",
        "pickup/unknown",
        "pickup/left",
        "pickup/reminder",
        "recap/recap",
        "payments/reminder",
    ):
        assert expected in templates, expected
    leaks = {(m.template, m.text): found for m in group if (found := _leaks(m, codes))}
    assert leaks == {}
    # Masked, not dropped: the group still sees who it is about.
    assert any("李**" in m.text for m in group if m.template == "orders/placed")
    assert any("赵*" in m.text for m in group if m.template == "admin/changed")
    assert any("@小*" in m.text for m in group if m.template == "payments/unknown")
    assert any(f"***{codes[0][-1]}" in m.text for m in group if m.template == "pickup/verified")


async def test_the_leader_keeps_the_details_privately(bot: Harness) -> None:
    await _play(bot)
    leader = bot.member_id("王姐")
    private = [m for m in bot.transport.sent if not m.is_group and m.chat_id == leader]
    by_template = {m.template: m.text for m in private}
    assert f"张叔 苹果1斤（找{NOTE_NAME} 放门口）" in by_template["campaign/tally"]
    assert "张叔（跟团号2）说已付款" in by_template["payments/report_leader"]
    assert (
        "13812345678" in by_template["support/ticket_staff"]
        and "李阿姨" in by_template["support/ticket_staff"]
    )
    # 已付款 goes to the group's leader, once.
    assert [m.chat_id for m in bot.transport.sent if m.template == "payments/report_leader"] == [leader]


async def test_notes_stay_out_of_the_group_tally(bot: Harness) -> None:
    await bot.say("王姐", OPEN)
    await bot.say("张叔", f"苹果1 找{NOTE_NAME} 放门口")
    group = (await bot.say("王姐", "统计"))[0]
    assert group.is_group and "1. 张* 苹果1斤\n" in group.text
    assert NOTE_NAME not in group.text and "放门口" not in group.text
