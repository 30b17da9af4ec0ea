"""A campaign driven through the real gateway: the app core on WechatyTransport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from gateway_fixture import (
    ALICE,
    BOB,
    BOT_NAME,
    LEADER,
    ROOM,
    Gateway,
    ensure_node_modules,
    eventually,
)

from bot.app import App, create_app
from bot.core.clock import FakeClock
from bot.core.config import Settings
from bot.core.messages import InboundMessage
from bot.core.outbox import RETRY_AFTER
from bot.store.db import make_engine
from scheduler.timers import FakeTimer

pytest.importorskip("wechaty_puppet_service")
from bot.transports.wechaty import WechatyTransport

pytestmark = pytest.mark.gateway

START = datetime(2026, 12, 4, 9, 0)  # a Friday morning, local time
OPEN = "开团 周六水果团\n苹果 12.8元/斤 库存100\n香蕉 9.9元/把 库存50\n截团 明天18:00"


@pytest.fixture(scope="session")
def node_ready() -> None:
    ensure_node_modules()


@pytest.fixture
def gateway(node_ready: None) -> Iterator[Gateway]:
    gw = Gateway()
    gw.start()
    yield gw
    gw.kill()


class Running:
    def __init__(self, app: App, transport: WechatyTransport, clock: FakeClock, timer: FakeTimer) -> None:
        self.app, self.transport, self.clock, self.timer = app, transport, clock, timer


@pytest.fixture
async def running(gateway: Gateway, tmp_path: Path) -> AsyncIterator[Running]:
    settings = Settings.model_validate(
        {
            "bot_name": BOT_NAME,
            "database_url": f"sqlite:///{tmp_path / 'tuanbot.db'}",
            "groups": [{"id": ROOM, "name": "幸福里1群", "leader": LEADER}],
            "pacing": {
                "per_chat_per_minute": 600,
                "per_account_per_minute": 1200,
                "burst": 50,
                "jitter_seconds": 0,
            },
        }
    )
    clock = FakeClock(START, settings.timezone)
    timer = FakeTimer(clock)
    transport = WechatyTransport(
        endpoint=gateway.endpoint,
        token=gateway.token,
        bot_names=(BOT_NAME,),
        clock=clock,
        reconnect_backoff=(0.05, 0.1, 0.2),
    )
    engine = make_engine(settings.database_url)
    app = create_app(settings, transport=transport, clock=clock, engine=engine, timer=timer)
    async with app:
        await eventually(transport.connected.is_set)
        yield Running(app, transport, clock, timer)
    engine.dispose()


def room_texts(gateway: Gateway) -> list[str]:
    return [s["text"] for s in gateway.sent() if s["to"] == ROOM]


async def test_leader_opens_members_order_replies_mention_them(gateway: Gateway, running: Running) -> None:
    gateway.say(LEADER, OPEN)
    await eventually(lambda: any("周六水果团" in t for t in room_texts(gateway)))

    def reply_with(total: str) -> dict | None:
        return next((s for s in gateway.sent() if total in s["text"]), None)

    gateway.say(ALICE, "苹果x2")  # 2 x 12.80
    await eventually(lambda: reply_with("25.60") is not None)
    reply = reply_with("25.60")
    assert reply is not None and reply["to"] == ROOM and reply["mentions"] == [ALICE]
    gateway.say(BOB, "香蕉3把")  # 3 x 9.90
    await eventually(lambda: reply_with("29.70") is not None)
    reply = reply_with("29.70")
    assert reply is not None and reply["to"] == ROOM and reply["mentions"] == [BOB]


async def test_replies_made_while_the_gateway_is_down_arrive_in_order(
    gateway: Gateway, running: Running
) -> None:
    gateway.say(LEADER, OPEN)
    await eventually(lambda: any("周六水果团" in t for t in room_texts(gateway)))
    await eventually(lambda: running.app.outbox.pending() == [])  # the whole announcement went out

    gateway.kill()
    await eventually(lambda: not running.transport.connected.is_set())
    # Orders that reached the bot just before the drop are handled while it is down.
    for n, (who, name, text) in enumerate([(ALICE, "Alice", "苹果x2"), (BOB, "张伟", "香蕉1把")]):
        await running.app.feed(
            InboundMessage(
                id=f"late-{n}",
                chat_id=ROOM,
                sender_id=who,
                sender_name=name,
                text=text,
                chat_name="幸福里1群",
                timestamp=running.clock.now(),
            )
        )
    pending = [(row.text, tuple(row.mentions)) for row in running.app.outbox.pending()]
    assert len(pending) == 2  # nothing went out, nothing was lost

    gateway.start()  # the same endpoint; the gateway's record of sent messages starts empty
    await eventually(running.transport.connected.is_set, deadline=20)
    await running.timer.advance_to(running.clock.now() + RETRY_AFTER)  # the outbox's own retry
    await eventually(lambda: len(gateway.sent()) >= len(pending))
    assert [(s["text"], tuple(s["mentions"])) for s in gateway.sent()] == pending
    assert running.app.outbox.pending() == []
    assert ALICE in pending[0][1] and BOB in pending[1][1]

    # Inbound flows again after the reconnect.
    gateway.say(ALICE, "香蕉1把")
    await eventually(lambda: len(gateway.sent()) > len(pending))
    assert ALICE in gateway.sent()[len(pending)]["mentions"]
