"""Live stock for the timeline: item views for countdowns, 仅剩N件 / 售罄 broadcasts, 阶梯价 settlement.

The low-stock broadcast fires once per crossing: a ``StockWatch`` row remembers whether the
item is below its line; it re-arms when stock comes back (a cancellation or 加库存). Crossings
are noted inside the order's own transaction (the order book's conditional UPDATE on the item
row serialises writers of one item) and posted by a timeline job, exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy import select as core_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from bot.core.messages import Reply
from bot.services.broadcasts import to_groups
from bot.services.campaigns import items_of
from bot.store.db import table
from bot.store.models import Campaign, Item, SentNotice
from bot.store.models_timeline import StockWatch
from bot.store.prepared import Prepared


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


_ITEMS, _WATCH, _CAMPAIGNS = table(Item), table(StockWatch), table(Campaign)
_LOCKED_OPTIONS = (
    core_select(_CAMPAIGNS.c.options).where(_CAMPAIGNS.c.id == bindparam("id")).with_for_update()
)
# An item's live count beside its watch flags: one read per item an order touched.
_COUNT = Prepared(
    core_select(_ITEMS.c.id, _ITEMS.c.stock, _ITEMS.c.sold, _WATCH.c.low, _WATCH.c.sold_out)
    .select_from(_ITEMS.outerjoin(_WATCH, _WATCH.c.item_id == _ITEMS.c.id))
    .where(_ITEMS.c.id == bindparam("id"), _ITEMS.c.stock.is_not(None))
)


def note_stock_crossings(
    s: Session, campaign: Campaign, item_ids: list[int], ratio: float, now: datetime, delay: timedelta
) -> bool:
    """Record items that just crossed their low-stock line or sold out, and book a stock post.

    The post is a timeline job (``stock:<n>``) shortly after, so crossings close together share
    one message and the buyer's own reply comes first. True when a post was booked or extended.
    """
    assert campaign.id is not None
    crossed = False
    conn = s.connection()
    rows = [_COUNT.first(conn, {"id": item_id}) for item_id in dict.fromkeys(item_ids)]
    for row in filter(None, rows):
        remaining = max(row.stock - row.sold, 0)
        low = row.stock > 0 and 0 < remaining <= row.stock * ratio
        if (low, remaining == 0) == (bool(row.low), bool(row.sold_out)):
            continue  # the common case: no line crossed, nothing to write
        watch = s.get(StockWatch, row.id) or StockWatch(item_id=row.id)
        if low and not watch.low:
            watch.crossings += 1
            watch.announce_low = crossed = True
        if remaining == 0 and not watch.sold_out:
            watch.announce_sold_out = crossed = True
        watch.low = low
        watch.sold_out = remaining == 0
        s.add(watch)
    if not crossed:
        return False
    # Fresh, under the row lock (PostgreSQL): ``campaign`` may be a batch's cached copy, and
    # another process may have written the options since (a 改期, a 战报 request).
    options = dict(s.connection().execute(_LOCKED_OPTIONS, {"id": campaign.id}).scalar_one() or {})
    post = options.get("stock_post")
    seq = int(post["seq"]) if post else 0
    fired = post is not None and s.get(SentNotice, f"campaign:{campaign.id}:stock:{seq}") is not None
    if post is None or fired:
        options["stock_post"] = {"seq": seq + 1, "at": (now + delay).isoformat()}
        # Core UPDATE: ``campaign`` may be a batch's cached copy outside this session.
        s.connection().execute(
            update(_CAMPAIGNS).where(_CAMPAIGNS.c.id == campaign.id).values(options=options)
        )
        set_committed_value(campaign, "options", options)
    return True


def stock_post(s: Session, campaign: Campaign) -> list[Reply]:
    """The stock post: 仅剩N件 for items still low, 售罄 for items sold out; flags cleared."""
    assert campaign.id is not None
    low: list[tuple[Item, int]] = []
    gone: list[Item] = []
    for item in items_of(s, campaign.id):
        watch = s.get(StockWatch, item.id)
        if watch is None or not (watch.announce_low or watch.announce_sold_out) or item.stock is None:
            continue
        remaining = max(item.stock - item.sold, 0)
        if watch.announce_sold_out and remaining == 0:
            gone.append(item)
        elif watch.announce_low and watch.low:
            low.append((item, remaining))
        watch.announce_low = watch.announce_sold_out = False
        s.add(watch)
    if not low and not gone:
        return []
    return to_groups(s, campaign, "timeline/stock", low=low, gone=gone)
