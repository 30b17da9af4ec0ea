"""The leader's console in a real Chromium, at phone and desktop sizes, in front of the real app
and the web chat: log in by the link from private chat, search, 收款, 核销, skip a timeline post,
and watch the list and the charts follow an order placed in the web chat."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from console_page import DESKTOP, PHONE, open_console
from playwright.async_api import Browser, expect
from webchat_page import ChatPage, open_page

from bot.app import create_app
from bot.console import Console, mount
from bot.core.clock import FakeClock
from bot.core.config import parse_settings
from bot.store.db import make_engine
from bot.web_api import webchat_for
from scheduler.timers import FakeTimer

CONFIG = """
bot_name: 团长助手
database_url: sqlite:///{db}
web: {{host: 127.0.0.1, port: {port}}}
pacing: {{per_chat_per_minute: 600, per_account_per_minute: 600, burst: 50, jitter_seconds: 0}}
groups:
  - id: g-xfl-1
    name: 幸福里1群
    leader: u-wang
    admins: [u-chen]
    members:
      - {{id: u-wang, name: 王姐}}
      - {{id: u-chen, name: 小陈}}
      - {{id: u-li, name: 李阿姨}}
      - {{id: u-zhang, name: 张叔}}
      - {{id: u-zhao, name: 赵姐}}
      - {{id: u-liu, name: 刘哥}}
