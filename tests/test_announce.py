import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import pytest

from bot.groupbuy.announce import AnnouncementError, CampaignDraft, ItemDraft, Tier, parse_announcement

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=TZ)  # a Friday morning
TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "messages"


def at(day, hour, minute=0):
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def parse(*lines: str) -> CampaignDraft:
    return parse_announcement("\n".join(lines), NOW, TZ)


def render_error(err: AnnouncementError) -> str:
    # The same settings as the bot's one environment (bot/core/render.py).
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("campaign/announce_error.j2").render(**err.template_vars()).strip()


FULL = """开团 周六水果团
苹果 12.8元/斤 原价15 库存100 限购5
香蕉 9.9元/把 库存50
阳光玫瑰(葡萄) ¥39.9/盒 不限量
开始 明天10:00
截团 明天18:00
成团 10人
自提 幸福里东门驿站
预热 明天9:00
红包雨 明天9:50 10个 共50元
提醒 关
阶梯 苹果 满30份 11.8
"""


def test_the_full_example():
    draft = parse_announcement(FULL, NOW, TZ)
    assert draft.title == "周六水果团"
    assert draft.items == (
        ItemDraft("苹果", 1280, "斤", 1500, 100, 5, (), (Tier(1180, min_units=30),)),
        ItemDraft("香蕉", 990, "把", stock=50),
        ItemDraft("阳光玫瑰", 3990, "盒", aliases=("葡萄",)),
    )
    assert (draft.opens_at, draft.closes_at) == (at(5, 10), at(5, 18))
    assert draft.min_buyers == 10
    assert draft.pickup == "幸福里东门驿站"
    assert draft.options == {
        "preheat_at": at(5, 9).isoformat(),
        "rain": {"at": at(5, 9, 50).isoformat(), "count": 10, "total_fen": 5000},
        "reminders": False,
    }
    json.dumps(draft.options)  # the options go into a JSON column as they are


ITEM_LINES = [
    ("苹果 12.8元", ItemDraft("苹果", 1280)),
    ("苹果 12.8", ItemDraft("苹果", 1280)),
    ("苹果 十二块八", ItemDraft("苹果", 1280)),
    ("苹果 12块8毛/斤", ItemDraft("苹果", 1280, "斤")),
    ("苹果12.8元/斤原价15库存100每人限购5", ItemDraft("苹果", 1280, "斤", 1500, 100, 5)),
    ("苹果 12.8元/斤 库存 100 限购 5", ItemDraft("苹果", 1280, "斤", stock=100, limit_per_member=5)),
    ("苹果 12.8元 限量50 每人限2", ItemDraft("苹果", 1280, stock=50, limit_per_member=2)),
    ("苹果 12.8 元/斤", ItemDraft("苹果", 1280, "斤")),
    ("苹果 9.9元一袋 库存一百", ItemDraft("苹果", 990, "袋", stock=100)),
    ("苹果 ¥12.8 无限", ItemDraft("苹果", 1280)),
    ("红富士 苹果 12.8元", ItemDraft("红富士 苹果", 1280)),
    ("5斤装苹果 29.9元/箱", ItemDraft("5斤装苹果", 2990, "箱")),
    ("1、苹果 12.8元", ItemDraft("苹果", 1280)),
    ("2. 香蕉 9.9", ItemDraft("香蕉", 990)),
    ("阳光玫瑰（葡萄/提子） ￥39.9/盒", ItemDraft("阳光玫瑰", 3990, "盒", aliases=("葡萄", "提子"))),
    ("阳光玫瑰 39.9 别名 葡萄、提子", ItemDraft("阳光玫瑰", 3990, aliases=("葡萄", "提子"))),
    ("苹果 12.8元 库存100份 限购5份", ItemDraft("苹果", 1280, stock=100, limit_per_member=5)),
]


@pytest.mark.parametrize(("line", "item"), ITEM_LINES)
def test_item_lines(line, item):
    assert parse("开团 水果团", line).items == (item,)


def test_title_on_its_own_line_and_a_single_item_without_stock():
    draft = parse("开团", "周六水果团", "", "苹果 12.8元")
    assert draft.title == "周六水果团"
    assert draft.items == (ItemDraft("苹果", 1280),)
    assert (draft.opens_at, draft.closes_at, draft.min_buyers, draft.pickup, draft.options) == (
        None,
        None,
        None,
        None,
        {},
    )


