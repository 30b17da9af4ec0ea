"""Keeping members through the bot: rating asks, low ratings, 售后单 and overdue tickets, points and
sign-in, coupons, win-back, invitations, VIP head start, 活跃之星 — with the bad inputs."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.store.models import Order
from bot.store.models_loyalty import Coupon, PointsAccount, PointsEntry, PointsLot
from bot.testing import Harness, build_harness, demo_settings
from tests.conftest import START

OPEN = "开团 周六水果团\n苹果 12.8元/斤 库存100\n香蕉 9.9元/把 库存50"


def templates(out: list) -> list[str]:
    return [m.template for m in out]


def to(h: Harness, out: list, who: str, template: str) -> list:
    return [m for m in out if m.template == template and m.chat_id == h.member_id(who) and not m.is_group]


def balance(h: Harness, who: str) -> int:
    with Session(h.app.engine) as s:
        account = s.get(PointsAccount, h.member_id(who))
        return account.balance if account else 0


def codes(h: Harness) -> dict[str, str]:
    with Session(h.app.engine) as s:
        return {o.member_id: o.pickup_code or "" for o in s.exec(select(Order))}


async def sale(h: Harness) -> None:
    """李阿姨 ¥35.50 and 张叔 ¥12.80 in a closed campaign."""
    await h.say("王姐", OPEN)
    await h.say("李阿姨", "苹果2 香蕉1")
    await h.say("张叔", "苹果1")
    await h.say("王姐", "截团")
    h.new()


async def test_rating_asked_once_after_pickup_and_low_rating_reaches_leader(bot: Harness) -> None:
    h = bot
    await sale(h)
    await h.say("王姐", f"核销 {codes(h)[h.member_id('李阿姨')]}", private=True)
    assert balance(h, "李阿姨") == 35  # ¥35.50 collected: 35 points
    out = await h.advance(timedelta(minutes=119))
    assert not to(h, out, "李阿姨", "feedback/ask")
    out = await h.advance(timedelta(minutes=2))
    (ask,) = to(h, out, "李阿姨", "feedback/ask")
    assert "评价 5" in ask.text and "退订" in ask.text
    assert not to(h, await h.advance(timedelta(hours=6)), "李阿姨", "feedback/ask")  # once
    out = await h.say("李阿姨", "评价 2 有点酸，物流慢", private=True)
    alerts = [m for m in out if m.template == "feedback/low_rating"]
    assert {m.chat_id for m in alerts} == {h.member_id("王姐"), h.member_id("小陈")}  # leader and admin
    assert all("有点酸,物流慢" in m.text and "2 分" in m.text and not m.is_group for m in alerts)
    assert balance(h, "李阿姨") == 45  # +10 for the rating
    out = await h.say("李阿姨", "评价 3 还行", private=True)  # rating again: alert again, no points again
    assert "feedback/low_rating" in templates(out) and balance(h, "李阿姨") == 45
    out = await h.say("张叔", "评价 5 很甜")  # a good rating stays between the member and the bot
    assert "feedback/low_rating" not in templates(out)


async def test_open_tickets_listed_and_overdue_ones_sent_again_once_per_period(bot: Harness) -> None:
    h = bot
    await sale(h)
    await h.say("李阿姨", "售后 苹果有一个坏了")
    out = await h.say("张叔", "售后单")
    assert templates(out) == ["common/refused"]
    out = await h.say("小陈", "售后单", private=True)
    assert "编号 1" in out[0].text and "苹果有一个坏了" in out[0].text
    out = await h.advance(timedelta(hours=23))
    assert "feedback/ticket_overdue" not in templates(out)
    out = await h.advance(timedelta(hours=1, minutes=1))
    overdue = [m for m in out if m.template == "feedback/ticket_overdue"]
    assert {m.chat_id for m in overdue} == {h.member_id("王姐"), h.member_id("小陈")}
    assert not [m for m in await h.advance(timedelta(hours=23)) if m.template == "feedback/ticket_overdue"]
    out = await h.advance(timedelta(hours=1))  # the next period: once more
    assert len([m for m in out if m.template == "feedback/ticket_overdue"]) == 2
    await h.say("王姐", "售后 1 已补发", private=True)
    assert "没有未处理的售后单" in (await h.say("王姐", "售后单", private=True))[0].text
    assert not [m for m in await h.advance(timedelta(days=3)) if m.template == "feedback/ticket_overdue"]


async def test_sign_in_points_and_redemption_into_a_coupon_used_once(bot: Harness) -> None:
    h = bot
    out = await h.say("李阿姨", "签到")
    assert "+5积分" in out[0].text and balance(h, "李阿姨") == 5
    out = await h.say("李阿姨", "签到", private=True)
    assert "今天已经签到过" in out[0].text and balance(h, "李阿姨") == 5
    await h.advance(timedelta(days=1))
    out = await h.say("李阿姨", "签到")
    assert "连续签到2天" in out[0].text and balance(h, "李阿姨") == 10
    # Nobody outside the groups earns anything.
    out = await h.say("路人甲", "签到", private=True)
    assert "不在团购群里" in out[0].text and balance(h, "路人甲") == 0
    # Too few, not enough, unreadable: a clear word and nothing changes.
    assert "500 积分起兑" in (await h.say("李阿姨", "积分兑换 100"))[0].text
    assert "积分不够" in (await h.say("李阿姨", "积分兑换 500"))[0].text
    assert templates(await h.say("李阿姨", "积分兑换 好多")) == ["usage/redeem"]
    assert balance(h, "李阿姨") == 10
    with Session(h.app.engine) as s:
        assert not s.exec(select(PointsEntry).where(PointsEntry.reason == "redeem")).all()
        s.add(PointsEntry(member_id=h.member_id("李阿姨"), delta=590, reason="order", ref="seed"))
        s.add(PointsLot(member_id=h.member_id("李阿姨"), amount=590, left=590))
        s.get(PointsAccount, h.member_id("李阿姨")).balance += 590  # type: ignore[union-attr]
        s.commit()
    out = await h.say("李阿姨", "积分兑换 500")
    assert "5元券" in out[0].text and "还剩 100 积分" in out[0].text and balance(h, "李阿姨") == 100
    mine = await h.say("李阿姨", "我的积分")
    assert mine[0].chat_id == h.member_id("李阿姨") and not mine[0].is_group  # private, always
    assert "100 积分" in mine[0].text and "5元" in mine[0].text
    # The next order takes the coupon off; the one after does not get it again.
    await h.say("王姐", OPEN)
    out = await h.say("李阿姨", "苹果1")
    with Session(h.app.engine) as s:
        order = s.exec(select(Order).where(Order.member_id == h.member_id("李阿姨"))).one()
        coupon = s.exec(select(Coupon)).one()
        assert order.coupon_fen == 500 and coupon.order_id == order.id
    await h.say("李阿姨", "香蕉1")
    with Session(h.app.engine) as s:
        assert s.exec(select(Order)).one().coupon_fen == 500


async def test_leader_commands_refused_to_members(bot: Harness) -> None:
    h = bot
    for text in ("召回 30天 券5元", "售后单"):
        out = await h.say("李阿姨", text)
        assert templates(out) == ["common/refused"]
    out = await h.say("小陈", "召回 30天 券5元", private=True)  # an admin is not the leader
    assert templates(out) == ["common/refused"]
    assert templates(await h.say("王姐", "召回 明天 券5元", private=True)) == ["usage/winback"]


async def test_invitation_credits_inviter_and_first_order_rewards_both(bot: Harness) -> None:
    h = bot
    out = await h.join("小美", inviter="李阿姨")
    assert "welcome/welcome" in templates(out)
    (credit,) = to(h, out, "李阿姨", "invites/credited")
    assert "小美" in credit.text
    out = await h.join("阿强", inviter="阿强")  # invited themselves: nothing
    assert not [m for m in out if m.template == "invites/credited"]
    out = await h.join("老王", inviter="不在群里的人")  # the inviter is not in the group
    assert not [m for m in out if m.template == "invites/credited"]
    await h.say("王姐", OPEN)
    await h.say("小美", "苹果1")
    out = await h.advance(timedelta(minutes=5))
    assert not [m for m in out if m.template == "invites/reward"]  # not before the sale went through
    await h.say("王姐", "截团")
    out = await h.advance(timedelta(minutes=2))
    rewards = [m for m in out if m.template == "invites/reward"]
    assert {m.chat_id for m in rewards} == {h.member_id("李阿姨"), h.member_id("小美")}
    assert not [m for m in await h.advance(timedelta(days=1)) if m.template == "invites/reward"]
    board = await h.say("张叔", "邀请榜")
    assert "李**：邀请 1 人，1 人已下单" in board[0].text  # masked in the group
    with Session(h.app.engine) as s:
        assert len(s.exec(select(Coupon).where(Coupon.source == "invite")).all()) == 2


async def test_vip_orders_in_the_head_start_and_shows_in_the_report(bot: Harness) -> None:
    h = bot
    for n in range(3):
        await h.say("王姐", f"开团 第{n + 1}团\n苹果 12.8元/斤 库存100")
        await h.say("李阿姨", "苹果1")
        await h.say("王姐", "截团")
    report = await h.say("王姐", "会员", private=True)
    assert "👑 VIP 1 人" in report[0].text and "李阿姨：VIP，3个团" in report[0].text
    await h.say("王姐", "开团 第4团\n苹果 12.8元/斤 库存100\n开始 今天11:00\nVIP 提前10分钟")
    await h.at(datetime.combine(h.clock.now().astimezone(h.clock.tz).date(), time(10, 49), tzinfo=h.clock.tz))
    assert "还没开始" in (await h.say("李阿姨", "苹果1"))[0].text  # before the head start
    await h.advance(timedelta(minutes=2))
    out = await h.say("李阿姨", "苹果1")
    assert out[0].template == "orders/placed"
    out = await h.say("张叔", "苹果1")
    assert out[0].template == "orders/not_open" and "VIP会员提前10分钟" in out[0].text


async def test_points_expire_after_one_warning(engine: Engine) -> None:
    loyalty = {"points": {"expire_days": 3, "warn_days": 1}}
    # One process: nothing to re-read from others, so days pass in few steps.
    timeline = {"reconcile_seconds": 3600}
    settings = demo_settings(
        {"幸福里1群": {"leader": "王姐", "members": ["李阿姨"]}}, loyalty=loyalty, timeline=timeline
    )
    h = build_harness(settings, engine, START)
    async with h.app:
        await h.say("李阿姨", "签到")  # 09:00: 5 points until three days later
        out = await h.advance(timedelta(days=1, hours=23))
        assert not [m for m in out if m.template == "points/expiring"]
        out = await h.advance(timedelta(hours=2))
        (warning,) = [m for m in out if m.template == "points/expiring"]
        assert warning.chat_id == h.member_id("李阿姨") and "5 积分" in warning.text
        assert "过期" in (await h.say("李阿姨", "我的积分"))[0].text
        out = await h.advance(timedelta(days=2))
        assert not [m for m in out if m.template == "points/expiring"] and balance(h, "李阿姨") == 0
        with Session(h.app.engine) as s:
            assert sum(e.delta for e in s.exec(select(PointsEntry))) == 0
        assert "积分不够" in (await h.say("李阿姨", "积分兑换 500"))[0].text


async def test_helpful_messages_make_stars_in_the_recap(bot: Harness) -> None:
    h = bot
    await h.say("王姐", OPEN)
    await h.say("李阿姨", "苹果1")
    for text in ("苹果很甜，昨天买过，推荐大家", "驿站今天开到晚上九点", "哈哈哈哈哈哈", "几点到货呀？"):
        assert await h.say("赵姐", text) == []  # counted silently, never answered
    await h.say("王姐", "截团")
    out = await h.advance(timedelta(minutes=3))
    (recap,) = [m for m in out if m.template == "recap/recap" and m.is_group]
    assert "活跃之星：赵*、李**" in recap.text
