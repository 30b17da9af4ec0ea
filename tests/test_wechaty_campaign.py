"""Campaigns driven through the real gateway: the app core on WechatyTransport, on a second account
and on the leader's own, with WeChat's native 接龙, a frozen gateway, and the production timer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from gateway_fixture import ALICE, BOB, BOT_NAME, LEADER, ROOM, Gateway, ensure_node_modules, eventually

from bot.app import App, create_app
from bot.core.clock import FakeClock, SystemClock
from bot.core.config import Settings
from bot.core.messages import InboundMessage
from bot.core.outbox import RETRY_AFTER
from bot.store.db import make_engine
from scheduler.timers import FakeTimer

pytest.importorskip("wechaty_grpc")
from bot.transports.puppet_client import GatewayOptions
from bot.transports.wechaty import Watchdog, WechatyTransport

pytestmark = pytest.mark.gateway

START = datetime(2026, 12, 4, 9, 0)  # a Friday morning, local time
OPEN = "开团 周六水果团\n苹果 12.8元/斤 库存100\n香蕉 9.9元/把 库存50\n截团 明天18:00"
FAST_PACING = {"per_chat_per_minute": 600, "per_account_per_minute": 1200, "burst": 50, "jitter_seconds": 0}
GROUP_NOTE, ATTACHMENT, UNKNOWN = 10, 1, 0  # wechaty-puppet MessageType


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
    def __init__(self, app: App, transport: WechatyTransport, clock: Any, timer: Any) -> None:
        self.app, self.transport, self.clock, self.timer = app, transport, clock, timer


def settings_for(tmp_path: Path, pacing: dict[str, Any] = FAST_PACING) -> Settings:
    return Settings.model_validate(
        {
            "bot_name": BOT_NAME,
            "database_url": f"sqlite:///{tmp_path / 'tuanbot.db'}",
            "media_dir": str(tmp_path / "media"),
            "groups": [{"id": ROOM, "name": "幸福里1群", "leader": LEADER}],
            "pacing": pacing,
        }
    )


@asynccontextmanager
async def run_app(
    gateway: Gateway,
    settings: Settings,
    *,
    real_time: bool = False,
    watchdog: Watchdog | None = None,
) -> AsyncIterator[Running]:
    clock: Any = SystemClock(settings.timezone) if real_time else FakeClock(START, settings.timezone)
    timer = None if real_time else FakeTimer(clock)  # None: the production timer (APScheduler)
    options = GatewayOptions(endpoint=gateway.endpoint, token=gateway.token, tls=gateway.tls)
    transport = WechatyTransport(
        options, bot_names=(BOT_NAME,), clock=clock, reconnect_backoff=(0.05, 0.1, 0.2), watchdog=watchdog
    )
    engine = make_engine(settings.database_url)
    app = create_app(settings, transport=transport, clock=clock, engine=engine, timer=timer)
    async with app:
        await eventually(transport.connected.is_set)
        yield Running(app, transport, clock, app.timer)
    engine.dispose()


@pytest.fixture
async def running(gateway: Gateway, tmp_path: Path) -> AsyncIterator[Running]:
    async with run_app(gateway, settings_for(tmp_path)) as r:
        yield r


def room_texts(gateway: Gateway) -> list[str]:
    return [s["text"] for s in gateway.sent() if s["to"] == ROOM]


def reply_with(gateway: Gateway, text: str) -> dict[str, Any] | None:
    return next((s for s in gateway.sent() if text in s["text"]), None)


async def test_leader_opens_members_order_replies_mention_them(gateway: Gateway, running: Running) -> None:
    gateway.say(LEADER, OPEN)
    await eventually(lambda: any("周六水果团" in t for t in room_texts(gateway)))
    gateway.say(ALICE, "苹果x2")  # 2 x 12.80
    await eventually(lambda: reply_with(gateway, "25.60") is not None)
    reply = reply_with(gateway, "25.60")
    assert reply is not None and reply["to"] == ROOM and reply["mentions"] == [ALICE]
    gateway.say(BOB, "香蕉3把")  # 3 x 9.90
    await eventually(lambda: reply_with(gateway, "29.70") is not None)
    reply = reply_with(gateway, "29.70")
    assert reply is not None and reply["to"] == ROOM and reply["mentions"] == [BOB]


async def test_on_the_leaders_own_account(node_ready: None, tmp_path: Path) -> None:
    """She types 开团 and 截团 on her phone; the bot answers from her account and ignores its own
    posts coming back (else the #接龙 post, say, would be read as her 接龙)."""
    gw = Gateway(login=LEADER)
    gw.start()
    try:
        async with run_app(gw, settings_for(tmp_path)) as r:
            gw.say(LEADER, OPEN)
            await eventually(lambda: any(t.startswith("#接龙") for t in room_texts(gw)))
            gw.say(ALICE, "苹果x2")
            await eventually(lambda: reply_with(gw, "25.60") is not None)
            gw.say(LEADER, "统计", to="filehelper")  # her private chat with the bot
            await eventually(lambda: any(s["to"] == "filehelper" for s in gw.sent()))
            gw.say(LEADER, "截团")
            await eventually(lambda: r.app.outbox.pending() == [] and reply_with(gw, "已截团") is not None)
            sent = len(gw.sent())
            # Her posts' echoes come before this order on the event stream and are handled
            # before it: had any been taken for hers, its reply would come before this one.
            gw.say(BOB, "香蕉1把")
            await eventually(lambda: len(gw.sent()) > sent)
            await eventually(lambda: r.app.outbox.pending() == [])
            assert len(gw.sent()) == sent + 1 and gw.sent()[-1]["mentions"] == [BOB]
    finally:
        gw.kill()


@pytest.mark.parametrize(
    ("kind", "form"),
    [(GROUP_NOTE, "text"), (ATTACHMENT, "xml"), (UNKNOWN, "xml"), (GROUP_NOTE, "xml")],
    ids=["group-note-text", "app-message-xml", "unknown-type-xml", "group-note-xml"],
)
async def test_native_jielong_in_every_form_becomes_orders(
    gateway: Gateway, running: Running, kind: int, form: str
) -> None:
    gateway.say(LEADER, OPEN)
    await eventually(lambda: any(t.startswith("#接龙") for t in room_texts(gateway)))
    if form == "text":
        # A GroupNote's text: a line is known by its nickname only, so the sender's own counts.
        gateway.message(BOB, kind, "#接龙 周六水果团\n\n1. 张伟 香蕉1把")
        await eventually(lambda: reply_with(gateway, "9.90") is not None)
        assert reply_with(gateway, "9.90")["mentions"] == [BOB]  # type: ignore[index]
        return
    # WeChat's XML names each line's author: both lines count, whatever their nicknames.
    gateway.say(ALICE, "香蕉2把")  # Alice is known to the bot
    await eventually(lambda: reply_with(gateway, "19.80") is not None)
    title = "#接龙 周六水果团\n\n1. 小艾 苹果2斤\n2. 伟哥 香蕉1把"
    gateway.message(BOB, kind, solitaire_xml(title, [(ALICE, "小艾 苹果2斤"), (BOB, "伟哥 香蕉1把")]))
    await eventually(lambda: reply_with(gateway, "9.90") is not None)
    applied = reply_with(gateway, "9.90")
    assert applied is not None and set(applied["mentions"]) == {ALICE, BOB}
    assert "苹果2斤" in applied["text"] and "香蕉1把，合计 ¥9.90" in applied["text"]


def solitaire_xml(title: str, lines: list[tuple[str, str]]) -> str:
    """WeChat's 接龙 app message: the list in <title>, each line's author and UTF-16 range."""
    items = []
    for author, line in lines:
        start = len(title[: title.index(line)].encode("utf-16-le")) // 2
        items.append(f"<i><u>{author}</u><r>{start}-{len(line.encode('utf-16-le')) // 2}</r></i>")
    info = f"<solitaire><content><s>{len(items)}</s>{''.join(items)}</content></solitaire>"
    return (
        f'{lines[-1][0]}:\n<?xml version="1.0"?>\n<msg><appmsg appid="" sdkver="0"><title>{title}</title>'
        f"<des /><type>53</type><extinfo><solitaire_info><![CDATA[{info}]]></solitaire_info></extinfo>"
        "</appmsg></msg>"
    )


async def test_replies_made_while_the_gateway_is_down_arrive_in_order(
    gateway: Gateway, running: Running
) -> None:
    gateway.say(LEADER, OPEN)
    await eventually(lambda: any("周六水果团" in t for t in room_texts(gateway)))
    await eventually(lambda: running.app.outbox.pending() == [])  # the whole announcement went out

    gateway.kill()
    await eventually(lambda: not running.transport.connected.is_set())
    pending = await orders_while_down(running)

    gateway.start()  # the same endpoint; the gateway's record of sent messages starts empty
    await eventually(running.transport.connected.is_set, deadline=20)
    await running.timer.advance_to(running.clock.now() + RETRY_AFTER)  # the outbox's own retry
    await eventually(lambda: len(gateway.sent()) >= len(pending))
    assert [(s["text"], tuple(s["mentions"])) for s in gateway.sent()] == pending
    assert running.app.outbox.pending() == []

    # Inbound flows again after the reconnect.
    gateway.say(ALICE, "香蕉1把")
    await eventually(lambda: len(gateway.sent()) > len(pending))
    assert ALICE in gateway.sent()[len(pending)]["mentions"]


async def orders_while_down(running: Running) -> list[tuple[str, tuple[str, ...]]]:
    """Orders that reached the bot just before the drop, handled while it is down: their replies
    wait in the outbox (nothing went out, nothing was lost)."""
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
    assert len(pending) == 2 and ALICE in pending[0][1] and BOB in pending[1][1]
    return pending


async def test_a_frozen_gateway_is_found_and_replies_go_out_once_after_it_resumes(
    gateway: Gateway, tmp_path: Path
) -> None:
    watchdog = Watchdog(interval=0.5, timeout=2.0, connect_timeout=2.0)
    async with run_app(gateway, settings_for(tmp_path), real_time=True, watchdog=watchdog) as r:
        gateway.say(LEADER, OPEN)
        await eventually(lambda: r.app.outbox.pending() == [] and len(gateway.sent()) >= 2, deadline=20)
        before = len(gateway.sent())
        gateway.freeze()
        await eventually(lambda: not r.transport.connected.is_set(), deadline=30)
        pending = await orders_while_down(r)
        gateway.resume()
        # Back on the connection listener alone: no timer is moved, no message arrives.
        await eventually(lambda: len(gateway.sent()) >= before + len(pending), deadline=30)
        await eventually(lambda: r.app.outbox.pending() == [])
        after = [(s["text"], tuple(s["mentions"])) for s in gateway.sent()[before:]]
        assert after == pending  # each once, in order


async def test_paced_and_scheduled_sends_never_wait_for_incoming_messages(
    gateway: Gateway, tmp_path: Path
) -> None:
    """The production timer and clock, slow sends and tight pacing: the 战报 (a scheduled job), its
    poster and the leader's files all go out with nothing else arriving, each file after its
    caption."""
    pacing = {"per_chat_per_minute": 60, "per_account_per_minute": 120, "burst": 1, "jitter_seconds": 0}
    async with run_app(gateway, settings_for(tmp_path, pacing), real_time=True) as r:
        gateway.sends(delay_ms=300)
        gateway.say(LEADER, OPEN)
        gateway.say(ALICE, "苹果x2")
        await eventually(lambda: reply_with(gateway, "25.60") is not None, deadline=30)
        gateway.say(LEADER, "截团")
        gateway.say(LEADER, "战报")  # the last incoming message

        def files() -> list[int]:
            return [i for i, s in enumerate(gateway.sent()) if s["kind"] == "file"]

        await eventually(lambda: len(files()) >= 3, deadline=60)  # the poster (with a CJK font) and 3 files
        await eventually(lambda: r.app.outbox.pending() == [], deadline=30)
        sent = gateway.sent()
        for i in files():  # each image or file right after its caption, in the same chat
            assert sent[i - 1]["kind"] == "text" and sent[i - 1]["to"] == sent[i]["to"]
        captions = [sent[i - 1]["text"] for i in files()]
        names = {"备货单", "分拣单", "订单明细"}
        assert {c.split("（")[0].split("：")[0] for c in captions if not c.startswith("📸")} == names
