"""Whole 接龙 sequences (tests/corpus/jielong.yaml) through the real bot, and how many lines read right.

Used by tests/test_jielong_corpus.py (every sequence, SQLite and PostgreSQL) and by
bench/understanding.py (SQLite file in a temp dir).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core.messages import OutboundMessage
from bot.store.models import Member, Order, OrderStatus
from bot.testing import Harness, build_harness, demo_settings, isolated_engine, order_book
from tests.corpus_cases import qty

CORPUS = Path(__file__).parent / "corpus"
START = datetime(2026, 12, 5, 9, 0)
LEADER = "王姐"
MEMBERS = ["李阿姨", "张叔", "赵姐", "刘哥", "王秀英", "🌸小芳妈妈", "老陈", "小美", "陈大爷", "阿珍"]


def sequences(path: Path = CORPUS / "jielong.yaml") -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def shop_texts() -> dict[str, str]:
    return yaml.safe_load((CORPUS / "shops.yaml").read_text(encoding="utf-8"))


def _book(raw: dict[str, dict[str, object]] | None) -> dict[str, dict[str, Any]]:
    return {m: {i: qty(q) for i, q in items.items()} for m, items in (raw or {}).items()}


@dataclass
class SequenceResult:
    book: dict[str, dict[str, Any]]
    rooms: dict[str, str | None]
    sent: list[OutboundMessage]
    leader_private: list[OutboundMessage]


async def play(engine: Engine, case: dict[str, Any]) -> SequenceResult:
    settings = demo_settings({"幸福里1群": {"leader": LEADER, "members": MEMBERS}})
    h = build_harness(settings, engine, START)
    sent: list[OutboundMessage] = []
    async with h.app:
        h.new()
        out = await h.say(LEADER, shop_texts()[case.get("shop", "fruit")])
        assert out and out[0].template == "campaign/announcement", [m.text for m in out]
        for who, text in case["steps"]:
            sent += await h.say(who, text)
        book = order_book(h)
        rooms = _rooms(h)
    leader = h.member_id(LEADER)
    private = [m for m in sent if not m.is_group and m.chat_id == leader]
    return SequenceResult(book, rooms, sent, private)


def _rooms(h: Harness) -> dict[str, str | None]:
    with Session(h.app.engine) as s:
        stmt = (
            select(Member.name, Order.room)
            .join(Order, col(Order.member_id) == col(Member.id))
            .where(Order.status == OrderStatus.ACTIVE)
        )
        return dict(s.exec(stmt).all())


def score(case: dict[str, Any], got: SequenceResult) -> tuple[int, int, int]:
    """(lines, right, wrong): one line per member who wrote in the list or holds an order."""
    want = _book(case.get("book"))
    writers = {who for who, _ in case["steps"]}
    people = writers | set(want) | set(got.book)
    right = sum(1 for p in people if got.book.get(p, {}) == want.get(p, {}))
    wrong = sum(1 for p in people if got.book.get(p) and got.book.get(p) != want.get(p, {}))
    for member, room in (case.get("rooms") or {}).items():
        if got.rooms.get(member) != room:
            right -= 1 if got.book.get(member, {}) == want.get(member, {}) else 0
    return len(people), right, wrong


async def run_sequences(path: Path, show: bool = False) -> tuple[int, int, int, int]:
    cases = sequences(path)
    lines = right = wrong = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, case in enumerate(cases):
            with isolated_engine(f"sqlite:///{tmp}/seq{n}.db") as engine:
                got = await play(engine, case)
            a, b, c = score(case, got)
            lines, right, wrong = lines + a, right + b, wrong + c
            if show and b < a:
                print(f"  miss: {case['name']}: {got.book} rooms={got.rooms} (wanted {case.get('book')})")
    return lines, right, wrong, len(cases)
