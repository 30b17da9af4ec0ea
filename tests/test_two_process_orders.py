"""Two bot processes on one PostgreSQL take orders for the same item at the same moment.

Each process (tests/proc_bot.py) runs its own app with its own outbox owner; both are released
by one pipe barrier and feed hundreds of orders from distinct members at once. Some message ids
reach both processes, as a gateway redelivering to two bots would. The parent then checks that
exactly the stock is sold and that every reply agrees with the order book.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from oversell_audit import announcement, audit, publish_to, read_book, replies_by_member

from bot.core.messages import OutboundMessage
from bot.testing import build_harness, demo_settings, isolated_engine, stable_id

PG_URL = os.environ.get("TUANBOT_TEST_PG_URL")
pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason="needs TUANBOT_TEST_PG_URL")]

START = datetime(2026, 12, 5, 9, 0)
GROUPS = ["一号楼群", "二号楼群", "三号楼群", "四号楼群"]
PROC_BOT = Path(__file__).with_name("proc_bot.py")
STOCK, LIMIT = 200, 2
PER_PROCESS, SHARED = 200, 20
OPEN_PACING = {
    "per_chat_per_minute": 1_000_000,
    "per_account_per_minute": 1_000_000,
    "burst": 100_000,
    "jitter_seconds": 0,
}


def _message(msg_id: str, n: int) -> dict[str, str]:
    name = f"邻居{n}"
    # Every tenth member wants two units; the one-unit buyers alone far outnumber the stock.
    return {
        "id": msg_id,
        "group": GROUPS[n % len(GROUPS)],
        "sender_id": stable_id("u", name),
        "sender_name": name,
        "text": "苹果x2" if n % 10 == 0 else "苹果1",
    }


def _plans(url: str) -> list[dict[str, Any]]:
    shared = [_message(f"shared-{n}", n) for n in range(2 * PER_PROCESS, 2 * PER_PROCESS + SHARED)]
    plans = []
    for p, owner in enumerate(("proc-a", "proc-b")):
        own = [_message(f"{owner}-{n}", n) for n in range(p * PER_PROCESS, (p + 1) * PER_PROCESS)]
        plans.append(
            {
                "url": url,
                "owner": owner,
                "leader": "王姐",
                "groups": GROUPS,
                "start": START.isoformat(),
                "messages": own + shared,
            }
        )
    return plans


async def _run_both(plans: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    procs = []
    for plan in plans:
        path = tmp_path / f"{plan['owner']}.json"
        path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(PROC_BOT),
                str(path),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        )
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if line.strip() != b"ready":
                err = await proc.stderr.read() if proc.stderr else b""
                pytest.fail(f"bot process did not start: {line!r}\n{err.decode(errors='replace')}")
        for proc in procs:  # the barrier: both are waiting on stdin; release them together
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
        await asyncio.gather(*(p.stdin.drain() for p in procs if p.stdin))
        results = []
        for proc in procs:
            out, err = await asyncio.wait_for(proc.communicate(), 120)
            assert proc.returncode == 0, err.decode(errors="replace")
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def test_two_processes_sell_exactly_the_stock(tmp_path: Path) -> None:
    assert PG_URL is not None
    with isolated_engine(PG_URL) as engine:
        # Schema, groups and the campaign first, in this process.
        settings = demo_settings({g: {"leader": "王姐"} for g in GROUPS}, pacing=OPEN_PACING)
        h = build_harness(settings, engine, START, owner="parent")
        async with h.app:
            out = await h.say("王姐", announcement(STOCK, LIMIT), group=GROUPS[0])
            assert out[0].template == "campaign/announcement"
        publish_to(engine, [h.group_id(g) for g in GROUPS])

        plans = _plans(engine.url.render_as_string(hide_password=False))
        results = await _run_both(plans, tmp_path)
        book = read_book(engine)

    sent = [
        OutboundMessage(
            chat_id=r["chat_id"], text=r["text"], template=r["template"], mentions=tuple(r["mentions"])
        )
        for result in results
        for r in result["replies"]
    ]
    replies = replies_by_member(sent)
    sent_count = {m["sender_id"]: 1 for plan in plans for m in plan["messages"]}

    assert book.sold == book.stock == STOCK
    assert book.lines_total == STOCK
    assert audit(replies, book, LIMIT, sent_count) == []
    # Both processes took orders at the same time and answered every member of theirs (which one
    # sells the last units is a race: the campaign row lock lets their batches take turns), and
    # each shared message was answered once.
    for result, plan in zip(results, plans, strict=True):
        answered = {m for x in result["replies"] for m in x["mentions"]}
        own = {m["sender_id"] for m in plan["messages"] if not m["id"].startswith("shared-")}
        assert own and own <= answered, result["owner"]
    shared_ids = {m["sender_id"] for m in plans[0]["messages"] if m["id"].startswith("shared-")}
    assert all(len(replies[s]) == 1 for s in shared_ids)
