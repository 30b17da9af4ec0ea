"""售后 tickets, answers with refunds, and 评价 through the bot, with every bad input."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.store.models import Order
from bot.store.models_aftersale import Rating, Ticket
from bot.testing import Harness

OPEN = "开团 周六水果团\n苹果 12.8元/斤 库存100\n香蕉 9.9元/把 库存50"


async def setup(bot: Harness, *, close: bool = True, paid: bool = True) -> None:
    await bot.say("王姐", OPEN)
    await bot.say("李阿姨", "苹果2 香蕉1")  # ¥35.50, follow number 1
    await bot.say("张叔", "苹果1")  # follow number 2
    if close:
        await bot.say("王姐", "截团")
    if paid:
        with Session(bot.app.engine) as s:
            for order in s.exec(select(Order)):
                order.paid = True
                s.add(order)
            s.commit()
    bot.new()


def refunds(bot: Harness) -> dict[int, int]:
    with Session(bot.app.engine) as s:
        return {o.follow_no: o.refund_fen for o in s.exec(select(Order))}


async def open_ticket(bot: Harness) -> int:
    out = await bot.say("李阿姨", "售后 苹果有一个坏了，我在3栋1202 电话13812345678")
    with Session(bot.app.engine) as s:
        ticket = s.exec(select(Ticket)).one()
    assert ticket.id is not None and f"编号 {ticket.id}" in out[0].text
    return ticket.id


async def test_ticket_goes_privately_to_leader_and_admins(bot: Harness) -> None:
    await setup(bot)
    out = await bot.say("李阿姨", "售后 苹果有一个坏了，我在3栋1202 电话13812345678")
    assert [m.template for m in out] == ["support/opened", "support/ticket_staff", "support/ticket_staff"]
    ack, *staff = out
    assert ack.is_group and ack.mentions == (bot.member_id("李阿姨"),)
    assert "13812345678" not in ack.text and "坏了" not in ack.text  # the group never sees the details
    assert {m.chat_id for m in staff} == {bot.member_id("王姐"), bot.member_id("小陈")}
    assert all(not m.is_group for m in staff)
    assert "李阿姨" in staff[0].text and "苹果有一个坏了" in staff[0].text and "跟团号1" in staff[0].text


async def test_answer_with_refund_reaches_member_privately(bot: Harness) -> None:
    await setup(bot)
    ticket = await open_ticket(bot)
    out = await bot.say("王姐", f"售后 {ticket} 不好意思，退款 6.4 元", private=True)
    by = {m.template: m for m in out}
    assert sorted(by) == ["support/answer_member", "support/answered"]
    to_member, ack = by["support/answer_member"], by["support/answered"]
    assert to_member.chat_id == bot.member_id("李阿姨") and not to_member.is_group
    assert "退款 ¥6.40" in to_member.text and "不好意思" in to_member.text
    assert "还可退 ¥29.10" in ack.text
    assert refunds(bot) == {1: 640, 2: 0}
    out = await bot.say("王姐", f"售后 {ticket} 退款 10", private=True)
    assert refunds(bot) == {1: 1640, 2: 0}
    with Session(bot.app.engine) as s:
        assert s.get(Ticket, ticket).refund_fen == 1640  # type: ignore[union-attr]


async def test_answer_bad_input_changes_nothing(bot: Harness) -> None:
    await setup(bot)
    ticket = await open_ticket(bot)
    out = await bot.say("王姐", f"售后 {ticket} 退款 36 元", private=True)
    assert [m.template for m in out] == ["support/too_much"] and "¥35.50" in out[0].text
    out = await bot.say("王姐", f"售后 {ticket} 退款 好多钱", private=True)
    assert [m.template for m in out] == ["support/bad_refund"]
    out = await bot.say("王姐", "售后 999 已处理", private=True)
    assert [m.template for m in out] == ["support/unknown"]
    out = await bot.say("王姐", f"售后 {ticket}", private=True)
    assert [m.template for m in out] == ["usage/support"] and "售后 编号 回复内容" in out[0].text
    assert refunds(bot) == {1: 0, 2: 0}
    with Session(bot.app.engine) as s:
        assert s.get(Ticket, ticket).answer is None  # type: ignore[union-attr]


async def test_refund_on_unpaid_order_is_refused(bot: Harness) -> None:
    await setup(bot, paid=False)
    ticket = await open_ticket(bot)
    out = await bot.say("王姐", f"售后 {ticket} 退款 1 元", private=True)
    assert [m.template for m in out] == ["support/too_much"] and "还没有收款记录" in out[0].text
    assert refunds(bot) == {1: 0, 2: 0}


async def test_member_ticket_bad_input(bot: Harness) -> None:
    out = await bot.say("李阿姨", "售后 苹果坏了")
    assert [m.template for m in out] == ["support/no_order"] and "没有找到你的订单" in out[0].text
    await setup(bot)
    out = await bot.say("李阿姨", "售后 跟团号2 少了一斤")
    assert [m.template for m in out] == ["support/no_order"] and "不是你的订单" in out[0].text
    out = await bot.say("李阿姨", "售后")
    assert [m.template for m in out] == ["usage/support"]
    with Session(bot.app.engine) as s:
        assert list(s.exec(select(Ticket))) == []
    out = await bot.say("李阿姨", "售后 跟团号1 少了一斤")
    assert out[0].template == "support/opened"


async def test_rating(bot: Harness) -> None:
    await setup(bot)
    out = await bot.say("李阿姨", "评价 5 很新鲜")
    assert [m.template for m in out] == ["support/rated"] and "5分" in out[0].text
    out = await bot.say("李阿姨", "评价 四星")
    assert "已更新" in out[0].text
    with Session(bot.app.engine) as s:
        ratings = list(s.exec(select(Rating)))
    assert [(r.stars, r.comment) for r in ratings] == [(4, None)]


async def test_rating_bad_input(bot: Harness) -> None:
    out = await bot.say("刘哥", "评价 5")
    assert [m.template for m in out] == ["support/rate_no_order"]
    await setup(bot, close=False)
    out = await bot.say("李阿姨", "评价 5")
    assert [m.template for m in out] == ["support/rate_not_yet"]
    await bot.say("王姐", "截团")
    for bad in ("评价 6", "评价 0"):
        out = await bot.say("李阿姨", bad)
        assert [m.template for m in out] == ["support/rate_range"] and "1到5分" in out[0].text
    out = await bot.say("李阿姨", "评价")
    assert [m.template for m in out] == ["usage/rate"]
    assert await bot.say("李阿姨", "评价一下这个苹果，真不错") == []  # chit-chat: silence
    with Session(bot.app.engine) as s:
        assert list(s.exec(select(Rating))) == []
