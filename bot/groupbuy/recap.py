"""The recap (战报) figures of a closed campaign: pure maths over order lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.groupbuy.privacy import mask_name
from bot.groupbuy.rows import OrderRow

# Bin widths for the orders-over-time chart, in minutes; the smallest that fits max_bins wins.
_BIN_MINUTES = (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)


@dataclass(frozen=True)
class CampaignFacts:
    """What the recap needs to know about one campaign (the lead maps store rows into this)."""

    title: str
    closed_at: datetime  # aware, local time
    orders: Sequence[OrderRow]  # the active order lines (cancelled ones left out)
    group_name: str = ""
    # Members who had bought in an earlier campaign of this group. None: not known, and the
    # buyers of the `previous` campaign handed to compute_recap stand in for it.
    repeat_buyer_ids: frozenset[str] | None = None


@dataclass(frozen=True)
class ItemStat:
    name: str
    unit: str
    units: int
    sales_fen: int  # line amounts, before coupons and refunds
    buyers: int


@dataclass(frozen=True)
class Trend:
    """One figure against the previous campaign's."""

    previous: int
    current: int

    @property
    def change(self) -> float | None:
        """Relative change (0.12 = +12 %); None when the previous figure was zero."""
        return (self.current - self.previous) / self.previous if self.previous else None

    @property
    def direction(self) -> Literal["up", "down", "flat"]:
        change = self.change
        shown = round(change * 100) if change is not None else self.current - self.previous
        return "up" if shown > 0 else "down" if shown < 0 else "flat"


@dataclass(frozen=True)
class Comparison:
    previous_title: str
    buyers: Trend
    sales: Trend


@dataclass(frozen=True)
class TimeBin:
    start: datetime  # local time
    label: str  # short axis label: 09:00, 6日9时 or 12/5
    orders: int


@dataclass(frozen=True)
class Recap:
    title: str
    group_name: str
    closed_at: datetime
    buyers: int  # distinct members with at least one order line
    orders: int  # distinct follow numbers (跟团号)
    units: int
    gross_fen: int  # sum of line amounts
    coupon_fen: int
    refund_fen: int
    sales_fen: int  # what members finally paid: gross - coupons - refunds
    savings_fen: int  # against original prices, coupons included
    group_size: int
    participation: float | None  # buyers / group members; None when the group size is unknown
    repeat_buyers: int
    top_items: tuple[ItemStat, ...]
    comparison: Comparison | None
    thanks: tuple[str, ...]  # top buyers by spend, names already masked
    next_preview: str | None
    average_rating: float | None
    timeline: tuple[TimeBin, ...]
    bin_minutes: int

    @property
    def date_label(self) -> str:
        return f"{self.closed_at.year}年{self.closed_at.month}月{self.closed_at.day}日"


@dataclass
class _Totals:
    buyers: dict[str, int]  # member id -> spend (gross), in first-order order
    first_follow: dict[str, int]
    names: dict[str, str]
    orders: dict[int, datetime]  # follow number -> first line's time
    units: int = 0
    gross: int = 0
    coupons: int = 0
    refunds: int = 0
    list_value: int = 0  # what the goods cost at original prices


def _totals(lines: Sequence[OrderRow]) -> _Totals:
    t = _Totals({}, {}, {}, {})
    buyers, orders = t.buyers, t.orders
    for r in lines:
        member = r.member_id
        if member in buyers:
            buyers[member] += r.amount_fen
        else:
            buyers[member] = r.amount_fen
            t.first_follow[member] = r.follow_no
            t.names[member] = r.member_name
        seen = orders.get(r.follow_no)
        if seen is None or r.ordered_at < seen:
            orders[r.follow_no] = r.ordered_at
        t.units += r.quantity
        t.gross += r.amount_fen
        t.coupons += r.coupon_fen
        t.refunds += r.refund_fen
        original = r.original_price_fen
        t.list_value += max(original * r.quantity, r.amount_fen) if original is not None else r.amount_fen
    return t


