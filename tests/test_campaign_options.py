"""``campaign.options`` is rewritten whole by the stock post and by 改期: what another process
wrote there since the campaign was read (a 战报 request, a moved post) must survive."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from bot.core.commands import parse_timeline_ref
from bot.services.timeline_edit import move
from bot.services.timeline_stock import note_stock_crossings
from bot.store.models import Campaign, Item
from bot.testing import Harness
from tests.timeline_support import local

MARK = {"written_meanwhile": "by another process"}


def _stale_campaign(h: Harness) -> Campaign:
    """The campaign as read before another process changed its options (a batch's copy)."""
    with Session(h.app.engine) as s:
        stale = s.exec(select(Campaign)).one()
        s.expunge(stale)
    with Session(h.app.engine) as s:
        fresh = s.get(Campaign, stale.id)
        assert fresh is not None
        fresh.options = {**fresh.options, **MARK}
        s.add(fresh)
        s.commit()
    return stale


def _options(h: Harness, campaign_id: int | None) -> dict:
    with Session(h.app.engine) as s:
        campaign = s.get(Campaign, campaign_id)
        assert campaign is not None
        return dict(campaign.options)


async def test_stock_post_keeps_options_written_meanwhile(bot: Harness) -> None:
    await bot.say("王姐", "开团 测试团\n苹果 10元/斤 库存10")
    stale = _stale_campaign(bot)
    with Session(bot.app.engine) as s:
        item = s.exec(select(Item)).one()
        s.execute(update(Item).where(Item.id == item.id).values(sold=9))  # 1 left: below the line
        assert note_stock_crossings(s, stale, [item.id], 0.2, bot.clock.now(), timedelta(seconds=30))
        s.commit()
    options = _options(bot, stale.id)
    assert options["written_meanwhile"] == MARK["written_meanwhile"]
    assert options["stock_post"]["seq"] == 1


async def test_move_keeps_options_written_meanwhile(bot: Harness) -> None:
    await bot.say("王姐", "开团 晚场\n苹果 10元/斤\n开始 今天20:00\n截团 今天22:00\n预热 今天12:00")
    stale = _stale_campaign(bot)
    campaign_id = stale.id
    when = local(5, 13, 30)
    ref = parse_timeline_ref("预热")
    assert ref is not None
    with Session(bot.app.engine) as s:
        s.add(stale)  # in the handler's session, as read before the other process wrote
        config = bot.settings.timeline.for_group(stale.owner_group_id)
        move(s, stale, ref, when, config, bot.clock.tz, bot.clock.now())
        s.commit()
    options = _options(bot, campaign_id)
    assert options["written_meanwhile"] == MARK["written_meanwhile"]
    assert options["preheat_at"] == when.isoformat()