@pytest.mark.parametrize(
    ("lines", "attr", "expected"),
    [
        (("#开团：周末团", "苹果 12元"), "title", "周末团"),
        (("开团 A", "苹果 12元", "截团：明天18:00"), "closes_at", at(5, 18)),
        (("开团 A", "苹果 12元", "截团明天晚上六点"), "closes_at", at(5, 18)),
        (("开团 A", "苹果 12元", "开抢 周六 10点", "截止 周六 20:00"), "opens_at", at(5, 10)),
        (("开团 A", "苹果 12元", "成团10人"), "min_buyers", 10),
        (("开团 A", "苹果 12元", "成团 十人"), "min_buyers", 10),
        (("开团 A", "苹果 12元", "成团 30份"), "options", {"min_units": 30}),
        (("开团 A", "苹果 12元", "提醒 开"), "options", {"reminders": True}),
        (("开团 A", "苹果 12元", "自提幸福里东门"), "pickup", "幸福里东门"),
        (("开团 A", "自提袋 1元"), "items", (ItemDraft("自提袋", 100),)),
        (
            ("开团 A", "苹果 12元", "红包雨 10个 共50元 明天9:50"),
            "options",
            {"rain": {"at": at(5, 9, 50).isoformat(), "count": 10, "total_fen": 5000}},
        ),
        (
            ("开团 A", "苹果 12元", "红包雨：今晚八点 88.8元 二十个"),
            "options",
            {"rain": {"at": at(4, 20).isoformat(), "count": 20, "total_fen": 8880}},
        ),
    ],
)
def test_field_lines(lines, attr, expected):
    assert getattr(parse(*lines), attr) == expected


@pytest.mark.parametrize(
    ("lines", "tiers"),
    [
        (("苹果 12.8元", "阶梯 满30份 11.8"), (Tier(1180, min_units=30),)),
        (("苹果 12.8元", "阶梯 满5人 11.8"), (Tier(1180, min_buyers=5),)),
        (("苹果 12元", "阶梯 满3人 7折"), (Tier(840, min_buyers=3),)),
        (
            ("苹果 12元", "阶梯价 满50份 9元 满30份 10元", "阶梯 满3人 11"),
            (Tier(1000, min_units=30), Tier(900, min_units=50), Tier(1100, min_buyers=3)),
        ),
        (("阳光玫瑰(葡萄) 39.9", "香蕉 9.9", "阶梯 葡萄 满10份 35"), (Tier(3500, min_units=10),)),
    ],
)
def test_tiers(lines, tiers):
    draft = parse("开团 A", *lines)
    assert draft.items[0].tiers == tiers
    assert all(item.tiers == () for item in draft.items[1:])


