"""Live stock for the timeline: item views for countdowns, 仅剩N件 / 售罄 broadcasts, 阶梯价 settlement.

The low-stock broadcast fires once per crossing: a ``StockWatch`` row remembers whether the
item is below its line; it re-arms when stock comes back (a cancellation or 加库存). It runs
inside the order's own transaction, and the order book's conditional UPDATE on the item row
serialises writers of one item, so two processes never both announce one crossing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.broadcasts import to_groups
from bot.campaigns import items_of
from bot.messages import Reply
from bot.store.models import Campaign, Item, Order, OrderLine, OrderStatus
from bot.store.models_timeline import StockWatch


@dataclass(frozen=True)
class ItemView:
    name: str
    unit: str
    price_fen: int
    stock: int | None
    sold: int

    @property
    def remaining(self) -> int | None:
        return None if self.stock is None else max(self.stock - self.sold, 0)


def item_views(s: Session, campaign_id: int) -> list[ItemView]:
    return [ItemView(i.name, i.unit, i.price_fen, i.stock, i.sold) for i in items_of(s, campaign_id)]


def _is_low(item: Item, ratio: float) -> bool:
    if item.stock is None or item.stock <= 0:
        return False
    remaining = item.stock - item.sold
    return 0 < remaining <= item.stock * ratio


def stock_broadcasts(s: Session, campaign: Campaign, item_ids: list[int], ratio: float) -> list[Reply]:
    """Group posts for items that just crossed their low-stock line or sold out."""
    replies: list[Reply] = []
    for item_id in dict.fromkeys(item_ids):
        item = s.get(Item, item_id)
        if item is None or item.stock is None:
            continue
        s.refresh(item, attribute_names=["sold", "stock"])
        watch = s.get(StockWatch, item_id) or StockWatch(item_id=item_id)
        remaining = max(item.stock - item.sold, 0)
        low = _is_low(item, ratio)
        if low and not watch.low:
            watch.crossings += 1
            replies += to_groups(s, campaign, "timeline/low_stock", item=item, remaining=remaining)
        if remaining == 0 and not watch.sold_out:
            replies += to_groups(s, campaign, "timeline/sold_out", item=item)
        watch.low = low
        watch.sold_out = remaining == 0
        s.add(watch)
    return replies


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
            if ("min_units" in t and item.sold >= t["min_units"]) or ("min_buyers" in t and buyers >= t["min_buyers"])
        ]
        if not reached:
            continue
        price = min(reached)
        if price < item.price_fen:
            item.settled_price_fen = price
            s.add(item)
            settled.append(Settled(item.name, item.unit, item.price_fen, price, item.sold, buyers))
    return settled
