"""Sane maxima for prices, stocks, limits and quantities, checked where the numbers are read:
a clear Chinese reply, nothing stored, and no database ever sees the number (PostgreSQL's
integer columns end at 2,147,483,647)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.store.models import Campaign
from bot.testing import Harness
from bot.testing import order_book as book

OPEN = "开团 水果团\n苹果 10元/斤 库存100\n截团 今天18:00"


def campaigns(h: Harness) -> int:
    with Session(h.app.engine) as s:
        return len(list(s.exec(select(Campaign))))


@pytest.mark.parametrize(
    ("line", "field", "most"),
    [
        ("苹果 10元/斤 库存9999999999", "库存", "1,000,000"),
        ("苹果 ¥99999999999", "价格", "100000元"),
        ("苹果 99999999999元/斤", "价格", "100000元"),
        ("苹果 10元/斤 原价99999999999", "原价", "100000元"),
        ("苹果 10元/斤 限购99999999999", "限购", "9,999"),
        ("苹果 10元/斤 限购2147483648", "限购", "9,999"),
    ],
)
async def test_an_announcement_with_a_huge_number_is_refused(
    bot: Harness, line: str, field: str, most: str
) -> None:
    out = await bot.say("王姐", f"开团 水果团\n{line}\n截团 今天18:00")
    assert [m.template for m in out] == ["campaign/announce_error"]
    assert f"「{field}」" in out[0].text and f"太大了，最多{most}" in out[0].text
    assert campaigns(bot) == 0


@pytest.mark.parametrize(
    "line",
    ["成团 99999999999人", "阶梯 苹果 满99999999999份 9", "红包雨 今天10:00 99999999999个 共50元"],
)
async def test_huge_campaign_options_are_refused(bot: Harness, line: str) -> None:
    out = await bot.say("王姐", f"{OPEN}\n{line}")
    assert [m.template for m in out] == ["campaign/announce_error"] and "太大了" in out[0].text
    assert campaigns(bot) == 0


async def test_sane_numbers_still_open(bot: Harness) -> None:
    out = await bot.say("王姐", "开团 水果团\n苹果 99999元/台 库存1000000 限购9999\n截团 今天18:00")
    assert out[0].template == "campaign/announcement"


async def test_adding_stock_beyond_the_maximum_is_refused(bot: Harness) -> None:
    await bot.say("王姐", OPEN)
    out = await bot.say("王姐", "加库存 苹果 99999999999")
    assert "库存最多1,000,000" in out[0].text
    out = await bot.say("王姐", "加库存 苹果 999950")  # 100 + 999,950 > 1,000,000
    assert "库存最多1,000,000（现在是100）" in out[0].text
    out = await bot.say("王姐", "加库存 苹果 20000")  # more than one member's quantity, fine
    assert out[0].template == "campaign/stock_added"


@pytest.mark.parametrize("text", ["苹果x99999", "苹果 x 2147483648", "苹果+99999999999"])
async def test_a_huge_quantity_gets_a_question_not_an_order(bot: Harness, text: str) -> None:
    await bot.say("王姐", OPEN)
    out = await bot.say("李阿姨", text)
    assert len(out) == 1 and "数量请写1到9999的整数" in out[0].text
    assert book(bot) == {}
