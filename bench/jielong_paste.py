"""A pasted 接龙 of thousands of lines: how long it holds the writer, and what the leader gets.

Run: .venv/bin/python -m bench.jielong_paste [--lines 3000] [--runs 5]
Goal: the whole message's transaction (SQLite's one writer) well under a second; the leader gets
one short summary, not a line per entry.

A member pastes a list whose nicknames match nobody in the group (a list copied from another
group: the worst case, every line becomes a report for the leader). Timed, medians over
``--runs`` fresh lists: ``parse`` (``parse_jielong`` alone, the baseline measured in the same
run) and ``writer`` (``App._handle_batch``: routing, reconciling, storing every report, the
leader's summary in the outbox, the commit), which is the time SQLite's writer is held.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.groupbuy.jielong import parse_jielong
from bot.testing import build_harness, demo_settings, isolated_engine

GOAL_MS = 500.0
OPEN = "开团 周六水果团\n苹果 12.8元/斤 库存100000\n香蕉 9.9元/把 库存100000\n截团 今天23:00"


def paste(lines: int, run: int) -> str:
    entries = "\n".join(f"{i}. 路人{run}-{i:04d} 3-{1000 + i} 苹果{i % 5 + 1}斤" for i in range(1, lines + 1))
    return f"#接龙 周六水果团\n例 3栋1202 苹果1斤\n\n{entries}"


async def run(lines: int, runs: int) -> dict[str, float]:
    parse_ms, writer_ms, summary_chars = [], [], []
    with tempfile.TemporaryDirectory() as tmp, isolated_engine(f"sqlite:///{tmp}/bench.db") as engine:
        h = build_harness(demo_settings(), engine, datetime(2026, 12, 5, 9, 0))
        async with h.app:
            await h.say("王姐", OPEN)
            for k in range(runs):
                text = paste(lines, k)
                start = time.perf_counter()
                parse_jielong(text)
                parse_ms.append((time.perf_counter() - start) * 1000)
                message = h.transport.message(
                    h.group_id(),
                    h.member_id("李阿姨"),
                    "李阿姨",
                    text,
                    chat_name="幸福里1群",
                    message_id=f"p{k}",
                )
                start = time.perf_counter()
                h.app._handle_batch([message])
                writer_ms.append((time.perf_counter() - start) * 1000)
                await h.app.outbox.pump()
                sent = h.new()
                assert [m.template for m in sent] == ["jielong/confirm_request"], [m.template for m in sent]
                summary_chars.append(len(sent[0].text))
    return {
        "parse": statistics.median(parse_ms),
        "writer": statistics.median(writer_ms),
        "summary chars": max(summary_chars),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    figures = asyncio.run(run(args.lines, args.runs))
    print(f"接龙 paste of {args.lines} strangers' lines, median of {args.runs} runs:")
    print(f"  parse (baseline) {figures['parse']:8.1f} ms")
    ratio = figures["writer"] / figures["parse"]
    print(f"  writer held      {figures['writer']:8.1f} ms   ({ratio:.1f}x parse)")
    print(f"  leader's summary {figures['summary chars']:8.0f} characters (one message)")
    ok = figures["writer"] < GOAL_MS and figures["summary chars"] < 1800
    print(f"goal writer < {GOAL_MS:.0f} ms and one short summary: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
