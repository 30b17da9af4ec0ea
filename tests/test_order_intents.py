"""Orders as members change them in the group, end to end: set, reduce, remove, replace, look up,
halves, questions instead of guesses, re-sends that are not adds, and every confirmation showing
the result (on SQLite and PostgreSQL)."""

from __future__ import annotations

import random
import string
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.testing import Harness, order_book, units_sold

OPEN = """开团 周六水果团
苹果 12.8元/斤 库存100 限购10
香蕉 9.9元/把 库存50
五花肉 28.5元/斤 库存20 限购3
截团 今天18:00"""


@pytest.fixture
async def opened(bot: Harness) -> Harness:
    await bot.say("王姐", OPEN)
    return bot


async def test_a_change_is_a_change_and_shows_the_result(opened: Harness) -> None:
    await opened.say("李阿姨", "橙子2")  # not on sale: a question, nothing ordered
    await opened.say("李阿姨", "苹果2斤")
    out = await opened.say("李阿姨", "苹果改成3")
    assert out[0].text == "@李** ✅ 跟团号1：苹果 2→3斤，合计 ¥38.40"
    out = await opened.say("李阿姨", "只要1斤")
    assert "苹果 3→1斤" in out[0].text
    await opened.say("李阿姨", "苹果再加一斤")
    await opened.say("李阿姨", "香蕉1把")
    out = await opened.say("李阿姨", "苹果减一斤")
    assert "苹果 2→1斤 香蕉1把" in out[0].text
    assert order_book(opened) == {"李阿姨": {"苹果": 1, "香蕉": 1}}
    assert units_sold(opened) == {"苹果": 1, "香蕉": 1, "五花肉": 0}


async def test_remove_and_replace(opened: Harness) -> None:
    await opened.say("张叔", "苹果2斤 香蕉1把")
    out = await opened.say("张叔", "香蕉不要了")
    assert "已去掉 香蕉 1→0把" in out[0].text and order_book(opened) == {"张叔": {"苹果": 2}}
    out = await opened.say("张叔", "苹果不要了，换成3把香蕉")
    assert order_book(opened) == {"张叔": {"香蕉": 3}} and "苹果 2→0斤" in out[0].text
    assert units_sold(opened) == {"苹果": 0, "香蕉": 3, "五花肉": 0}
    out = await opened.say("张叔", "不要了")
    assert order_book(opened) == {} and units_sold(opened)["香蕉"] == 0


async def test_a_plain_quantity_on_a_line_she_has_is_asked_never_added(opened: Harness) -> None:
    await opened.say("赵姐", "苹果2斤")
    await opened.advance(timedelta(minutes=30))
    out = await opened.say("赵姐", "苹果3斤")
    assert "你已订苹果2斤，是再加3斤吗" in out[0].text and "苹果+3" in out[0].text
    assert order_book(opened) == {"赵姐": {"苹果": 2}}
    out = await opened.say("赵姐", "苹果2斤")  # the same again: already recorded
    assert "已经记上了" in out[0].text and order_book(opened) == {"赵姐": {"苹果": 2}}


async def test_a_resend_within_minutes_is_not_an_add(opened: Harness) -> None:
    """20 members re-send 苹果+1 ten seconds later: nobody is doubled, each sees her order."""
    members = ["李阿姨", "张叔", "赵姐", "刘哥"]
    for who in members:
        await opened.say(who, "苹果+1")
    await opened.advance(timedelta(seconds=10))
    for who in members:
        out = await opened.say(who, "苹果+1")
        assert out[0].template == "orders/repeat" and "苹果1斤" in out[0].text
    assert order_book(opened) == {who: {"苹果": 1} for who in members}
    await opened.advance(timedelta(minutes=6))
    out = await opened.say("李阿姨", "苹果+1")  # much later, written as an add: an add
    assert "苹果 1→2斤" in out[0].text
    out = await opened.say("张叔", "再来一斤")
    assert "苹果 1→2斤" in out[0].text
    assert units_sold(opened)["苹果"] == 6


async def test_halves_for_goods_sold_by_weight(opened: Harness) -> None:
    out = await opened.say("刘哥", "五花肉一斤半")
    assert out[0].text == "@刘* ✅ 跟团号1：五花肉1.5斤，合计 ¥42.75"
    out = await opened.say("刘哥", "五花肉再加半斤")
    assert "五花肉 1.5→2斤，合计 ¥57.00" in out[0].text
    out = await opened.say("刘哥", "五花肉再来1.5斤")
    assert "限购3斤，你已订2斤，还能订1斤" in out[0].text
    out = await opened.say("刘哥", "香蕉半把")
    assert "香蕉按把卖，只能订整把" in out[0].text
    assert order_book(opened) == {"刘哥": {"五花肉": 2}}
    await opened.say("赵姐", "五花肉0.5斤")
    assert units_sold(opened)["五花肉"] == Decimal("2.5")


