"""Helpers for the 接龙 tests: build lists as WeChat sends them and read the order book back."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.store.models_jielong import JielongPending
from bot.testing import Harness

OPEN = """开团 周六水果团
苹果 12.8元/斤 原价15 库存10 限购5
香蕉 9.9元/把 库存50
截团 今天18:00
自提 幸福里东门驿站"""

HEAD = "#接龙 周六水果团\n12月05日 18:00截单\n例 3栋1202 苹果1斤 香蕉1把\n"


def jl(*entries: str, head: str = HEAD) -> str:
    """A whole 接龙 as members re-send it: header, description, example, blank line, numbered lines."""
    return head + "\n" + "\n".join(f"{n}. {entry}" for n, entry in enumerate(entries, 1))


def pending(h: Harness) -> list[JielongPending]:
    with Session(h.app.engine) as s:
        return list(s.exec(select(JielongPending).order_by(col(JielongPending.id))))