# (lines after the header, reason, line number, data that must be there, text the reply must show)
ERRORS = [
    (("苹果 12元",), "no_header", 1, {}, "开团 周六水果团"),  # header replaced below
    (("苹果 库存100",), "bad_item", 2, {"name": "苹果"}, "苹果 12.8元/斤 库存100 限购5"),
    (("新鲜到货，欢迎抢购！",), "bad_item", 2, {}, "12.8元/斤"),
    (("¥12.8/斤",), "no_item_name", 2, {}, "苹果 12.8元/斤"),
    (("苹果 12.8元 新鲜",), "unknown_word", 2, {"word": "新鲜"}, "「新鲜」"),
    (("苹果 12.8元 库存0",), "bad_number", 2, {"field": "库存"}, "库存100"),
    (("苹果 12.8元 限购很多",), "bad_number", 2, {"field": "限购"}, "限购5"),
    (("苹果 0元",), "bad_number", 2, {"field": "价格"}, "苹果 12.8元/斤"),
    (("苹果 12.8元 原价abc",), "bad_number", 2, {"field": "原价"}, "原价15"),
    (("苹果 12元", "成团 很多人"), "bad_number", 3, {"field": "成团"}, "成团 10人"),
    (("苹果 12元", "红包雨 明天9:50 0个 共50元"), "bad_number", 3, {"field": "红包个数"}, "10个 共50元"),
    (("苹果 12.8元 原价10",), "original_below_price", 2, {"original": "10"}, "原价15"),
    (("苹果 12元", "截团 后年"), "bad_time", 3, {"field": "截团"}, "截团 明天18:00"),
    (("苹果 12元", "开始 今天8:00"), "time_in_past", 3, {"field": "开始"}, "已经过去了"),
    (("苹果 12元", "截团 周五 8:30"), None, None, {}, None),  # next Friday: fine
    (("苹果 12元", "截团 今天8:30"), "time_in_past", 3, {"when": "12月4日 08:30"}, "12月4日 08:30"),
    (("苹果 12元", "开始 明天10:00", "预热 今天8:00"), "time_in_past", 4, {"field": "预热"}, "预热 明天9:00"),
    (("苹果 12元", "红包雨 今天8:50 10个 共50元"), "time_in_past", 3, {"field": "红包雨"}, "已经过去了"),
    (("苹果 12元", "开始 明天10:00", "截团 明天9:00"), "close_before_open", 4, {}, "12月5日 10:00"),
    (("苹果 12元", "预热 明天9:00"), "preheat_without_open", 3, {}, "开始 明天10:00"),
    (("苹果 12元", "开始 明天10:00", "预热 明天11:00"), "preheat_after_open", 4, {}, "预热 明天9:00"),
    (("苹果 12元", "截团 明天18:00", "红包雨 明天19:00 5个 共10元"), "rain_after_close", 4, {}, "截团"),
    (("苹果 12元", "苹果 13元"), "duplicate_item", 3, {"first_line": 2}, "第2行"),
    (("阳光玫瑰(葡萄) 39.9", "葡萄 12元"), "duplicate_item", 3, {"name": "葡萄"}, "重名"),
    (("苹果 12元", "截团 明天18:00", "截止 明天19:00"), "duplicate_field", 4, {"field": "截团"}, "第3行"),
    (("苹果 12元", "红包雨 明天9:50 10个"), "bad_rain", 3, {"missing": "total"}, "总金额"),
    (("苹果 12元", "红包雨 明天9:50 共50元"), "bad_rain", 3, {"missing": "count"}, "红包个数"),
    (
        ("苹果 12元", "红包雨 明天9:50 10个 共5分"),
        "rain_too_many_packets",
        3,
        {"count": 10},
        "0.05元分不了10个",
    ),
    (("苹果 12元", "阶梯 便宜点"), "bad_tier", 3, {"problem": "syntax"}, "满30份 11.8"),
    (("苹果 12元", "香蕉 3元", "阶梯 满3人 11"), "bad_tier", 4, {"problem": "which_item"}, "苹果、香蕉"),
    (("苹果 12元", "香蕉 3元", "阶梯 梨 满3人 2"), "bad_tier", 4, {"problem": "unknown_item"}, "「梨」"),
    (("苹果 12元", "阶梯 满3人 12"), "bad_tier", 3, {"problem": "not_cheaper"}, "12元"),
    (("苹果 12元", "阶梯 满3人 11 满3人 10"), "bad_tier", 3, {"problem": "duplicate"}, "两次"),
    (("苹果 12元", "阶梯 满3人 10 满5人 11"), "bad_tier", 3, {"problem": "order"}, "越买越便宜"),
    (("苹果 12元", "提醒 也许"), "bad_switch", 3, {"value": "也许"}, "提醒 关"),
    (("苹果 12元", "自提："), "empty_value", 3, {"field": "自提"}, "自提 幸福里东门驿站"),
    (("开始 明天10:00",), "no_items", None, {}, "苹果 12.8元/斤"),
]


@pytest.mark.parametrize(("lines", "reason", "line_no", "data", "shown"), ERRORS)
def test_errors_point_at_the_line_and_show_a_good_one(lines, reason, line_no, data, shown):
    header = "今天团购" if reason == "no_header" else "开团 周六水果团"
    text = "\n".join((header, *lines))
    if reason is None:
        parse_announcement(text, NOW, TZ)
        return
    with pytest.raises(AnnouncementError) as caught:
        parse_announcement(text, NOW, TZ)
    err = caught.value
    assert (err.reason, err.line_no) == (reason, line_no)
    assert data.items() <= err.data.items()
    reply = render_error(err)
    if line_no is not None:
        assert f"第{line_no}行「{text.splitlines()[line_no - 1].strip()}」" in reply
    assert shown in reply
    assert "看不懂，请对照格式修改" not in reply  # every reason has its own explanation
    assert reply.endswith("\n改好后把整段开团公告重新发一次即可。")


@pytest.mark.parametrize(
    ("text", "reason", "line_no"),
    [
        ("", "no_header", None),
        ("\n \n", "no_header", None),
        ("开团", "no_title", 1),
        ("开团 \n苹果 12元", "no_title", 1),
        ("开团\n开始 明天10:00\n苹果 12元", "no_title", 1),
        ("开团 A", "no_items", None),
    ],
)
def test_header_errors(text, reason, line_no):
    with pytest.raises(AnnouncementError) as caught:
        parse_announcement(text, NOW, TZ)
    assert (caught.value.reason, caught.value.line_no) == (reason, line_no)
    assert "开团" in render_error(caught.value)


def test_the_error_names_the_line_as_the_leader_wrote_it():
    with pytest.raises(AnnouncementError) as caught:
        parse_announcement("开团 A\n\n  苹果　库存１００  \n", NOW, TZ)
    err = caught.value
    assert (err.line_no, err.line) == (3, "苹果　库存１００")
    assert render_error(err).startswith(
        "第3行「苹果　库存１００」没有价格，请写成：苹果 12.8元/斤 库存100 限购5"
    )
