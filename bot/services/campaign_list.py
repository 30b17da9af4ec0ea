"""The campaigns of some groups, as the leader's console lists them (newest first)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.groupbuy.group_names import natural_key
from bot.services.figures import sales_by_campaign
from bot.store.models import Campaign, CampaignGroup, Group

LIST_LIMIT = 100


@dataclass(frozen=True)
class CampaignSummary:
    campaign: Campaign
    groups: list[str]  # names
    orders: int
    sales_fen: int


def campaign_list(s: Session, group_ids: list[str], limit: int = LIST_LIMIT) -> list[CampaignSummary]:
    """The newest campaigns published to any of these groups, with their groups and sales."""
    stmt = (
        select(Campaign)
        .where(
            col(Campaign.id).in_(
                select(CampaignGroup.campaign_id).where(col(CampaignGroup.group_id).in_(group_ids))
            )
        )
        .order_by(col(Campaign.id).desc())
        .limit(limit)
    )
    campaigns = list(s.exec(stmt))
    ids = [c.id for c in campaigns if c.id is not None]
    names: dict[int, list[str]] = {}
    rows = s.exec(
        select(CampaignGroup.campaign_id, Group.name, Group.id)
        .join(Group, col(Group.id) == col(CampaignGroup.group_id))
        .where(col(CampaignGroup.campaign_id).in_(ids))
    )
    for cid, name, gid in sorted(rows, key=lambda row: natural_key(row[1] or row[2])):
        names.setdefault(cid, []).append(name or gid)
    sales = sales_by_campaign(s, ids)
    return [
        CampaignSummary(c, names.get(c.id, []), *sales.get(c.id, (0, 0)))  # type: ignore[arg-type]
        for c in campaigns
    ]


def campaign_for(s: Session, group_ids: list[str], campaign_id: int) -> Campaign | None:
    """The campaign, if it is published to one of these groups; None otherwise (or if there is none)."""
    stmt = select(CampaignGroup.group_id).where(
        CampaignGroup.campaign_id == campaign_id, col(CampaignGroup.group_id).in_(group_ids)
    )
    return s.get(Campaign, campaign_id) if s.exec(stmt).first() is not None else None
