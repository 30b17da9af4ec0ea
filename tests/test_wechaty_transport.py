"""WechatyTransport against a real puppet-service gateway (Node, PuppetMock behind it): what comes
in and what goes out, on the bot's own account and on a second one, with TLS and without."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
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
    Inbox,
    ensure_node_modules,
    eventually,
    make_transport,
    without_ids,
)

from bot.core.messages import OutboundMessage
from bot.core.normalize import normalize_text
from bot.core.transport import TransportUnavailable

pytest.importorskip("wechaty_grpc")
from bot.transports.wechaty import WechatyTransport

pytestmark = pytest.mark.gateway

GROUP_NOTE, ATTACHMENT, UNKNOWN = 10, 1, 0  # wechaty-puppet MessageType


@pytest.fixture(scope="session")
def node_ready() -> None:
    ensure_node_modules()


# Every test here runs against a plain gateway and against one serving TLS as puppet-service does
# by default (its "insecure" certificate, trusted through the Wechaty root CA).
@pytest.fixture(params=["plain", "tls"])
def gateway(node_ready: None, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    gw = Gateway(tls=request.param == "tls")
    gw.start()
    yield gw
    gw.kill()


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
    assert m.jielong is None
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
    assert without_ids(gateway.sent()) == [
        {"to": ROOM, "text": "@Alice 已记录：苹果x2", "mentions": [ALICE], "kind": "text", "name": None},
        {"to": LEADER, "text": "私聊", "mentions": [], "kind": "text", "name": None},
    ]
    # The gateway echoes the bot's own messages as events; a later member message proves
    # the echoes were processed (events arrive in order) and none reached the sink.
    mid = gateway.say(BOB, "收到")
    await eventually(lambda: bool(inbox.by_id(mid)))
    assert [m.sender_id for m in inbox.messages] == [BOB]


async def test_image_goes_after_its_caption(gateway: Gateway, connected, tmp_path: Path) -> None:
    transport, _ = connected
    poster = tmp_path / "recap.png"
    poster.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    await transport.send(
        OutboundMessage(
            chat_id=ROOM, text="📸 战报海报", template="recap/poster", kind="image", path=str(poster)
        )
    )
    await eventually(lambda: len(gateway.sent()) == 2)
    assert without_ids(gateway.sent()) == [
        {"to": ROOM, "text": "📸 战报海报", "mentions": [], "kind": "text", "name": None},
        {"to": ROOM, "text": "", "mentions": [], "kind": "file", "name": "recap.png"},
    ]


async def test_missing_file_sends_its_caption_only(
    gateway: Gateway, connected, tmp_path: Path, caplog
) -> None:
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
    assert any("only its caption went out" in r.getMessage() for r in caplog.records)


async def test_duplicates_and_non_text_are_dropped(gateway: Gateway, connected) -> None:
    _, inbox = connected
    first = gateway.say(ALICE, "香蕉x1")
    gateway.redeliver(first)
    gateway.redeliver(first)
    gateway.image(BOB)
    gateway.message(BOB, ATTACHMENT, "<msg><appmsg><title>周报.pdf</title><type>6</type></appmsg></msg>")
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


# ------------------------------------------------------------------------------------ 接龙 forms

NOTE = "#接龙 周六水果团\n\n1. Alice 苹果2斤\n2. 张伟 香蕉1把"
SOLITAIRE = (
    f'{BOB}:\n<?xml version="1.0"?>\n<msg><appmsg appid="" sdkver="0"><title>{NOTE}</title>'
    "<des /><type>53</type><extinfo><solitaire_info><![CDATA[<solitaire><content><s>2</s>"
    f"<i><u>{ALICE}</u><r>22-11</r></i><i><u>{BOB}</u><r>37-9</r></i></content></solitaire>]]>"
    "</solitaire_info></extinfo></appmsg></msg>"
)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (GROUP_NOTE, NOTE),  # PadLocal, wechat4u: a GroupNote whose text is the list
        (GROUP_NOTE, SOLITAIRE),  # a GroupNote carrying WeChat's XML
        (ATTACHMENT, SOLITAIRE),  # the app message (49) with <type>53</type>
        (UNKNOWN, SOLITAIRE),  # raw XML passed through as an unknown type
    ],
    ids=["group-note-text", "group-note-xml", "app-message", "unknown-type"],
)
async def test_every_form_of_native_jielong_arrives_marked(
    gateway: Gateway, connected, kind: int, text: str
) -> None:
    _, inbox = connected
    mid = gateway.message(BOB, kind, text)
    await eventually(lambda: bool(inbox.by_id(mid)))
    (m,) = inbox.by_id(mid)
    assert (m.chat_id, m.sender_id, m.kind, m.jielong) == (ROOM, BOB, "text", text)


async def test_typed_jielong_xml_is_never_marked(gateway: Gateway, connected) -> None:
    """Anyone can type XML: a text message is never taken for WeChat's own 接龙."""
    _, inbox = connected
    mid = gateway.say(BOB, SOLITAIRE)
    await eventually(lambda: bool(inbox.by_id(mid)))
    assert inbox.by_id(mid)[0].jielong is None


