"""Text normalisation shared by all transports."""

from __future__ import annotations

import re
import unicodedata

from bot.groupbuy.text import fold_width

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def normalize_text(text: str, bot_names: tuple[str, ...] = ()) -> tuple[str, bool]:
    """Fold width, drop control characters, strip ``@bot`` mentions.

    Returns the clean text and whether the bot was mentioned.
    """
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", fold_width(text)).replace("\r\n", "\n").replace("\r", "\n")
    mentioned = False
    for name in bot_names:
        # WeChat puts a U+2005 (four-per-em space) after a mention; folded to a space above.
        pattern = re.compile(r"@" + re.escape(name) + r"[\s\u2005]*")
        text, count = pattern.subn("", text)
        mentioned = mentioned or count > 0
    return text.strip(), mentioned
