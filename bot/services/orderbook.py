"""The order book: members' orders with stock and per-member limits held atomically.

Stock is taken with one conditional UPDATE (``sold + n <= stock``), so no interleaving
of messages, threads or processes can oversell. The member's order row is locked
(SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE),
so the per-member limit holds too.

This is the flash-sale hot path: its statements are ``Prepared`` (compiled once, run on the
driver inside the session's transaction; a new order is five of them) and it never loads or
flushes an ORM object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlmodel import Session, col

from bot.groupbuy.intent import Decision, decide
from bot.groupbuy.order_text import CatalogueIndex, Op, ParsedOrder
from bot.groupbuy.quantity import Quantity, amount_fen, normalize
from bot.services.pickup import pickup_code
from bot.store.db import table
from bot.store.models import Campaign, CampaignStatus, Item, Order, OrderLine, OrderStatus
from bot.store.prepared import Prepared

ORDERS, LINES, ITEMS, CAMPAIGNS = table(Order), table(OrderLine), table(Item), table(Campaign)
# Members re-send when their ✅ is slow or buried: the same text again this soon changes nothing.
REPEAT_WINDOW = timedelta(minutes=5)

_LOCK_ORDER = Prepared(
    select(
        ORDERS.c.id,
        ORDERS.c.status,
        ORDERS.c.note,
        ORDERS.c.last_text,
        ORDERS.c.last_text_at,
        LINES.c.id.label("line_id"),
        LINES.c.item_id,
        LINES.c.quantity,
    )
    .select_from(ORDERS.outerjoin(LINES, LINES.c.order_id == ORDERS.c.id))
    .where(ORDERS.c.campaign_id == bindparam("campaign_id"), ORDERS.c.member_id == bindparam("member_id"))
    .with_for_update(of=ORDERS)
)
_LOCK_CAMPAIGN = Prepared(
    select(CAMPAIGNS.c.status).where(CAMPAIGNS.c.id == bindparam("campaign_id")).with_for_update()
)
_NEXT_FOLLOW_NO = Prepared(
    update(CAMPAIGNS)
    .where(CAMPAIGNS.c.id == bindparam("campaign_id"))
    .values(order_seq=CAMPAIGNS.c.order_seq + 1)
    .returning(CAMPAIGNS.c.order_seq)
)
_MOVE = (
    update(ITEMS)
    .where(ITEMS.c.id == bindparam("item_id"))
    .values(sold=ITEMS.c.sold + bindparam("delta"))
    .returning(ITEMS.c.sold)
)
_MOVE_STOCK = Prepared(_MOVE)
_TAKE_STOCK = Prepared(_MOVE.where(ITEMS.c.sold + bindparam("delta") <= ITEMS.c.stock))
_READ_SOLD = Prepared(select(ITEMS.c.sold).where(ITEMS.c.id == bindparam("item_id")))
_ORDER_COLUMNS = (
    "campaign_id",
    "member_id",
    "group_id",
    "follow_no",
    "status",
    "paid",
    "paid_reported",
    "coupon_fen",
    "refund_fen",
    "note",
    "room",
    "last_text",
    "last_text_at",
    "pickup_code",
    "picked_up_at",
    "created_at",
    "updated_at",
)
_NEW_ORDER = Prepared(insert(ORDERS).returning(ORDERS.c.id), columns=_ORDER_COLUMNS)
_UPDATE_ORDER = Prepared(
    update(ORDERS)
    .where(ORDERS.c.id == bindparam("order_id"))
    .values(
        status=bindparam("new_status"),
        note=bindparam("new_note"),
        room=func.coalesce(bindparam("new_room"), ORDERS.c.room),
        last_text=bindparam("text"),
        last_text_at=bindparam("text_at"),
        updated_at=bindparam("at"),
    )
)
_NEW_LINE = Prepared(
    insert(LINES).returning(LINES.c.id),
    columns=("order_id", "item_id", "quantity", "unit_price_fen", "note", "created_at", "updated_at"),
)
_SET_LINE = Prepared(
    update(LINES)
    .where(LINES.c.id == bindparam("line_id"))
    .values(quantity=bindparam("qty"), updated_at=bindparam("at"))
)
_DROP_LINE = Prepared(delete(LINES).where(LINES.c.id == bindparam("line_id")))
_DROP_LINES = Prepared(delete(LINES).where(LINES.c.order_id == bindparam("order_id")))
# An active order always has lines (an emptied one is cancelled), so plain joins suffice.
_VIEW_ORDER = Prepared(
    select(
        ORDERS.c.follow_no,
        ORDERS.c.coupon_fen,
        ORDERS.c.paid,
        ORDERS.c.pickup_code,
        ORDERS.c.note,
        ITEMS.c.name,
        LINES.c.quantity,
        ITEMS.c.unit,
        func.coalesce(ITEMS.c.settled_price_fen, LINES.c.unit_price_fen).label("price"),
    )
    .select_from(
        ORDERS.join(LINES, LINES.c.order_id == ORDERS.c.id).join(ITEMS, ITEMS.c.id == LINES.c.item_id)
    )
    .where(
        ORDERS.c.campaign_id == bindparam("campaign_id"),
        ORDERS.c.member_id == bindparam("member_id"),
        ORDERS.c.status == OrderStatus.ACTIVE,
    )
    .order_by(ITEMS.c.position)
)


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
    wanted: Quantity
    limit: Quantity | None = None
    have: Quantity = 0
    remaining: Quantity | None = None

    @property
    def can_add(self) -> Quantity | None:
        return None if self.limit is None else normalize(max(self.limit - self.have, 0))


@dataclass(frozen=True)
class Accepted:
    item: str
    unit: str
    quantity: Quantity  # the line's quantity after the change
    delta: Quantity


@dataclass
class Outcome:
    order_id: int | None = None
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    # Items whose stock moved (for the timeline's 仅剩N件 / 售罄 broadcasts).
    touched_items: list[int] = field(default_factory=list)
    # The campaign closed (截团 committed) before this order could be taken.
    closed: bool = False
    # The same text again within REPEAT_WINDOW: nothing changed.
    repeat: bool = False
    # What a message asked, as decided against her order (questions, items she never ordered).
    decision: Decision | None = None

    def before(self, accepted: Accepted) -> Quantity:
        return normalize(accepted.quantity - accepted.delta)


@dataclass
class _Line:
    id: int
    quantity: Quantity


def _lock_order(conn: Connection, campaign_id: int, member_id: str) -> tuple[Any, dict[int, _Line]]:
    """The member's order row (locked) and its lines by item id; (None, {}) when there is none."""
    rows = _LOCK_ORDER.rows(conn, {"campaign_id": campaign_id, "member_id": member_id})
    if not rows:
        return None, {}
    lines = {r.item_id: _Line(r.line_id, r.quantity) for r in rows if r.line_id is not None}
    return rows[0], lines


