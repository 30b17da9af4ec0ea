"""Page helpers for the console's browser tests: a phone or a desktop, what a leader taps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from PIL import Image
from playwright.async_api import Browser, ConsoleMessage, Locator, Page, expect

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


class ConsolePage:
    def __init__(self, page: Page, shots: Path | None, size: str) -> None:
        self.page = page
        self.shots = shots
        self.size = size

    def order(self, follow_no: int) -> Locator:
        return self.page.locator(f'[data-testid="order"][data-no="{follow_no}"]')

    async def tab(self, word: str) -> None:
        await self.page.get_by_role("navigation", name="这个团").get_by_role("link", name=word).click()

    async def toast(self, text: str) -> None:
        await expect(self.page.get_by_test_id("toast")).to_contain_text(text)

    async def fits(self) -> None:
        """Phone first: nothing wider than the screen, every control a thumb high."""
        width = await self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= self.page.viewport_size["width"], f"{self.page.url} scrolls sideways ({width}px)"  # type: ignore[index]
        small = await self.page.evaluate(
            """() => [...document.querySelectorAll(
                    'button, input, select, summary, .chips a, .tabs a, a.button')]
                .filter((e) => e.offsetParent !== null && e.type !== 'hidden')
                .map((e) => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().height])
                .filter(([, h]) => h < 40)"""
        )
        assert small == [], small

    async def shot(self, name: str, full_page: bool = False) -> None:
        """A picture of the page for docs/console.md (128 flat colours: a tenth of the bytes)."""
        if self.shots is None:
            return
        path = self.shots / f"{name}-{self.size}.png"
        await self.page.screenshot(path=str(path), full_page=full_page)
        flat = Image.open(path).convert("RGB")
        flat.quantize(128, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


@asynccontextmanager
async def open_console(
    browser: Browser, url: str, size: dict[str, int], shots: Path | None
) -> AsyncIterator[ConsolePage]:
    """A fresh browser (no cookies) at ``url``; fails the test on any script error."""
    phone = size == PHONE
    context = await browser.new_context(
        viewport=size,
        locale="zh-CN",
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=2 if phone else 1,
        reduced_motion="reduce",  # charts drawn at once: the pictures show them finished
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    expected = "Failed to load resource"  # the 401 a logged-out page is meant to get

    def console_error(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(expected):
            errors.append(message.text)

    page.on("console", console_error)
    await page.goto(url)
    try:
        yield ConsolePage(page, shots, "phone" if phone else "desktop")
    finally:
        await context.close()
    assert errors == []
