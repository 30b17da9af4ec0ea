"""The bot's own 拼手气 rain at the chat level: grab with 抢, one each, coupons on orders, the end post."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.store.models import Campaign, Order
from bot.store.models_timeline import RainPacket
from bot.testing import Harness

RAIN = "开团 红包团\n苹果 10元/斤 库存50\n开始 今天20:00\n截团 今天22:00\n红包雨 今天19:50 3个 共1元"


def packets(bot: Harness) -> list[RainPacket]:
    with Session(bot.app.engine) as s:
        return list(s.exec(select(RainPacket).order_by(RainPacket.position)))


async def test_rain_grabs_once_each_and_ends_with_the_best(bot: Harness) -> None:
    await bot.say("王姐", RAIN)
    out = await bot.say("李阿姨", "抢")
    assert [m.template for m in out] == ["redpacket/not_started"] and "19:50" in out[0].text
    assert packets(bot) == []
    out = await bot.advance(timedelta(hours=10, minutes=50))  # 19:50
    assert "redpacket/rain_start" in [m.template for m in out]
    assert sum(p.amount_fen for p in packets(bot)) == 100 and len(packets(bot)) == 3
    grabbed = {}
    for name in ["李阿姨", "张叔", "赵姐"]:
        out = await bot.say(name, "抢")
        assert out[0].template == "redpacket/grabbed"
        grabbed[bot.member_id(name)] = next(
            p.amount_fen for p in packets(bot) if p.member_id == bot.member_id(name)
        )
    assert (await bot.say("李阿姨", "抢"))[0].template == "redpacket/twice"
    assert (await bot.say("刘哥", "抢"))[0].template == "redpacket/empty"
    assert sorted(grabbed.values()) == sorted(p.amount_fen for p in packets(bot))
    assert await bot.say("刘哥", "抢购开始了吗") == []  # chit-chat, not a grab
    out = await bot.advance(timedelta(minutes=3))
    end = next(m for m in out if m.template == "redpacket/rain_end")
    best = max(grabbed.values())
    assert "手气最佳" in end.text and f"¥{best / 100:.2f}" in end.text.split("手气最佳")[1]
    assert "李阿姨" not in end.text  # masked in the group
    assert [m.template for m in await bot.say("赵姐", "抢")] == ["redpacket/over"]
    # The coupon lands on the order placed after opening.
    await bot.advance(timedelta(minutes=10))
    out = await bot.say("李阿姨", "苹果2")
    assert "优惠抵扣" in out[0].text
    with Session(bot.app.engine) as s:
        order = s.exec(select(Order).where(Order.member_id == bot.member_id("李阿姨"))).one()
    assert order.coupon_fen == grabbed[bot.member_id("李阿姨")]
    assert "优惠抵扣" in (await bot.say("李阿姨", "我的订单"))[0].text


async def test_more_packets_than_fen_is_refused_and_nothing_is_made(bot: Harness) -> None:
    out = await bot.say("王姐", RAIN.replace("3个 共1元", "200个 共1元"))
    assert out[0].template == "campaign/announce_error" and "分不了200个红包" in out[0].text
    with Session(bot.app.engine) as s:
        assert s.exec(select(Campaign)).first() is None


async def test_no_rain_means_grab_is_chit_chat(bot: Harness) -> None:
    await bot.say("王姐", "开团 水果团\n苹果 10元/斤")
    assert await bot.say("李阿姨", "抢") == []
