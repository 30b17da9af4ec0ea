"""Members ordering in the group: the happy paths and every kind of bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.testing import Harness, order_book, units_sold

OPEN = """开团 周六水果团
苹果 12.8元/斤 原价15 库存10 限购5
香蕉 9.9元/把 库存50
截团 今天18:00
自提 幸福里东门驿站"""


@pytest.fixture
async def opened(bot: Harness) -> Harness:
    out = await bot.say("王姐", OPEN)
    assert [m.template for m in out] == ["campaign/announcement", "campaign/jielong_post"]
    return bot


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("苹果x2", {"苹果": 2}),
        ("苹果+2", {"苹果": 2}),
        ("苹果 2", {"苹果": 2}),
        ("苹果×2 香蕉1", {"苹果": 2, "香蕉": 1}),
        ("要两斤苹果", {"苹果": 2}),
        ("苹果２斤", {"苹果": 2}),
        ("3栋1202 苹果3斤 不要太熟的", {"苹果": 3}),
    ],
)
async def test_order_forms(opened: Harness, text: str, expected: dict[str, int]) -> None:
    out = await opened.say("李阿姨", text)
    assert [m.template for m in out] == ["orders/placed"]
    assert "跟团号1" in out[0].text and out[0].mentions == (opened.member_id("李阿姨"),)
    assert order_book(opened) == {"李阿姨": expected}


async def test_plus_one_in_single_item_campaign(bot: Harness) -> None:
    await bot.say("王姐", "开团 草莓团\n草莓 39.9元/盒 库存20")
    out = await bot.say("张叔", "+1")
    assert "跟团号1" in out[0].text and "草莓1盒" in out[0].text
    assert order_book(bot) == {"张叔": {"草莓": 1}}


async def test_orders_add_up_and_confirmation_shows_running_total(opened: Harness) -> None:
    await opened.say("李阿姨", "苹果x2")
    out = await opened.say("李阿姨", "香蕉1")
    assert "苹果2斤 香蕉1把" in out[0].text and "¥35.50" in out[0].text
    assert units_sold(opened) == {"苹果": 2, "香蕉": 1}


async def test_change_cancel_and_my_orders(opened: Harness) -> None:
    await opened.say("李阿姨", "苹果x2 香蕉1")
    out = await opened.say("李阿姨", "改 苹果 4")
    assert "苹果 2→4斤 香蕉1把" in out[0].text  # the result, not just the change
    out = await opened.say("李阿姨", "取消 香蕉")
    assert out[0].template == "orders/placed" and "已去掉 香蕉 1→0把" in out[0].text
    assert order_book(opened) == {"李阿姨": {"苹果": 4}}
    out = await opened.say("李阿姨", "我的订单")
    assert out[0].template == "orders/mine" and "苹果4斤" in out[0].text and "未付款" in out[0].text
    out = await opened.say("李阿姨", "取消")
    assert order_book(opened) == {} and units_sold(opened) == {"苹果": 0, "香蕉": 0}
    # Ordering again keeps the member's follow number.
    out = await opened.say("李阿姨", "香蕉2")
    assert "跟团号1" in out[0].text


async def test_limit_reply_says_what_is_still_possible(opened: Harness) -> None:
    await opened.say("李阿姨", "苹果3")
    out = await opened.say("李阿姨", "苹果+3")
    assert "苹果每人限购5斤，你已订3斤，还能订2斤" in out[0].text
    assert order_book(opened) == {"李阿姨": {"苹果": 3}}


async def test_stock_runs_out_with_a_truthful_reply(opened: Harness) -> None:
    await opened.say("李阿姨", "苹果5")
    await opened.say("张叔", "苹果4")
    out = await opened.say("赵姐", "苹果3")
    assert "苹果只剩1斤了" in out[0].text
    await opened.say("赵姐", "苹果1")
    out = await opened.say("刘哥", "苹果1")
    assert "苹果已经抢光了" in out[0].text
    assert units_sold(opened)["苹果"] == 10 and "刘哥" not in order_book(opened)


async def test_unknown_item_names_what_is_on_sale(opened: Harness) -> None:
    out = await opened.say("张叔", "西瓜2")
    assert "本团没有「西瓜」" in out[0].text and "苹果、香蕉" in out[0].text
    out = await opened.say("张叔", "苹菓2")  # close spelling is understood
    assert order_book(opened) == {"张叔": {"苹果": 2}}


@pytest.mark.parametrize(
    "text", ["苹果甜吗？", "今天几点到货", "好的谢谢团长", "改天再说", "我的天", "😀😀", "取消了吗"]
)
async def test_chit_chat_gets_no_reply(opened: Harness, text: str) -> None:
    assert await opened.say("李阿姨", text) == []
    assert order_book(opened) == {}


async def test_before_open_and_after_close(bot: Harness) -> None:
    out = await bot.say("王姐", "开团 晚间团\n苹果 10元/斤\n开始 今天20:00\n截团 今天22:00")
    assert out[0].template == "campaign/scheduled"
    out = await bot.say("李阿姨", "苹果2")
    assert out[0].template == "orders/not_open" and "20:00" in out[0].text
    out = await bot.advance(timedelta(hours=11))  # 20:00 opens (reminders come before it)
    assert "campaign/announcement" in [m.template for m in out]
    await bot.say("李阿姨", "苹果2")
    out = await bot.advance(timedelta(hours=2))  # 22:00 closes
    assert "campaign/closed" in [m.template for m in out]
    out = await bot.say("张叔", "苹果1")
    assert out[0].template == "orders/closed"
    assert order_book(bot) == {"李阿姨": {"苹果": 2}}


async def test_duplicate_delivery_counts_once(opened: Harness) -> None:
    await opened.say("李阿姨", "苹果2", message_id="wx-1")
    assert await opened.say("李阿姨", "苹果2", message_id="wx-1") == []
    opened.app._seen.clear()  # a restart forgets the in-memory ids; the store still knows
    assert await opened.say("李阿姨", "苹果2", message_id="wx-1") == []
    assert order_book(opened) == {"李阿姨": {"苹果": 2}}


async def test_full_width_and_mentions_are_normalised(opened: Harness) -> None:
    out = await opened.say("李阿姨", "@团长助手 苹果ｘ２")
    assert order_book(opened) == {"李阿姨": {"苹果": 2}} and out[0].template == "orders/placed"
