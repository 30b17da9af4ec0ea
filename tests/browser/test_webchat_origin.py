"""A page from another origin can neither act nor read in the web chat (a real Chromium).

The leader keeps the web chat open; she visits another site in the same browser. That page's
script tries to cancel her campaign over the WebSocket and to read her private chat and the
groups' history. Nothing gets through: the campaign stays open, nothing is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect
from sqlmodel import Session, select
from webchat_page import open_page

from bot.app import create_app
from bot.core.clock import FakeClock
from bot.core.config import parse_settings
from bot.store.db import make_engine
from bot.store.models import Campaign
from bot.web_api import webchat_for
from scheduler.timers import FakeTimer

CONFIG = """
bot_name: 团长助手
database_url: sqlite:///{db}
pacing: {{per_chat_per_minute: 600, per_account_per_minute: 600, burst: 50, jitter_seconds: 0}}
groups:
  - id: g-xfl-1
    name: 幸福里1群
    leader: u-wang
    members:
      - {{id: u-wang, name: 王姐}}
      - {{id: u-li, name: 李阿姨}}
"""

# The other site's script: every way in it can try, each outcome written to window.result.
EVIL_PAGE = """<!doctype html><meta charset="utf-8"><title>优惠券</title><script>
(async () => {
  const target = "%(target)s";
  const result = {};
  result.socket = await new Promise((done) => {
    const ws = new WebSocket(target.replace("http", "ws") + "ws");
    ws.onopen = () => {
      ws.send(JSON.stringify({type: "hello", as: "u-wang"}));
      const say = {type: "say", id: "evil-1", chat_id: "g-xfl-1", sender_id: "u-wang", text: "取消团"};
      ws.send(JSON.stringify(say));
      ws.onmessage = (e) => { result.socketRead = (result.socketRead || "") + e.data; };
      setTimeout(() => done("open"), 1500);
    };
    ws.onerror = () => done("refused");
  });
  for (const path of ["api/state", "api/campaign"]) {
    try {
      const resp = await fetch(target + path);
      result[path] = await resp.text();
    } catch (e) {
      result[path] = "blocked";
    }
  }
  try {
    await fetch(target + "api/state", {method: "POST", mode: "no-cors", body: "取消团"});
    result.post = "sent";
  } catch (e) {
    result.post = "blocked";
  }
  window.result = result;
})();
</script>"""


@dataclass
class Live:
    url: str
    engine: object


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    settings = parse_settings(CONFIG.format(db=tmp_path / "tuanbot.db"), env={})
    clock = FakeClock(datetime(2026, 12, 5, 9, 0))
    engine = make_engine(settings.database_url)
    chat = webchat_for(settings, clock, engine, port=0, media_dir=tmp_path / "media")
    async with create_app(settings, transport=chat, clock=clock, engine=engine, timer=FakeTimer(clock)):
        yield Live(chat.url, engine)
    engine.dispose()


@pytest.fixture
async def evil_site(live: Live) -> AsyncIterator[str]:
    """Another origin: the same machine, another port."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=EVIL_PAGE % {"target": live.url}, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


async def test_another_origin_can_neither_act_nor_read(browser: Browser, live: Live, evil_site: str) -> None:
    async with open_page(browser, live.url) as chat:
        await chat.say("开团 周六水果团\n苹果 12.8元/斤 库存100\n截团 明天18:00")
        await expect(chat.bot_says("周六水果团").first).to_be_visible()
        await chat.open_chat("private")
        await chat.say("我的订单")
        await expect(chat.messages.filter(has_text="我的订单")).to_have_count(1)

        evil = await chat.page.context.new_page()  # same browser, same cookies: another site
        await evil.goto(evil_site)
        await evil.wait_for_function("window.result !== undefined", timeout=15_000)
        result = await evil.evaluate("window.result")

    assert result["socket"] == "refused" and "socketRead" not in result
    assert result["api/state"] == "blocked" and result["api/campaign"] == "blocked"
    with Session(live.engine) as s:  # type: ignore[arg-type]
        statuses = [c.status for c in s.exec(select(Campaign))]
    assert statuses == ["open"]
