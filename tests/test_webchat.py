"""The web chat transport driven through aiohttp's test client (no browser)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.core.clock import FakeClock
from bot.core.messages import InboundMessage, OutboundMessage
from bot.transports.webchat import WebChat, WebGroup, WebMember
from bot.transports.webchat.log import ChatLog

WANG = WebMember("m-wang", "王姐")
LI = WebMember("m-li", "李阿姨")
ZHANG = WebMember("m-zhang", "张叔")
CHEN = WebMember("m-chen", "小陈")
CHEN2 = WebMember("m-chen2", "小陈陈")
GROUP = WebGroup("g1", "幸福里1群", (WANG, LI, ZHANG, CHEN, CHEN2), leader_id=WANG.id)
OTHER = WebGroup("g2", "幸福里2群", (ZHANG,), leader_id=ZHANG.id)


class Inbox:
    """A sink that records what arrives and can be awaited."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[InboundMessage] = asyncio.Queue()

    async def __call__(self, message: InboundMessage) -> None:
        await self.queue.put(message)

    async def next(self) -> InboundMessage:
        return await asyncio.wait_for(self.queue.get(), 5)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 5, 9, 0))


@pytest.fixture
def chat(clock: FakeClock, tmp_path: Path) -> WebChat:
    return WebChat(groups=[GROUP, OTHER], bot_name="团长助手", clock=clock, media_dir=tmp_path / "media")


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def client(chat: WebChat, inbox: Inbox) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(chat.build_app(inbox))) as c:
        yield c


async def receive(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict:
    """The next frame of ``kind`` (skipping others, e.g. acks while waiting for a message)."""
    while True:
        frame = await asyncio.wait_for(ws.receive_json(), 5)
        if frame["type"] == kind:
            return frame


async def test_say_reaches_the_sink_normalised(client: TestClient, inbox: Inbox, clock: FakeClock) -> None:
    async with client.ws_connect("/ws") as ws:
        await ws.send_json(
            {
                "type": "say",
                "chat_id": "g1",
                "sender_id": LI.id,
                "text": "@团长助手\u2005苹果ｘ２　@王姐 @小陈陈",
            }
        )
        msg = await inbox.next()
    assert msg.text == "苹果x2 @王姐 @小陈陈"
    assert msg.mentions_bot is True
    assert msg.mentions == (WANG.id, CHEN2.id)  # the longer name wins; 小陈 is not mentioned
    assert (msg.chat_id, msg.sender_id, msg.sender_name) == ("g1", LI.id, "李阿姨")
    assert msg.is_group is True and msg.chat_name == "幸福里1群"
    assert msg.timestamp == clock.now()
    assert len(msg.id) == 32


async def test_multiline_text_keeps_its_lines(client: TestClient, inbox: Inbox) -> None:
    text = "开团 周六水果团\r\n苹果 12.8元/斤 库存100\n截团 明天18:00"
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "say", "chat_id": "g1", "sender_id": WANG.id, "text": text})
        msg = await inbox.next()
    assert msg.text.splitlines() == ["开团 周六水果团", "苹果 12.8元/斤 库存100", "截团 明天18:00"]


async def test_duplicate_id_is_dropped(client: TestClient, inbox: Inbox) -> None:
    frame = {"type": "say", "id": "abc123", "chat_id": "g1", "sender_id": LI.id, "text": "苹果2"}
    async with client.ws_connect("/ws") as ws:
        await ws.send_json(frame)
        assert (await receive(ws, "ack")) == {"type": "ack", "id": "abc123"}
        await ws.send_json(frame)
        assert (await receive(ws, "ack")) == {"type": "ack", "id": "abc123", "duplicate": True}
        await ws.send_json({**frame, "id": "def456", "text": "香蕉1"})
        await receive(ws, "ack")
    first, second = await inbox.next(), await inbox.next()
    assert (first.id, first.text) == ("abc123", "苹果2")
    assert (second.id, second.text) == ("def456", "香蕉1")
    assert inbox.queue.empty()
    history = (await (await client.get("/api/state")).json())["history"]["group:g1"]
    assert [e["text"] for e in history] == ["苹果2", "香蕉1"]


