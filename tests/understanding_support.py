"""The corpora of member messages (tests/corpus/*.yaml) read through the order grammar.

``read_message(case)`` runs one single-message case the way the order handler does, without a
database: the grammar (bot/groupbuy/order_text.py), then ``decide`` against the member's order
before the message. Used by tests/test_understanding.py and bench/understanding.py.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.groupbuy.announce import parse_announcement
from bot.groupbuy.intent import decide
from bot.groupbuy.order_text import CatalogueIndex, CatalogueItem, parse_order_text
from tests.corpus_cases import CORPUS, Reading, before

TZ = ZoneInfo("Asia/Shanghai")


@cache
def shops() -> dict[str, CatalogueIndex]:
    raw = yaml.safe_load((CORPUS / "shops.yaml").read_text(encoding="utf-8"))
    now = datetime(2026, 12, 5, 9, 0, tzinfo=TZ)
    out = {}
    for name, text in raw.items():
        draft = parse_announcement(text, now, TZ)
        items = [CatalogueItem(i + 1, d.name, d.aliases, d.unit) for i, d in enumerate(draft.items)]
        out[name] = CatalogueIndex(items)
    return out


def read_message(case: dict[str, Any]) -> Reading:
    index = shops()[case.get("s", "fruit")]
    ids = {item.name: item.id for item in index.items}
    names = {item.id: item.name for item in index.items}
    held = before(case)
    parsed = parse_order_text(case["t"], index)
    if parsed is None:
        return Reading(held, "silent")
    if parsed.lookup:
        return Reading(held, "lookup")
    decision = decide(parsed, {ids[k]: v for k, v in held.items()}, index)
    book = dict(held)
    for item_id, qty in decision.targets.items():
        if qty:
            book[names[item_id]] = qty
        else:
            book.pop(names[item_id], None)
    asked = decision.asks or parsed.unknown or any(u.reason != "qty" for u in parsed.unreadable)
    if asked:
        reply = "ask"
    elif decision.targets:
        reply = "ok"
    elif decision.already:
        reply = "same"
    elif decision.not_ordered or decision.nothing_to_cancel:
        reply = "none"
    else:
        reply = "silent"
    return Reading(book, reply, parsed.note, parsed.room)
