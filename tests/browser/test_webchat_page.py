"""The web chat page in a real Chromium, with a small fake bot behind the transport."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image
from playwright.async_api import Browser, expect
from webchat_page import ChatPage, open_page

from bot.core.clock import FakeClock
from bot.core.messages import InboundMessage, OutboundMessage
from bot.transports.webchat import WebChat, WebGroup, WebMember

MEMBERS = (WebMember("m-wang", "王姐"), WebMember("m-li", "李阿姨"), WebMember("m-zhang", "张叔"))
GROUP = WebGroup("g1", "幸福里1群", MEMBERS, leader_id="m-wang")

OPEN = "开团 周六水果团\n苹果 12.8元/斤 库存100 限购5\n香蕉 9.9元/把 库存50\n截团 明天18:00"


class EchoBot:
    """Stands in for the app: answers every message through ``send`` like the real core does."""

    def __init__(self) -> None:
        self.chat: WebChat | None = None
        self.seen: list[InboundMessage] = []

    async def __call__(self, msg: InboundMessage) -> None:
        assert self.chat is not None
        self.seen.append(msg)
        first = msg.text.splitlines()[0]
        text = (
            f"已开团：{first.removeprefix('开团 ')}"
            if first.startswith("开团")
            else f"{msg.sender_name}收到：{first}"
        )
        await self.chat.send(
            OutboundMessage(chat_id=msg.chat_id, text=text, template="t.j2", is_group=msg.is_group)
        )


@pytest.fixture
async def echo_chat(tmp_path: Path) -> AsyncIterator[tuple[WebChat, EchoBot]]:
    bot = EchoBot()
    chat = WebChat(
        groups=[GROUP],
        bot_name="团长助手",
        clock=FakeClock(datetime(2026, 12, 5, 9, 0)),
        port=0,
        media_dir=tmp_path / "media",
    )
    bot.chat = chat
    await chat.start(bot)
    try:
        yield chat, bot
    finally:
        await chat.stop()


@pytest.fixture
async def page(browser: Browser, echo_chat: tuple[WebChat, EchoBot]) -> AsyncIterator[ChatPage]:
    async with open_page(browser, echo_chat[0].url) as chat_page:
        yield chat_page


async def test_leader_and_two_members_talk_and_see_bot_replies(
    page: ChatPage, echo_chat: tuple[WebChat, EchoBot], tmp_path: Path
) -> None:
    bot = echo_chat[1]
    identity = page.page.get_by_test_id("identity")
    await expect(identity.locator("option:checked")).to_have_text("王姐（团长）")
    await expect(page.page.get_by_test_id("chat-title")).to_have_text("幸福里1群（3）")

    await page.say(OPEN)
    await expect(page.bot_says("已开团：周六水果团")).to_have_count(1)
    mine = page.messages.filter(has_text="开团 周六水果团")
    await expect(mine).to_have_class(re.compile(r"\bmine\b"))
    # The multi-line announcement reached the bot, and the page, as four lines.
    assert bot.seen[0].text.splitlines() == OPEN.splitlines()
    assert (await mine.get_by_test_id("bubble").inner_text()).splitlines() == OPEN.splitlines()

    await page.speak_as("李阿姨")
    await page.say("苹果x2 @王姐")
    await expect(page.bot_says("李阿姨收到：苹果x2")).to_have_count(1)
    li_said = page.page.locator('[data-testid="message"][data-sender="m-li"]')
    await expect(li_said.get_by_test_id("mention")).to_have_text(["@王姐"])

    await page.speak_as("张叔")
    await page.say("香蕉1")
    await expect(page.bot_says("张叔收到：香蕉1")).to_have_count(1)

    # Now speaking as 张叔: the leader's message is someone else's, with her name above it.
    await expect(mine).not_to_have_class(re.compile(r"\bmine\b"))
    await expect(mine.locator(".sender")).to_have_text("王姐")
    assert [(m.sender_name, m.chat_id) for m in bot.seen] == [
        ("王姐", "g1"),
        ("李阿姨", "g1"),
        ("张叔", "g1"),
    ]
    assert bot.seen[1].mentions == ("m-wang",)

    shot = tmp_path / "webchat.png"
    await page.page.screenshot(path=str(shot))
    if target := os.environ.get("TUANBOT_WEBCHAT_SCREENSHOT"):
        Path(target).write_bytes(shot.read_bytes())


async def test_private_chat_shows_only_the_current_identity(page: ChatPage, echo_chat) -> None:
    await page.speak_as("李阿姨")
    await page.open_chat("private")
    await expect(page.page.get_by_test_id("chat-title")).to_have_text("团长助手")
    await page.say("我的订单")
    await expect(page.bot_says("李阿姨收到：我的订单")).to_have_count(1)

    await page.speak_as("张叔")
    await expect(page.messages).to_have_count(0)
    await page.say("帮助")
    await expect(page.bot_says("张叔收到：帮助")).to_have_count(1)
    await expect(page.messages).to_have_count(2)

    # Nothing private leaked into the group.
    await page.open_chat("group:g1")
    await expect(page.messages).to_have_count(0)
    assert [(m.is_group, m.chat_id) for m in echo_chat[1].seen] == [(False, "m-li"), (False, "m-zhang")]


async def test_a_second_page_sees_the_conversation_live_and_after_reload(
    page: ChatPage, browser: Browser, echo_chat: tuple[WebChat, EchoBot]
) -> None:
    other_context = await browser.new_context()
    other = ChatPage(await other_context.new_page())
    try:
        await other.page.goto(echo_chat[0].url)
        await other.ready()
        await page.say("大家好")
        await expect(other.bot_says("王姐收到：大家好")).to_have_count(1)
        await expect(other.messages).to_have_count(2)
        await other.page.reload()
        await other.ready()
        await expect(other.messages).to_have_count(2)
    finally:
        await other_context.close()


async def test_page_reconnects_and_delivers_what_was_typed_offline(
    page: ChatPage, echo_chat: tuple[WebChat, EchoBot]
) -> None:
    chat, bot = echo_chat
    port = int(chat.url.rstrip("/").rsplit(":", 1)[1])
    await chat.stop()
    await expect(page.page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", re.compile("closed|connecting")
    )
    await page.say("断线时说的话")
    chat.port = port
    await chat.start(bot)
    # The page retries with a capped back-off (at most 5 s between attempts).
    await expect(page.bot_says("王姐收到：断线时说的话")).to_have_count(1, timeout=15_000)
    assert [m.text for m in bot.seen] == ["断线时说的话"]


async def test_images_files_and_the_campaign_panel(browser: Browser, tmp_path: Path) -> None:
    async def campaign(request: web.Request) -> web.Response:
        items = [{"name": "苹果", "price": "¥12.80/斤", "left": "剩98"}]
        return web.json_response({"title": "周六水果团", "status": "进行中", "items": items, "lines": []})

    poster, sheet = tmp_path / "poster.png", tmp_path / "订单.csv"
    Image.new("RGB", (120, 80), (250, 180, 60)).save(poster)
    sheet.write_text("跟团号,下单人\n1,李**\n", encoding="utf-8")
    chat = WebChat(
        groups=[GROUP],
        bot_name="团长助手",
        clock=FakeClock(datetime(2026, 12, 5, 9, 0)),
        port=0,
        media_dir=tmp_path / "media",
        setup_routes=lambda app: app.router.add_get("/api/campaign", campaign),
    )
    await chat.start(EchoBot())
    try:
        await chat.send(OutboundMessage("g1", "海报", "poster.j2", kind="image", path=str(poster)))
        await chat.send(OutboundMessage("g1", "订单表", "export.j2", kind="file", path=str(sheet)))
        async with open_page(browser, chat.url) as page:
            panel = page.page.get_by_test_id("campaign-panel")
            await expect(panel).to_be_visible()
            await expect(panel).to_contain_text("周六水果团")
            await expect(panel).to_contain_text("¥12.80/斤")
            image = page.page.get_by_test_id("image")
            await expect(image).to_be_visible()
            assert await image.evaluate("img => img.complete && img.naturalWidth") == 120
            card = page.page.get_by_test_id("file-card")
            await expect(card).to_contain_text("订单.csv")
            async with page.page.expect_download() as download:
                await card.click()
            saved = tmp_path / "downloaded.csv"
            await (await download.value).save_as(saved)
            assert saved.read_text(encoding="utf-8") == sheet.read_text(encoding="utf-8")
    finally:
        await chat.stop()


async def test_no_campaign_panel_without_the_route(page: ChatPage) -> None:
    # The page asks once it is connected; wait for that request to be answered (404) before looking.
    async with page.page.expect_response(lambda r: r.url.endswith("/api/campaign")) as response:
        await page.page.reload()
    assert (await response.value).status == 404
    await page.ready()
    await expect(page.page.get_by_test_id("campaign-panel")).to_be_hidden()
