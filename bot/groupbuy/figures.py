"""The console's figures as plain numbers: sales and orders over time, shares, progress.

Pure: the store query (bot/services/figures.py) hands in what it read, the console draws it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.groupbuy.money import yuan

# Bucket widths a person reads easily, in minutes; the first that gives at most MAX_BUCKETS wins.
STEPS = (1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
MAX_BUCKETS = 24


@dataclass(frozen=True)
class Series:
    """Orders placed per time bucket and sales accumulated by the end of each."""

    labels: list[str]
    orders: list[int]
    sales_fen: list[int]  # running total
    step_minutes: int


def _step(span: timedelta) -> int:
    minutes = max(span / timedelta(minutes=1), 1)
    return next((s for s in STEPS if minutes / s <= MAX_BUCKETS), STEPS[-1])


def time_series(
    orders: Iterable[datetime],
    sales: Iterable[tuple[datetime, int]],
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
) -> Series:
    """Bucket order times and (time, amount) sales from ``start`` to ``end``, on local clock marks."""
    order_times, sale_points = list(orders), list(sales)
    moments = order_times + [at for at, _ in sale_points]
    if not moments:
        return Series([], [], [], 0)
    start = min(start, *moments)
    end = max(end, *moments)
    step = _step(end - start)
    width = timedelta(minutes=step)
    local = start.astimezone(tz)
    # Buckets begin on a round local time (09:00, 09:15, …), days at midnight.
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    first = midnight + ((local - midnight) // width) * width if step < 1440 else midnight
    count = int((end - first) // width) + 1
    orders_per = [0] * count
    sales_per = [0] * count
    for at in order_times:
        orders_per[int((at - first) // width)] += 1
    for at, amount in sale_points:
        sales_per[int((at - first) // width)] += amount
    running, total = [], 0
    for amount in sales_per:
        total += amount
        running.append(total)
    fmt = (
        "%H:%M"
        if step < 1440 and (end - first) <= timedelta(days=1)
        else "%m-%d %H:%M"
        if step < 1440
        else "%m-%d"
    )
    labels = [(first + i * width).astimezone(tz).strftime(fmt) for i in range(count)]
    return Series(labels, orders_per, running, step)


@dataclass(frozen=True)
class Share:
    """One bar: a group's or an item's part of the campaign."""

    name: str
    amount_fen: int
    count: int  # buyers for a group, units for an item
    unit: str = ""


@dataclass(frozen=True)
class Progress:
    """How far a goal is reached: 成团 by buyers or units, or one 阶梯价 tier."""

    label: str
    have: int
    need: int
    unit: str

    @property
    def reached(self) -> bool:
        return self.have >= self.need

    @property
    def ratio(self) -> float:
        return min(self.have / self.need, 1.0) if self.need else 1.0


def tier_progress(
    item: str, unit: str, tiers: Sequence[dict[str, int]], units: int, buyers: int
) -> list[Progress]:
    """Each tier of an item (满30份 11.8元) against what is sold so far."""
    out = []
    for tier in tiers:
        price = f"¥{yuan(tier['price_fen'])}"
        if "min_units" in tier:
            out.append(
                Progress(f"{item} 满{tier['min_units']}{unit} {price}", units, tier["min_units"], unit)
            )
        elif "min_buyers" in tier:
            out.append(Progress(f"{item} {tier['min_buyers']}人 {price}", buyers, tier["min_buyers"], "人"))
    return out
