"""The web chat is safe to leave running and loses nothing it acknowledged.

- a frame is acknowledged only after the sink (the app's commit) returned; a failed one is not,
  and its resend is handled;
- a WebSocket or a state-changing request from another origin, or a Host that is a domain name
  (DNS rebinding), is refused;
- a private chat reaches only a page that speaks as that member;
- the history lives in the store and survives a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.core.clock import FakeClock
from bot.core.messages import InboundMessage, OutboundMessage
from bot.store.db import make_engine
from bot.transports.webchat import WebChat, WebGroup, WebMember

WANG = WebMember("m-wang", "王姐")
LI = WebMember("m-li", "李阿姨")
GROUP = WebGroup("g1", "幸福里1群", (WANG, LI), leader_id=WANG.id)


def make_chat(tmp_path: Path) -> WebChat:
    return WebChat(
        groups=[GROUP], bot_name="团长助手", clock=FakeClock(datetime(2026, 12, 5, 9)), media_dir=tmp_path
    )


async def frames(ws: aiohttp.ClientWebSocketResponse, kinds: set[str]) -> dict:
    while True:
        frame = await asyncio.wait_for(ws.receive_json(), 5)
        if frame["type"] in kinds:
            return frame


async def test_a_frame_is_acknowledged_only_once_stored_and_a_resend_is_handled(tmp_path: Path) -> None:
    calls: list[str] = []

    async def sink(message: InboundMessage) -> None:
        calls.append(message.id)
        if len(calls) == 1:
            raise RuntimeError("the transaction did not commit")

    chat = make_chat(tmp_path)
    async with TestClient(TestServer(chat.build_app(sink))) as client, client.ws_connect("/ws") as ws:
        say = {"type": "say", "id": "f-1", "chat_id": "g1", "sender_id": LI.id, "text": "苹果x2"}
        await ws.send_json(say)
        first = await frames(ws, {"ack", "retry"})
        await ws.send_json(say)  # the page still holds it and sends it again
        second = await frames(ws, {"ack", "retry"})
        await ws.send_json(say)  # a third copy after the ack: acknowledged, not handled again
        third = await frames(ws, {"ack", "retry"})
    assert first == {"type": "retry", "id": "f-1"}
    assert second == {"type": "ack", "id": "f-1"}
    assert third == {"type": "ack", "id": "f-1", "duplicate": True}
    assert calls == ["f-1", "f-1"]


async def test_the_ack_waits_for_the_sink(tmp_path: Path) -> None:
    stored = asyncio.Event()
    release = asyncio.Event()

    async def sink(message: InboundMessage) -> None:
        await release.wait()
        stored.set()

    chat = make_chat(tmp_path)
    async with TestClient(TestServer(chat.build_app(sink))) as client, client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "say", "id": "f-1", "chat_id": "g1", "sender_id": LI.id, "text": "+1"})
        await frames(ws, {"message"})  # the echo: the frame is being handled
        await chat.send(OutboundMessage(chat_id="g1", text="meanwhile", template="t"))
        meanwhile = await asyncio.wait_for(ws.receive_json(), 5)
        assert (meanwhile["type"], meanwhile["text"]) == ("message", "meanwhile")  # no ack yet
        release.set()
        ack = await frames(ws, {"ack"})
        assert stored.is_set() and ack["id"] == "f-1"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://127.0.0.1:9"},  # another port is another origin
        {"Origin": "null"},
    ],
)
async def test_a_websocket_from_another_origin_is_refused(tmp_path: Path, headers: dict[str, str]) -> None:
    got: list[InboundMessage] = []

    async def sink(message: InboundMessage) -> None:
        got.append(message)

    chat = make_chat(tmp_path)
    async with TestClient(TestServer(chat.build_app(sink))) as client:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/ws", headers=headers)
        assert refused.value.status == 403
        # State-changing requests are refused too, whatever the route.
        assert (await client.post("/api/state", headers=headers)).status == 403
        # The same page's own origin is welcome.
        own = {"Origin": f"http://{client.host}:{client.port}"}
        async with client.ws_connect("/ws", headers=own) as ws:
            await ws.send_json({"type": "say", "chat_id": "g1", "sender_id": WANG.id, "text": "取消团"})
            await frames(ws, {"ack"})
    assert [m.text for m in got] == ["取消团"]


async def test_a_host_that_is_a_domain_name_is_refused(tmp_path: Path) -> None:
    """DNS rebinding: a page under evil.example resolved to 127.0.0.1 is same-origin to itself."""

    async def sink(message: InboundMessage) -> None:
        raise AssertionError("nothing may get through")

    chat = make_chat(tmp_path)
    async with TestClient(TestServer(chat.build_app(sink))) as client:
        evil = {"Host": f"evil.example:{client.port}"}
        assert (await client.get("/api/state", headers=evil)).status == 403
        assert (await client.get("/", headers=evil)).status == 403
        assert (await client.get("/api/state", headers={"Host": f"localhost:{client.port}"})).status == 200


async def test_private_chats_reach_only_the_page_that_speaks_as_that_member(tmp_path: Path) -> None:
    async def sink(message: InboundMessage) -> None:
        return None

    chat = make_chat(tmp_path)
    async with (
        TestClient(TestServer(chat.build_app(sink))) as client,
        client.ws_connect("/ws") as li,
        client.ws_connect("/ws") as wang,
    ):
        await li.send_json({"type": "hello", "as": LI.id})
        await wang.send_json({"type": "hello", "as": WANG.id})
        await frames(li, {"history"})
        await frames(wang, {"history"})
        await chat.send(OutboundMessage(chat_id=WANG.id, text="取货码 8372", template="p.j2", is_group=False))
        await chat.send(OutboundMessage(chat_id="g1", text="群消息", template="g.j2"))
        to_wang = await frames(wang, {"message"})
        to_li = await frames(li, {"message"})
        state = await (await client.get("/api/state")).json()
    assert to_wang["text"] == "取货码 8372"
    assert to_li["text"] == "群消息"  # the leader's private reply never reached 李阿姨's page
    assert "8372" not in str(state)


async def test_history_survives_a_restart_from_the_store(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")

    async def sink(message: InboundMessage) -> None:
        return None

    first = make_chat(tmp_path)
    first.use_store(engine, contextlib.nullcontext())
    async with TestClient(TestServer(first.build_app(sink))) as client, client.ws_connect("/ws") as ws:
        await ws.send_json(
            {"type": "say", "id": "f-1", "chat_id": "g1", "sender_id": LI.id, "text": "苹果x2"}
        )
        await frames(ws, {"ack"})
        await first.send(OutboundMessage(chat_id="g1", text="跟团号1", template="orders/placed"))
        await first.send(OutboundMessage(chat_id=LI.id, text="取货码", template="p", is_group=False))

    again = make_chat(tmp_path)
    again.use_store(engine, contextlib.nullcontext())
    async with TestClient(TestServer(again.build_app(sink))) as client, client.ws_connect("/ws") as ws:
        state = await (await client.get("/api/state")).json()
        await ws.send_json({"type": "hello", "as": LI.id})
        private = await frames(ws, {"history"})
    assert [e["text"] for e in state["history"]["group:g1"]] == ["苹果x2", "跟团号1"]
    assert [e["text"] for e in private["events"]] == ["取货码"]
    engine.dispose()
