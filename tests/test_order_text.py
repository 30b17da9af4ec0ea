"""The order grammar: realistic member lines, chit-chat that must stay silent, rooms and numerals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.groupbuy.intent import decide
from bot.groupbuy.numerals import parse_int, parse_quantity
from bot.groupbuy.order_text import CatalogueIndex, CatalogueItem, ParsedOrder, parse_order_text
from bot.groupbuy.rooms import parse_room, room_sort_key

CATALOGUE = (
    CatalogueItem(1, "苹果", aliases=("红富士",), unit="斤"),
    CatalogueItem(2, "香蕉", unit="把"),
    CatalogueItem(3, "三文鱼", unit="份"),
    CatalogueItem(4, "猕猴桃", unit="个"),
    CatalogueItem(5, "鸡蛋", aliases=("土鸡蛋",), unit="盒"),
    CatalogueItem(6, "百香果", unit="斤"),
    CatalogueItem(7, "Cheese Cake", aliases=("芝士蛋糕",), unit="个"),
)
NAMES = {item.id: item.name for item in CATALOGUE}
SINGLE = (CatalogueItem(9, "西瓜", unit="个"),)


def summary(parsed: ParsedOrder | None) -> dict | None:
    """Only what a case specifies is compared; everything else must be empty."""
    if parsed is None:
        return None
    out: dict = {}
    if parsed.parts:
        out["parts"] = {NAMES.get(p.item_id, p.item_id): p.quantity for p in parsed.parts}
        ops = {NAMES.get(p.item_id, p.item_id): p.op.value for p in parsed.parts if p.op != "order"}
        if ops:
            out["ops"] = ops
    if parsed.unknown:
        out["unknown"] = {u.name: u.suggestion for u in parsed.unknown}
    if parsed.unreadable:
        out["unreadable"] = [str(u) for u in parsed.unreadable]
    if parsed.note:
        out["note"] = parsed.note
    if parsed.room:
        out["room"] = parsed.room
    return out


CASES = [
    # plain name + quantity forms
    ("苹果+2", {"parts": {"苹果": 2}, "ops": {"苹果": "add"}}),
    ("苹果 2", {"parts": {"苹果": 2}}),
    ("苹果x2", {"parts": {"苹果": 2}}),
    ("苹果×2", {"parts": {"苹果": 2}}),
    ("苹果*2", {"parts": {"苹果": 2}}),
    ("苹果X2", {"parts": {"苹果": 2}}),
    ("苹果 x 3", {"parts": {"苹果": 3}}),
    ("苹果【12】", {"parts": {"苹果": 12}}),
    ("苹果[3]", {"parts": {"苹果": 3}}),
    ("苹果（2斤）", {"parts": {"苹果": 2}}),
    ("苹果2斤", {"parts": {"苹果": 2}}),
    ("苹果两斤", {"parts": {"苹果": 2}}),
    ("苹果俩", {"parts": {"苹果": 2}}),
    ("苹果十二斤", {"parts": {"苹果": 12}}),
    ("苹果二十斤", {"parts": {"苹果": 20}}),
    # a unit that is not the item's: asked, never guessed (2箱 is not 2斤)
    ("苹果二十个", {"unreadable": ["苹果二十个"]}),
    ("苹果2箱", {"unreadable": ["苹果2箱"]}),
    ("苹果1公斤", {"parts": {"苹果": 2}}),
    ("香蕉1把", {"parts": {"香蕉": 1}}),
    ("鸡蛋3盒", {"parts": {"鸡蛋": 3}}),
    ("鸡蛋 2份", {"parts": {"鸡蛋": 2}}),
    ("猕猴桃5颗", {"parts": {"猕猴桃": 5}}),
    # several items in one line
    ("苹果x2 香蕉1", {"parts": {"苹果": 2, "香蕉": 1}}),
    ("苹果2斤 香蕉1把", {"parts": {"苹果": 2, "香蕉": 1}}),
    ("苹果2斤香蕉1把", {"parts": {"苹果": 2, "香蕉": 1}}),
    ("苹果两斤、香蕉一把", {"parts": {"苹果": 2, "香蕉": 1}}),
    ("苹果2斤，香蕉3把，鸡蛋1盒", {"parts": {"苹果": 2, "香蕉": 3, "鸡蛋": 1}}),
    ("苹果2斤 苹果3斤", {"parts": {"苹果": 5}}),
    ("苹果百香果各1斤", {"parts": {"苹果": 1, "百香果": 1}}),
    ("苹果香蕉各1斤", {"parts": {"苹果": 1}, "unreadable": ["香蕉各1斤"]}),
    # quantity before the name, with or without a verb
    ("要两斤苹果", {"parts": {"苹果": 2}}),
    ("来三份香蕉", {"parts": {"香蕉": 3}}),
    ("我要一盒鸡蛋", {"parts": {"鸡蛋": 1}}),
    ("买2斤百香果", {"parts": {"百香果": 2}}),
    ("拍3个猕猴桃", {"parts": {"猕猴桃": 3}}),
    ("两斤苹果 三斤百香果", {"parts": {"苹果": 2, "百香果": 3}}),
    ("要苹果", {"parts": {"苹果": 1}}),
    ("订苹果和香蕉", {"parts": {"苹果": 1, "香蕉": 1}}),
    ("苹果2斤，再来一份香蕉", {"parts": {"苹果": 2, "香蕉": 1}, "ops": {"香蕉": "add"}}),
    # names containing numerals, aliases, containment, Latin names, variant characters, typos
    ("三文鱼2份", {"parts": {"三文鱼": 2}}),
    ("百香果 3", {"parts": {"百香果": 3}}),
    ("红富士3斤", {"parts": {"苹果": 3}}),
    ("红富士苹果3斤", {"parts": {"苹果": 3}}),
    ("土鸡蛋2盒", {"parts": {"鸡蛋": 2}}),
    ("cheese cake x2", {"parts": {"Cheese Cake": 2}}),
    ("芝士蛋糕1个", {"parts": {"Cheese Cake": 1}}),
    ("苹菓2斤", {"parts": {"苹果": 2}}),
    ("蘋果2斤", {"parts": {"苹果": 2}}),
    ("弥猴桃3个", {"parts": {"猕猴桃": 3}}),
    ("大香蕉2把", {"parts": {"香蕉": 2}}),
    # unknown goods: reported with the closest name when there is one
    ("香瓜2个", {"unknown": {"香瓜": "香蕉"}}),
    ("榴莲2个", {"unknown": {"榴莲": None}}),
    ("苹果2斤 榴莲1个", {"parts": {"苹果": 2}, "unknown": {"榴莲": None}}),
    # halves for goods sold by weight, exact; other goods stay whole
    ("苹果半斤", {"parts": {"苹果": Decimal("0.5")}}),
    ("苹果0.5", {"parts": {"苹果": Decimal("0.5")}}),
    ("苹果1.5斤", {"parts": {"苹果": Decimal("1.5")}}),
    ("苹果两斤半", {"parts": {"苹果": Decimal("2.5")}}),
    ("苹果两斤半斤", {"unreadable": ["苹果两斤半斤"]}),
    ("苹果1斤2两", {"unreadable": ["苹果1斤2两"]}),
    ("苹果1斤5两", {"parts": {"苹果": Decimal("1.5")}}),
    ("苹果0", {"unreadable": ["苹果0"]}),
    ("苹果-1", {"parts": {"苹果": 1}, "ops": {"苹果": "reduce"}}),
    ("苹果2斤 香蕉半把", {"parts": {"苹果": 2}, "unreadable": ["香蕉半把"]}),
    ("猕猴桃1.5个", {"unreadable": ["猕猴桃1.5个"]}),
    # rooms and notes
    ("3栋1202 苹果2斤", {"parts": {"苹果": 2}, "room": "3-1202"}),
    ("3-1202 苹果两斤 不要太熟", {"parts": {"苹果": 2}, "room": "3-1202", "note": "不要太熟"}),
    ("苹果2斤 3号楼1202", {"parts": {"苹果": 2}, "room": "3-1202"}),
    ("295-909 香蕉6把", {"parts": {"香蕉": 6}, "room": "295-909"}),
    ("苹果2斤 晚点取", {"parts": {"苹果": 2}, "note": "晚点取"}),
    ("苹果2斤，几点到？", {"parts": {"苹果": 2}}),  # a question is not a packing note
    ("三文鱼1份 不要辣", {"parts": {"三文鱼": 1}, "note": "不要辣"}),
    ("苹果２斤　香蕉１把", {"parts": {"苹果": 2, "香蕉": 1}}),
    # chit-chat: no order, no reply
    ("苹果甜吗？", None),
    ("苹果甜吗", None),
    ("今天几点到", None),
    ("好的", None),
    ("谢谢团长", None),
    ("收到", None),
    ("👍👍👍", None),
    ("[强][强]", None),
    ("还剩3个吗", None),
    ("还剩3个", None),
    ("发了2个红包", None),
    ("下午3点取", None),
    ("周一取苹果", None),
    ("苹果真好吃", None),
    ("来了来了", None),
    ("要不要再开一团", None),
    ("我家3口人", None),
    ("等我5分钟", None),
    ("+1", {"parts": {None: 1}}),  # several items on sale: +1 of what? (asked)
    ("3", None),
    ("13812345678", None),
    ("3栋1202", None),
    ("昨天的百香果太好吃了，明天还有吗？", None),
    ("今天天气不错，大家出门记得带伞，下午可能有雨，收快递的注意一下" * 3, None),
    ("", None),
    ("   ", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:20] or "empty" for c in CASES])
def test_realistic_lines(text: str, expected: dict | None) -> None:
    assert summary(parse_order_text(text, CATALOGUE)) == expected


def test_at_least_sixty_realistic_lines() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+1", {"parts": {None: 1}}),
        ("+2", {"parts": {None: 2}}),
        ("x3", {"parts": {None: 3}}),
        ("2个", {"parts": {None: 2}}),
        ("要3个", {"parts": {None: 3}}),
        ("295-909 6份", {"parts": {None: 6}, "room": "295-909"}),
        ("3", None),  # a bare number is not enough even with one item
        ("+1 +1", None),
        ("半个", {"unreadable": ["半个"]}),
    ],
)
def test_single_item_catalogue_accepts_bare_quantities(text: str, expected: dict | None) -> None:
    """The grammar leaves the item open; ``decide`` takes the campaign's only item."""
    parsed = parse_order_text(text, SINGLE)
    assert summary(parsed) == expected
    if parsed is not None and parsed.parts:
        assert list(decide(parsed, {}, CatalogueIndex(SINGLE)).targets) == [9]