def _move_stock(conn: Connection, item: Item, delta: Quantity) -> bool:
    """Atomically move ``delta`` units of stock (negative gives units back)."""
    stmt = _TAKE_STOCK if delta > 0 and item.stock is not None else _MOVE_STOCK
    return bool(stmt.rows(conn, {"item_id": item.id, "delta": delta}))


def change_order(
    s: Session,
    campaign: Campaign,
    member_id: str,
    group_id: str,
    wants: list[tuple[Item, Quantity]],
    now: datetime,
    *,
    mode: str = "add",
    note: str | None = None,
    room: str | None = None,
    sold_out: set[int] | None = None,
    early: bool = False,
) -> Outcome:
    """Apply wanted quantities: ``add`` adds to the lines, ``set`` replaces them (0 removes).

    ``early``: the campaign may still be scheduled (a VIP ordering in their head start).

    Each item is decided on its own: one sold-out item does not block the others.
    ``sold_out`` (a batch's memory, updated here) spares a flash sale's late comers a write.
    """

    def plan(lines: dict[int, Quantity], outcome: Outcome) -> list[_Target]:
        targets = []
        for item, qty in wants:
            current = lines.get(item.id, 0)  # type: ignore[arg-type]
            if mode == "set" and qty == 0 and current == 0:
                outcome.rejected.append(Rejected(item.name, item.unit, Refusal.NOT_ORDERED, qty))
            targets.append(_Target(item, normalize(current + qty) if mode == "add" else qty, qty))
        return targets

    adds = any(qty > 0 for _, qty in wants)
    return _change(s, campaign, member_id, group_id, now, plan, adds, note, room, sold_out, early=early)


