"""A campaign's orders as the leader's console lists them: searched, filtered, a page at a time.

Core statements on the tables, newest order first: a page of 50 out of 10,000 orders costs a
count, one indexed page of orders and one look-up of their lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlmodel import Session

from bot.groupbuy.quantity import Quantity, amount_fen
from bot.store.db import table
from bot.store.models import Group, Item, Member, Order, OrderLine, OrderStatus

ORDERS, LINES, ITEMS, MEMBERS, GROUPS = (
    table(Order),
    table(OrderLine),
    table(Item),
    table(Member),
    table(Group),
)
PAGE = 50


class Show(StrEnum):
    """The console's filter chips."""

    ALL = "all"
    UNPAID = "unpaid"
    PAID = "paid"
    WAITING = "waiting"  # not picked up yet
    COLLECTED = "collected"


_SHOW: dict[Show, ColumnElement[bool] | None] = {
    Show.ALL: None,
    Show.UNPAID: ORDERS.c.paid.is_(False),
    Show.PAID: ORDERS.c.paid.is_(True),
    Show.WAITING: ORDERS.c.picked_up_at.is_(None),
    Show.COLLECTED: ORDERS.c.picked_up_at.is_not(None),
}


@dataclass(frozen=True)
class Line:
    item_id: int
    name: str
    quantity: Quantity
    unit: str
    amount_fen: int


@dataclass(frozen=True)
class Card:
    """One order as the console shows it."""

    follow_no: int
    member_id: str
    name: str
    group: str
    room: str | None
    note: str | None
    paid: bool
    paid_reported: bool
    picked_up_at: datetime | None
    pickup_code: str | None
    coupon_fen: int
    refund_fen: int
    created_at: datetime | None
    lines: list[Line]

    @property
    def amount_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def due_fen(self) -> int:
        return max(self.amount_fen - self.coupon_fen - self.refund_fen, 0)


@dataclass(frozen=True)
class Counts:
    all: int
    unpaid: int
    paid: int
    waiting: int
    collected: int

    def of(self, show: Show | str) -> int:
        return int(getattr(self, Show(show).value))


@dataclass(frozen=True)
class OrderPage:
    cards: list[Card]
    matching: int  # orders the search and filter find
    counts: Counts  # every active order of the campaign, by chip
    offset: int

    @property
    def more(self) -> int:
        return max(self.matching - self.offset - len(self.cards), 0)


def _like(text: str) -> str:
    """A LIKE pattern that finds ``text`` anywhere, its own % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search(query: str) -> ColumnElement[bool] | None:
    """Name, room, 跟团号 or pickup code: whatever the leader typed."""
    query = query.strip()
    if not query:
        return None
    pattern = _like(query)
    found = [MEMBERS.c.name.like(pattern, escape="\\"), ORDERS.c.room.like(pattern, escape="\\")]
    digits = query.lstrip("#").removesuffix("号")
    if digits.isascii() and digits.isdigit() and len(digits) <= 9:
        found += [ORDERS.c.follow_no == int(digits), ORDERS.c.pickup_code == digits]
    return or_(*found)


_JOINED = ORDERS.join(MEMBERS, MEMBERS.c.id == ORDERS.c.member_id).join(
    GROUPS, GROUPS.c.id == ORDERS.c.group_id
)


def _active(campaign_id: int) -> ColumnElement[bool]:
    return and_(ORDERS.c.campaign_id == campaign_id, ORDERS.c.status == OrderStatus.ACTIVE)


def counts(s: Session, campaign_id: int) -> Counts:
    """Every active order of the campaign, by filter chip (one aggregate)."""
    paid = func.coalesce(func.sum(case((ORDERS.c.paid.is_(True), 1), else_=0)), 0)
    picked = func.coalesce(func.sum(case((ORDERS.c.picked_up_at.is_not(None), 1), else_=0)), 0)
    stmt = select(func.count(), paid, picked).where(_active(campaign_id))
    total, paid_n, picked_n = s.connection().execute(stmt).one()
    return Counts(total, total - paid_n, paid_n, total - picked_n, picked_n)


def order_page(
    s: Session, campaign_id: int, query: str = "", show: Show = Show.ALL, offset: int = 0, limit: int = PAGE
) -> OrderPage:
    """The orders the search and filter find, newest first, ``limit`` from ``offset``."""
    chips = counts(s, campaign_id)
    where = [_active(campaign_id), *(c for c in (_SHOW[show], _search(query)) if c is not None)]
    matching = chips.of(show)
    if query.strip():
        stmt = select(func.count()).select_from(_JOINED).where(*where)
        matching = s.connection().execute(stmt).scalar_one()
    return OrderPage(_cards(s, where, offset, limit), matching, chips, offset)


def order_card(s: Session, campaign_id: int, follow_no: int) -> Card | None:
    """One active order by its 跟团号."""
    found = _cards(s, [_active(campaign_id), ORDERS.c.follow_no == follow_no], 0, 1)
    return found[0] if found else None


def _cards(s: Session, where: list[ColumnElement[bool]], offset: int, limit: int) -> list[Card]:
    conn = s.connection()
    rows = conn.execute(
        select(ORDERS, MEMBERS.c.name.label("member_name"), GROUPS.c.name.label("group_name"))
        .select_from(_JOINED)
        .where(*where)
        .order_by(ORDERS.c.follow_no.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    lines: dict[int, list[Line]] = {}
    if rows:
        price = func.coalesce(ITEMS.c.settled_price_fen, LINES.c.unit_price_fen)
        stmt = (
            select(LINES.c.order_id, ITEMS.c.id, ITEMS.c.name, LINES.c.quantity, ITEMS.c.unit, price)
            .join(ITEMS, ITEMS.c.id == LINES.c.item_id)
            .where(LINES.c.order_id.in_([r.id for r in rows]))
            .order_by(ITEMS.c.position)
        )
        for order_id, item_id, name, qty, unit, unit_price in conn.execute(stmt):
            lines.setdefault(order_id, []).append(Line(item_id, name, qty, unit, amount_fen(unit_price, qty)))
    return [
        Card(
            r.follow_no,
            r.member_id,
            r.member_name,
            r.group_name or r.group_id,
            r.room,
            r.note,
            r.paid,
            r.paid_reported,
            r.picked_up_at,
            r.pickup_code,
            r.coupon_fen,
            r.refund_fen,
            r.created_at,
            lines.get(r.id, []),
        )
        for r in rows
    ]
