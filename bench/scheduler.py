"""The timeline timer at scale: 1,000 groups x 10 campaigns pending on the real APScheduler timer.

Measures: the time to plan every campaign and schedule its jobs the way ``reconcile()`` does at
start (``plan_for`` for all ~160,000 jobs; the timer holds each campaign's next moment, and each
fire plans the campaign again), the process RSS with everything pending, and fire lateness on the
real clock: each campaign's next job (10,000) is moved to within a few seconds while the rest stay
pending, and each callback records how late it ran.

Run: .venv/bin/python -m bench.scheduler [--groups 1000] [--per-group 10] [--spread 5]
Goal: RSS under 150 MB, fire lateness p99 under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.groupbuy.plan import plan_for
from bot.groupbuy.timeline_config import TimelineConfig
from bot.store.models import Campaign, CampaignStatus
from scheduler.runner import timer_jobs
from scheduler.timers import APSTimer

GOAL_MB, GOAL_P99 = 150, 1.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def campaigns(groups: int, per_group: int, now: datetime) -> list[Campaign]:
    out = []
    for g in range(groups):
        for k in range(per_group):
            cid = g * per_group + k + 1
            opens = now + timedelta(hours=2 + k, minutes=cid % 60)
            out.append(
                Campaign(
                    id=cid,
                    title=f"团{cid}",
                    status=CampaignStatus.SCHEDULED,
                    owner_group_id=f"g{g}",
                    created_by="u",
                    created_at=now,
                    opens_at=opens,
                    closes_at=opens + timedelta(hours=4),
                    options={
                        "preheat_at": (opens - timedelta(hours=1, minutes=30)).isoformat(),
                        "rain": {
                            "at": (opens - timedelta(minutes=10)).isoformat(),
                            "count": 10,
                            "total_fen": 5000,
                        },
                    },
                )
            )
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(groups: int, per_group: int, spread: float) -> int:
    timer = APSTimer()
    timer.start()
    config = TimelineConfig()
    now = datetime.now(UTC)
    rss_before = rss_mb()
    items = campaigns(groups, per_group, now)

    async def noop() -> None:
        return None

    # What reconcile() does at start: plan every campaign, give the timer what it must hold.
    t0 = time.perf_counter()
    jobs = 0
    next_ids: list[str] = []
    for c in items:
        specs = plan_for(c, config)
        jobs += len(specs)
        chosen = timer_jobs(specs, set(), now)
        for spec in chosen:
            timer.call_at(spec.id, spec.run_at, noop)
        next_ids.append(chosen[0].id)
    schedule_s = time.perf_counter() - t0

    # One job per campaign is moved to the next few seconds (as a re-plan does); the rest stay pending.
    lateness: list[float] = []
    done = asyncio.Event()
    start = datetime.now(UTC) + timedelta(seconds=2)

    def firer(target: datetime):  # type: ignore[no-untyped-def]
        async def fire() -> None:
            lateness.append((datetime.now(UTC) - target).total_seconds())
            if len(lateness) == len(items):
                done.set()

        return fire

    t1 = time.perf_counter()
    for i, job_id in enumerate(next_ids):
        target = start + timedelta(seconds=spread * i / len(items))
        timer.call_at(job_id, target, firer(target))
    replan_s = time.perf_counter() - t1
    pending = len(timer.job_ids())
    rss_pending = rss_mb()
    await asyncio.wait_for(done.wait(), timeout=spread + 120)
    timer.shutdown()

    p50, p99 = statistics.median(lateness), pct(lateness, 0.99)
    print(
        f"campaigns: {len(items):,} ({groups:,} groups x {per_group}); jobs planned and pending: {jobs:,}; "
        f"held by the timer (next moment per campaign): {pending:,}"
    )
    print(f"plan + schedule all jobs: {schedule_s:.2f} s ({jobs / schedule_s:,.0f} jobs/s)")
    print(f"re-plan {len(items):,} jobs to short offsets: {replan_s:.2f} s")
    print(
        f"RSS: {rss_before:.0f} MB before, {rss_pending:.0f} MB with all jobs pending (goal < {GOAL_MB} MB)"
    )
    print(
        f"fire lateness over {len(lateness):,} jobs due within {spread:g} s: p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {max(lateness) * 1000:.0f} ms (goal p99 < {GOAL_P99:g} s)"
    )
    ok = rss_pending < GOAL_MB and p99 < GOAL_P99
    print("goal met" if ok else "goal NOT met")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--per-group", type=int, default=10)
    parser.add_argument("--spread", type=float, default=5.0, help="seconds over which the due jobs fall")
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args.groups, args.per_group, args.spread)))


if __name__ == "__main__":
    main()
