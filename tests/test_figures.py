"""The console's figures as numbers: time buckets on round local times, goals and tiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.groupbuy.figures import Progress, tier_progress, time_series

TZ = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int, day: int = 5) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def test_a_morning_in_buckets_on_round_times() -> None:
    orders = [at(9, 7), at(9, 8), at(10, 40)]
    sales = [(at(9, 7), 1000), (at(9, 8), 500), (at(10, 40), 250), (at(10, 41), 100)]
    s = time_series(orders, sales, at(9, 3), at(11, 0), TZ)
    assert s.step_minutes == 5 and s.labels[:2] == ["09:00", "09:05"] and s.labels[-1] == "11:00"
    assert len(s.labels) == 25 and sum(s.orders) == 3 and s.orders[1] == 2
    assert s.sales_fen[:2] == [0, 1500] and s.sales_fen[-1] == 1850
    assert s.sales_fen == sorted(s.sales_fen)  # a running total never falls


def test_days_long_campaigns_bucket_by_hours_then_days() -> None:
    s = time_series([at(9, 0), at(20, 0, day=6)], [], at(9, 0), at(21, 0, day=6), TZ)
    assert s.step_minutes == 120 and len(s.labels) <= 24 and s.labels[0] == "12-05 08:00"
    month = time_series([at(9, 0), at(9, 0, day=25)], [], at(9, 0), at(9, 0, day=25), TZ)
    assert month.step_minutes == 1440 and month.labels[:2] == ["12-05", "12-06"] and len(month.labels) == 21


def test_orders_outside_the_window_widen_it_and_nothing_is_empty() -> None:
    s = time_series([at(8, 51)], [(at(8, 51), 100)], at(9, 0), at(9, 30), TZ)
    assert s.labels[0] == "08:50" and s.orders[0] == 1 and s.sales_fen[-1] == 100
    assert time_series([], [], at(9, 0), at(9, 0) + timedelta(hours=1), TZ).labels == []


def test_goals_and_tiers() -> None:
    tiers = [{"min_units": 30, "price_fen": 1180}, {"min_buyers": 5, "price_fen": 1000}]
    by_units, by_buyers = tier_progress("苹果", "斤", tiers, units=31, buyers=2)
    assert (
        by_units == Progress("苹果 满30斤 ¥11.8", 31, 30, "斤") and by_units.reached and by_units.ratio == 1
    )
    assert by_buyers.label == "苹果 5人 ¥10" and not by_buyers.reached and by_buyers.ratio == 0.4
