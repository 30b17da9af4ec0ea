"""Campaign lifecycle on the store: create from a parsed 开团, open, close, cancel, look up.

Functions take a session and return plain data; they never send anything themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.groupbuy.announce import CampaignDraft
from bot.groupbuy.group_names import natural_key
from bot.groupbuy.order_text import CatalogueIndex, CatalogueItem
from bot.groupbuy.quantity import Quantity, amount_fen
from bot.store.models import (
    Campaign,
    CampaignGroup,
    CampaignStatus,
    Group,
    Item,
    Order,
    OrderLine,
    OrderStatus,
)

ACTIVE = (CampaignStatus.SCHEDULED, CampaignStatus.OPEN)


def create_campaign(
    s: Session,
    draft: CampaignDraft,
    group_ids: Sequence[str],
    leader_id: str,
    now: datetime,
    *,
    pickup_by_group: Mapping[str, str] | None = None,
) -> Campaign:
    """One campaign published to these groups (the first is its home): one stock, one
    per-member limit, one order per member whichever group she writes in."""
    opens_now = draft.opens_at is None or draft.opens_at <= now
    options = dict(draft.options)
    common = [point for ref, point in draft.pickups if ref is None]
    if pickup_by_group:
        options["pickup_by_group"] = dict(pickup_by_group)
    elif len(common) > 1:
        options["pickup_points"] = common
    campaign = Campaign(
        title=draft.title,
        status=CampaignStatus.OPEN if opens_now else CampaignStatus.SCHEDULED,
        owner_group_id=group_ids[0],
        created_by=leader_id,
        created_at=now,
        opens_at=now if opens_now else draft.opens_at,
        closes_at=draft.closes_at,
        min_buyers=draft.min_buyers,
        # With a point per group, an entry without a group is where the other groups collect.
        pickup=(common[0] if common else None) if pickup_by_group else draft.pickup,
        options=options,
    )
    s.add(campaign)
    s.flush()
    assert campaign.id is not None
    for group_id in dict.fromkeys(group_ids):
        s.add(CampaignGroup(campaign_id=campaign.id, group_id=group_id))
    for pos, item in enumerate(draft.items):
        s.add(
            Item(
                campaign_id=campaign.id,
                position=pos,
                name=item.name,
                aliases=list(item.aliases),
                price_fen=item.price_fen,
                original_price_fen=item.original_price_fen,
                unit=item.unit,
                stock=item.stock,
                limit_per_member=item.limit_per_member,
                tiers=[{k: v for k, v in vars(t).items() if v is not None} for t in item.tiers],
            )
        )
    s.flush()
    return campaign


def current_campaign(s: Session, group_id: str, statuses: tuple[str, ...] = ACTIVE) -> Campaign | None:
    """The group's newest campaign in one of ``statuses`` (open first, then scheduled)."""
    stmt = (
        select(Campaign)
        .join(CampaignGroup, col(CampaignGroup.campaign_id) == col(Campaign.id))
        .where(CampaignGroup.group_id == group_id, col(Campaign.status).in_(statuses))
        .order_by(col(Campaign.status) == CampaignStatus.OPEN, col(Campaign.id))
    )
    rows = list(s.exec(stmt))
    return rows[-1] if rows else None


def latest_campaign(s: Session, group_ids: list[str]) -> Campaign | None:
    """The newest campaign that is not cancelled in any of these groups."""
    stmt = (
        select(Campaign)
        .join(CampaignGroup, col(CampaignGroup.campaign_id) == col(Campaign.id))
        .where(col(CampaignGroup.group_id).in_(group_ids), Campaign.status != CampaignStatus.CANCELLED)
        .order_by(col(Campaign.id).desc())
    )
    return s.exec(stmt).first()


def campaign_of(s: Session, group_ids: list[str], *, or_latest: bool = True) -> Campaign | None:
    """What a command means by "the campaign": the first of these groups' current ones (open,
    else scheduled); failing that, with ``or_latest``, their newest one not cancelled."""
    for group_id in group_ids:
        if (found := current_campaign(s, group_id)) is not None:
            return found
    return latest_campaign(s, group_ids) if or_latest and group_ids else None