def _items(lines: Sequence[OrderRow], top_n: int) -> tuple[ItemStat, ...]:
    units: dict[tuple[str, str], int] = {}
    sales: dict[tuple[str, str], int] = {}
    buyers: dict[tuple[str, str], set[str]] = {}
    for r in lines:
        key = (r.item, r.unit)
        if key in units:
            units[key] += r.quantity
            sales[key] += r.amount_fen
            buyers[key].add(r.member_id)
        else:
            units[key], sales[key], buyers[key] = r.quantity, r.amount_fen, {r.member_id}
    ranked = sorted(units, key=lambda k: (-units[k], -sales[k], k))
    return tuple(ItemStat(k[0], k[1], units[k], sales[k], len(buyers[k])) for k in ranked[:top_n])


def _bin_label(start: datetime, minutes: int, one_day: bool) -> str:
    if minutes >= 1440:
        return f"{start.month}/{start.day}"
    if one_day:
        return f"{start.hour:02d}:{start.minute:02d}"
    return (
        f"{start.day}日{start.hour}时"
        if start.minute == 0
        else f"{start.day}日{start.hour}:{start.minute:02d}"
    )


def order_timeline(times: Sequence[datetime], max_bins: int = 24) -> tuple[tuple[TimeBin, ...], int]:
    """Orders per time bin, bins aligned to round local times and as fine as max_bins allows."""
    if not times:
        return (), 60
    first, last = min(times), max(times)
    midnight = first.replace(hour=0, minute=0, second=0, microsecond=0)
    for minutes in _BIN_MINUTES:
        offset = (first - midnight) // timedelta(minutes=minutes) * minutes if minutes < 1440 else 0
        start = midnight + timedelta(minutes=offset)
        count = (last - start) // timedelta(minutes=minutes) + 1
        if count <= max_bins:
            break
    width = timedelta(minutes=minutes)
    counts = [0] * count
    for t in times:
        counts[(t - start) // width] += 1
    one_day = (last - midnight) < timedelta(days=1)
    bins = tuple(
        TimeBin(start + i * width, _bin_label(start + i * width, minutes, one_day), n)
        for i, n in enumerate(counts)
    )
    return bins, minutes


def compute_recap(
    current: CampaignFacts,
    previous: CampaignFacts | None,
    group_size: int,
    next_preview: str | None = None,
    average_rating: float | None = None,
    *,
    top_items: int = 3,
    top_buyers: int = 3,
    max_bins: int = 24,
) -> Recap:
    """The 战报 figures of `current`, compared with `previous` when there is one.

    Sales are what members finally pay: line amounts minus coupons minus refunds. Savings are the
    goods at original prices (a line without one counts at its own price) minus what was charged
    before refunds, i.e. price savings plus coupons. Top items rank by units, top buyers by spend
    (earlier follow number first on a tie); their names come out masked, ready for the group.
    """
    t = _totals(current.orders)
    sales = t.gross - t.coupons - t.refunds
    if current.repeat_buyer_ids is not None:
        earlier: frozenset[str] | set[str] = current.repeat_buyer_ids
    else:
        earlier = {r.member_id for r in previous.orders} if previous is not None else set()
    comparison = None
    if previous is not None:
        p = _totals(previous.orders)
        comparison = Comparison(
            previous.title,
            Trend(len(p.buyers), len(t.buyers)),
            Trend(p.gross - p.coupons - p.refunds, sales),
        )
    ranked = sorted(t.buyers, key=lambda m: (-t.buyers[m], t.first_follow[m]))
    timeline, bin_minutes = order_timeline(list(t.orders.values()), max_bins)
    return Recap(
        title=current.title,
        group_name=current.group_name,
        closed_at=current.closed_at,
        buyers=len(t.buyers),
        orders=len(t.orders),
        units=t.units,
        gross_fen=t.gross,
        coupon_fen=t.coupons,
        refund_fen=t.refunds,
        sales_fen=sales,
        savings_fen=t.list_value - t.gross + t.coupons,
        group_size=group_size,
        participation=len(t.buyers) / group_size if group_size > 0 else None,
        repeat_buyers=sum(1 for m in t.buyers if m in earlier),
        top_items=_items(current.orders, top_items),
        comparison=comparison,
        thanks=tuple(mask_name(t.names[m]) for m in ranked[:top_buyers]),
        next_preview=next_preview.strip() if next_preview and next_preview.strip() else None,
        average_rating=average_rating,
        timeline=timeline,
        bin_minutes=bin_minutes,
    )