async def test_bad_frames_get_a_chinese_error_and_reach_nobody(client: TestClient, inbox: Inbox) -> None:
    async with client.ws_connect("/ws") as ws:
        for frame, expected in [
            ({"type": "say", "chat_id": "g1", "sender_id": "nobody", "text": "hi"}, "不认识这个发言人"),
            ({"type": "say", "chat_id": "g9", "sender_id": LI.id, "text": "hi"}, "没有这个群聊"),
            ({"type": "say", "chat_id": "g2", "sender_id": LI.id, "text": "hi"}, "李阿姨不在幸福里2群里"),
            ({"type": "say", "chat_id": "g1", "sender_id": LI.id, "text": "  "}, "消息不能为空"),
        ]:
            await ws.send_json(frame)
            assert expected in (await receive(ws, "error"))["text"]
        await ws.send_str("not json")
        assert (await receive(ws, "error"))["text"] == "看不懂这条消息"
    assert inbox.queue.empty()
    assert (await (await client.get("/api/state")).json())["history"] == {}


async def test_said_messages_are_echoed_to_every_page(client: TestClient, inbox: Inbox) -> None:
    async with client.ws_connect("/ws") as speaker, client.ws_connect("/ws") as watcher:
        await speaker.send_json({"type": "say", "chat_id": "g1", "sender_id": ZHANG.id, "text": "香蕉１"})
        seen = await receive(watcher, "message")
    assert seen["sender"] == ZHANG.id and seen["sender_name"] == "张叔"
    assert seen["text"] == "香蕉１"  # pages show what was typed; the bot reads the folded form
    assert (seen["chat_id"], seen["private_to"]) == ("g1", None)
    assert seen["time"] == "2026-12-05T09:00:00+08:00"
    assert (await inbox.next()).text == "香蕉1"


async def test_send_broadcasts_to_sockets_and_history(
    client: TestClient, chat: WebChat, clock: FakeClock
) -> None:
    async with client.ws_connect("/ws") as ws:
        clock.advance(timedelta(minutes=3))
        await chat.send(OutboundMessage(chat_id="g1", text="已开团 #1", template="campaign/opened.j2"))
        got = await receive(ws, "message")
    assert got["sender"] == "bot" and got["sender_name"] == "团长助手"
    assert (got["chat_id"], got["private_to"], got["text"]) == ("g1", None, "已开团 #1")
    assert (got["kind"], got["url"], got["template"]) == ("text", None, "campaign/opened.j2")
    assert got["time"] == "2026-12-05T09:03:00+08:00"
    state = await (await client.get("/api/state")).json()
    assert state["history"]["group:g1"] == [got]
    assert state["groups"][0]["leader_id"] == WANG.id
    assert [m["name"] for m in state["groups"][0]["members"]] == ["王姐", "李阿姨", "张叔", "小陈", "小陈陈"]


async def test_private_chat_routing(client: TestClient, chat: WebChat, inbox: Inbox) -> None:
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "say", "private": True, "sender_id": LI.id, "text": "我的订单"})
        echo = await receive(ws, "message")
        msg = await inbox.next()
        await chat.send(OutboundMessage(chat_id=LI.id, text="您还没有订单", template="x.j2", is_group=False))
        reply = await receive(ws, "message")
    assert (msg.chat_id, msg.sender_id, msg.is_group, msg.chat_name) == (LI.id, LI.id, False, None)
    assert (echo["chat_id"], echo["private_to"]) == (LI.id, LI.id)
    assert (reply["chat_id"], reply["private_to"]) == (LI.id, LI.id)
    # A private chat is never in /api/state: a page gets it by saying it speaks as that member.
    assert (await (await client.get("/api/state")).json())["history"] == {}
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "hello", "as": LI.id})
        history = await receive(ws, "history")
    assert history["key"] == f"private:{LI.id}"
    assert [e["text"] for e in history["events"]] == ["我的订单", "您还没有订单"]


async def test_images_and_files_are_served_from_media(
    client: TestClient, chat: WebChat, tmp_path: Path
) -> None:
    poster = tmp_path / "poster.png"
    poster.write_bytes(b"\x89PNG fake")
    async with client.ws_connect("/ws") as ws:
        await chat.send(
            OutboundMessage(chat_id="g1", text="", template="p.j2", kind="image", path=str(poster))
        )
        got = await receive(ws, "message")
    assert (got["kind"], got["name"]) == ("image", "poster.png")
    token = got["url"].split("/")[2]
    assert got["url"] == f"/media/{token}/poster.png" and len(token) >= 22  # 128 random bits
    resp = await client.get(got["url"])
    assert resp.status == 200 and await resp.read() == b"\x89PNG fake"
    for guess in ("/media/poster.png", "/media/shared/poster.png", f"/media/{token}/../poster.png"):
        assert (await client.get(guess)).status == 404