"""
OPEN = (
    "开团 周六水果团\n苹果 12.8元/斤 库存100 限购5\n香蕉 9.9元/把 库存50\n"
    "截团 今天18:00\n成团 5人\n阶梯 苹果 满10斤 11.8\n自提 幸福里东门驿站"
)
LINK = re.compile(r"http://\S+/console/login/[A-Za-z0-9_-]{43}")
SHOTS = os.environ.get("TUANBOT_CONSOLE_SCREENSHOTS")  # a folder: write each page's picture there


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 5, 9, 0))


@pytest.fixture
async def chat_url(tmp_path: Path, clock: FakeClock) -> AsyncIterator[str]:
    """The real app on the web chat at a known port (the 后台 link names it), console mounted."""
    settings = parse_settings(CONFIG.format(db=tmp_path / "tuanbot.db", port=free_port()), env={})
    engine = make_engine(settings.database_url)
    console = Console(settings)
    chat = webchat_for(settings, clock, engine, media_dir=tmp_path / "media", mount=partial(mount, console))
    app = create_app(settings, transport=chat, clock=clock, engine=engine, timer=FakeTimer(clock))
    console.attach(app)
    async with app:
        yield chat.url


async def campaign_day(chat: ChatPage, clock: FakeClock) -> str:
    """王姐 opens a campaign, three neighbours order over the morning, a 接龙 paste leaves lines
    for her to decide; she asks for 后台."""
    await chat.speak_as("王姐")
    await chat.say(OPEN)
    await expect(chat.bot_says("周六水果团").first).to_be_visible()
    orders = (("李阿姨", "3-602 苹果x2", 1), ("张叔", "香蕉1", 2), ("刘哥", "5-101 苹果3 香蕉2", 3))
    for who, text, follow in orders:
        clock.advance(timedelta(minutes=25))
        await chat.speak_as(who)
        await chat.say(text)
        await expect(chat.bot_says(f"跟团号{follow}").first).to_be_visible()
    await chat.speak_as("张叔")
    await chat.say("#接龙 周六水果团\n1. 李阿姨 苹果2\n2. 张叔 香蕉1\n3. 刘哥 苹果3 香蕉2\n4. 神秘邻居 苹果1")
    await chat.speak_as("王姐")
    await chat.open_chat("private")
    await chat.say("后台")
    reply = chat.bot_says("团长后台登录链接")
    await expect(reply).to_be_visible()
    found = LINK.search(await reply.inner_text())
    assert found is not None
    return found.group(0)


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_a_leader_runs_her_pickup_from_the_console(
    browser: Browser, chat_url: str, clock: FakeClock, size: dict[str, int]
) -> None:
    shots = Path(SHOTS) if SHOTS else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    async with open_page(browser, chat_url) as chat:
        link = await campaign_day(chat, clock)
        async with open_console(browser, link, size, shots) as console:
            page = console.page
            # Log in by the link: the page asks first (a link preview must not use it up).
            await expect(page.get_by_test_id("login")).to_contain_text("只能用一次")
            await console.fits()
            await console.shot("login")
            await page.get_by_test_id("enter").click()
            card = page.get_by_test_id("campaign-card")
            await expect(card).to_contain_text("周六水果团")
            await expect(card).to_contain_text("3 单")
            await console.fits()
            await console.shot("campaigns")
            await card.click()

            # The orders: search by name, then 收款 and 核销 the way she would at the pickup point.
            await expect(page.get_by_test_id("order")).to_have_count(3)
            await expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "open")
            await console.fits()
            await console.shot("orders", full_page=True)
            await page.get_by_test_id("search").fill("李阿姨")
            await expect(page.get_by_test_id("order")).to_have_count(1)
            li = console.order(1)
            await expect(li).to_contain_text("3-602")
            await li.get_by_test_id("mark-paid").click()
            await console.toast("已收款：1号")
            await expect(console.order(1).get_by_test_id("paid")).to_be_visible()
            code = (await console.order(1).locator(".chip.code").inner_text()).split()[-1]
            await page.get_by_test_id("search").fill("")
            await expect(page.get_by_test_id("order")).to_have_count(3)
            await page.get_by_test_id("verify-code").fill(code)
            await page.get_by_test_id("verify-button").click()
            await console.toast("核销成功")
            await expect(console.order(1).get_by_test_id("collected")).to_be_visible()
            await page.get_by_test_id("verify-code").fill(code)
            await page.get_by_test_id("verify-button").click()
            await console.toast("已经核销过了")

            # The list follows the chat: a new order appears without reloading.
            clock.advance(timedelta(minutes=40))
            await chat.speak_as("赵姐")
            await chat.open_chat("group:g-xfl-1")
            await chat.say("苹果1")
            await expect(console.order(4)).to_contain_text("赵姐")

            # The timeline: skip the 最后30分钟 call.
            await console.tab("时间线")
            post = page.get_by_test_id("post").filter(has_text="最后30分钟")
            await expect(post.get_by_test_id("post-status")).to_have_text("待发送")
            await console.fits()
            await console.shot("timeline", full_page=True)
            await post.get_by_test_id("skip").click()
            await console.toast("已跳过：最后30分钟")
            await expect(post.get_by_test_id("post-status")).to_have_text("已跳过")

            # The 接龙 line nobody in the group matches waits for her 确认.
            await console.tab("接龙")
            lines = page.get_by_test_id("jielong-line")
            await expect(lines).to_have_count(3)  # 张叔 pasted the list: two lines were others'
            await expect(lines.filter(has_text="神秘邻居")).to_contain_text("对不上群里的人")
            await console.fits()
            await console.shot("jielong", full_page=True)
            await lines.filter(has_text="替 李阿姨 接了").get_by_test_id("reject").click()
            await console.toast("已拒绝")
            await expect(lines).to_have_count(2)

            await console.tab("下载")
            await expect(page.get_by_test_id("download-sorting-xlsx")).to_be_visible()
            await console.fits()
            await console.shot("downloads")

            # The figures: a member orders in the web chat; the charts redraw by themselves.
            await console.tab("图表")
            items = "Chart.getChart('chart-items').data.datasets[0].data"
            await expect(page.locator("[data-total=orders]")).to_have_text("4")
            assert await page.evaluate(items) == [76.8, 29.7]  # 苹果6斤, 香蕉3把
            await expect(page.get_by_test_id("goal").first).to_contain_text("4/5人")
            await console.fits()
            clock.advance(timedelta(minutes=30))
            await chat.speak_as("张叔")
            await chat.say("苹果2")
            await expect(page.locator("[data-total=orders]")).to_have_text("4")  # 张叔 had ordered
            await page.wait_for_function(f"() => {items}[0] === 102.4")  # 苹果8斤
            clock.advance(timedelta(minutes=20))
            await chat.speak_as("小陈")
            await chat.say("苹果1")
            await expect(page.locator("[data-total=orders]")).to_have_text("5")
            await expect(page.get_by_test_id("goal").first).to_contain_text("5/5人 ✓")
            await console.shot("figures", full_page=True)

            # Members: history and RFM of her groups.
            await page.get_by_role("link", name="会员").click()
            await expect(page.get_by_test_id("member").first).to_be_visible()
            await console.fits()
            await console.shot("members")

            # Log out: the session is gone.
            await page.get_by_test_id("logout").click()
            await expect(page.get_by_test_id("notice")).to_contain_text("已退出")
            await page.goto(chat_url.rstrip("/") + "/console/")
            await expect(page.get_by_test_id("notice")).to_contain_text("请先登录")

            # The used link now opens a page that says so and shows nothing else.
            await page.goto(link)
            await expect(page.get_by_test_id("notice")).to_contain_text("已经用过")
            assert "周六水果团" not in await page.content()
            await console.shot("used-link")
