"""活跃之星 and VIP: who takes part most in a campaign, and who keeps coming back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from bot.groupbuy.loyalty import vip_level
from bot.groupbuy.loyalty_config import VipLevel
from bot.services.campaigns import campaign_groups
from bot.store.db import table, upsert
from bot.store.models import Campaign, CampaignStatus, Member, Order, OrderLine, OrderStatus
from bot.store.models_loyalty import Activity


def note_helpful(s: Session, group_id: str, member_id: str, day: date) -> None:
    """Count one helpful group message for the member today (one upsert)."""
    t = table(Activity)
    ins = upsert(s)(t).values(group_id=group_id, member_id=member_id, day=day, helpful=1)
    s.execute(
        ins.on_conflict_do_update(
            index_elements=["group_id", "member_id", "day"], set_={"helpful": t.c.helpful + 1}
        )
    )


@dataclass(frozen=True)
class Star:
    member_id: str
    name: str
    orders: int  # order lines (items bought) in the campaign
    helpful: int  # helpful group messages during the campaign

    @property
    def score(self) -> int:
        return self.orders + self.helpful


def stars(s: Session, campaign: Campaign, tz: ZoneInfo, count: int, now: datetime) -> list[Star]:
    """The campaign's most active members: items ordered plus helpful messages while it ran."""
    if count <= 0:
        return []
    assert campaign.id is not None
    start = (campaign.opens_at or campaign.created_at or now).astimezone(tz).date()
    end = (campaign.closed_at or now).astimezone(tz).date()
    groups = campaign_groups(s, campaign.id)
    lines = dict(
        s.exec(
            select(Order.member_id, func.count(col(OrderLine.id)))
            .join(OrderLine, col(OrderLine.order_id) == col(Order.id))
            .where(Order.campaign_id == campaign.id, Order.status == OrderStatus.ACTIVE)
            .group_by(col(Order.member_id))
        ).all()
    )
    talk = dict(
        s.exec(
            select(Activity.member_id, func.sum(Activity.helpful))
            .where(col(Activity.group_id).in_(groups), col(Activity.day) >= start, col(Activity.day) <= end)
            .group_by(col(Activity.member_id))
        ).all()
    )
    ids = set(lines) | set(talk)
    names = dict(s.exec(select(Member.id, Member.name).where(col(Member.id).in_(ids))).all())
    ranked = sorted(
        (Star(m, names.get(m, m), int(lines.get(m, 0)), int(talk.get(m, 0))) for m in ids),
        key=lambda st: (-st.score, -st.helpful, st.name),
    )
    return [st for st in ranked if st.score > 0][:count]


def campaigns_bought(s: Session, member_id: str) -> int:
    """Campaigns the member bought in (an active order, campaign not cancelled)."""
    return int(
        s.exec(
            select(func.count(func.distinct(Order.campaign_id)))
            .join(Campaign, col(Campaign.id) == col(Order.campaign_id))
            .where(
                Order.member_id == member_id,
                Order.status == OrderStatus.ACTIVE,
                Campaign.status != CampaignStatus.CANCELLED,
            )
        ).one()
    )


def vip_of(s: Session, member_id: str, levels: tuple[VipLevel, ...]) -> str | None:
    """The member's VIP level by repeat purchases."""
    return vip_level(campaigns_bought(s, member_id), levels)


def vip_window_open(campaign: Campaign, now: datetime) -> bool:
    """A scheduled campaign whose VIP head start (``VIP 提前N分钟``) has begun."""
    minutes = (campaign.options or {}).get("vip_early_minutes")
    return (
        campaign.status == CampaignStatus.SCHEDULED
        and bool(minutes)
        and campaign.opens_at is not None
        and now >= campaign.opens_at - timedelta(minutes=int(minutes))
    )