def change_from_text(
    s: Session,
    campaign: Campaign,
    member_id: str,
    group_id: str,
    parsed: ParsedOrder,
    index: CatalogueIndex,
    items: dict[int, Item],
    now: datetime,
    *,
    text_key: str,
    sold_out: set[int] | None = None,
    early: bool = False,
) -> Outcome:
    """A member's message read by the order grammar, decided (bot.groupbuy.intent) against her
    order as it stands under the lock. The same text again within ``REPEAT_WINDOW`` of the change
    it made is a re-send: nothing changes (``Outcome.repeat``). ``early`` as in ``change_order``."""

    def plan(lines: dict[int, Quantity], outcome: Outcome) -> list[_Target]:
        decision = outcome.decision = decide(parsed, lines, index)
        return [_Target(items[i], target, target) for i, target in decision.targets.items() if i in items]

    adds = any(p.op not in (Op.REDUCE, Op.REMOVE) for p in parsed.parts)
    return _change(
        s, campaign, member_id, group_id, now, plan, adds, parsed.note, parsed.room, sold_out, text_key, early
    )


@dataclass(frozen=True)
class _Target:
    item: Item
    target: Quantity  # the line's quantity wanted after the change (0 removes it)
    wanted: Quantity  # what the member asked for, for refusals


