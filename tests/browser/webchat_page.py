"""Page helpers for the web chat browser tests: what a person does, in words tests read well with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, Locator, Page, expect


class ChatPage:
    """What a person does on the page, in words the tests read well with."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.messages = page.get_by_test_id("messages").get_by_test_id("message")

    async def ready(self) -> None:
        await expect(self.page.get_by_test_id("conn-status")).to_have_attribute("data-state", "open")

    async def speak_as(self, name: str) -> None:
        identity = self.page.get_by_test_id("identity")
        value = await identity.locator("option", has_text=name).get_attribute("value")
        await identity.select_option(value)

    async def open_chat(self, key: str) -> None:
        await self.page.locator(f'[data-testid="chat-item"][data-chat="{key}"]').click()

    async def say(self, text: str) -> None:
        """Type like a person: Shift+Enter between lines, Enter to send."""
        box = self.page.get_by_test_id("composer")
        await box.click()
        for i, line in enumerate(text.split("\n")):
            if i:
                await box.press("Shift+Enter")
            await box.press_sequentially(line)
        await box.press("Enter")

    def bot_says(self, text: str) -> Locator:
        return self.page.locator(
            '[data-testid="messages"] [data-testid="message"][data-sender="bot"]'
        ).filter(has_text=text)


@asynccontextmanager
async def open_page(browser: Browser, url: str) -> AsyncIterator[ChatPage]:
    """A fresh page on the chat; fails the test if the page's script threw or logged an error."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    p = await context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    # Expected noise: the 404 of an absent /api/campaign and a dropped socket while reconnecting.
    expected = ("Failed to load resource", "WebSocket")
    p.on("console", lambda m: m.type == "error" and not m.text.startswith(expected) and errors.append(m.text))
    await p.goto(url)
    chat_page = ChatPage(p)
    await chat_page.ready()
    try:
        yield chat_page
    finally:
        await context.close()
    assert errors == []
