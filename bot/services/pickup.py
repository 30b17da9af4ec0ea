"""Pickup (自提): short pickup codes, 核销 (checking a pickup off), and who has not collected yet.

A pickup code is the order's follow number passed through a small keyed permutation (a
four-round Feistel network over decimal halves), so codes are unique within a campaign, short
(4 digits up to follow number 9999, then 6), and a member cannot work out a neighbour's code
from their own. The key is derived from the campaign's id, leader and creation instant.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.groupbuy.quantity import Quantity, amount_fen
from bot.services.campaigns import campaign_groups
from bot.store.models import (
    Campaign,
    CampaignGroup,
    CampaignStatus,
    Item,
    Member,
    Order,
    OrderLine,
    OrderStatus,
)
from bot.store.models_groups import PickupChoice

_ROUNDS = 4


def _round_keys(campaign: Campaign) -> list[int]:
    created = campaign.created_at.isoformat() if campaign.created_at else ""
    seed = f"{campaign.id}|{campaign.created_by}|{created}"
    digest = hashlib.blake2b(seed.encode(), digest_size=8 * _ROUNDS, person=b"tuanbot-pickup").digest()
    return [int.from_bytes(digest[8 * i : 8 * i + 8], "big") for i in range(_ROUNDS)]


def _feistel(value: int, half: int, keys: list[int]) -> int:
    """A bijection on range(half * half): left/right halves mixed with keyed round values."""
    left, right = divmod(value, half)
    for key in keys:
        mixed = int.from_bytes(hashlib.blake2b(f"{key}:{right}".encode(), digest_size=8).digest(), "big")
        left, right = right, (left + mixed) % half
    return left * half + right


def pickup_code(campaign: Campaign, follow_no: int) -> str:
    """The pickup code of one order: 4 digits for follow numbers below 10,000, else 6 (8 beyond)."""
    keys = _round_keys(campaign)
    for digits in (4, 6, 8):
        if follow_no < 10**digits:
            return f"{_feistel(follow_no, 10 ** (digits // 2), keys):0{digits}d}"
    raise ValueError(f"follow number {follow_no} is too large for a pickup code")


@dataclass(frozen=True)
class Packet:
    """What to hand over for one order."""

    campaign: Campaign
    order: Order
    name: str
    items: list[tuple[str, Quantity, str]]  # (item, quantity, unit)
    amount_fen: int

    @property
    def due_fen(self) -> int:
        return max(self.amount_fen - self.order.coupon_fen - self.order.refund_fen, 0)


def packet(s: Session, campaign: Campaign, order: Order) -> Packet:
    stmt = (
        select(OrderLine, Item)
        .join(Item, col(Item.id) == col(OrderLine.item_id))
        .where(OrderLine.order_id == order.id)
        .order_by(col(Item.position))
    )
    items, amount = [], 0
    for line, item in s.exec(stmt):
        items.append((item.name, line.quantity, item.unit))
        amount += amount_fen(item.settled_price_fen or line.unit_price_fen, line.quantity)
    member = s.get(Member, order.member_id)
    return Packet(campaign, order, member.name if member else order.member_id, items, amount)


@dataclass(frozen=True)
class Lookup:
    """The result of looking a code up: the order to hand over, or why not."""

    packet: Packet | None
    used: Packet | None  # the code was found but is already collected


def find_by_code(s: Session, group_ids: list[str], code: str) -> Lookup:
    """The active order with this code in the groups' campaigns; an uncollected one wins, newest first."""
    stmt = (
        select(Order, Campaign)
        .join(Campaign, col(Campaign.id) == col(Order.campaign_id))
        .join(CampaignGroup, col(CampaignGroup.campaign_id) == col(Campaign.id))
        .where(
            Order.pickup_code == code,
            Order.status == OrderStatus.ACTIVE,
            col(CampaignGroup.group_id).in_(group_ids),
            Campaign.status != CampaignStatus.CANCELLED,
        )
        .order_by(col(Campaign.id).desc())
    )
    found = list({order.id: (order, campaign) for order, campaign in s.exec(stmt)}.values())
    waiting = [(o, c) for o, c in found if o.picked_up_at is None]
    if waiting:
        order, campaign = waiting[0]
        return Lookup(packet(s, campaign, order), None)
    if found:
        order, campaign = found[0]
        return Lookup(None, packet(s, campaign, order))
    return Lookup(None, None)


def collect(s: Session, order: Order, now: datetime) -> None:
    order.picked_up_at = now
    order.updated_at = now
    s.add(order)


@dataclass(frozen=True)
class Waiting:
    member_id: str
    name: str
    group_id: str
    follow_no: int
    room: str | None
    units: int


def not_collected(s: Session, campaign: Campaign) -> list[Waiting]:
    """Members of the campaign whose active order is not collected yet, by follow number."""
    assert campaign.id is not None
    stmt = (
        select(Order, Member, OrderLine)
        .join(Member, col(Member.id) == col(Order.member_id))
        .join(OrderLine, col(OrderLine.order_id) == col(Order.id))
        .where(
            Order.campaign_id == campaign.id,
            Order.status == OrderStatus.ACTIVE,
            col(Order.picked_up_at).is_(None),
        )
        .order_by(col(Order.follow_no))
    )
    units: dict[int, int] = {}
    people: dict[int, tuple[Order, Member]] = {}
    for order, member, line in s.exec(stmt):
        people[order.follow_no] = (order, member)
        units[order.follow_no] = units.get(order.follow_no, 0) + line.quantity
    return [
        Waiting(member.id, member.name, order.group_id, no, order.room, units[no])
        for no, (order, member) in people.items()
    ]


def collected_count(s: Session, campaign: Campaign) -> int:
    stmt = select(Order.id).where(
        Order.campaign_id == campaign.id,
        Order.status == OrderStatus.ACTIVE,
        col(Order.picked_up_at).is_not(None),
    )
    return len(list(s.exec(stmt)))


def pickup_campaign(s: Session, group_ids: list[str], ref: int | None) -> Campaign | None:
    """The campaign pickups are about: the one given (if it is in these groups), else the newest
    closed one, else the newest open one."""
    if ref is not None:
        campaign = s.get(Campaign, ref)
        if campaign is None or not set(campaign_groups(s, ref)) & set(group_ids):
            return None
        return campaign
    for status in (CampaignStatus.CLOSED, CampaignStatus.OPEN):
        stmt = (
            select(Campaign)
            .join(CampaignGroup, col(CampaignGroup.campaign_id) == col(Campaign.id))
            .where(col(CampaignGroup.group_id).in_(group_ids), Campaign.status == status)
            .order_by(col(Campaign.id).desc())
        )
        found = s.exec(stmt).first()
        if found is not None:
            return found
    return None


def pickup_choices(s: Session, campaign_id: int | None) -> dict[str, int]:
    """member id -> the pickup point she chose (1-based)."""
    stmt = select(PickupChoice.member_id, PickupChoice.point).where(PickupChoice.campaign_id == campaign_id)
    return dict(s.exec(stmt).all())


def choose_pickup(s: Session, campaign_id: int, member_id: str, point: int) -> None:
    choice = s.get(PickupChoice, (campaign_id, member_id)) or PickupChoice(
        campaign_id=campaign_id, member_id=member_id, point=point
    )
    choice.point = point
    s.add(choice)
