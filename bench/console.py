"""The leader's console on a big campaign: 10,000 orders in 20 groups.

Measured on the real app and the console's real aiohttp application, served on loopback and
asked by a real HTTP client holding a session opened through a 后台 link:

  * server time of the orders page (the whole page: session check, the count, a page of 50 orders
    with their lines, the template), and of its variants: a search, a filter, the list the page
    fetches on a live update, and the figures' JSON (which reads every order line);
  * a live update: a member's order delivered to the app -> the push on the page's WebSocket ->
    the page's list fetched again holding the new order. The member's own ✅ reply, timed in the
    same runs, is the baseline: what the chat path takes before the console adds anything.

Baselines for the page, same run, same file: the page's data read with plain sqlite3 (the count
and the 50 rows with their lines, no ORM, no template), and an aiohttp handler that returns a
fixed page of the same size (the web server's floor).

Goals (issue "the leader's console"): the orders page in under 200 ms of server time, a live
update on the page in under 1 s.

Usage: python -m bench.console [--orders 10000] [--repeat 30] [--updates 20]
Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import update

from bot.console import Console, mount
from bot.core.messages import OutboundMessage
from bot.store.db import make_engine, table
from bot.store.models import Order
from bot.testing import Harness, build_harness, demo_settings

START = datetime(2026, 12, 5, 9, 0)
GOAL_PAGE_MS, GOAL_LIVE_S = 200.0, 1.0
GROUPS = 20  # 500 neighbours each, as WeChat allows
ITEMS = ("苹果", "香蕉", "橙子", "鸡蛋")
OPEN = (
    "开团 周六大团\n苹果 12.8元/斤 不限量 限购10\n香蕉 9.9元/把 不限量\n橙子 59元/箱 不限量\n"
    "鸡蛋 16元/盒 不限量\n截团 明天18:00\n同步 全部群"
)
LINK = re.compile(r"https?://\S+(/console/login/[A-Za-z0-9_-]{43})")
PACING = {"per_chat_per_minute": 10**9, "per_account_per_minute": 10**9, "burst": 10**9, "jitter_seconds": 0}


class Timed:
    """Server time of each request, measured around the whole application (console middlewares too)."""

    def __init__(self) -> None:
        self.last = 0.0

    @web.middleware
    async def middleware(self, request: web.Request, handler: Callable[..., Awaitable[Any]]) -> Any:
        t0 = time.perf_counter()
        try:
            return await handler(request)
        finally:
            self.last = time.perf_counter() - t0


def order_text(rnd: random.Random) -> str:
    room = f"{rnd.randint(1, 40)}-{rnd.randint(1, 30)}0{rnd.randint(1, 4)} " if rnd.random() < 0.5 else ""
    return room + " ".join(f"{name}{rnd.randint(1, 3)}" for name in rnd.sample(ITEMS, rnd.randint(1, 3)))


async def fill(h: Harness, orders: int) -> None:
    """开团 in 20 groups, then ``orders`` members order through the real pipeline over a morning."""
    rnd = random.Random(7)
    first = h.settings.groups[0]
    await h.say("王姐", OPEN, group=first.name)
    batch = []
    for n in range(orders):
        group = h.settings.groups[n % GROUPS]
        message = h.transport.message(
            group.id, f"m{n}", f"邻居{n}", order_text(rnd), chat_name=group.name, timestamp=h.clock.now()
        )
        batch.append(h.transport.deliver(message))
        if len(batch) == 500:
            await asyncio.gather(*batch)
            batch = []
            h.clock.advance(timedelta(minutes=7))
    await asyncio.gather(*batch)
    # A morning of 收款 and pickups: a third paid, a fifth collected.
    with h.app.engine.begin() as conn:
        orders_t = table(Order)
        conn.execute(update(orders_t).where(orders_t.c.follow_no % 3 == 0).values(paid=True))
        conn.execute(update(orders_t).where(orders_t.c.follow_no % 5 == 0).values(picked_up_at=h.clock.now()))
    h.new()


def raw_page(db: Path, query: str = "") -> float:
    """The orders page's data with plain sqlite3: the count and 50 newest orders with their lines."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(db)
    try:
        like = f"%{query}%"
        where = "o.campaign_id = 1 AND o.status = 'active'" + (" AND m.name LIKE ?" if query else "")
        args = (like,) if query else ()
        conn.execute(f"SELECT count(*) FROM orders o JOIN member m ON m.id = o.member_id WHERE {where}", args)
        rows = conn.execute(
            "SELECT o.id, o.follow_no, m.name, g.name, o.room, o.paid, o.picked_up_at, o.pickup_code "
            'FROM orders o JOIN member m ON m.id = o.member_id JOIN "group" g ON g.id = o.group_id '
            f"WHERE {where} ORDER BY o.follow_no DESC LIMIT 50",
            args,
        ).fetchall()
        ids = ",".join(str(r[0]) for r in rows)
        conn.execute(
            "SELECT l.order_id, i.name, l.* FROM orderline l JOIN item i ON i.id = l.item_id "
            f"WHERE l.order_id IN ({ids}) ORDER BY i.position"
        ).fetchall()
    finally:
        conn.close()
    return time.perf_counter() - t0


