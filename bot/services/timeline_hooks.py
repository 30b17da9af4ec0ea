"""What the order path does for the timeline, inside the order's own transaction."""

from __future__ import annotations

from datetime import timedelta

from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.services.redpackets import claim_coupons
from bot.services.timeline_stock import note_stock_crossings
from bot.store.models import Campaign, CampaignStatus


def order_followups(
    ctx: Ctx,
    campaign: Campaign,
    touched_items: list[int],
    member_id: str | None = None,
    *,
    coupons: bool = True,
) -> list[Reply]:
    """Apply the member's grabbed red packets to the order; note stock crossings for a stock post.

    ``member_id`` is the order's owner when it is not the sender (a leader confirming a 接龙 line);
    ``coupons`` False when the campaign never had a red-packet rain.
    """
    assert campaign.id is not None
    if coupons:
        claim_coupons(ctx.session, campaign.id, member_id or ctx.sender_id)
    if not touched_items or campaign.status != CampaignStatus.OPEN:
        return []
    config = ctx.settings.timeline.for_group(campaign.owner_group_id)
    delay = timedelta(seconds=config.stock_post_delay_seconds)
    if note_stock_crossings(ctx.session, campaign, touched_items, config.low_stock_ratio, ctx.now, delay):
        ctx.replan.add(campaign.id)
    return []