def test_parts_keep_raw_text_and_sum_duplicates() -> None:
    parsed = parse_order_text("苹果2斤 香蕉1把 苹果x3", CATALOGUE)
    assert parsed is not None
    by_id = {p.item_id: p for p in parsed.parts}
    assert by_id[1].quantity == 5
    assert by_id[1].raw == "苹果2斤 苹果x3"
    assert by_id[2].raw == "香蕉1把"


def test_prebuilt_index_gives_the_same_result() -> None:
    index = CatalogueIndex(CATALOGUE)
    for text, _ in CASES:
        assert parse_order_text(text, index) == parse_order_text(text, CATALOGUE)


def test_index_remembers_repeated_texts_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flash sale repeats 苹果1 hundreds of times: parsed once per index, memory bounded."""
    import bot.groupbuy.order_text as grammar

    index = CatalogueIndex(CATALOGUE)
    first = parse_order_text("苹果2斤 香蕉1", index)
    assert parse_order_text("苹果2斤 香蕉1", index) is first
    assert parse_order_text("你好", index) is None and ("你好", False) in index.parsed  # chit-chat too
    monkeypatch.setattr(grammar, "MEMO_LIMIT", 3)
    for n in range(10):
        assert summary(parse_order_text(f"苹果{n + 1}", index)) == {"parts": {"苹果": n + 1}}
        assert len(index.parsed) <= 3


def test_empty_catalogue_never_orders() -> None:
    assert parse_order_text("苹果2斤", ()) == parse_order_text("苹果2斤", [])
    parsed = parse_order_text("苹果2斤", ())
    assert parsed is not None and parsed.parts == () and parsed.unknown[0].name == "苹果"


@pytest.mark.parametrize(
    "text",
    [
        "\x00\x01苹果\x7f2斤",
        "苹果" * 10_000,
        "🍎" * 5000 + "2斤",
        "\u202e苹果2斤",
        "【【【【】】】】",
        "x" * 300,
        "+" * 50,
        "1." * 100,
        "半" * 40,
        "两" * 40,
        "苹果" + "9" * 50,
        "苹果\n" * 20,
    ],
)
def test_hostile_text_never_raises(text: str) -> None:
    parse_order_text(text, CATALOGUE)


def test_control_characters_are_ignored() -> None:
    assert summary(parse_order_text("苹\u200b果\x002斤", CATALOGUE)) == {"parts": {"苹果": 2}}


@pytest.mark.parametrize(
    ("text", "key", "rest"),
    [
        ("3栋1202 苹果2斤", "3-1202", "苹果2斤"),
        ("3-1202 苹果", "3-1202", "苹果"),
        ("295-909", "295-909", ""),
        ("3号楼1202", "3-1202", ""),
        ("3幢2单元1202室 香蕉", "3-2-1202", "香蕉"),
        ("3-2-1202 香蕉", "3-2-1202", "香蕉"),
        ("A座1202", "A-1202", ""),
        ("苹果2斤 03栋0801", "3-801", "苹果2斤"),
        ("1202室", "1202", ""),
        ("苹果2-3斤", None, "苹果2-3斤"),
        ("138-1234-5678", None, "138-1234-5678"),
        ("18:00截单", None, "18:00截单"),
    ],
)
def test_parse_room(text: str, key: str | None, rest: str) -> None:
    assert parse_room(text) == (key, rest)


def test_room_sort_key_orders_by_building_then_room() -> None:
    keys = ["12-101", "3-1202", None, "3-201", "A-101", "3-2-101", "295-909"]
    ordered = sorted(keys, key=room_sort_key)
    # parts compare left to right as numbers: building 3 before 12 before 295, letters after numbers
    assert ordered == ["3-2-101", "3-201", "3-1202", "12-101", "295-909", "A-101", None]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2", 2),
        ("两", 2),
        ("俩", 2),
        ("十二", 12),
        ("二十五", 25),
        ("一百", 100),
        ("半", None),
        ("苹果", None),
    ],
)
def test_parse_int(text: str, value: int | None) -> None:
    assert parse_int(text) == value


@pytest.mark.parametrize(
    ("number", "half", "value"), [("3", False, 3), ("0", False, None), ("2", True, None)]
)
def test_parse_quantity(number: str, half: bool, value: int | None) -> None:
    assert parse_quantity(number, half) == value