async def serve(root: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(root)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def med(values: list[float]) -> float:
    return statistics.median(values) * 1000


def p95(values: list[float]) -> float:
    """Nearest rank: a value that was measured."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)] * 1000


async def main_async(orders: int, repeat: int, updates: int) -> int:
    groups = {f"幸福里{g + 1}群": {"leader": "王姐", "members": []} for g in range(GROUPS)}
    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-console-") as folder:
        db = Path(folder) / "tuanbot.db"
        settings = demo_settings(groups, database_url=f"sqlite:///{db}", pacing=PACING)
        engine = make_engine(settings.database_url)
        h = build_harness(settings, engine, START)
        replied: dict[str, float] = {}
        send = h.transport.send

        async def timed_send(message: OutboundMessage) -> None:
            await send(message)
            for member in message.mentions:
                replied.setdefault(member, time.perf_counter())

        h.transport.send = timed_send  # type: ignore[method-assign]
        async with h.app:
            t0 = time.perf_counter()
            await fill(h, orders)
            took = time.perf_counter() - t0
            print(f"store: {orders:,} orders in {GROUPS} groups through the pipeline in {took:.1f} s")
            console = Console(settings)
            console.attach(h.app)
            timed = Timed()
            root = web.Application(middlewares=[timed.middleware])
            mount(console, root)
            floor_page = "x" * 60_000
            root.router.add_get("/floor", lambda _: web.Response(text=floor_page, content_type="text/html"))
            runner, base = await serve(root)
            try:
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                    out = await h.say("王姐", "后台", private=True)
                    path = LINK.search(out[-1].text).group(1)  # type: ignore[union-attr]
                    async with http.post(base + path, headers={"Origin": base}) as response:
                        assert response.status == 200

                    async def server_time(url: str) -> tuple[list[float], int]:
                        times, size = [], 0
                        for _ in range(repeat):
                            async with http.get(base + url) as response:
                                size = len(await response.read())
                                assert response.status == 200, url
                            times.append(timed.last)
                        return times, size

                    pages = {
                        "orders page": "/console/c/1",
                        "search 邻居12": "/console/c/1?q=%E9%82%BB%E5%B1%8512",
                        "filter 未付款": "/console/c/1?show=unpaid",
                        "live refresh (list)": "/console/c/1?part=1",
                        "figures.json": "/console/c/1/figures.json",
                        "floor (fixed page)": "/floor",
                    }
                    results = {name: await server_time(url) for name, url in pages.items()}
                    raw = [raw_page(db) for _ in range(repeat)]
                    raw_search = [raw_page(db, "邻居12") for _ in range(repeat)]

                    live, chat = await live_updates(h, http, base, updates, replied)
            finally:
                await runner.cleanup()
        engine.dispose()

    print(f"\nserver time, {repeat} requests each (median / p95, ms)")
    for name, (times, size) in results.items():
        print(f"  {name:<22} {med(times):7.1f} / {p95(times):6.1f}   {size / 1024:6.0f} KB")
    print(f"  {'raw sqlite3 (page data)':<22} {med(raw):7.1f} / {p95(raw):6.1f}")
    print(f"  {'raw sqlite3 (search)':<22} {med(raw_search):7.1f} / {p95(raw_search):6.1f}")
    page = results["orders page"][0]
    print(f"  orders page / raw data: {statistics.median(page) / statistics.median(raw):.1f}x")
    print(f"\nlive update, {updates} orders (median / p95 / max, ms)")
    for name, values in (("order -> page holds it", live), ("order -> member's ✅ (baseline)", chat)):
        print(f"  {name:<30} {med(values):7.1f} / {p95(values):6.1f} / {max(values) * 1000:6.1f}")
    # Medians: the machine is shared, single requests stall now and then (p95 printed above).
    ok_page = med(page) < GOAL_PAGE_MS
    ok_live = statistics.median(live) < GOAL_LIVE_S and max(live) < GOAL_LIVE_S
    print(f"\ngoal: orders page < {GOAL_PAGE_MS:.0f} ms server time: {'met' if ok_page else 'MISSED'}")
    print(f"goal: live update < {GOAL_LIVE_S:.0f} s: {'met' if ok_live else 'MISSED'}")
    return 0 if ok_page and ok_live else 1


async def live_updates(
    h: Harness, http: aiohttp.ClientSession, base: str, updates: int, replied: dict[str, float]
) -> tuple[list[float], list[float]]:
    """Orders arrive one by one; time until the page, refreshed as its script does, holds each."""
    live: list[float] = []
    chat: list[float] = []
    async with http.ws_connect(base + "/console/ws?c=1", headers={"Origin": base}) as ws:
        for n in range(updates):
            group = h.settings.groups[n % GROUPS]
            member = f"late{n}"
            message = h.transport.message(group.id, member, f"晚到{n}", "苹果1", chat_name=group.name)
            t0 = time.perf_counter()
            delivered = asyncio.ensure_future(h.transport.deliver(message))
            while True:
                frame = await asyncio.wait_for(ws.receive_json(), 5)
                assert frame["type"] == "changed"
                async with http.get(base + "/console/c/1?part=1") as response:
                    if f"晚到{n}" in await response.text():
                        live.append(time.perf_counter() - t0)
                        break
            await delivered
            chat.append(replied[member] - t0)
            await asyncio.sleep(0.4)  # a person's pace, past the hub's pause between pushes
    return live, chat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--updates", type=int, default=20)
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args.orders, args.repeat, args.updates))


if __name__ == "__main__":
    sys.exit(main())