async def test_page_is_rendered_and_escaped(clock: FakeClock, inbox: Inbox) -> None:
    evil = WebMember("m-x", "<b>坏人</b>")
    group = WebGroup("g<1>", "幸福里&群", (WANG, evil), leader_id=WANG.id)
    chat = WebChat(groups=[group], bot_name="团长助手", clock=clock)
    async with TestClient(TestServer(chat.build_app(inbox))) as c:
        html = await (await c.get("/")).text()
        js = await c.get("/static/chat.js")
    assert "王姐（团长）" in html and "&lt;b&gt;坏人&lt;/b&gt;" in html and "<b>坏人" not in html
    assert "幸福里&amp;群" in html and 'data-chat="group:g&lt;1&gt;"' in html
    assert js.status == 200


async def test_campaign_route_can_be_added(clock: FakeClock, inbox: Inbox) -> None:
    async def campaign(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.json_response({"title": "周六水果团"})

    chat = WebChat(
        groups=[GROUP],
        bot_name="团长助手",
        clock=clock,
        setup_routes=lambda app: app.router.add_get("/api/campaign", campaign),
    )
    async with TestClient(TestServer(chat.build_app(inbox))) as c:
        assert (await (await c.get("/api/campaign")).json())["title"] == "周六水果团"


async def test_start_listens_on_a_free_port_and_stops(clock: FakeClock, inbox: Inbox) -> None:
    chat = WebChat(groups=[GROUP], bot_name="团长助手", clock=clock, port=0)
    await chat.start(inbox)
    try:
        assert chat.url.startswith("http://127.0.0.1:") and not chat.url.endswith(":0/")
        async with aiohttp.ClientSession() as session, session.ws_connect(chat.url + "ws") as ws:
            await ws.send_json({"type": "say", "chat_id": "g1", "sender_id": LI.id, "text": "+1"})
            assert (await inbox.next()).text == "+1"
            await chat.stop()
            kinds = []
            while not ws.closed:
                kinds.append((await asyncio.wait_for(ws.receive(), 5)).type)
        # The echo and the ack, then the server closes the page's socket on stop.
        assert kinds[:2] == [aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.TEXT]
        assert kinds[-1] in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    finally:
        await chat.stop()


def test_leader_must_be_a_member(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="leader"):
        WebChat(groups=[WebGroup("g", "群", (LI,), leader_id="m-wang")], bot_name="团长助手", clock=clock)


def test_history_is_bounded() -> None:
    chat_log = ChatLog()
    for i in range(600):
        chat_log.save({"chat_id": "g1", "private_to": None, "id": str(i)})
    recent = chat_log.recent(["group:g1"])["group:g1"]
    assert len(recent) == 500 and [e["id"] for e in recent][:1] == ["100"]


async def test_join_frame_names_the_inviter(client: TestClient, inbox: Inbox, chat: WebChat) -> None:
    async with client.ws_connect("/ws") as ws:
        await ws.send_json(
            {"type": "join", "chat_id": "g1", "member_id": "m-new", "name": "小美", "inviter_id": LI.id}
        )
        assert (await receive(ws, "join"))["inviter"] == LI.id
        msg = await inbox.next()
        # The newcomer is now in the group and may speak there.
        await ws.send_json({"type": "say", "chat_id": "g1", "sender_id": "m-new", "text": "大家好"})
        said = await inbox.next()
        await ws.send_json(
            {"type": "join", "chat_id": "g1", "member_id": "m-x", "name": "某人", "inviter_id": "nobody"}
        )
        error = await receive(ws, "error")
    assert (msg.kind, msg.chat_id, msg.sender_id, msg.sender_name, msg.inviter_id) == (
        "join",
        "g1",
        "m-new",
        "小美",
        LI.id,
    )
    assert (said.sender_id, said.text) == ("m-new", "大家好")
    assert error["text"] == "邀请人不在这个群里"
    assert inbox.queue.empty()
    history = (await (await client.get("/api/state")).json())["history"]["group:g1"]
    assert [e["text"] for e in history] == ["大家好"]
