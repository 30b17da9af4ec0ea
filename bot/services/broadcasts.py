"""Campaign-wide posts (opened, closed, cancelled, tally) as replies to every group of a campaign.

Shared by the leader's commands and the timeline, so 截团 typed by hand and the close job
say the same thing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.core.config import Settings
from bot.core.messages import Reply
from bot.groupbuy.pickup_points import choice_points, group_pickup
from bot.services.campaigns import campaign_groups, close_campaign, items_of, tally
from bot.services.tiers import settle_tiers
from bot.store.models import Campaign


def to_groups(
    s: Session,
    campaign: Campaign,
    template: str,
    *,
    must_send: bool = False,
    standalone: bool = False,
    **data: Any,
) -> list[Reply]:
    """The same post to every group of the campaign, each with its own pickup point."""
    assert campaign.id is not None
    options = campaign.options or {}
    points = choice_points(options)
    return [
        Reply(
            template,
            {
                "campaign": campaign,
                "pickup": group_pickup(campaign.pickup, options, g),
                "points": points,
                **data,
            },
            chat_id=g,
            must_send=must_send,
            standalone=standalone,
        )
        for g in campaign_groups(s, campaign.id)
    ]


def example_line(campaign_items: list[Any]) -> str:
    """A 接龙 format hint built from the items: 例 3栋1202 苹果2斤 香蕉1把."""
    parts = [f"{i.name}1{i.unit}" for i in campaign_items[:3]]
    return "例 3栋1202 " + " ".join(parts)


def opened(s: Session, campaign: Campaign) -> list[Reply]:
    """The announcement members read, then a ready 接龙 they can tap."""
    assert campaign.id is not None
    items = items_of(s, campaign.id)
    replies = to_groups(s, campaign, "campaign/announcement", must_send=True, items=items)
    replies += to_groups(s, campaign, "campaign/jielong_post", standalone=True, example=example_line(items))
    return replies


def closed(s: Session, campaign: Campaign, settings: Settings, now: datetime) -> list[Reply]:
    """Close the campaign (成团 or not by its minimum) and post the final tally."""
    assert campaign.id is not None
    result = close_campaign(s, campaign, now, settings.orders.on_failure)
    if result is None:
        return []
    # 阶梯价 is settled before the tally so every total below uses the settled prices.
    settled = settle_tiers(s, campaign) if result.succeeded else []
    final = tally(s, campaign.id)
    replies = to_groups(
        s,
        campaign,
        "campaign/closed",
        must_send=True,
        result=result,
        tally=final,
        on_failure=settings.orders.on_failure,
    )
    if settled:
        replies += to_groups(s, campaign, "timeline/tier_settled", must_send=True, settled=settled)
    # The totals go to the leader privately as well.
    replies.append(
        Reply(
            "timeline/close_leader",
            {"campaign": campaign, "result": result, "tally": final, "settled": settled},
            chat_id=campaign.created_by,
            private=True,
            must_send=True,
        )
    )
    return replies
