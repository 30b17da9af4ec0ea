"""Numbers as members write them: 2, 两, 俩, 十二, 1.5, 一点五.

``parse_quantity`` takes whole positive numbers only (command arguments such as 加库存 苹果 20);
the order grammar reads exact decimals with ``parse_number`` and decides itself where halves fit.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import cn2an

from bot.groupbuy.quantity import Quantity, normalize

CN_NUMERAL_CHARS = "零〇一二两俩三四五六七八九十百千廿"
# cn2an does not know 俩 (colloquial "two"); everything else goes through cn2an.
_COLLOQUIAL = str.maketrans({"俩": "两"})
_SINGLE = dict(zip("一二两俩三四五六七八九十", (1, 2, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10), strict=True))
_CN_DIGIT = dict(zip("零〇一二三四五六七八九", (0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_ARABIC = re.compile(r"\d+")
_DECIMAL = re.compile(r"\d*\.\d+|\d+\.\d*")
# Sane maxima, checked where numbers are read so no database ever sees more (PostgreSQL's
# integer columns end at 2,147,483,647): one member's quantity of an item, an item's stock.
MAX_QUANTITY = 9999
MAX_STOCK = 1_000_000


def parse_int(text: str) -> int | None:
    """A whole number written in Arabic or Chinese numerals (2, 12, 两, 十二, 二十五); else None."""
    text = text.strip()
    if not text or len(text) > 8:
        return None
    if _ARABIC.fullmatch(text):
        return int(text)
    if text in _SINGLE:
        return _SINGLE[text]
    if not all(ch in CN_NUMERAL_CHARS for ch in text):
        return None
    try:
        value = cn2an.cn2an(text.translate(_COLLOQUIAL), "smart")
    except Exception:  # cn2an raises ValueError and friends on malformed numerals
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return value if isinstance(value, int) else None


def is_fraction(text: str) -> bool:
    """True for halves and decimals (半, 两斤半, 0.5, 1.5): amounts the bot must not round."""
    return "半" in text or bool(_DECIMAL.search(text))


def parse_quantity(number: str, has_half: bool = False) -> int | None:
    """The whole positive quantity a numeral stands for, or None when it is not one (0, 0.5, 半)."""
    if has_half or is_fraction(number):
        return None
    value = parse_int(number)
    if value is None or value <= 0 or value > MAX_QUANTITY:
        return None
    return value


def parse_number(text: str) -> Quantity | None:
    """A non-negative number as members write it: 2, 两, 十二, 1.5, 一点五; exact, else None."""
    text = text.strip()
    if not text or len(text) > 12:
        return None
    if _DECIMAL.fullmatch(text):
        try:
            return normalize(Decimal(text if not text.startswith(".") else "0" + text))
        except InvalidOperation:
            return None
    if "点" in text:
        whole, _, part = text.partition("点")
        head = parse_int(whole)
        if head is None or not part or not all(ch in _CN_DIGIT for ch in part):
            return None
        return normalize(Decimal(f"{head}.{''.join(str(_CN_DIGIT[ch]) for ch in part)}"))
    return parse_int(text)