async def test_bare_quantities_ask_which(opened: Harness) -> None:
    out = await opened.say("小陈", "+1")
    assert out[0].text.endswith("要哪个？苹果、香蕉、五花肉，回复「苹果1」就行。")
    out = await opened.say("小陈", "同上")
    assert "要哪个" in out[0].text
    assert order_book(opened) == {}


async def test_lookup_in_other_words(opened: Harness) -> None:
    await opened.say("李阿姨", "帮我妈订2斤苹果")
    for text in ("我订了啥", "查一下我的订单", "我的订单呢？", "我订上了吗"):
        out = await opened.say("李阿姨", text)
        assert out[0].template == "orders/mine" and "苹果2斤" in out[0].text, text
    assert order_book(opened) == {"李阿姨": {"苹果": 2}}


async def test_not_orders_stay_silent(opened: Harness) -> None:
    await opened.say("李阿姨", "苹果2斤")
    for text in (
        "苹果八块一斤有点贵",
        "39一箱有点贵",
        "一斤苹果有几个",
        "苹果甜吗？",
        "馄饨（40只装）29.9元",
        "1. 王姐\n2. 李阿姨",
        "今天天气不错",
    ):
        assert await opened.say("李阿姨", text) == [], text
    assert order_book(opened) == {"李阿姨": {"苹果": 2}}


async def test_commands_read_by_the_order_grammar(opened: Harness) -> None:
    await opened.say("李阿姨", "苹果2斤 香蕉1把")
    await opened.say("李阿姨", "改 苹果 0")
    assert order_book(opened) == {"李阿姨": {"香蕉": 1}}
    out = await opened.say("李阿姨", "取消 苹果")
    assert "你没有订苹果" in out[0].text
    assert await opened.say("李阿姨", "改天再说") == []
    assert await opened.say("李阿姨", "取消了吗") == []
    await opened.say("李阿姨", "取消")
    out = await opened.say("李阿姨", "取消")
    assert out[0].template == "orders/none"


async def test_notes_helpers_and_rooms_reach_the_order(opened: Harness) -> None:
    from sqlmodel import Session, select

    from bot.store.models import Order

    await opened.say("张叔", "团长，8-602 帮我妈订2斤苹果 不要太熟，谢谢")
    with Session(opened.app.engine) as s:
        order = s.exec(select(Order)).one()
        assert (order.room, order.note) == ("8-602", "帮我妈 不要太熟")


FUZZ = [
    "",
    " " * 50,
    "苹果" * 5000,
    "🍎" * 10_000,
    "\u200b\u200c\u200d苹\u200b果\u200d2斤",
    "\x00\x01\x02\x7f苹果2",
    "\u202e2果苹",
    "＋１" * 300,
    "1." * 5000,
    "半" * 100,
    "改" * 100,
    "不要" * 100,
    "换成" * 50,
    "我的订单" * 50,
    "x" * 10_000,
]


@pytest.mark.parametrize("text", FUZZ, ids=[f"fuzz{i}" for i in range(len(FUZZ))])
async def test_hostile_text_never_raises_never_orders(opened: Harness, text: str) -> None:
    await opened.say("李阿姨", text)
    assert set(order_book(opened)) <= {"李阿姨"}
    for item, qty in order_book(opened).get("李阿姨", {}).items():
        assert qty <= 10, item


async def test_random_text_never_raises_and_gets_no_reply(opened: Harness) -> None:
    rng = random.Random(18)
    noise = (
        string.ascii_letters
        + string.punctuation
        + " \t\n的是在人有我他这中大为上个国和地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里"
        + "用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从"
        + "\u200b\u200d\u2060\ufeff\x00\x07🍎🌸😀"
    )
    for _ in range(200):
        text = "".join(rng.choice(noise) for _ in range(rng.randint(0, 80)))
        assert await opened.say("刘哥", text) == [], text
    assert order_book(opened) == {}


async def test_random_order_words_never_raise_nor_break_limits(opened: Harness) -> None:
    rng = random.Random(7)
    words = ["苹果", "香蕉", "五花肉", "改成", "不要了", "换成", "减", "少", "再来", "半", "斤", "把", "一",
             "两", "3", "0.5", "+", "-", "x", "【", "】", "？", "，", " ", "我的订单", "同上", "+1",
             "8-602", "🍎"]  # fmt: skip
    for _ in range(200):
        await opened.say("刘哥", "".join(rng.choice(words) for _ in range(rng.randint(1, 8))))
    book = order_book(opened).get("刘哥", {})
    assert book.get("苹果", 0) <= 10 and book.get("五花肉", 0) <= 3
    assert units_sold(opened) == {item: book.get(item, 0) for item in ("苹果", "香蕉", "五花肉")}
