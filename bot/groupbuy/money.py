"""Money is integer fen everywhere; yuan only at the edges (parsing and display)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

# The highest price (or money amount) an announcement may name: 10万元 per unit.
MAX_PRICE_FEN = 10_000_000


def yuan(fen: int) -> str:
    """12.80 -> '12.8', 1200 -> '12', 1205 -> '12.05' (how leaders write prices)."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    if part == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{part:02d}".rstrip("0")


def yuan2(fen: int) -> str:
    """Always two decimals, for exports and totals: 1280 -> '12.80'."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole}.{part:02d}"


# --- Parsing: how leaders and members write prices in chat -------------------------------------

# Chinese numeral characters cn2an understands (两 included: 两块 = 2 yuan).
CN_DIGITS = "零〇一二两三四五六七八九十百千万"
_CN_ONE = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_ONE_DIGIT = r"[0-9零〇一二两三四五六七八九]"

# One price, optionally followed by a unit ("/斤", "每盒", "一把"). The lookahead at the end makes a
# price stop at a word boundary, so "5斤" is not read as a price of 5 yuan.
_PRICE_RE = re.compile(
    rf"""
    (?P<cur>[¥￥])?\s*
    (?:
        (?P<num>\d+(?:\.\d+)?)
      | (?P<cn>[{CN_DIGITS}]+(?:点[零〇一二三四五六七八九]+)?)
    )
    (?:
        \s*(?P<yuan>元|块钱|块|圆)
        (?:
            (?P<jiao>{_ONE_DIGIT})(?:角|毛)?
            (?:(?P<fen>{_ONE_DIGIT})分?)?
        )?
      | \s*(?P<jiao_only>角|毛)
      | \s*(?P<fen_only>分钱|分)
    )?
    (?:\s*(?:/|每|一)\s*(?P<unit>[^\s\d/,，;；:：]{{1,4}}|\d+(?:\.\d+)?[^\s\d/,，;；:：]{{1,4}}))?
    (?=$|[\s,，;；])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class PriceMatch:
    fen: int
    unit: str | None  # "斤" for "12.8元/斤"; None when no unit was written
    end: int  # index just after the match
    marked: bool  # carried a currency sign or 元/块/角/毛, so it cannot be a plain count


def _one_digit(ch: str) -> int:
    return int(ch) if ch.isdigit() else _CN_ONE[ch]


def scan_price(text: str, pos: int = 0) -> PriceMatch | None:
    """Read one price starting exactly at ``pos`` and ending at a word boundary, or None."""
    m = _PRICE_RE.match(text, pos)
    if m is None:
        return None
    marked = bool(m["cur"] or m["yuan"] or m["jiao_only"] or m["fen_only"])
    if m["num"] is not None:
        amount = Decimal(m["num"])
    else:
        if not marked:
            return None  # a bare Chinese numeral ("三") is far more often a count than a price
        import cn2an  # here: 0.14 s to import, and the export worker never reads prices

        try:
            amount = Decimal(str(cn2an.cn2an(m["cn"], "smart")))
        except ValueError:
            return None
    if m["jiao_only"]:
        # "8毛" is 8 jiao, "5分" is 5 fen; "1.5角" makes no sense.
        if amount != amount.to_integral_value():
            return None
        amount = amount / 10
    elif m["fen_only"]:
        if amount != amount.to_integral_value():
            return None
        amount = amount / 100
    elif m["jiao"] is not None:
        if amount != amount.to_integral_value():
            return None  # "12.5块8" is not a price
        amount += Decimal(_one_digit(m["jiao"])) / 10
        if m["fen"] is not None:
            amount += Decimal(_one_digit(m["fen"])) / 100
    fen = amount * 100
    if fen != fen.to_integral_value():
        return None  # more precise than a fen
    return PriceMatch(fen=int(fen), unit=m["unit"], end=m.end(), marked=marked)


def parse_price_with_unit(text: str) -> tuple[int, str | None] | None:
    """'12.8元/斤' -> (1280, '斤'); '¥39.9' -> (3990, None); None when the text is not a price."""
    text = text.strip()
    m = scan_price(text)
    if m is None or m.end != len(text):
        return None
    return m.fen, m.unit


def parse_price(text: str) -> int | None:
    """A written price in fen: 12.8元, 12.8元/斤, ¥12.8, 12块8, 12元5角, 十二块八, 12.80; None if not a price.

    A bare Chinese numeral ("十二") needs 元/块 to count as a price.
    """
    parsed = parse_price_with_unit(text)
    return None if parsed is None else parsed[0]
