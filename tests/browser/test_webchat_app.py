"""End to end in a real Chromium: the web chat in front of the real app (store, handlers, outbox)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from webchat_page import open_page

from bot.app import create_app
from bot.core.clock import FakeClock
from bot.core.config import parse_settings
from bot.store.db import make_engine
from bot.web_api import webchat_for
from scheduler.timers import FakeTimer

CONFIG = """
bot_name: 团长助手
database_url: sqlite:///{db}
pacing:                 # no jitter: every reply goes out at once on the fake clock
  per_chat_per_minute: 600
  per_account_per_minute: 600
  burst: 50
  jitter_seconds: 0
groups:
  - id: g-xfl-1
    name: 幸福里1群
    leader: u-wang
    members:
      - {{id: u-wang, name: 王姐}}
      - {{id: u-li, name: 李阿姨}}
      - {{id: u-zhang, name: 张叔}}
"""

OPEN = (
    "开团 周六水果团\n苹果 12.8元/斤 库存100 限购5\n香蕉 9.9元/把 库存50\n截团 明天18:00\n自提 幸福里东门驿站"
)


@pytest.fixture
async def live_url(tmp_path: Path) -> AsyncIterator[str]:
    settings = parse_settings(CONFIG.format(db=tmp_path / "tuanbot.db"), env={})
    clock = FakeClock(datetime(2026, 12, 5, 9, 0))
    engine = make_engine(settings.database_url)
    chat = webchat_for(settings, clock, engine, port=0, media_dir=tmp_path / "media")
    async with create_app(settings, transport=chat, clock=clock, engine=engine, timer=FakeTimer(clock)):
        yield chat.url


async def test_a_campaign_in_the_browser(browser: Browser, live_url: str, tmp_path: Path) -> None:
    async with open_page(browser, live_url) as page:
        await page.say(OPEN)
        announcement = page.bot_says("周六水果团").and_(
            page.page.locator('[data-template="campaign/announcement"]')
        )
        await expect(announcement).to_contain_text("苹果")
        await expect(announcement).to_contain_text("幸福里东门驿站")

        await page.speak_as("李阿姨")
        await page.say("苹果x2")
        await expect(page.bot_says("跟团号1")).to_contain_text("苹果2斤")

        await page.speak_as("张叔")
        await page.say("香蕉1")
        await expect(page.bot_says("跟团号2")).to_contain_text("香蕉1把")

        # The side panel follows the campaign: stock left and the masked 接龙-style lines.
        panel = page.page.get_by_test_id("campaign-panel")
        await expect(panel).to_contain_text("周六水果团")
        await expect(panel).to_contain_text("98斤")
        await expect(panel).to_contain_text("2. 张* 香蕉1把")

        # Member names are masked in the group, and the page highlights the masked mention.
        await expect(page.bot_says("跟团号1").get_by_test_id("mention")).to_have_text("@李**")
        await page.page.set_viewport_size({"width": 1280, "height": 980})
        shot = tmp_path / "webchat.png"
        await page.page.screenshot(path=str(shot))
        if target := os.environ.get("TUANBOT_WEBCHAT_SCREENSHOT"):
            Path(target).write_bytes(shot.read_bytes())
