"""A campaign's figures for the console's charts, read in one pass over its order lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session

from bot.groupbuy.figures import Progress, Series, Share, tier_progress, time_series
from bot.groupbuy.quantity import amount_fen
from bot.services.campaigns import campaign_groups, items_of
from bot.store.db import table
from bot.store.models import Campaign, Group, Item, Order, OrderLine, OrderStatus

ORDERS, LINES, GROUPS, ITEMS = table(Order), table(OrderLine), table(Group), table(Item)


@dataclass(frozen=True)
class Figures:
    orders: int
    buyers: int
    sales_fen: int
    series: Series
    by_group: list[Share]
    by_item: list[Share]
    goals: list[Progress]  # 成团 (buyers, units) and every 阶梯价 tier
    paid: tuple[int, int]  # orders paid, unpaid
    paid_fen: tuple[int, int]  # amounts paid, unpaid
    collected: tuple[int, int]  # picked up, waiting


def campaign_figures(s: Session, campaign: Campaign, now: datetime, tz: ZoneInfo) -> Figures:
    assert campaign.id is not None
    conn = s.connection()
    items = items_of(s, campaign.id)
    by_id = {i.id: i for i in items}
    stmt = (
        select(
            ORDERS.c.id,
            ORDERS.c.group_id,
            ORDERS.c.member_id,
            ORDERS.c.paid,
            ORDERS.c.picked_up_at,
            ORDERS.c.created_at,
            ORDERS.c.coupon_fen,
            ORDERS.c.refund_fen,
            LINES.c.item_id,
            LINES.c.quantity,
            LINES.c.unit_price_fen,
            LINES.c.created_at.label("line_at"),
        )
        .join(LINES, LINES.c.order_id == ORDERS.c.id)
        .where(ORDERS.c.campaign_id == campaign.id, ORDERS.c.status == OrderStatus.ACTIVE)
    )
    orders: dict[int, list[object]] = {}  # id -> [group, member, paid, picked, created, amount, off]
    item_qty: dict[int, int] = {}
    item_fen: dict[int, int] = {}
    item_buyers: dict[int, set[str]] = {}
    sales: list[tuple[datetime, int]] = []
    for row in conn.execute(stmt):
        item = by_id[row.item_id]
        amount = amount_fen(item.settled_price_fen or row.unit_price_fen, row.quantity)
        entry = orders.get(row.id)
        if entry is None:
            entry = orders[row.id] = [
                row.group_id,
                row.member_id,
                row.paid,
                row.picked_up_at is not None,
                row.created_at,
                0,
                row.coupon_fen + row.refund_fen,
            ]
        entry[5] += amount  # type: ignore[operator]
        item_qty[row.item_id] = item_qty.get(row.item_id, 0) + row.quantity
        item_fen[row.item_id] = item_fen.get(row.item_id, 0) + amount
        item_buyers.setdefault(row.item_id, set()).add(row.member_id)
        sales.append((row.line_at or row.created_at, amount))
    due = {oid: max(e[5] - e[6], 0) for oid, e in orders.items()}  # type: ignore[operator]
    start = campaign.opens_at or campaign.created_at or now
    end = campaign.closed_at or now
    series = time_series([e[4] for e in orders.values()], sales, start, end, tz)  # type: ignore[misc]
    groups = campaign_groups(s, campaign.id)
    groups += sorted({str(e[0]) for e in orders.values()} - set(groups))  # unbound since: still counted
    names = dict(conn.execute(select(GROUPS.c.id, GROUPS.c.name).where(GROUPS.c.id.in_(groups))).all())
    by_group = [
        Share(
            names.get(g) or g,
            sum(e[5] for e in orders.values() if e[0] == g),  # type: ignore[misc]
            sum(1 for e in orders.values() if e[0] == g),
        )
        for g in groups
    ]
    by_item = [Share(i.name, item_fen.get(i.id, 0), item_qty.get(i.id, 0), i.unit) for i in items if i.id]  # type: ignore[arg-type]
    buyers = len({e[1] for e in orders.values()})
    goals = []
    if campaign.min_buyers:
        goals.append(Progress("成团人数", buyers, campaign.min_buyers, "人"))
    if min_units := (campaign.options or {}).get("min_units"):
        goals.append(Progress("成团份数", sum(i.sold for i in items), int(min_units), "份"))
    for i in items:
        if i.tiers and i.id is not None:
            goals += tier_progress(i.name, i.unit, i.tiers, i.sold, len(item_buyers.get(i.id, ())))
    paid_ids = [oid for oid, e in orders.items() if e[2]]
    picked = sum(1 for e in orders.values() if e[3])
    return Figures(
        orders=len(orders),
        buyers=buyers,
        sales_fen=sum(e[5] for e in orders.values()),  # type: ignore[misc]
        series=series,
        by_group=by_group,
        by_item=by_item,
        goals=goals,
        paid=(len(paid_ids), len(orders) - len(paid_ids)),
        paid_fen=(sum(due[o] for o in paid_ids), sum(due.values()) - sum(due[o] for o in paid_ids)),
        collected=(picked, len(orders) - picked),
    )


def sales_by_campaign(s: Session, campaign_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(orders, sales in fen) of each campaign's active orders: sums per item and price in SQL."""
    if not campaign_ids:
        return {}
    conn = s.connection()
    active = (ORDERS.c.campaign_id.in_(campaign_ids), ORDERS.c.status == OrderStatus.ACTIVE)
    counts = conn.execute(
        select(ORDERS.c.campaign_id, func.count()).where(*active).group_by(ORDERS.c.campaign_id)
    )
    out = {cid: (n, 0) for cid, n in counts}
    settled = dict(
        conn.execute(
            select(ITEMS.c.id, ITEMS.c.settled_price_fen).where(ITEMS.c.campaign_id.in_(campaign_ids))
        ).all()
    )
    # sum() keeps the quantity column's type: exact quantities, whatever the store keeps.
    stmt = (
        select(ORDERS.c.campaign_id, LINES.c.item_id, LINES.c.unit_price_fen, func.sum(LINES.c.quantity))
        .join(LINES, LINES.c.order_id == ORDERS.c.id)
        .where(*active)
        .group_by(ORDERS.c.campaign_id, LINES.c.item_id, LINES.c.unit_price_fen)
    )
    for cid, item_id, price, qty in conn.execute(stmt):
        n, fen = out[cid]
        out[cid] = (n, fen + amount_fen(settled.get(item_id) or price, qty))
    return out
