"""阶梯价 at close: each item's price falls to the cheapest tier its sales reached."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.services.campaigns import items_of
from bot.store.models import Campaign, Order, OrderLine, OrderStatus


@dataclass(frozen=True)
class Settled:
    name: str
    unit: str
    price_fen: int
    settled_fen: int
    units: int
    buyers: int


def settle_tiers(s: Session, campaign: Campaign) -> list[Settled]:
    """Fix each item's 阶梯价 from the units sold and buyers at close; the cheapest tier reached wins."""
    assert campaign.id is not None
    settled: list[Settled] = []
    for item in items_of(s, campaign.id):
        if not item.tiers:
            continue
        buyers_stmt = (
            select(func.count(func.distinct(Order.member_id)))
            .join(OrderLine, col(OrderLine.order_id) == col(Order.id))
            .where(OrderLine.item_id == item.id, Order.status == OrderStatus.ACTIVE, OrderLine.quantity > 0)
        )
        buyers = int(s.exec(buyers_stmt).one())
        reached = [
            t["price_fen"]
            for t in item.tiers
            if ("min_units" in t and item.sold >= t["min_units"])
            or ("min_buyers" in t and buyers >= t["min_buyers"])
        ]
        if not reached:
            continue
        price = min(reached)
        if price < item.price_fen:
            item.settled_price_fen = price
            s.add(item)
            settled.append(Settled(item.name, item.unit, item.price_fen, price, item.sold, buyers))
    return settled