def campaign_groups(s: Session, campaign_id: int) -> list[str]:
    """The groups the campaign is published to, in natural name order (1群, 2群, ..., 10群)."""
    stmt = (
        select(CampaignGroup.group_id, Group.name)
        .join(Group, col(Group.id) == col(CampaignGroup.group_id))
        .where(CampaignGroup.campaign_id == campaign_id)
    )
    rows = sorted(s.exec(stmt), key=lambda row: natural_key(row[1] or row[0]))
    return [group_id for group_id, _ in rows]


def items_of(s: Session, campaign_id: int) -> list[Item]:
    stmt = select(Item).where(Item.campaign_id == campaign_id).order_by(col(Item.position))
    return list(s.exec(stmt))


def buyers_count(s: Session, campaign_id: int) -> int:
    stmt = select(func.count()).where(Order.campaign_id == campaign_id, Order.status == OrderStatus.ACTIVE)
    return int(s.exec(stmt).one())


def open_campaign(s: Session, campaign: Campaign, now: datetime) -> bool:
    """Scheduled -> open. False when it was not scheduled (already open, closed, cancelled)."""
    if campaign.status != CampaignStatus.SCHEDULED:
        return False
    campaign.status = CampaignStatus.OPEN
    campaign.opens_at = min(campaign.opens_at or now, now)
    s.add(campaign)
    return True


@dataclass(frozen=True)
class CloseResult:
    succeeded: bool
    buyers: int
    cancelled_orders: int
    units: int = 0
    min_units: int | None = None


def close_campaign(s: Session, campaign: Campaign, now: datetime, on_failure: str) -> CloseResult | None:
    """Open or scheduled -> closed; decides 成团 by the minimum. None when not closable."""
    # Wait for orders being taken right now (they lock this row too), then count.
    s.refresh(campaign, with_for_update=True)
    if campaign.status not in ACTIVE:
        return None
    assert campaign.id is not None
    buyers = buyers_count(s, campaign.id)
    min_units = (campaign.options or {}).get("min_units")
    units = sum(i.sold for i in items_of(s, campaign.id))
    succeeded = (campaign.min_buyers is None or buyers >= campaign.min_buyers) and (
        not min_units or units >= min_units
    )
    cancelled = 0
    if not succeeded and on_failure == "cancel":
        cancelled = cancel_all_orders(s, campaign.id, now)
    campaign.status = CampaignStatus.CLOSED
    campaign.closed_at = now
    campaign.succeeded = succeeded
    s.add(campaign)
    return CloseResult(succeeded, buyers, cancelled, units, min_units)


def cancel_all_orders(s: Session, campaign_id: int, now: datetime) -> int:
    orders = list(
        s.exec(select(Order).where(Order.campaign_id == campaign_id, Order.status == OrderStatus.ACTIVE))
    )
    for order in orders:
        order.status = OrderStatus.CANCELLED
        order.updated_at = now
        s.add(order)
    for item in items_of(s, campaign_id):
        item.sold = 0
        s.add(item)
    return len(orders)


def cancel_campaign(s: Session, campaign: Campaign, now: datetime) -> int | None:
    if campaign.status not in ACTIVE:
        return None
    assert campaign.id is not None
    cancelled = cancel_all_orders(s, campaign.id, now)
    campaign.status = CampaignStatus.CANCELLED
    campaign.closed_at = now
    s.add(campaign)
    return cancelled


@dataclass(frozen=True)
class TallyLine:
    follow_no: int
    member_id: str
    name: str
    items: list[tuple[str, Quantity, str]]  # (item, quantity, unit)
    amount_fen: int
    coupon_fen: int
    paid: bool
    note: str | None
    group_id: str = ""


@dataclass(frozen=True)
class ItemTotal:
    name: str
    unit: str
    quantity: Quantity
    stock: Quantity | None
    amount_fen: int

    @property
    def remaining(self) -> Quantity | None:
        return None if self.stock is None else max(self.stock - self.quantity, 0)


