"""The single-message corpus through the whole bot: the member's order set up in the store, her message
said in the group, the order book and the reply read back. Slower than tests/understanding_support.py
(one bot per case) but it measures what members really get; it uses only the order book's long-standing
API, so it can measure an older version of the bot too (bench/understanding.py --e2e)."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from bot.core.messages import OutboundMessage
from bot.services.campaigns import items_of
from bot.services.orderbook import change_order
from bot.store.models import Campaign
from bot.testing import build_harness, demo_settings, isolated_engine, order_book
from tests.corpus_cases import qty

CORPUS = Path(__file__).parent / "corpus"
START = datetime(2026, 12, 5, 9, 0)
MEMBER = "李阿姨"


def reply_kind(out: list[OutboundMessage]) -> str:
    """What the member was told: silent, lookup, same, none, ask or ok (changed)."""
    mine = [m for m in out if m.is_group]
    if not mine:
        return "silent"
    text, template = mine[0].text, mine[0].template
    if template == "orders/mine":
        return "lookup"
    if template == "orders/repeat" or "已经记上了" in text:
        return "same"
    if "❓" in text:
        return "ask"
    if template == "orders/none" or "你没有订" in text or "还没有订单" in text:
        return "none"
    return "ok"


async def read_e2e(case: dict[str, Any], tmp: str, n: int) -> tuple[dict[str, Any], str]:
    shops = yaml.safe_load((CORPUS / "shops.yaml").read_text(encoding="utf-8"))
    settings = demo_settings({"幸福里1群": {"leader": "王姐", "members": [MEMBER]}})
    with isolated_engine(f"sqlite:///{tmp}/e2e{n}.db") as engine:
        h = build_harness(settings, engine, START)
        async with h.app:
            await h.say("王姐", shops[case.get("s", "fruit")])
            before = case.get("b") or {}
            if before:
                with Session(engine) as s:
                    campaign = s.exec(select(Campaign)).one()
                    items = {i.name: i for i in items_of(s, campaign.id)}  # type: ignore[arg-type]
                    # (an older bot without letter codes names the item "A 套餐")
                    named = {
                        k: next(i for n, i in items.items() if n == k or n.endswith(" " + k)) for k in before
                    }
                    wants = [(named[k], qty(v)) for k, v in before.items()]
                    change_order(
                        s, campaign, h.member_id(MEMBER), h.group_id(), wants, h.clock.now(), mode="set"
                    )
                    s.commit()
            h.new()
            out = await h.say(MEMBER, case["t"])
            book = {name.split(" ")[-1]: q for name, q in order_book(h).get(MEMBER, {}).items()}
    return book, reply_kind(out)


async def run_e2e(cases: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, case in enumerate(cases):
            book, kind = await read_e2e(case, tmp, n)
            out.append((case, book, kind))
    return out
