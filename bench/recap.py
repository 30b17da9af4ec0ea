"""Recap, poster and every export for one campaign of 100,000 order lines: seconds and peak memory.

Run: .venv/bin/python -m bench.recap [--rows N] [--runs 3]
Goal: everything under 2 s and 300 MB.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.groupbuy.exports import write_orders, write_sorting_list, write_supplier_list
from bot.groupbuy.poster import render_poster
from bot.groupbuy.recap import CampaignFacts, compute_recap
from bot.groupbuy.rows import OrderRow

GOAL_SECONDS, GOAL_MB = 2.0, 300
TZ = ZoneInfo("Asia/Shanghai")
ITEMS = [
    ("红富士苹果", "斤", 1280, 1500),
    ("香蕉", "把", 990, None),
    ("赣南脐橙", "箱", 5900, 6900),
    ("土鸡蛋", "盒", 1600, 1800),
    ("阳光玫瑰", "串", 2990, 3990),
    ("五常大米", "袋", 8990, 9990),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


def build_rows(n: int, members: int = 20_000, seed: int = 1) -> list[OrderRow]:
    rnd = random.Random(seed)
    start = datetime(2026, 12, 5, 9, 0, tzinfo=TZ)
    rows = []
    follow = 0
    while len(rows) < n:
        follow += 1
        m = rnd.randrange(members)
        at = start + timedelta(seconds=int(rnd.expovariate(1 / 7200)))
        for name, unit, price, original in rnd.sample(ITEMS, rnd.randint(1, 3)):
            qty = rnd.randint(1, 4)
            rows.append(
                OrderRow(
                    follow,
                    f"wx{m}",
                    f"{SURNAMES[m % 20]}{'阿姨' if m % 3 else '先生'}{m}",
                    name,
                    unit,
                    qty,
                    price,
                    price * qty,
                    "放门口" if m % 9 == 0 else None,
                    m % 4 != 0,
                    f"{m % 5 + 1}号自提点",
                    at,
                    room=f"{m % 40 + 1}栋{(m % 30 + 1) * 100 + m % 4 + 1}" if m % 6 else None,
                    phone=f"139{m:08d}",
                    coupon_fen=100 if m % 10 == 0 else 0,
                    group_name="幸福里1群",
                    pickup_code=f"{follow:06d}",
                    original_price_fen=original,
                )
            )
    return rows[:n]


def steps(rows: list[OrderRow], out: Path) -> list[tuple[str, Callable[[], object]]]:
    current = CampaignFacts("周六水果团", datetime(2026, 12, 6, 18, 0, tzinfo=TZ), rows, "幸福里1群")
    previous = CampaignFacts("周三蔬菜团", datetime(2026, 12, 2, 18, 0, tzinfo=TZ), rows[: len(rows) // 2])
    holder: dict[str, object] = {}

    def recap() -> None:
        holder["recap"] = compute_recap(current, previous, 25_000, "下周三蔬菜团", 4.8)

    out_steps: list[tuple[str, Callable[[], object]]] = [
        ("compute_recap", recap),
        ("render_poster", lambda: render_poster(holder["recap"], out / "poster.png")),  # type: ignore[arg-type]
    ]
    for name, fn in (
        ("orders", write_orders),
        ("supplier", write_supplier_list),
        ("sorting", write_sorting_list),
    ):
        for fmt in ("csv", "xlsx"):
            out_steps.append(
                (f"{name}.{fmt}", lambda fn=fn, name=name, fmt=fmt: fn(rows, out / f"{name}.{fmt}", fmt))
            )
    return out_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = build_rows(args.rows)
    print(f"{len(rows):,} order lines, {len({r.follow_no for r in rows}):,} orders, "
          f"{len({r.member_id for r in rows}):,} members")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        times: dict[str, list[float]] = {}
        totals = []
        for _ in range(args.runs):
            run_start = time.perf_counter()
            for name, step in steps(rows, out):
                t = time.perf_counter()
                step()
                times.setdefault(name, []).append(time.perf_counter() - t)
            totals.append(time.perf_counter() - run_start)
        # Memory in a separate run: tracing allocations slows everything down several times.
        tracemalloc.start()
        for _, step in steps(rows, out):
            step()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"{'step':<16}{'median s':>10}{'min s':>8}{'max s':>8}")
    for name, ts in times.items():
        print(f"{name:<16}{statistics.median(ts):>10.3f}{min(ts):>8.3f}{max(ts):>8.3f}")
    total = statistics.median(totals)
    print(f"{'total':<16}{total:>10.3f}   (median of {args.runs} runs; goal under {GOAL_SECONDS:.0f} s)")
    print(f"peak traced memory during one run: {peak:.0f} MB; max RSS of the process (rows included): "
          f"{rss:.0f} MB (goal under {GOAL_MB} MB)")  # fmt: skip
    print("file sizes: " + ", ".join(f"{k} {v / 2**20:.1f} MB" for k, v in sorted(sizes.items())))
    ok = total < GOAL_SECONDS and rss < GOAL_MB
    print("goal met" if ok else "goal NOT met")


if __name__ == "__main__":
    main()
