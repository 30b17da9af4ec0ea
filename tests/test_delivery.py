"""Replies across a crash: each outbox row is marked sent right after its own send, so a restart
sends again at most the one message that was in flight when the process died."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import Engine

from bot.core.messages import OutboundMessage
from bot.core.transport import NotStored
from bot.testing import build_harness, demo_settings, units_sold
from tests.conftest import START

OPEN_PACING = {
    "per_chat_per_minute": 10_000,
    "per_account_per_minute": 10_000,
    "burst": 1000,
    "jitter_seconds": 0,
}


async def test_a_crash_mid_send_resends_only_the_message_in_flight(engine: Engine) -> None:
    settings = demo_settings(pacing=OPEN_PACING)
    h = build_harness(settings, engine, START)
    await h.app.__aenter__()
    await h.say("王姐", "开团 水果团\n苹果 10元/斤")
    h.transport.online = False
    for who in ("李阿姨", "张叔", "小陈"):
        await h.say(who, "苹果1")
    delivered: list[OutboundMessage] = []
    dying = asyncio.Event()

    async def send(message: OutboundMessage) -> None:
        if len(delivered) == 1:
            dying.set()
            await asyncio.Event().wait()  # the process dies while WeChat takes the second one
        delivered.append(message)

    h.transport.send = send  # type: ignore[method-assign]
    pump = asyncio.create_task(h.app.outbox.pump())
    await dying.wait()
    assert [m.text.count("跟团号1") for m in delivered] == [1]

    # A new process on the same store: the first reply went out and is not sent again.
    h2 = build_harness(settings, engine, START)
    async with h2.app:
        again = "\n".join(m.text for m in h2.new())
    pump.cancel()
    assert "跟团号1" not in again
    assert again.count("跟团号2") == 1 and again.count("跟团号3") == 1


async def test_a_message_that_could_not_be_stored_is_not_acknowledged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``feed`` raises instead of returning (the transport's ack), and the resend is handled."""
    h = build_harness(demo_settings(pacing=OPEN_PACING), engine, START)
    async with h.app:
        await h.say("王姐", "开团 水果团\n苹果 10元/斤")
        real = h.app._handle_batch

        def broken(messages):  # type: ignore[no-untyped-def]
            raise OSError("disk full")

        monkeypatch.setattr(h.app, "_handle_batch", broken)
        order = h.transport.message(h.group_id(), h.member_id("李阿姨"), "李阿姨", "苹果2", message_id="w-1")
        with pytest.raises(NotStored):
            await h.transport.deliver(order)
        monkeypatch.setattr(h.app, "_handle_batch", real)
        await h.transport.deliver(order)  # the page sends it again
        await h.transport.deliver(order)  # and once more after its ack: kept once
    assert units_sold(h) == {"苹果": 2}
