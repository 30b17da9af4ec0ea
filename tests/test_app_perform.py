"""App.perform: a change from outside the chat runs like the private-chat command; App.listen."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.app import Changed
from bot.core.commands import PaidArgs, UsageError
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.services.campaigns import campaign_of
from bot.store.models import Order
from bot.testing import Harness
from handlers.payments import mark_in


async def _campaign(bot: Harness) -> int:
    await bot.say("王姐", "开团 水果团\n苹果 10元/斤\n截团 今天18:00")
    await bot.say("李阿姨", "苹果1")
    bot.new()
    with Session(bot.app.engine) as s:
        campaign = campaign_of(s, [bot.group_id()])
        assert campaign is not None and campaign.id is not None
        return campaign.id


async def test_answers_come_back_and_chat_replies_go_through_the_outbox(bot: Harness) -> None:
    campaign_id = await _campaign(bot)
    leader = bot.member_id("王姐")

    def operation(ctx: Ctx) -> list[Reply]:
        campaign = campaign_of(ctx.session, [bot.group_id()])
        assert campaign is not None and campaign.id == campaign_id
        assert ctx.sender_id == leader and not ctx.message.is_group and ctx.group_id is None
        return [
            mark_in(ctx, campaign, PaidArgs((1,))),
            Reply("orders/none", {"in_group": True, "campaign": campaign}, chat_id=bot.group_id()),
        ]

    answers = await bot.app.perform(leader, operation)
    assert [a.template for a in answers] == ["payments/marked"]
    assert answers[0].chat_id == leader and "已收款：1号" in answers[0].text
    sent = bot.new()  # the group's reply went out through the outbox; the answer did not
    assert [(m.template, m.chat_id) for m in sent] == [("orders/none", bot.group_id())]
    with Session(bot.app.engine) as s:
        assert [o.paid for o in s.exec(select(Order))] == [True]
    again = await bot.app.perform(leader, operation)
    assert "之前已经收过款" in again[0].text  # the same words as in chat


async def test_a_refused_operation_changes_nothing(bot: Harness) -> None:
    await _campaign(bot)

    def operation(ctx: Ctx) -> Reply:
        campaign = campaign_of(ctx.session, [bot.group_id()])
        assert campaign is not None
        mark_in(ctx, campaign, PaidArgs((1,)))
        raise UsageError("mark_paid")

    answers = await bot.app.perform(bot.member_id("王姐"), operation)
    assert [a.template for a in answers] == ["usage/mark_paid"]
    with Session(bot.app.engine) as s:
        assert [o.paid for o in s.exec(select(Order))] == [False]
    assert bot.new() == []


async def test_listeners_hear_of_handled_chats_and_can_stop(bot: Harness) -> None:
    heard: list[Changed] = []
    stop = bot.app.listen(heard.append)
    await bot.say("王姐", "开团 水果团\n苹果 10元/斤\n截团 今天18:00")
    assert heard == [Changed(bot.group_id(), True)]
    await bot.say("王姐", "统计", private=True)
    assert heard[-1] == Changed(bot.member_id("王姐"), False)
    stop()
    await bot.say("李阿姨", "苹果1")
    assert len(heard) == 2


async def test_listeners_hear_of_timeline_jobs(bot: Harness) -> None:
    campaign_id = await _campaign(bot)
    heard: list[Changed] = []
    bot.app.listen(heard.append)
    await bot.at(bot.clock.now().replace(hour=10, minute=0))  # 18:00 local is 10:00 UTC: 截团
    assert Changed(campaign_id=campaign_id) in heard
