import pytest

from bot.groupbuy.money import parse_price, parse_price_with_unit, scan_price, yuan

PRICES = [
    ("12.8元", 1280),
    ("12.8元/斤", 1280),
    ("¥12.8", 1280),
    ("￥12.8", 1280),
    ("¥ 39.9", 3990),
    ("12块8", 1280),
    ("12块8毛", 1280),
    ("12元5角", 1250),
    ("12块8毛5", 1285),
    ("12块85", 1285),
    ("十二块八", 1280),
    ("十二点八元", 1280),
    ("两块", 200),
    ("一百元", 10000),
    ("12.80", 1280),
    ("12", 1200),
    ("0.5", 50),
    ("8毛", 80),
    ("五角", 50),
    ("5分", 5),
    ("12块钱", 1200),
    ("  12.8元  ", 1280),
]


@pytest.mark.parametrize(("text", "fen"), PRICES)
def test_parse_price(text, fen):
    assert parse_price(text) == fen


NOT_PRICES = ["", "好的", "三", "5斤", "12.805", "-3", "1.5角", "12.5块8", "12.", "苹果", "12元 多"]


@pytest.mark.parametrize("text", NOT_PRICES)
def test_not_a_price(text):
    assert parse_price(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.8元/斤", (1280, "斤")),
        ("¥39.9/盒", (3990, "盒")),
        ("9.9元一把", (990, "把")),
        ("9.9元每袋", (990, "袋")),
        ("12.8元/500g", (1280, "500g")),
        ("十二块一斤", (1200, "斤")),
        ("12块一", (1210, None)),
        ("12.8", (1280, None)),
    ],
)
def test_price_with_unit(text, expected):
    assert parse_price_with_unit(text) == expected


def test_scan_price_stops_at_a_word_boundary_and_reports_marking():
    text = "苹果 12.8元/斤 库存100"
    m = scan_price(text, 3)
    assert (m.fen, m.unit, text[m.end :], m.marked) == (1280, "斤", " 库存100", True)
    assert scan_price("15 库存", 0).marked is False
    assert scan_price("5斤装", 0) is None


@pytest.mark.parametrize("fen", [1, 5, 80, 1200, 1280, 1285, 99999])
def test_parse_price_reads_what_yuan_writes(fen):
    assert parse_price(yuan(fen)) == fen
    assert parse_price(yuan(fen) + "元") == fen
