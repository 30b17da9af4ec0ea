"""The shop: the campaign a group orders in right now, with its items as the grammar reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from sqlmodel import Session, col, select

from bot.core.context import Ctx
from bot.groupbuy.order_text import CatalogueIndex
from bot.services.campaigns import catalogue, current_campaign, items_of
from bot.services.redpackets import has_packets
from bot.store.models import Campaign, CampaignGroup, CampaignStatus, Item

# A closed campaign still answers late orders ("已截团") for this long.
LATE_WINDOW = timedelta(days=2)


@dataclass(frozen=True)
class Shop:
    """A campaign and its items as read at the start of a batch.

    Only the static parts are used (names, prices, limits, status): stock counts are read
    and changed in the database by the order book, never from here."""

    campaign: Campaign
    items: list[Item]
    # Whether a red-packet rain ran: only then do orders collect coupons.
    rain: bool

    @cached_property
    def index(self) -> CatalogueIndex:
        return CatalogueIndex(catalogue(self.items))

    @cached_property
    def by_id(self) -> dict[int, Item]:
        return {i.id: i for i in self.items if i.id is not None}

    def item(self, item_id: int) -> Item:
        return self.by_id[item_id]


def find_shop(s: Session, group_id: str, now: datetime) -> Shop | None:
    """The group's open or scheduled campaign, else one closed within ``LATE_WINDOW``."""
    campaign = current_campaign(s, group_id)
    if campaign is None:
        stmt = (
            select(Campaign)
            .join(CampaignGroup)
            .where(CampaignGroup.group_id == group_id, Campaign.status == CampaignStatus.CLOSED)
            .order_by(col(Campaign.id).desc())
        )
        campaign = s.exec(stmt).first()
        if campaign is None or campaign.closed_at is None or now - campaign.closed_at > LATE_WINDOW:
            return None
    assert campaign.id is not None
    return Shop(campaign, items_of(s, campaign.id), has_packets(s, campaign.id))


def shop_of(ctx: Ctx) -> Shop | None:
    """The campaign the message's group orders in, read once per batch; None in a private chat."""
    group_id = ctx.group_id
    if group_id is None:
        return None
    return ctx.cache.get(("shop", group_id), lambda: find_shop(ctx.session, group_id, ctx.now))


def sold_out(ctx: Ctx) -> set[int]:
    """Items found sold out in this batch: later orders are refused without a write. Orders
    that give units back remove their items (see ``change_order``)."""
    return ctx.cache.get("sold_out", set)
