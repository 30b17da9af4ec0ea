"""No oversell: many members ordering one limited item at once, through the real app.

The campaign is published to several groups that share its stock, so the app handles the
groups concurrently (one transaction per message, in worker threads) and the database alone
decides who gets the last units. Runs on SQLite and, with TUANBOT_TEST_PG_URL, PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from oversell_audit import announcement, audit, publish_to, read_book, replies_by_member
from sqlalchemy.engine import Engine

from bot.core.messages import InboundMessage
from bot.testing import Harness, build_harness, demo_settings

START = datetime(2026, 12, 5, 9, 0)
GROUPS = ["秒杀1群", "秒杀2群", "秒杀3群", "秒杀4群"]
# Pacing wide open: this is about the order book, not about send rates.
OPEN_PACING = {
    "per_chat_per_minute": 1_000_000,
    "per_account_per_minute": 1_000_000,
    "burst": 100_000,
    "jitter_seconds": 0,
}


@asynccontextmanager
async def sale(
    engine: Engine, stock: int, limit: int, *, owner: str = "main", announce: bool = True
) -> AsyncIterator[Harness]:
    settings = demo_settings({g: {"leader": "王姐"} for g in GROUPS}, pacing=OPEN_PACING)
    h = build_harness(settings, engine, START, owner=owner)
    async with h.app:
        if announce:
            out = await h.say("王姐", announcement(stock, limit), group=GROUPS[0])
            assert out and out[0].template == "campaign/announcement"
            publish_to(engine, [h.group_id(g) for g in GROUPS])
        h.new()
        yield h


def order(h: Harness, group: str, who: str, text: str, message_id: str | None = None) -> InboundMessage:
    return h.transport.message(
        h.group_id(group),
        h.member_id(who),
        who,
        text,
        chat_name=group,
        message_id=message_id,
        timestamp=h.clock.now(),
    )


async def deliver_all(h: Harness, messages: list[InboundMessage], seed: int = 11) -> None:
    random.Random(seed).shuffle(messages)
    await asyncio.gather(*(h.transport.deliver(m) for m in messages))
    await h.timer.run_due()


async def test_flash_crowd_sells_exactly_the_stock(engine: Engine) -> None:
    stock, limit = 30, 3
    async with sale(engine, stock, limit) as h:
        messages: list[InboundMessage] = []
        sent_count: dict[str, int] = {}

        def add(group: str, who: str, text: str, copies: int = 1) -> None:
            m = order(h, group, who, text)
            messages.extend([m] * copies)  # copies share the message id: a redelivery
            sent_count[h.member_id(who)] = sent_count.get(h.member_id(who), 0) + 1

        # 80 one-unit buyers alone want more than the stock, so every unit must go.
        for g, group in enumerate(GROUPS):
            for n in range(20):
                add(group, f"团员{g}-{n}", "苹果1")
            add(group, f"大户{g}", "苹果x2")
        # Two members spam beyond the limit of 3.
        for _ in range(5):
            add(GROUPS[0], "抢购王", "苹果1")
            add(GROUPS[2], "手速侠", "苹果+1")
        # The gateway delivers one message three times.
        add(GROUPS[1], "重发阿姨", "苹果2", copies=3)

        await deliver_all(h, messages)
        book = read_book(h.app.engine)
        replies = replies_by_member(h.new())

    assert book.sold == book.stock == stock
    assert book.lines_total == stock
    assert audit(replies, book, limit, sent_count) == []
    # The crowd was really bigger than the stock: some were told it is sold out.
    assert sum(1 for m in sent_count if book.held.get(m, 0) == 0) >= 40
    assert book.held.get(h.member_id("抢购王"), 0) <= limit
    assert book.held.get(h.member_id("重发阿姨"), 0) in (0, 2)


async def test_member_spamming_from_two_groups_keeps_the_limit(engine: Engine) -> None:
    """One member orders from four groups at once: the limit holds and every message is answered.

    On PostgreSQL the first inserts of the member and of the order race on unique keys; the app
    retries the losing message, which then sees the winner's rows."""
    stock, limit = 100, 3
    async with sale(engine, stock, limit) as h:
        # twelve adds, each written differently (the same text again soon is a re-send, not an add)
        messages = [
            order(h, group, "张叔", f"{n}栋101 苹果+1")
            for n, group in enumerate(g for g in GROUPS for _ in range(3))
        ]
        await deliver_all(h, messages, seed=3)
        book = read_book(h.app.engine)
        replies = replies_by_member(h.new())

    zhang = h.member_id("张叔")
    assert book.held == {zhang: limit}
    assert book.sold == limit
    assert audit(replies, book, limit, {zhang: len(messages)}) == []


async def test_redelivery_to_a_second_bot_counts_once(engine: Engine) -> None:
    """Two bot instances on one store get the same messages: each message counts once."""
    stock, limit = 100, 5
    async with (
        sale(engine, stock, limit) as first,
        sale(engine, stock, limit, owner="second", announce=False) as second,
    ):
        messages = [
            order(first, GROUPS[i % 4], f"团员{i}", "苹果2", message_id=f"dup-{i}") for i in range(24)
        ]
        await asyncio.gather(*(bot.transport.deliver(m) for m in messages for bot in (first, second)))
        book = read_book(first.app.engine)
        sent = first.new() + second.new()
        replies = replies_by_member(sent)

    members = {m.sender_id for m in messages}
    assert book.held == dict.fromkeys(members, 2)
    assert book.sold == 2 * len(members)
    assert audit(replies, book, limit, dict.fromkeys(members, 1)) == []
