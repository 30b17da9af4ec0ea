"""The leader's console over HTTP (aiohttp's client against the real app): sessions, scope,
CSRF, Origin, validation, and every change answered with the chat's own words."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import aiohttp
import openpyxl
import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient
from console_support import console_client, csrf_of, link_path, log_in, origin
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.console import Console, mount
from bot.services.pickup import pickup_code
from bot.store.models import Campaign, Item, Order
from bot.testing import Harness, build_harness, demo_settings, units_sold
from bot.transports.wechaty_login import LoginPage
from tests.conftest import START

GROUPS = {
    "幸福里1群": {"leader": "王姐", "admins": ["小陈"], "members": ["李阿姨", "张叔", "赵姐", "刘哥"]},
    "阳光2群": {"leader": "周老师", "members": ["孙奶奶", "吴妈"]},
}
FRUIT = "开团 水果团\n苹果 10元/斤 库存100\n香蕉 5元/把\n截团 今天18:00"
VEG = "开团 蔬菜团\n白菜 3元/颗\n截团 今天18:00"


@pytest.fixture
async def h(engine: Engine, tmp_path: Path) -> AsyncIterator[Harness]:
    """Two groups, two leaders; 水果团 (1) in 1群 with three orders, 蔬菜团 (2) in 2群 with one."""
    settings = demo_settings(GROUPS, media_dir=str(tmp_path / "media"))
    harness = build_harness(settings, engine, START)
    async with harness.app:
        await harness.say("王姐", FRUIT, group="幸福里1群")
        await harness.say("李阿姨", "3-602 苹果2", group="幸福里1群")
        await harness.say("张叔", "香蕉1", group="幸福里1群")
        await harness.say("赵姐", "苹果1 香蕉2", group="幸福里1群")
        await harness.say("周老师", VEG, group="阳光2群")
        await harness.say("孙奶奶", "白菜3", group="阳光2群")
        harness.new()
        yield harness


@pytest.fixture
async def client(h: Harness) -> AsyncIterator[TestClient]:
    async with console_client(h) as c:
        yield c


def code_of(h: Harness, campaign_id: int, follow_no: int) -> str:
    with Session(h.app.engine) as s:
        campaign = s.get(Campaign, campaign_id)
        assert campaign is not None
        return pickup_code(campaign, follow_no)


def orders_of(h: Harness, campaign_id: int) -> dict[int, tuple[bool, bool]]:
    """follow no -> (paid, picked up)"""
    with Session(h.app.engine) as s:
        rows = s.exec(select(Order).where(Order.campaign_id == campaign_id, Order.status == "active"))
        return {o.follow_no: (o.paid, o.picked_up_at is not None) for o in rows}


async def post(client: TestClient, path: str, csrf: str, **form: str) -> tuple[int, list[str]]:
    response = await client.post(
        path,
        data={"csrf": csrf, **form},
        headers={"Origin": origin(client), "Accept": "application/json"},
    )
    answer = await response.json()
    return response.status, answer["messages"]


PAGES = [
    "/console/",
    "/console/members",
    "/console/c/1",
    "/console/c/1?part=1",
    "/console/c/1/figures",
    "/console/c/1/figures.json",
    "/console/c/1/timeline",
    "/console/c/1/jielong",
    "/console/c/1/downloads",
    "/console/c/1/download/orders.xlsx",
    "/console/ws?c=1",
]
CHANGES = ["paid", "verify", "cancel", "skip", "move", "decide"]


async def test_no_page_api_or_socket_without_a_session(h: Harness, client: TestClient) -> None:
    for cookie in (None, "x" * 43, "../../etc"):
        if cookie is not None:
            client.session.cookie_jar.update_cookies({"tuanbot_console": cookie})
        for path in PAGES:
            response = await client.get(path, headers={"Origin": origin(client)})
            text = await response.text()
            assert response.status == 401, path
            assert "请先登录" in text and "水果团" not in text and "李阿姨" not in text, path
        for action in CHANGES:
            response = await client.post(f"/console/c/1/{action}", data={"no": "1", "code": "1234"})
            assert response.status == 401, action
        response = await client.post("/console/logout")
        assert response.status == 401
    assert orders_of(h, 1) == {1: (False, False), 2: (False, False), 3: (False, False)}
    # The page's own script and styles are public (they hold no data), nothing else.
    assert (await client.get("/console/static/console.js")).status == 200
    assert (await client.get("/console/static/vendor/chart.umd.min.js")).status == 200


async def test_a_link_opens_one_session_and_a_bad_link_shows_no_data(h: Harness, client: TestClient) -> None:
    path = await link_path(h, "王姐")
    token = path.rsplit("/", 1)[1]
    forged = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB")
    for bad in (forged, "/console/login/short", "/console/login/" + "%2e%2e%2f" * 5):
        response = await client.get(bad)
        text = await response.text()
        assert response.status == 404 and "链接无效" in text and "发「后台」" in text, bad
        assert "水果团" not in text and "data-csrf" not in text
        assert (await client.post(bad, headers={"Origin": origin(client)})).status == 404
    # Opening the link shows a button only; it is the button that uses the link.
    for _ in range(2):
        response = await client.get(path)
        assert response.status == 200 and "进入后台" in await response.text()
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    # Another site's page cannot log the leader in (or anyone into her session).
    refused = await client.post(path, headers={"Origin": "https://evil.example"})
    assert refused.status == 403
    response = await client.post(path, headers={"Origin": origin(client)}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/console/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert token not in cookie
    page = await client.get("/console/")
    assert page.status == 200 and "水果团" in await page.text()
    reused = await client.post(path, headers={"Origin": origin(client)})
    assert reused.status == 410 and "已经用过" in await reused.text()
    late = await link_path(h, "王姐")
    await h.advance(timedelta(minutes=11))
    response = await client.get(late)
    assert response.status == 410 and "过期" in await response.text()


async def test_each_leader_sees_only_her_own_campaigns(h: Harness, client: TestClient) -> None:
    csrf = await log_in(h, client, "王姐")
    listing = await (await client.get("/console/")).text()
    assert "水果团" in listing and "蔬菜团" not in listing
    others = [p.replace("/c/1", "/c/2") for p in PAGES if "/c/1" in p]
    for path in [*others, "/console/c/99", "/console/c/2/timeline"]:
        response = await client.get(path)
        text = await response.text()
        assert response.status == 404, path
        assert "蔬菜团" not in text and "孙奶奶" not in text and "白菜" not in text, path
    bad = await client.ws_connect("/console/ws?c=1", headers={"Origin": origin(client)})
    await bad.close()
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/console/ws?c=2", headers={"Origin": origin(client)})
    assert refused.value.status == 404
    code = code_of(h, 2, 1)
    for action, form in [
        ("paid", {"no": "1"}),
        ("cancel", {"no": "1", "item": "3", "reason": "缺货"}),
        ("skip", {"row": "1"}),
        ("move", {"row": "1", "when": "今天17:00"}),
    ]:
        status, messages = await post(client, f"/console/c/2/{action}", csrf, **form)
        assert status == 404 and messages == ["没有这个团，或者这个团不归你管。"], action
    # 核销 looks in her own groups only, like the chat command: 周老师's code is unknown to her.
    status, messages = await post(client, "/console/c/1/verify", csrf, code=code)
    assert status == 200 and "没有找到取货码" in messages[0]
    assert orders_of(h, 2) == {1: (False, False)}
    assert h.new() == []  # nothing was said in 阳光2群


async def test_admins_see_the_groups_they_help_with_but_only_leaders_decide(
    h: Harness, client: TestClient
) -> None:
    csrf = await log_in(h, client, "小陈")
    assert "水果团" in await (await client.get("/console/")).text()
    assert "只有团长" in await (await client.get("/console/members")).text()
    status, messages = await post(client, "/console/c/1/paid", csrf, no="1")
    assert status == 200 and "已收款" in messages[0]
    status, messages = await post(client, "/console/c/1/decide", csrf, number="1", decision="confirm")
    assert status == 403 and "只有团长" in messages[0]


async def test_changes_need_the_form_token_and_our_origin(h: Harness, client: TestClient) -> None:
    csrf = await log_in(h, client, "王姐")
    attempts = [
        ({"no": "1"}, {"Origin": origin(client)}),  # no token: a form on another site
        ({"no": "1", "csrf": "x" * len(csrf)}, {"Origin": origin(client)}),
        ({"no": "1", "csrf": csrf}, {"Origin": "https://evil.example"}),
        ({"no": "1", "csrf": csrf}, {"Origin": "null"}),
    ]
    for data, headers in attempts:
        response = await client.post("/console/c/1/paid", data=data, headers=headers)
        assert response.status == 403, (data, headers)
    assert orders_of(h, 1)[1] == (False, False)
    response = await client.post("/console/c/1/paid", data={"no": "1"}, headers={"X-CSRF-Token": csrf})
    assert response.status == 200 and orders_of(h, 1)[1] == (True, False)  # script sends it as a header


async def test_the_socket_checks_origin_and_hears_a_chat_order(h: Harness, client: TestClient) -> None:
    await log_in(h, client, "王姐")
    for headers in ({"Origin": "https://evil.example"}, {}):
        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect("/console/ws?c=1", headers=headers)
        assert refused.value.status == 403
    ws = await client.ws_connect("/console/ws?c=1", headers={"Origin": origin(client)})
    await h.say("刘哥", "香蕉2", group="幸福里1群")
    # Within a second on a quiet machine (bench/console.py); the test allows a busy one more.
    frame = await asyncio.wait_for(ws.receive_json(), 3.0)
    assert frame == {"type": "changed", "campaign": 1}
    await h.say("孙奶奶", "白菜1", group="阳光2群")  # another campaign's group: nothing
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(ws.receive_json(), 0.5)
    await h.say("王姐", "退出后台", private=True)
    await h.say("刘哥", "苹果1", group="幸福里1群")
    closing = await asyncio.wait_for(ws.receive(), 3.0)
    assert ws.close_code == 4401 or closing.data == 4401


async def test_changes_answer_with_the_chat_s_words_and_tell_the_group(
    h: Harness, client: TestClient
) -> None:
    csrf = await log_in(h, client, "王姐")
    # 收款, and 收款 again: the same words as the chat command.
    status, messages = await post(client, "/console/c/1/paid", csrf, no="2")
    chat = await h.say("王姐", "收款 2", private=True)
    assert status == 200 and "已收款：2号" in messages[0]
    assert "之前已经收过款" in chat[0].text
    status, again = await post(client, "/console/c/1/paid", csrf, no="2")
    assert again == [chat[0].text]
    status, unknown = await post(client, "/console/c/1/paid", csrf, no="12")
    assert status == 200 and "没有" in unknown[0] and "没有标记任何收款" in unknown[0]
    # 核销: by code; an unknown code and a used one get the chat's own sentences.
    code = code_of(h, 1, 1)
    status, messages = await post(client, "/console/c/1/verify", csrf, code=code)
    assert "核销成功" in messages[0] and "李阿姨" in messages[0] and "苹果2斤" in messages[0]
    status, used = await post(client, "/console/c/1/verify", csrf, code=code)
    assert "已经核销过了" in used[0]
    assert used == [(await h.say("王姐", f"核销 {code}", private=True))[0].text]
    status, none = await post(client, "/console/c/1/verify", csrf, code="0000")
    assert none == [(await h.say("王姐", "核销 0000", private=True))[0].text]
    assert orders_of(h, 1) == {1: (False, True), 2: (True, False), 3: (False, False)}
    # Cancel one line with a reason: stock back, the member told in her group, masked.
    with Session(h.app.engine) as s:
        apple = s.exec(select(Item).where(Item.name == "苹果", Item.campaign_id == 1)).one()
    apple_id = str(apple.id)
    status, messages = await post(client, "/console/c/1/cancel", csrf, no="3", item=apple_id, reason="缺货")
    assert status == 200 and "已取消 3号 赵姐 的苹果" in messages[0] and "香蕉2把" in messages[0]
    told = h.new()
    assert [m.template for m in told] == ["orders/staff_cancelled"]
    assert told[0].chat_id == h.group_id("幸福里1群") and told[0].mentions == (h.member_id("赵姐"),)
    assert "赵*" in told[0].text and "赵姐" not in told[0].text and "原因：缺货" in told[0].text
    assert units_sold(h)["苹果"] == 2
    status, gone = await post(client, "/console/c/1/cancel", csrf, no="3", item=apple_id, reason="再取消")
    assert gone == ["3号订单里没有苹果，没有改动。"] and h.new() == []


async def test_timeline_skip_and_move_as_in_chat(h: Harness, client: TestClient) -> None:
    csrf = await log_in(h, client, "王姐")
    page = await (await client.get("/console/c/1/timeline")).text()
    rows = dict(re.findall(r'data-row="(\d+)">\s*<div class="row">\s*<strong>\d+\. ([^<]+)</strong>', page))
    last_call = next(no for no, label in rows.items() if label.startswith("最后30分钟"))
    status, messages = await post(client, "/console/c/1/skip", csrf, row=last_call)
    assert status == 200 and messages[0].startswith("✅ 已跳过：最后30分钟")
    status, again = await post(client, "/console/c/1/skip", csrf, row=last_call)
    assert again == [(await h.say("王姐", f"跳过 {last_call}", private=True))[0].text]
    sales = next(no for no, label in rows.items() if "播报" in label)
    status, moved = await post(client, "/console/c/1/move", csrf, row=sales, when="今天12:00")
    assert status == 200 and "12:00" in moved[0]
    status, bad = await post(client, "/console/c/1/move", csrf, row=sales, when="下辈子")
    assert "看不懂" in bad[0]
    page = await (await client.get("/console/c/1/timeline")).text()
    assert "已跳过" in page


async def test_every_form_input_is_checked_on_the_server(h: Harness, client: TestClient) -> None:
    csrf = await log_in(h, client, "王姐")
    bad = [
        ("paid", {"no": "abc"}, "跟团号要写数字"),
        ("paid", {"no": "0"}, "跟团号要写数字"),
        ("paid", {"no": "1" * 12}, "跟团号要写数字"),
        ("paid", {}, "跟团号要写数字"),
        ("verify", {"code": "12"}, "取货码是4到8位数字"),
        ("verify", {"code": "12345678901"}, "取货码是4到8位数字"),
        ("verify", {"code": "１２３４"}, "取货码是4到8位数字"),
        ("cancel", {"no": "1", "item": "1", "reason": ""}, "请写取消原因"),
        ("cancel", {"no": "1", "item": "1", "reason": "缺" * 41}, "请写取消原因"),
        ("cancel", {"no": "1", "item": "1", "reason": "缺货\n@所有人"}, "请写取消原因"),
        ("cancel", {"no": "1", "item": "x", "reason": "缺货"}, "请选要取消的商品"),
        ("skip", {"row": "0"}, "时间线序号不对"),
        ("move", {"row": "1", "when": ""}, "请写新的时间"),
        ("move", {"row": "1", "when": "9" * 31}, "请写新的时间"),
        ("decide", {"number": "1", "decision": "maybe"}, "请选确认或拒绝"),
        ("decide", {"number": "1", "decision": "confirm", "member": "名" * 31}, "名字最多30个字"),
    ]
    for action, form, hint in bad:
        status, messages = await post(client, f"/console/c/1/{action}", csrf, **form)
        assert status == 400 and hint in messages[0], (action, form, messages)
    assert (await client.post("/console/c/1/nothing", data={"csrf": csrf})).status == 404
    for query in ("q=" + "搜" * 41, "show=everything", "offset=-1", "upto=0"):
        response = await client.get(f"/console/c/1?{query}")
        assert response.status == 400, query
    assert (await client.get("/console/members?view=nobody")).status == 400
    assert (await client.get("/console/c/1/download/secrets.xlsx")).status == 404
    assert (await client.get("/console/c/1/download/orders.exe")).status == 404
    assert orders_of(h, 1) == {1: (False, False), 2: (False, False), 3: (False, False)}
    assert units_sold(h) == {"苹果": 3, "香蕉": 3, "白菜": 3} and h.new() == []


async def test_search_and_filters(h: Harness, client: TestClient) -> None:
    csrf = await log_in(h, client, "王姐")
    await post(client, "/console/c/1/paid", csrf, no="1")

    async def found(query: str) -> list[str]:
        html = await (await client.get(f"/console/c/1?part=1&{query}")).text()
        return re.findall(r'data-testid="order" data-no="(\d+)"', html)

    assert await found("") == ["3", "2", "1"]  # newest first
    assert await found("q=李") == ["1"]
    assert await found("q=602") == ["1"]  # room
    assert await found("q=2") == ["2", "1"]  # 跟团号 2, and 李阿姨's room 3-602
    assert await found("q=%232号") == ["2"]  # written as a 跟团号: only that
    assert await found(f"q={code_of(h, 1, 3)}") == ["3"]  # pickup code
    assert await found("q=%25") == []  # LIKE's wildcards are literal
    assert await found("show=paid") == ["1"]
    assert await found("show=unpaid") == ["3", "2"]
    assert await found("show=collected") == []
    assert await found("show=unpaid&q=张") == ["2"]
    html = await (await client.get("/console/c/1")).text()
    assert re.search(r'chip-unpaid"[^>]*>未付款 <b>2</b>', html)


async def test_downloads_are_the_leader_s_export_files(h: Harness, client: TestClient) -> None:
    await log_in(h, client, "王姐")
    response = await client.get("/console/c/1/download/orders.xlsx")
    assert response.status == 200
    named = "filename*=UTF-8''%E8%AE%A2%E5%8D%95%E6%98%8E%E7%BB%86-1.xlsx"  # 订单明细-1.xlsx
    assert named in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(await response.read())).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row]
    assert "李阿姨" in cells and "跟团号" in cells
    for kind in ("supplier", "sorting", "orders"):
        response = await client.get(f"/console/c/1/download/{kind}.csv")
        text = (await response.read()).decode("utf-8-sig")
        assert response.status == 200 and list(csv.reader(io.StringIO(text))), kind
        assert ("苹果" in text) and ("白菜" not in text)


async def test_figures_count_what_the_store_holds(h: Harness, client: TestClient) -> None:
    csrf = await log_in(h, client, "王姐")
    await post(client, "/console/c/1/paid", csrf, no="1")
    f = await (await client.get("/console/c/1/figures.json")).json()
    assert (f["orders"], f["buyers"], f["sales"]) == (3, 3, 45.0)  # 苹果3斤 ¥30 + 香蕉3把 ¥15
    assert f["items"] == {"labels": ["苹果", "香蕉"], "sales": [30.0, 15.0], "units": ["3斤", "3把"]}
    assert f["groups"] == {"labels": ["幸福里1群"], "sales": [45.0], "buyers": [3]}
    assert f["paid"] == {"counts": [1, 2], "amounts": [20.0, 25.0]}
    assert f["collected"] == [0, 3] and sum(f["series"]["orders"]) == 3 and f["series"]["sales"][-1] == 45.0


async def test_logging_out_ends_the_session(h: Harness, client: TestClient) -> None:
    csrf = await log_in(h, client, "王姐")
    response = await client.post("/console/logout", data={"csrf": csrf}, headers={"Origin": origin(client)})
    assert response.status == 200 and "已退出" in await response.text()
    assert (await client.get("/console/")).status == 401
    csrf = await log_in(h, client, "王姐")
    assert csrf_of(await (await client.get("/console/c/1")).text()) == csrf
    await h.say("王姐", "退出后台", private=True)
    assert (await client.get("/console/c/1")).status == 401


async def test_beside_wechat_the_console_shares_the_login_page_s_server(h: Harness) -> None:
    """With the WeChat transport there is no web chat: the console is mounted on the local
    page that shows the login QR code, at the same host and port."""

    class NoGateway:  # the login page only reads the transport's login state, not asked here
        login = None

    console = Console(h.settings)
    console.attach(h.app)
    page = LoginPage(NoGateway(), port=0, setup_routes=partial(mount, console))  # type: ignore[arg-type]
    await page.start()
    base = page.url.rstrip("/")
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(base + "/console/") as response:
                assert response.status == 401
            path = await link_path(h, "王姐")
            async with session.post(base + path, headers={"Origin": base}) as response:
                assert response.status == 200 and "水果团" in await response.text()
    finally:
        await page.stop()


async def test_a_stranger_s_domain_name_is_refused(h: Harness, client: TestClient) -> None:
    """DNS rebinding: a page under evil.example resolving to this server is not this server."""
    path = await link_path(h, "王姐")
    for target in (path, "/console/", "/console/static/console.js"):
        response = await client.get(target, headers={"Host": "evil.example"})
        assert response.status == 403, target
    assert (await client.get(path, headers={"Host": "localhost"})).status == 200


async def test_without_script_a_form_comes_back_to_its_page_with_the_answer(
    h: Harness, client: TestClient
) -> None:
    csrf = await log_in(h, client, "王姐")
    back = "/console/c/1?show=unpaid"
    response = await client.post(
        "/console/c/1/paid",
        data={"csrf": csrf, "no": "1", "back": back},
        headers={"Origin": origin(client)},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == back
    page = await (await client.get(back)).text()
    assert 'data-testid="flash"' in page and "已收款：1号" in page
    assert 'data-testid="flash"' not in await (await client.get(back)).text()  # said once
    for elsewhere in ("https://evil.example/x", "//evil.example", "/console//evil", "/other"):
        response = await client.post(
            "/console/c/1/paid",
            data={"csrf": csrf, "no": "1", "back": elsewhere},
            headers={"Origin": origin(client)},
            allow_redirects=False,
        )
        assert response.headers["Location"] == "/console/c/1", elsewhere


async def test_members_read_as_the_会员_report(h: Harness, client: TestClient) -> None:
    await log_in(h, client, "王姐")
    page = await (await client.get("/console/members")).text()
    assert "共 1 个团，3 人下过单" in page
    names = re.findall(r'data-testid="member">\s*<div class="row"><strong>([^<]+)', page)
    assert names == ["李阿姨", "赵姐", "张叔"]  # biggest spend first (¥20, ¥20, ¥5), then by name
    assert "孙奶奶" not in page  # 周老师's group
    for view in ("repeat", "vip", "silent30", "silent90"):
        response = await client.get(f"/console/members?view={view}")
        assert response.status == 200 and "赵姐" not in await response.text(), view  # one campaign, today
