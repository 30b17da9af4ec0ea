"""The recap (战报) figures of a closed campaign: pure maths over order lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Literal

from bot.groupbuy.privacy import mask_name
from bot.groupbuy.quantity import amount_fen
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
    ratings: int = 0  # members who rated
    comment_words: tuple[tuple[str, int], ...] = ()  # the words comments use most, with counts
    # 活跃之星: (masked name, items ordered, helpful messages), most active first.
    stars: tuple[tuple[str, int, int], ...] = ()

    @property
    def date_label(self) -> str:
        return f"{self.closed_at.year}年{self.closed_at.month}月{self.closed_at.day}日"


@dataclass
class _Totals:
    buyers: dict[str, int]  # member id -> spend (gross), in first-order order
    first_follow: dict[str, int]
    names: dict[str, str]
    orders: dict[int, datetime]  # follow number -> first line's time
    item_units: dict[tuple[str, str], int]  # (item, unit) -> units, and the two below
    item_sales: dict[tuple[str, str], int]
    item_buyers: dict[tuple[str, str], set[str]]
    units: int = 0
    gross: int = 0
    coupons: int = 0
    refunds: int = 0
    list_value: int = 0  # what the goods cost at original prices


def _totals(lines: Sequence[OrderRow]) -> _Totals:
    """Everything the recap counts, in one pass over the lines (100,000 of them in the bench)."""
    t = _Totals({}, {}, {}, {}, {}, {}, {})
    buyers, orders = t.buyers, t.orders
    item_units, item_sales, item_buyers = t.item_units, t.item_sales, t.item_buyers
    units = gross = coupons = refunds = list_value = 0
    for r in lines:
        member, amount, quantity = r.member_id, r.amount_fen, r.quantity
        if member in buyers:
            buyers[member] += amount
        else:
            buyers[member] = amount
            t.first_follow[member] = r.follow_no
            t.names[member] = r.member_name
        seen = orders.get(r.follow_no)
        if seen is None or r.ordered_at < seen:
            orders[r.follow_no] = r.ordered_at
        key = (r.item, r.unit)
        if key in item_units:
            item_units[key] += quantity
            item_sales[key] += amount
            item_buyers[key].add(member)
        else:
            item_units[key], item_sales[key], item_buyers[key] = quantity, amount, {member}
        units += quantity
        gross += amount
        coupons += r.coupon_fen
        refunds += r.refund_fen
        original = r.original_price_fen
        at_list = amount_fen(original, quantity) if original is not None else 0
        list_value += at_list if at_list > amount else amount
    t.units, t.gross, t.coupons, t.refunds, t.list_value = units, gross, coupons, refunds, list_value
    return t


def _headline(lines: Sequence[OrderRow]) -> tuple[set[str], int]:
    """The previous campaign's buyers and sales (what members finally paid): all the comparison needs."""
    sales = sum(map(attrgetter("amount_fen"), lines)) - sum(map(attrgetter("coupon_fen"), lines))
    return set(map(attrgetter("member_id"), lines)), sales - sum(map(attrgetter("refund_fen"), lines))


def _items(t: _Totals, top_n: int) -> tuple[ItemStat, ...]:
    units, sales = t.item_units, t.item_sales
    ranked = sorted(units, key=lambda k: (-units[k], -sales[k], k))
    return tuple(ItemStat(k[0], k[1], units[k], sales[k], len(t.item_buyers[k])) for k in ranked[:top_n])


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
    ratings: int = 0,
    comment_words: Sequence[tuple[str, int]] = (),
    stars: Sequence[tuple[str, int, int]] = (),
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
    earlier: frozenset[str] | set[str] = current.repeat_buyer_ids or frozenset()
    comparison = None
    if previous is not None:
        previous_buyers, previous_sales = _headline(previous.orders)
        if current.repeat_buyer_ids is None:
            earlier = previous_buyers
        comparison = Comparison(
            previous.title, Trend(len(previous_buyers), len(t.buyers)), Trend(previous_sales, sales)
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
        top_items=_items(t, top_items),
        comparison=comparison,
        thanks=tuple(mask_name(t.names[m]) for m in ranked[:top_buyers]),
        next_preview=next_preview.strip() if next_preview and next_preview.strip() else None,
        average_rating=average_rating,
        timeline=timeline,
        bin_minutes=bin_minutes,
        ratings=ratings,
        comment_words=tuple(comment_words),
        stars=tuple((mask_name(name), orders, helpful) for name, orders, helpful in stars),
    )