@dataclass(frozen=True)
class Tally:
    lines: list[TallyLine]
    totals: list[ItemTotal]

    @property
    def amount_fen(self) -> int:
        return sum(t.amount_fen for t in self.totals)

    @property
    def coupon_fen(self) -> int:
        return sum(line.coupon_fen for line in self.lines)


def tally(s: Session, campaign_id: int) -> Tally:
    from bot.store.models import Member

    items = items_of(s, campaign_id)
    by_id = {i.id: i for i in items}
    stmt = (
        select(Order, OrderLine, Member)
        .join(OrderLine, col(OrderLine.order_id) == col(Order.id))
        .join(Member, col(Member.id) == col(Order.member_id))
        .where(Order.campaign_id == campaign_id, Order.status == OrderStatus.ACTIVE)
        .order_by(col(Order.follow_no), col(OrderLine.item_id))
    )
    lines: dict[int, TallyLine] = {}
    qty: dict[int, Quantity] = {}
    amount: dict[int, int] = {}
    for order, line, member in s.exec(stmt):
        item = by_id[line.item_id]
        entry = lines.setdefault(
            order.follow_no,
            TallyLine(
                order.follow_no,
                member.id,
                member.name,
                [],
                0,
                order.coupon_fen,
                order.paid,
                order.note,
                order.group_id,
            ),
        )
        entry.items.append((item.name, line.quantity, item.unit))
        price = item.settled_price_fen or line.unit_price_fen
        lines[order.follow_no] = TallyLine(
            entry.follow_no,
            entry.member_id,
            entry.name,
            entry.items,
            entry.amount_fen + amount_fen(price, line.quantity),
            entry.coupon_fen,
            entry.paid,
            entry.note,
            entry.group_id,
        )
        qty[item.id] = qty.get(item.id, 0) + line.quantity  # type: ignore[index]
        amount[item.id] = amount.get(item.id, 0) + amount_fen(price, line.quantity)  # type: ignore[index]
    totals = [
        ItemTotal(i.name, i.unit, qty.get(i.id, 0), i.stock, amount.get(i.id, 0))  # type: ignore[arg-type]
        for i in items
    ]
    return Tally(list(lines.values()), totals)


@dataclass(frozen=True)
class GroupTotal:
    """One group's share of a campaign that runs in several."""

    name: str
    buyers: int
    amount_fen: int


def group_totals(s: Session, campaign_id: int, t: Tally) -> list[GroupTotal]:
    """Buyers and amount per group of the campaign (empty when it runs in one group only)."""
    groups = campaign_groups(s, campaign_id)
    ordered_in = {line.group_id for line in t.lines}
    groups += sorted(ordered_in - set(groups))  # a group unbound since keeps its orders
    if len(groups) < 2:
        return []
    names = {g.id: g.name for g in s.exec(select(Group).where(col(Group.id).in_(groups)))}
    return [
        GroupTotal(
            names.get(g) or g,
            sum(1 for line in t.lines if line.group_id == g),
            sum(line.amount_fen for line in t.lines if line.group_id == g),
        )
        for g in groups
    ]


def add_stock(s: Session, item: Item, quantity: Quantity) -> None:
    """More stock for an item, added in the database (two admins at once both count)."""
    s.execute(update(Item).where(col(Item.id) == item.id).values(stock=Item.stock + quantity))
    s.refresh(item, attribute_names=["stock", "sold"])


def catalogue(items: list[Item]) -> list[CatalogueItem]:
    """The items as the order grammar sees them."""
    return [CatalogueItem(i.id, i.name, tuple(i.aliases), i.unit) for i in items]  # type: ignore[arg-type]


def find_item(name: str, items: list[Item]) -> Item | None:
    """An item by name, alias or close spelling (the grammar's matcher), or None."""
    found, _ = CatalogueIndex(catalogue(items)).resolve(name.strip())
    return next((i for i in items if found is not None and i.id == found.id), None)
