"""Pickup codes, 核销, 未取货 and 取货提醒 through the bot, with every bad input."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session, select

from bot.services.pickup import pickup_code
from bot.store.models import Campaign, Order
from bot.testing import Harness

OPEN = "开团 周六水果团\n苹果 12.8元/斤 库存100\n香蕉 9.9元/把 库存50\n自提 东门驿站"


def campaign(id_: int, created: datetime) -> Campaign:
    return Campaign(id=id_, title="t", owner_group_id="g", created_by="u-leader", created_at=created)


def test_codes_are_short_unique_and_differ_between_campaigns() -> None:
    a = campaign(1, datetime(2026, 12, 5, 9, 0, 0, 123456))
    b = campaign(2, datetime(2026, 12, 5, 9, 0, 0, 654321))
    codes = [pickup_code(a, n) for n in range(1, 10_000)]
    assert all(len(c) == 4 and c.isdigit() for c in codes)
    assert len(set(codes)) == len(codes)  # a permutation: no two orders share a code
    assert codes[:20] != [f"{n:04d}" for n in range(1, 21)]  # not the follow number itself
    other = [pickup_code(b, n) for n in range(1, 10_000)]
    assert sum(x != y for x, y in zip(codes, other, strict=True)) > 9_900
    assert len(pickup_code(a, 10_000)) == 6 and pickup_code(a, 7) == pickup_code(a, 7)


async def orders(bot: Harness) -> dict[str, str]:
    """Three orders in a closed campaign; member name -> pickup code."""
    await bot.say("王姐", OPEN)
    await bot.say("李阿姨", "3栋1202 苹果2 香蕉1")
    await bot.say("张叔", "苹果1")
    await bot.say("赵姐", "香蕉3")
    await bot.say("王姐", "截团")
    with Session(bot.app.engine) as s:
        rows = list(s.exec(select(Order)))
    names = {bot.member_id(n): n for n in ("李阿姨", "张叔", "赵姐")}
    bot.new()
    return {names[o.member_id]: o.pickup_code for o in rows}  # type: ignore[misc]


def picked(bot: Harness) -> set[int]:
    with Session(bot.app.engine) as s:
        return {o.follow_no for o in s.exec(select(Order)) if o.picked_up_at is not None}


async def test_my_orders_shows_the_code(bot: Harness) -> None:
    codes = await orders(bot)
    out = await bot.say("李阿姨", "我的订单", private=True)
    assert f"取货码 {codes['李阿姨']}" in out[0].text


async def test_verify_hands_over_and_marks_collected(bot: Harness) -> None:
    codes = await orders(bot)
    out = await bot.say("小陈", f"核销 {codes['李阿姨']}")
    assert [m.template for m in out] == ["pickup/verified"]
    text = out[0].text
    assert "苹果2斤、香蕉1把" in text and "李**" in text and "李阿姨" not in text  # masked in the group
    assert "还没付款，应付 ¥35.50" in text and "还有 2 人未取货" in text
    assert picked(bot) == {1}
    assert codes["李阿姨"] not in text and f"***{codes['李阿姨'][-1]}" in text  # code masked too
    out = await bot.say("王姐", f"核销 {codes['张叔']}", private=True)
    assert "张叔" in out[0].text  # full name in the leader's private chat
    assert f"取货码 {codes['张叔']} 核销成功" in out[0].text  # and the full code
    assert picked(bot) == {1, 2}


async def test_verify_bad_input_changes_nothing(bot: Harness) -> None:
    codes = await orders(bot)
    await bot.say("王姐", f"核销 {codes['李阿姨']}")
    with Session(bot.app.engine) as s:
        first = s.exec(select(Order).where(Order.follow_no == 1)).one().picked_up_at
    out = await bot.say("王姐", f"核销 {codes['李阿姨']}")
    assert [m.template for m in out] == ["pickup/used"] and "已经核销过了" in out[0].text
    assert f"***{codes['李阿姨'][-1]}" in out[0].text and codes["李阿姨"] not in out[0].text
    unused = next(f"{n:04d}" for n in range(10_000) if f"{n:04d}" not in codes.values())
    out = await bot.say("王姐", f"核销 {unused}")
    assert [m.template for m in out] == ["pickup/unknown"] and f"***{unused[-1]}" in out[0].text
    assert unused not in out[0].text  # the code is not repeated in full in the group
    out = await bot.say("王姐", "核销 李阿姨的")
    assert [m.template for m in out] == ["usage/verify"]
    out = await bot.say("李阿姨", f"核销 {codes['张叔']}")
    assert [m.template for m in out] == ["common/refused"]
    assert picked(bot) == {1}
    with Session(bot.app.engine) as s:
        assert s.exec(select(Order).where(Order.follow_no == 1)).one().picked_up_at == first


async def test_not_collected_masked_in_group_full_in_private(bot: Harness) -> None:
    codes = await orders(bot)
    await bot.say("王姐", f"核销 {codes['张叔']}")
    group = (await bot.say("王姐", "未取货"))[0].text
    assert "已取 1 人，未取 2 人" in group and "李**" in group and "赵*" in group
    assert "李阿姨" not in group and "3-1202" not in group
    private = (await bot.say("王姐", "未取货", private=True))[0].text
    assert "李阿姨 3-1202 3件" in private and "张叔" not in private
    out = await bot.say("李阿姨", "未取货")
    assert [m.template for m in out] == ["common/refused"]


async def test_pickup_reminder_mentions_who_is_left(bot: Harness) -> None:
    codes = await orders(bot)
    await bot.say("王姐", f"核销 {codes['张叔']}")
    out = await bot.say("王姐", "取货提醒 今天20:00", private=True)
    assert [m.template for m in out] == ["pickup/reminder", "pickup/reminded"]
    reminder = out[0]
    assert reminder.is_group and reminder.chat_id == bot.group_id()
    assert set(reminder.mentions) == {bot.member_id("李阿姨"), bot.member_id("赵姐")}
    assert "12月05日 20:00前" in reminder.text and "东门驿站" in reminder.text
    assert "李**" in reminder.text and "李阿姨" not in reminder.text
    out = await bot.say("王姐", "取货提醒 下辈子")
    assert [m.template for m in out] == ["usage/pickup_remind"]
    for name in ("李阿姨", "赵姐"):
        await bot.say("王姐", f"核销 {codes[name]}")
    out = await bot.say("王姐", "取货提醒")
    assert [m.template for m in out] == ["pickup/all_collected"]


@pytest.mark.parametrize("text", ["取货提醒", "未取货"])
async def test_no_campaign_yet(bot: Harness, text: str) -> None:
    out = await bot.say("王姐", text)
    assert [m.template for m in out] == ["pickup/no_campaign"]
