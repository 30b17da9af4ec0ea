"""The order book: members' orders with stock and per-member limits held atomically.

Stock is taken with one conditional UPDATE (``sold + n <= stock``), so no interleaving
of messages, threads or processes can oversell. The member's order row is locked
(SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE),
so the per-member limit holds too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.pickup import pickup_code
from bot.store.models import Campaign, CampaignStatus, Item, Order, OrderLine, OrderStatus


class Refusal(StrEnum):
    OVER_LIMIT = "over_limit"
    SOLD_OUT = "sold_out"
    NOT_ENOUGH = "not_enough"
    NOT_ORDERED = "not_ordered"


@dataclass(frozen=True)
class Rejected:
    item: str
    unit: str
    reason: Refusal
    wanted: int
    limit: int | None = None
    have: int = 0
    remaining: int | None = None

    @property
    def can_add(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.have, 0)


@dataclass(frozen=True)
class Accepted:
    item: str
    unit: str
    quantity: int  # the line's quantity after the change
    delta: int


@dataclass
class Outcome:
    order: Order | None
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    # Items whose remaining stock crossed a broadcast threshold (for the timeline's 仅剩N件).
    touched_items: list[int] = field(default_factory=list)
    # The campaign closed (截团 committed) before this order could be taken.
    closed: bool = False


def _lock_order(s: Session, campaign_id: int, member_id: str) -> Order | None:
    stmt = (
        select(Order).where(Order.campaign_id == campaign_id, Order.member_id == member_id).with_for_update()
    )
    return s.exec(stmt).first()


def _next_follow_no(s: Session, campaign_id: int) -> int:
    stmt = (
        update(Campaign)
        .where(col(Campaign.id) == campaign_id)
        .values(order_seq=Campaign.order_seq + 1)
        .returning(Campaign.order_seq)
    )
    return int(s.execute(stmt).scalar_one())


def _take_stock(s: Session, item: Item, delta: int) -> bool:
    """Atomically move ``delta`` units of stock (negative gives units back)."""
    stmt = update(Item).where(col(Item.id) == item.id).values(sold=Item.sold + delta)
    if delta > 0 and item.stock is not None:
        stmt = stmt.where(Item.sold + delta <= Item.stock)
    sold = s.execute(stmt.returning(Item.sold).execution_options(synchronize_session=False)).scalar()
    if sold is None:
        return False
    set_committed_value(item, "sold", sold)  # the row's new count, without another SELECT
    return True


def _lines(s: Session, order: Order) -> dict[int, OrderLine]:
    return {line.item_id: line for line in s.exec(select(OrderLine).where(OrderLine.order_id == order.id))}


def change_order(
    s: Session,
    campaign: Campaign,
    member_id: str,
    group_id: str,
    wants: list[tuple[Item, int]],
    now: datetime,
    *,
    mode: str = "add",
    note: str | None = None,
    room: str | None = None,
) -> Outcome:
    """Apply wanted quantities: ``add`` adds to the lines, ``set`` replaces them (0 removes).

    Each item is decided on its own: one sold-out item does not block the others.
    """
    assert campaign.id is not None
    if any(qty > 0 for _, qty in wants):
        # A 截团 may have committed since the handler looked: lock the campaign row and look
        # again (PostgreSQL; SQLite has a single writer anyway), so no order slips in after
        # the final tally. Giving units back (取消, 改小) stays possible.
        if s.get_bind().dialect.name != "sqlite":  # SQLite: one writer, nothing can slip in
            s.refresh(campaign, with_for_update=True)
        if campaign.status != CampaignStatus.OPEN:
            return Outcome(None, closed=True)
    order = _lock_order(s, campaign.id, member_id)
    outcome = Outcome(order)
    lines = _lines(s, order) if order else {}
    for item, qty in wants:
        assert item.id is not None
        current = (
            lines[item.id].quantity
            if item.id in lines and order and order.status == OrderStatus.ACTIVE
            else 0
        )
        target = current + qty if mode == "add" else qty
        delta = target - current
        if delta == 0:
            if mode == "set" and target == 0:
                outcome.rejected.append(Rejected(item.name, item.unit, Refusal.NOT_ORDERED, qty))
            continue
        if delta > 0 and item.limit_per_member is not None and target > item.limit_per_member:
            outcome.rejected.append(
                Rejected(item.name, item.unit, Refusal.OVER_LIMIT, qty, item.limit_per_member, current)
            )
            continue
        if not _take_stock(s, item, delta):
            s.refresh(item, attribute_names=["sold"])
            remaining = max((item.stock or 0) - item.sold, 0)
            reason = Refusal.SOLD_OUT if remaining == 0 else Refusal.NOT_ENOUGH
            outcome.rejected.append(
                Rejected(item.name, item.unit, reason, qty, have=current, remaining=remaining)
            )
            continue
        if order is None:
            follow_no = _next_follow_no(s, campaign.id)
            order = Order(
                campaign_id=campaign.id,
                member_id=member_id,
                group_id=group_id,
                follow_no=follow_no,
                pickup_code=pickup_code(campaign, follow_no),
                created_at=now,
                updated_at=now,
            )
            s.add(order)
            s.flush()
            outcome.order = order
        elif order.status != OrderStatus.ACTIVE:
            # A cancelled order comes back to life with its follow number, but empty.
            for old in lines.values():
                s.delete(old)
            s.flush()
            lines = {}
            order.status = OrderStatus.ACTIVE
        line = lines.get(item.id)
        if target == 0 and line is not None:
            s.delete(line)
            del lines[item.id]
        elif line is None:
            line = OrderLine(
                order_id=order.id,  # type: ignore[arg-type]
                item_id=item.id,
                quantity=target,
                unit_price_fen=item.price_fen,
                created_at=now,
                updated_at=now,
            )
            s.add(line)
            lines[item.id] = line
        else:
            line.quantity = target
            line.updated_at = now
            s.add(line)
        outcome.accepted.append(Accepted(item.name, item.unit, target, delta))
        outcome.touched_items.append(item.id)
    if order is not None and outcome.accepted:
        if note:
            order.note = note if not order.note or note in order.note else f"{order.note}；{note}"
        if room:
            order.room = room
        order.updated_at = now
        if not lines:
            order.status = OrderStatus.CANCELLED
        s.add(order)
    return outcome


def cancel_order(
    s: Session, campaign: Campaign, member_id: str, items: list[Item] | None, now: datetime
) -> Outcome:
    """Cancel the whole order (``items`` None) or some of its items; stock goes back."""
    assert campaign.id is not None
    order = _lock_order(s, campaign.id, member_id)
    if order is None or order.status != OrderStatus.ACTIVE:
        return Outcome(order)
    lines = _lines(s, order)
    by_id = {i.id: i for i in items} if items is not None else None
    targets = [item_id for item_id in lines if by_id is None or item_id in by_id]
    all_items = {i.id: i for i in s.exec(select(Item).where(col(Item.id).in_(targets)))}
    outcome = Outcome(order)
    for item_id in targets:
        wants = [(all_items[item_id], 0)]
        sub = change_order(s, campaign, member_id, order.group_id, wants, now, mode="set")
        outcome.accepted.extend(sub.accepted)
        outcome.touched_items.extend(sub.touched_items)
    if by_id is not None:
        for item in items or []:
            if item.id not in lines:
                outcome.rejected.append(Rejected(item.name, item.unit, Refusal.NOT_ORDERED, 0))
    return outcome


@dataclass(frozen=True)
class OrderView:
    follow_no: int
    items: list[tuple[str, int, str, int]]  # (name, quantity, unit, line amount in fen)
    amount_fen: int
    coupon_fen: int
    paid: bool
    pickup_code: str | None
    note: str | None

    @property
    def due_fen(self) -> int:
        return max(self.amount_fen - self.coupon_fen, 0)


def view_order(s: Session, campaign_id: int, member_id: str) -> OrderView | None:
    order = s.exec(
        select(Order).where(Order.campaign_id == campaign_id, Order.member_id == member_id)
    ).first()
    if order is None or order.status != OrderStatus.ACTIVE:
        return None
    stmt = (
        select(OrderLine, Item)
        .join(Item, col(Item.id) == col(OrderLine.item_id))
        .where(OrderLine.order_id == order.id)
        .order_by(col(Item.position))
    )
    items = []
    for line, item in s.exec(stmt):
        price = item.settled_price_fen or line.unit_price_fen
        items.append((item.name, line.quantity, item.unit, price * line.quantity))
    amount = sum(i[3] for i in items)
    return OrderView(
        order.follow_no, items, amount, order.coupon_fen, order.paid, order.pickup_code, order.note
    )
