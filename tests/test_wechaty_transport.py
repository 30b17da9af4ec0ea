"""WechatyTransport against a real puppet-service gateway (Node, PuppetMock behind it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gateway_fixture import (
    ALICE,
    BOB,
    BOT_ID,
    BOT_NAME,
    CAROL,
    LEADER,
    ROOM,
    Gateway,
    ensure_node_modules,
    eventually,
)

from bot.core.clock import FakeClock
from bot.core.messages import InboundMessage, OutboundMessage
from bot.core.normalize import normalize_text
from bot.core.transport import TransportUnavailable

pytest.importorskip("wechaty_puppet_service")
from bot.transports.wechaty import WechatyTransport

pytestmark = pytest.mark.gateway

FAST = (0.05, 0.1, 0.2)


@pytest.fixture(scope="session")
def node_ready() -> None:
    ensure_node_modules()


@pytest.fixture
def gateway(node_ready: None) -> Iterator[Gateway]:
    gw = Gateway()
    gw.start()
    yield gw
    gw.kill()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []

    async def __call__(self, message: InboundMessage) -> None:
        self.messages.append(message)

    def by_id(self, message_id: str) -> list[InboundMessage]:
        return [m for m in self.messages if m.id == message_id]


def make_transport(gw: Gateway, token: str | None = None) -> WechatyTransport:
    clock = FakeClock(datetime(2026, 5, 1, 9, 0, tzinfo=UTC))
    return WechatyTransport(
        endpoint=gw.endpoint,
        token=token or gw.token,
        bot_names=(BOT_NAME,),
        clock=clock,
        reconnect_backoff=FAST,
    )


@pytest.fixture
async def connected(gateway: Gateway) -> AsyncIterator[tuple[WechatyTransport, Inbox]]:
    transport = make_transport(gateway)
    inbox = Inbox()
    await transport.start(inbox)
    await eventually(transport.connected.is_set)
    yield transport, inbox
    await transport.stop()


async def test_room_text_arrives_normalised_with_mentions(gateway: Gateway, connected) -> None:
    transport, inbox = connected
    assert transport.self_id == BOT_ID
    raw = f"@{BOT_NAME}\u2005@张伟\u2005苹果ｘ２"
    mid = gateway.say(ALICE, raw, mentions=(BOT_ID, BOB))
    await eventually(lambda: bool(inbox.by_id(mid)))
    (m,) = inbox.by_id(mid)
    assert (m.chat_id, m.sender_id, m.is_group, m.kind) == (ROOM, ALICE, True, "text")
    assert m.sender_name == "3栋 小艾"  # the room alias wins over the contact name
    assert m.chat_name == "幸福里1群"
    assert m.text == normalize_text(raw, (BOT_NAME,))[0]
    assert m.text.startswith("@张伟") and m.text.endswith("苹果x2") and BOT_NAME not in m.text
    assert m.mentions_bot is True
    assert m.mentions == (BOB,)
    assert m.timestamp is not None and m.timestamp.year >= 2024  # the gateway's time, not the fake clock


async def test_room_text_without_alias_uses_contact_name(gateway: Gateway, connected) -> None:
    _, inbox = connected
    mid = gateway.say(BOB, "几点自提")
    await eventually(lambda: bool(inbox.by_id(mid)))
    (m,) = inbox.by_id(mid)
    assert (m.sender_name, m.text, m.mentions_bot, m.mentions) == ("张伟", "几点自提", False, ())


async def test_private_message(gateway: Gateway, connected) -> None:
    _, inbox = connected
    mid = gateway.say(LEADER, "导出订单", to=BOT_ID)
    await eventually(lambda: bool(inbox.by_id(mid)))
    (m,) = inbox.by_id(mid)
    assert (m.chat_id, m.sender_id, m.sender_name, m.is_group, m.chat_name) == (
        LEADER,
        LEADER,
        "王团长",
        False,
        None,
    )


async def test_join_and_leave_events(gateway: Gateway, connected) -> None:
    _, inbox = connected
    gateway.join([CAROL], inviter=LEADER)
    await eventually(lambda: any(m.kind == "join" for m in inbox.messages))
    (join,) = [m for m in inbox.messages if m.kind == "join"]
    assert (join.chat_id, join.sender_id, join.sender_name, join.is_group) == (ROOM, CAROL, "李娜", True)
    assert join.inviter_id == LEADER
    gateway.leave([BOB], remover=LEADER)
    await eventually(lambda: any(m.kind == "leave" for m in inbox.messages))
    (leave,) = [m for m in inbox.messages if m.kind == "leave"]
    assert (leave.chat_id, leave.sender_id, leave.sender_name) == (ROOM, BOB, "张伟")


async def test_reply_reaches_room_with_mentions_and_echo_is_dropped(gateway: Gateway, connected) -> None:
    transport, inbox = connected
    await transport.send(
        OutboundMessage(chat_id=ROOM, text="@Alice 已记录：苹果x2", template="order/ok", mentions=(ALICE,))
    )
    await transport.send(OutboundMessage(chat_id=LEADER, text="私聊", template="t", is_group=False))
    await eventually(lambda: len(gateway.sent()) == 2)
    assert gateway.sent() == [
        {"to": ROOM, "text": "@Alice 已记录：苹果x2", "mentions": [ALICE], "kind": "text", "name": None},
        {"to": LEADER, "text": "私聊", "mentions": [], "kind": "text", "name": None},
    ]
    # The gateway echoes the bot's own messages as events; a later member message proves
    # the echoes were processed (events arrive in order) and none reached the sink.
    mid = gateway.say(BOB, "收到")
    await eventually(lambda: bool(inbox.by_id(mid)))
    assert [m.sender_id for m in inbox.messages] == [BOB]


async def test_image_is_sent_as_file(gateway: Gateway, connected, tmp_path: Path) -> None:
    transport, _ = connected
    poster = tmp_path / "recap.png"
    poster.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    await transport.send(
        OutboundMessage(chat_id=ROOM, text="战报", template="recap/poster", kind="image", path=str(poster))
    )
    await eventually(lambda: len(gateway.sent()) == 1)
    assert gateway.sent()[0] | {} == {
        "to": ROOM,
        "text": "",
        "mentions": [],
        "kind": "file",
        "name": "recap.png",
    }


async def test_missing_file_falls_back_to_text(gateway: Gateway, connected, tmp_path: Path, caplog) -> None:
    transport, _ = connected
    await transport.send(
        OutboundMessage(
            chat_id=ROOM,
            text="导出见附件",
            template="export/done",
            kind="file",
            path=str(tmp_path / "missing.xlsx"),
        )
    )
    await eventually(lambda: len(gateway.sent()) == 1)
    assert gateway.sent()[0]["text"] == "导出见附件" and gateway.sent()[0]["kind"] == "text"
    assert any("sending the text instead" in r.getMessage() for r in caplog.records)


async def test_duplicates_and_non_text_are_dropped(gateway: Gateway, connected) -> None:
    _, inbox = connected
    first = gateway.say(ALICE, "香蕉x1")
    gateway.redeliver(first)
    gateway.redeliver(first)
    gateway.image(BOB)
    last = gateway.say(BOB, "梨x3")
    await eventually(lambda: bool(inbox.by_id(last)))
    assert [m.id for m in inbox.messages] == [first, last]


async def test_error_event_does_not_deafen_the_transport(gateway: Gateway, connected, caplog) -> None:
    transport, inbox = connected
    attempts = transport.connect_attempts
    gateway.error("puppet exploded")
    mid = gateway.say(ALICE, "还在吗")
    await eventually(lambda: bool(inbox.by_id(mid)))
    assert transport.connect_attempts == attempts  # the same stream, not a reconnect
    assert any("puppet exploded" in r.getMessage() for r in caplog.records)


async def test_gateway_restart_reconnects(gateway: Gateway, connected) -> None:
    transport, inbox = connected
    gateway.kill()
    await eventually(lambda: not transport.connected.is_set())
    with pytest.raises(TransportUnavailable):
        await transport.send(OutboundMessage(chat_id=ROOM, text="断线时", template="t"))
    gateway.start()
    await eventually(transport.connected.is_set, deadline=20)
    await transport.send(OutboundMessage(chat_id=ROOM, text="恢复后", template="t", mentions=(ALICE,)))
    await eventually(lambda: len(gateway.sent()) == 1)
    assert gateway.sent()[0]["text"] == "恢复后" and gateway.sent()[0]["mentions"] == [ALICE]
    mid = gateway.say(BOB, "又来了")
    await eventually(lambda: bool(inbox.by_id(mid)))


async def test_unreachable_gateway_waits_with_one_clear_line(node_ready: None, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.transports.wechaty")
    gw = Gateway()  # not started yet
    transport = make_transport(gw)
    inbox = Inbox()
    await transport.start(inbox)
    try:
        await eventually(lambda: transport.connect_attempts >= 3)
        lines = [
            r for r in caplog.records if r.levelno >= logging.WARNING and "unreachable" in r.getMessage()
        ]
        assert len(lines) == 1 and gw.endpoint in lines[0].getMessage()
        with pytest.raises(TransportUnavailable):
            await transport.send(OutboundMessage(chat_id=ROOM, text="x", template="t"))
        gw.start()  # the gateway comes up late: the transport connects by itself
        await eventually(transport.connected.is_set, deadline=20)
    finally:
        await transport.stop()
        gw.kill()


async def test_wrong_token_one_clear_line_and_no_crash(gateway: Gateway, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.transports.wechaty")
    transport = make_transport(gateway, token="not-the-token")
    await transport.start(Inbox())
    try:
        await eventually(lambda: transport.connect_attempts >= 3)
        lines = [r for r in caplog.records if r.levelno >= logging.WARNING and "token" in r.getMessage()]
        assert len(lines) == 1, [r.getMessage() for r in caplog.records]
        assert "rejected the token" in lines[0].getMessage()
        assert not transport.connected.is_set()
    finally:
        async with asyncio.timeout(10):
            await transport.stop()  # must end the retry loop even mid-handshake
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "wechaty-transport" and not t.done()]
