"""Member history for the leader: repeat buyers (回头客), silent members, RFM segments.

RFM here is the classic eight segments from three yes/no questions, with thresholds a leader can
read: bought within the last 30 days (R), bought in two campaigns or more (F), spent at least the
median of the group's buyers (M).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.groupbuy.loyalty import vip_level
from bot.groupbuy.loyalty_config import VipLevel
from bot.groupbuy.quantity import amount_fen
from bot.store.models import (
    Campaign,
    CampaignStatus,
    Group,
    GroupMember,
    Item,
    Member,
    Order,
    OrderLine,
    OrderStatus,
    Role,
)

RECENT_DAYS = 30
SILENT_DAYS = (30, 90)

# (recent, frequent, big spender) -> segment; order is how the report lists them.
SEGMENTS: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "重要价值",
    (False, True, True): "重要保持",
    (True, False, True): "重要发展",
    (False, False, True): "重要挽留",
    (True, True, False): "一般价值",
    (False, True, False): "一般保持",
    (True, False, False): "一般发展",
    (False, False, False): "一般挽留",
}


@dataclass(frozen=True)
class Purchase:
    """One member's order in one campaign."""

    member_id: str
    name: str
    campaign_id: int
    at: datetime
    spend_fen: int


@dataclass
class MemberStats:
    member_id: str
    name: str
    campaigns: int = 0
    spend_fen: int = 0
    last_at: datetime | None = None
    segment: str = ""

    def days_since(self, now: datetime) -> int | None:
        return None if self.last_at is None else (now - self.last_at) // timedelta(days=1)


@dataclass(frozen=True)
class Segment:
    name: str
    members: list[MemberStats]


@dataclass(frozen=True)
class History:
    now: datetime
    members: list[MemberStats]  # buyers, biggest spend first
    repeat: list[MemberStats]  # bought in 2+ campaigns, most campaigns first
    silent: dict[int, list[MemberStats]]  # days -> buyers whose last order is at least that old
    never: int  # group members who never ordered
    segments: list[Segment]
    median_spend_fen: int
    campaigns: int


def member_history(
    purchases: Iterable[Purchase], now: datetime, group_members: Iterable[str] = (), campaigns: int = 0
) -> History:
    """Summarise purchases: pure, so the leader's chat, the CLI and tests read the same figures."""
    stats: dict[str, MemberStats] = {}
    seen: dict[str, set[int]] = {}
    for p in purchases:
        m = stats.get(p.member_id)
        if m is None:
            m = stats[p.member_id] = MemberStats(p.member_id, p.name)
            seen[p.member_id] = set()
        seen[p.member_id].add(p.campaign_id)
        m.spend_fen += p.spend_fen
        m.last_at = p.at if m.last_at is None or p.at > m.last_at else m.last_at
    for member_id, m in stats.items():
        m.campaigns = len(seen[member_id])
    buyers = sorted(stats.values(), key=lambda m: (-m.spend_fen, m.name, m.member_id))
    median = int(statistics.median(m.spend_fen for m in buyers)) if buyers else 0
    recent_line = now - timedelta(days=RECENT_DAYS)
    for m in buyers:
        key = (m.last_at is not None and m.last_at >= recent_line, m.campaigns >= 2, m.spend_fen >= median)
        m.segment = SEGMENTS[key]
    silent = {
        days: sorted(
            (m for m in buyers if m.last_at is not None and m.last_at <= now - timedelta(days=days)),
            key=lambda m: (m.last_at, m.member_id),  # type: ignore[arg-type, return-value]
        )
        for days in SILENT_DAYS
    }
    repeat = sorted(
        (m for m in buyers if m.campaigns >= 2), key=lambda m: (-m.campaigns, -m.spend_fen, m.name)
    )
    segments = [Segment(name, [m for m in buyers if m.segment == name]) for name in SEGMENTS.values()]
    never = len(set(group_members) - set(stats))
    return History(now, buyers, repeat, silent, never, segments, median, campaigns)


def load_purchases(s: Session, group_ids: list[str]) -> tuple[list[Purchase], int]:
    """Every active order of the groups' campaigns that were not cancelled, and how many campaigns."""
    stmt = (
        select(Order, OrderLine, Item, Member)
        .join(OrderLine, col(OrderLine.order_id) == col(Order.id))
        .join(Item, col(Item.id) == col(OrderLine.item_id))
        .join(Member, col(Member.id) == col(Order.member_id))
        .join(Campaign, col(Campaign.id) == col(Order.campaign_id))
        .where(
            col(Order.group_id).in_(group_ids),
            Order.status == OrderStatus.ACTIVE,
            Campaign.status != CampaignStatus.CANCELLED,
        )
    )
    orders: dict[int, list[object]] = {}
    for order, line, item, member in s.exec(stmt):
        assert order.id is not None and order.created_at is not None
        amount = amount_fen(item.settled_price_fen or line.unit_price_fen, line.quantity)
        entry = orders.get(order.id)
        if entry is None:
            orders[order.id] = [order, member.name, amount]
        else:
            entry[2] += amount  # type: ignore[operator]
    purchases = []
    for order, name, amount in orders.values():  # type: ignore[misc]
        spend = max(amount - order.coupon_fen - order.refund_fen, 0)
        purchases.append(Purchase(order.member_id, name, order.campaign_id, order.created_at, spend))
    return purchases, len({p.campaign_id for p in purchases})


def history_for(s: Session, group_ids: list[str], now: datetime) -> History:
    purchases, campaigns = load_purchases(s, group_ids)
    stmt = select(GroupMember.member_id).where(
        col(GroupMember.group_id).in_(group_ids), col(GroupMember.left_at).is_(None)
    )
    staff = set(s.exec(select(Role.member_id).where(col(Role.group_id).in_(group_ids))))
    return member_history(purchases, now, set(s.exec(stmt)) - staff, campaigns)


def group_names(s: Session, group_ids: list[str]) -> list[str]:
    return [g.name for g in (s.get(Group, gid) for gid in group_ids) if g is not None]


def report_data(
    s: Session, group_ids: list[str], now: datetime, levels: Sequence[VipLevel]
) -> dict[str, object]:
    """What the 会员 report shows (chat and CLI alike): history, group names and VIPs."""
    history = history_for(s, group_ids, now)
    vips = [(m, lv) for m in history.repeat if (lv := vip_level(m.campaigns, levels))]
    rule = "、".join(f"{lv.name}：买过{lv.campaigns}个团" for lv in levels)
    return {"history": history, "groups": group_names(s, group_ids), "vips": vips, "vip_rule": rule}