def _change(
    s: Session,
    campaign: Campaign,
    member_id: str,
    group_id: str,
    now: datetime,
    plan: Callable[[dict[int, Quantity], Outcome], list[_Target]],
    adds: bool,
    note: str | None,
    room: str | None,
    sold_out: set[int] | None,
    text_key: str | None = None,
    early: bool = False,
) -> Outcome:
    sold_out = set() if sold_out is None else sold_out
    assert campaign.id is not None
    conn = s.connection()
    if adds:
        # A 截团 may have committed since the handler looked: on PostgreSQL lock the campaign
        # row and look again, so no order slips in after the final tally (SQLite has one
        # writer, so nothing can slip in). Giving units back (取消, 改小) stays possible.
        status = campaign.status
        if conn.dialect.name != "sqlite":
            status = _LOCK_CAMPAIGN.scalar(conn, {"campaign_id": campaign.id})
        if status != CampaignStatus.OPEN and not (early and status == CampaignStatus.SCHEDULED):
            return Outcome(closed=True)
    order, lines = _lock_order(conn, campaign.id, member_id)
    active = order is not None and order.status == OrderStatus.ACTIVE
    stale: dict[int, _Line] = {}  # a cancelled order's leftover lines: not counted
    if not active:
        stale, lines = lines, {}
    outcome = Outcome(order.id if order is not None else None)
    if (
        text_key
        and active
        and order.last_text == text_key
        and order.last_text_at is not None
        and now - order.last_text_at <= REPEAT_WINDOW
    ):
        outcome.repeat = True
        return outcome
    for want in plan({item_id: line.quantity for item_id, line in lines.items()}, outcome):
        item, target = want.item, want.target
        assert item.id is not None
        current = lines[item.id].quantity if item.id in lines else 0
        delta = normalize(target - current)
        if delta == 0:
            continue
        if delta > 0 and item.limit_per_member is not None and target > item.limit_per_member:
            outcome.rejected.append(
                Rejected(
                    item.name, item.unit, Refusal.OVER_LIMIT, want.wanted, item.limit_per_member, current
                )
            )
            continue
        if delta > 0 and item.id in sold_out:
            outcome.rejected.append(
                Rejected(item.name, item.unit, Refusal.SOLD_OUT, want.wanted, have=current, remaining=0)
            )
            continue
        if not _move_stock(conn, item, delta):
            sold = _READ_SOLD.scalar(conn, {"item_id": item.id})
            remaining = normalize(max((item.stock or 0) - sold, 0))
            if remaining == 0:
                sold_out.add(item.id)
            reason = Refusal.SOLD_OUT if remaining == 0 else Refusal.NOT_ENOUGH
            outcome.rejected.append(
                Rejected(item.name, item.unit, reason, want.wanted, have=current, remaining=remaining)
            )
            continue
        if outcome.order_id is None:
            outcome.order_id = _new_order(conn, campaign, member_id, group_id, now, note, room, text_key)
        elif not active:
            # A cancelled order comes back to life with its follow number, but empty.
            if stale:
                _DROP_LINES.execute(conn, {"order_id": outcome.order_id})
            active = True
        line = lines.get(item.id)
        if target == 0 and line is not None:
            _DROP_LINE.execute(conn, {"line_id": line.id})
            del lines[item.id]
        elif line is None:
            line_id = _NEW_LINE.scalar(
                conn,
                {
                    "order_id": outcome.order_id,
                    "item_id": item.id,
                    "quantity": target,
                    "unit_price_fen": item.price_fen,
                    "note": None,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            lines[item.id] = _Line(line_id, target)
        else:
            _SET_LINE.execute(conn, {"line_id": line.id, "qty": target, "at": now})
            line.quantity = target
        if delta < 0:
            sold_out.discard(item.id)
        outcome.accepted.append(Accepted(item.name, item.unit, target, delta))
        outcome.touched_items.append(item.id)
    if order is not None and outcome.accepted:  # a new order was written whole above
        old = order.note
        if note and old:
            note = old if note in old else f"{old}；{note}"
        _UPDATE_ORDER.execute(
            conn,
            {
                "order_id": order.id,
                "new_status": OrderStatus.ACTIVE if lines else OrderStatus.CANCELLED,
                "new_note": note or old,
                "new_room": room,
                "text": text_key,
                "text_at": now if text_key else None,
                "at": now,
            },
        )
    return outcome


def _new_order(
    conn: Connection,
    campaign: Campaign,
    member_id: str,
    group_id: str,
    now: datetime,
    note: str | None,
    room: str | None,
    text_key: str | None = None,
) -> int:
    follow_no = _NEXT_FOLLOW_NO.scalar(conn, {"campaign_id": campaign.id})
    values = {
        "campaign_id": campaign.id,
        "member_id": member_id,
        "group_id": group_id,
        "follow_no": follow_no,
        "status": OrderStatus.ACTIVE,
        "paid": False,
        "paid_reported": False,
        "coupon_fen": 0,
        "refund_fen": 0,
        "note": note,
        "room": room,
        "last_text": text_key,
        "last_text_at": now if text_key else None,
        "pickup_code": pickup_code(campaign, follow_no),
        "picked_up_at": None,
        "created_at": now,
        "updated_at": now,
    }
    return int(_NEW_ORDER.scalar(conn, values))


def cancel_order(
    s: Session,
    campaign: Campaign,
    member_id: str,
    items: list[Item] | None,
    now: datetime,
    sold_out: set[int] | None = None,
) -> Outcome:
    """Cancel the whole order (``items`` None) or some of its items; stock goes back."""
    assert campaign.id is not None
    order, lines = _lock_order(s.connection(), campaign.id, member_id)
    if order is None or order.status != OrderStatus.ACTIVE:
        return Outcome(order.id if order is not None else None)
    by_id = {i.id: i for i in items} if items is not None else None
    targets = [item_id for item_id in lines if by_id is None or item_id in by_id]
    known = {i.id: i for i in items or []}
    missing = [item_id for item_id in targets if item_id not in known]
    if missing:
        known |= {i.id: i for i in s.scalars(select(Item).where(col(Item.id).in_(missing)))}
    outcome = Outcome(order.id)
    wants = [(known[item_id], 0) for item_id in targets]
    if wants:
        sub = change_order(s, campaign, member_id, "", wants, now, mode="set", sold_out=sold_out)
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
    items: list[tuple[str, Quantity, str, int]]  # (name, quantity, unit, line amount in fen)
    amount_fen: int
    coupon_fen: int
    paid: bool
    pickup_code: str | None
    note: str | None

    @property
    def due_fen(self) -> int:
        return max(self.amount_fen - self.coupon_fen, 0)


def view_order(s: Session, campaign_id: int, member_id: str) -> OrderView | None:
    """The member's active order as it stands, lines in catalogue order (one query)."""
    rows = _VIEW_ORDER.rows(s.connection(), {"campaign_id": campaign_id, "member_id": member_id})
    if not rows:
        return None
    first = rows[0]
    items = [(r.name, r.quantity, r.unit, amount_fen(r.price, r.quantity)) for r in rows]
    return OrderView(
        first.follow_no,
        items,
        sum(i[3] for i in items),
        first.coupon_fen,
        first.paid,
        first.pickup_code,
        first.note,
    )
