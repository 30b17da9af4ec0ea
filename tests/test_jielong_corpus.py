"""Whole 接龙 sequences as real lists are written (tests/corpus/jielong.yaml), through the bot."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.jielong_corpus import _book, play, sequences

CASES = sequences()


def test_at_least_thirty_sequences() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c["name"][:40] for c in CASES])
async def test_sequence(engine: Engine, case: dict[str, Any]) -> None:
    got = await play(engine, case)
    assert got.book == _book(case.get("book"))
    for member, room in (case.get("rooms") or {}).items():
        assert got.rooms.get(member) == room, member
    asked = [m for m in got.leader_private if m.template == "jielong/link_request"]
    assert len(asked) == case.get("asks_leader", len(asked))
    # never a confirmation that confirms nothing
    assert not any("现在没有订单" in m.text for m in got.sent)
