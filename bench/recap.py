"""Recap, poster and every export for one campaign of 100,000 order lines: seconds and peak memory.

Run: .venv/bin/python -m bench.recap [--rows N] [--runs 3]
Goal: everything under 2 s and 300 MB.

The total is `bot.services.recaps.render_media`, the function the 战报 (command and timeline) runs: the
order list's XLSX in a worker process, the recap, the poster and the other files here meanwhile.
The bench asks for CSV as well as XLSX of each file (the bot sends XLSX only). The table of steps
times each piece alone, one after another in this process, to show where the time goes.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.groupbuy.exports import Format, write_orders, write_sorting_list, write_supplier_list
from bot.groupbuy.poster import render_poster
from bot.groupbuy.recap import CampaignFacts, Recap, compute_recap
from bot.groupbuy.rows import OrderRow
from bot.services.recaps import leader_exports, render_media

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


def recap_of(rows: list[OrderRow]) -> Callable[[], Recap]:
    current = CampaignFacts("周六水果团", datetime(2026, 12, 6, 18, 0, tzinfo=TZ), rows, "幸福里1群")
    previous = CampaignFacts("周三蔬菜团", datetime(2026, 12, 2, 18, 0, tzinfo=TZ), rows[: len(rows) // 2])
    return lambda: compute_recap(current, previous, 25_000, "下周三蔬菜团", 4.8)


def everything(rows: list[OrderRow], out: Path, formats: tuple[Format, ...] = ("csv", "xlsx")) -> None:
    """What the 战报 does (render_media), by default with CSV and XLSX of each of the three files."""
    render_media(rows, recap_of(rows), out / "poster.png", leader_exports(out, 1, formats))


def steps(
    rows: list[OrderRow], out: Path, formats: tuple[Format, ...]
) -> list[tuple[str, Callable[[], object]]]:
    """Each piece alone, for the breakdown."""
    recap = recap_of(rows)
    holder: dict[str, Recap] = {}

    def compute() -> None:
        holder["recap"] = recap()

    out_steps: list[tuple[str, Callable[[], object]]] = [
        ("compute_recap", compute),
        ("render_poster", lambda: render_poster(holder["recap"], out / "poster.png")),
    ]
    for name, fn in (
        ("orders", write_orders),
        ("supplier", write_supplier_list),
        ("sorting", write_sorting_list),
    ):
        for fmt in formats:
            out_steps.append(
                (f"{name}.{fmt}", lambda fn=fn, name=name, fmt=fmt: fn(rows, out / f"{name}.{fmt}", fmt))
            )
    return out_steps


class MemoryWatch:
    """Peak resident memory of this process and of its worker processes, sampled from /proc
    (Linux). getrusage cannot say: a child started by vfork inherits its parent's peak."""

    def __init__(self) -> None:
        self.own = self.workers = self.together = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _status(pid: int | str) -> dict[str, int]:
        """VmRSS, VmHWM (kB) and PPid of a process; empty when it is gone."""
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            return {}
        fields = dict(line.split(":", 1) for line in lines if line.startswith(("VmRSS", "VmHWM", "PPid")))
        return {key: int(value.split()[0]) for key, value in fields.items()}

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.02):
            own = self._status("self")
            every = (self._status(pid) for pid in os.listdir("/proc") if pid.isdigit())
            children = [c for c in every if c.get("PPid") == me]
            self.own = max(self.own, own.get("VmHWM", 0))  # the first run: the peak so far is its
            self.workers = max([self.workers, *(c.get("VmHWM", 0) for c in children)])
            self.together = max(self.together, own.get("VmRSS", 0) + sum(c.get("VmRSS", 0) for c in children))

    def __enter__(self) -> MemoryWatch:
        if Path("/proc/self/status").exists():
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--formats", default="csv,xlsx", help="csv,xlsx (every export) or xlsx (what the bot sends)"
    )
    args = parser.parse_args()
    formats: tuple[Format, ...] = tuple(f for f in ("csv", "xlsx") if f in args.formats.split(","))
    if not formats:
        parser.error("--formats: csv, xlsx or csv,xlsx")
    rows = build_rows(args.rows)
    print(f"{len(rows):,} order lines, {len({r.follow_no for r in rows}):,} orders, "
          f"{len({r.member_id for r in rows}):,} members")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        # Memory first, before the runs below leave their garbage behind; then the allocations
        # of this process in a run of their own (tracing them slows everything down).
        with MemoryWatch() as memory:
            everything(rows, out / "watched", formats)
        tracemalloc.start()
        everything(rows, out / "traced", formats)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        totals = []
        times: dict[str, list[float]] = {}
        for _ in range(args.runs):
            t = time.perf_counter()
            everything(rows, out / "all", formats)
            totals.append(time.perf_counter() - t)
            for name, step in steps(rows, out / "steps", formats):
                t = time.perf_counter()
                step()
                times.setdefault(name, []).append(time.perf_counter() - t)
        sizes = {p.name: p.stat().st_size for p in (out / "all").iterdir()}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"{'step (alone, in-process)':<26}{'median s':>10}{'min s':>8}{'max s':>8}")
    for name, ts in times.items():
        print(f"{name:<26}{statistics.median(ts):>10.3f}{min(ts):>8.3f}{max(ts):>8.3f}")
    print(f"{'sum of the steps':<26}{sum(statistics.median(ts) for ts in times.values()):>10.3f}")
    total = statistics.median(totals)
    print(f"{'total (render_media)':<26}{total:>10.3f}{min(totals):>8.3f}{max(totals):>8.3f}"
          f"   {'+'.join(formats)}, median of {args.runs} runs; goal under {GOAL_SECONDS:.0f} s")  # fmt: skip
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs")
    print(f"memory of one run (the {len(rows):,} rows and imports included): this process "
          f"{memory.own / 1024:.0f} MB, the worker {memory.workers / 1024:.0f} MB, both at once "
          f"{memory.together / 1024:.0f} MB (goal under {GOAL_MB} MB); traced Python allocations here "
          f"{peak:.0f} MB; max RSS of this process over the whole bench {rss:.0f} MB")  # fmt: skip
    print("file sizes: " + ", ".join(f"{k} {v / 2**20:.1f} MB" for k, v in sorted(sizes.items())))
    # Both processes count: the worker's memory is the 战报's too.
    ok = total < GOAL_SECONDS and (memory.together / 1024 if memory.together else rss) < GOAL_MB
    print("goal met" if ok else "goal NOT met")


if __name__ == "__main__":
    main()
