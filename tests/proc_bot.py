"""One bot process for tests/test_two_process_orders.py (run as its own OS process).

Usage: python tests/proc_bot.py PLAN.json

The plan names the database URL, this process's outbox owner, the groups and the messages to
feed. The process starts its own app on that store, prints ``ready``, waits for a line on stdin
(the parent's start barrier), feeds every message at once, and prints one JSON line with the
replies its transport sent.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.store.db import make_engine
from bot.testing import build_harness, demo_settings

OPEN_PACING = {
    "per_chat_per_minute": 1_000_000,
    "per_account_per_minute": 1_000_000,
    "burst": 100_000,
    "jitter_seconds": 0,
}


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    settings = demo_settings({g: {"leader": plan["leader"]} for g in plan["groups"]}, pacing=OPEN_PACING)
    engine = make_engine(plan["url"])
    h = build_harness(settings, engine, datetime.fromisoformat(plan["start"]), owner=plan["owner"])
    try:
        async with h.app:
            h.new()
            messages = [
                h.transport.message(
                    h.group_id(m["group"]),
                    m["sender_id"],
                    m["sender_name"],
                    m["text"],
                    chat_name=m["group"],
                    message_id=m["id"],
                    timestamp=h.clock.now(),
                )
                for m in plan["messages"]
            ]
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)  # the barrier: the parent says go to both at once
            began = time.perf_counter()
            await asyncio.gather(*(h.transport.deliver(m) for m in messages))
            await h.timer.run_due()
            elapsed = time.perf_counter() - began
            sent = h.new()
    finally:
        engine.dispose()
    return {
        "owner": plan["owner"],
        "seconds": round(elapsed, 3),
        "replies": [
            {"chat_id": m.chat_id, "template": m.template, "mentions": list(m.mentions), "text": m.text}
            for m in sent
        ],
    }


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    result = asyncio.run(run(plan))
    print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