# ------------------------------------------------------------------ the leader's own account


@pytest.fixture
async def own_account(node_ready: None) -> AsyncIterator[tuple[Gateway, WechatyTransport, Inbox]]:
    """The bot logged in on the leader's own WeChat."""
    gw = Gateway(login=LEADER)
    gw.start()
    transport = make_transport(gw)
    inbox = Inbox()
    await transport.start(inbox)
    try:
        await eventually(transport.connected.is_set)
        yield gw, transport, inbox
    finally:
        await transport.stop()
        gw.kill()


async def test_own_account_what_she_types_counts_and_the_bots_sends_do_not(own_account) -> None:
    gw, transport, inbox = own_account
    assert transport.self_id == LEADER
    typed = gw.say(LEADER, "开团 周六水果团\n苹果 12.8元/斤")  # typed on her phone
    await eventually(lambda: bool(inbox.by_id(typed)))
    (m,) = inbox.by_id(typed)
    assert (m.sender_id, m.chat_id, m.is_group, m.sender_name) == (LEADER, ROOM, True, "王团长")
    # The bot's sends come back from the gateway as her messages too: all are dropped, even one
    # whose text she could have typed herself.
    await transport.send(OutboundMessage(chat_id=ROOM, text="🍎 周六水果团 开团啦", template="t"))
    await transport.send(OutboundMessage(chat_id=ROOM, text="苹果x1", template="t"))
    await transport.send(OutboundMessage(chat_id=ALICE, text="你的取货码 1234", template="t", is_group=False))
    await eventually(lambda: len(gw.sent()) == 3)
    assert all(s["id"] for s in gw.sent())  # the gateway answered each send with its message's id
    again = gw.say(LEADER, "苹果x1")  # now she types the same words: hers, not an echo
    await eventually(lambda: bool(inbox.by_id(again)))
    assert [(m.sender_id, m.text) for m in inbox.messages] == [
        (LEADER, "开团 周六水果团\n苹果 12.8元/斤"),
        (LEADER, "苹果x1"),
    ]


async def test_own_account_echoes_dropped_where_the_gateway_gives_no_ids(own_account) -> None:
    gw, transport, inbox = own_account
    gw.sends(no_ids=True)
    await transport.send(OutboundMessage(chat_id=ROOM, text="📊 开团30分钟：已有3人跟团", template="t"))
    await transport.send(OutboundMessage(chat_id=ROOM, text="统计", template="t"))
    await eventually(lambda: len(gw.sent()) == 2)
    assert [s.get("id") for s in gw.sent()] == [None, None]
    typed = gw.say(LEADER, "统计")  # she types what the bot sent a moment ago: hers once more
    await eventually(lambda: bool(inbox.by_id(typed)))
    assert [(m.sender_id, m.text) for m in inbox.messages] == [(LEADER, "统计")]


async def test_own_account_private_chats(own_account) -> None:
    """Her chat with 文件传输助手 is her private chat with the bot; her chats with others are hers."""
    gw, transport, inbox = own_account
    gw.say(LEADER, "统计一下我们家今天吃什么", to=ALICE)  # her private chat with a neighbour
    note = gw.say(LEADER, "统计", to="filehelper")
    await eventually(lambda: bool(inbox.by_id(note)))
    assert [(m.chat_id, m.sender_id, m.is_group, m.text) for m in inbox.messages] == [
        (LEADER, LEADER, False, "统计")
    ]
    await transport.send(OutboundMessage(chat_id=LEADER, text="接龙统计：0人", template="t", is_group=False))
    await eventually(lambda: len(gw.sent()) == 1)
    assert gw.sent()[0]["to"] == "filehelper"  # private replies to her go to 文件传输助手
    member = gw.say(ALICE, "我的订单", to=LEADER)  # a member writing to her privately still counts
    await eventually(lambda: bool(inbox.by_id(member)))
    assert inbox.by_id(member)[0].chat_id == ALICE
