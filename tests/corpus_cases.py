"""What each case of the single-message corpus (tests/corpus/messages.yaml) expects. Imports nothing of
the bot, so the same expectations measure any version of it (bench/understanding.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).parent / "corpus"


def messages(path: Path = CORPUS / "messages.yaml") -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def qty(value: object) -> int | Decimal:
    """A quantity as the bot holds it: int when whole, else an exact Decimal."""
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else d.normalize()


@dataclass(frozen=True)
class Reading:
    book: dict[str, int | Decimal]
    reply: str  # ok same ask none lookup silent
    note: str | None = None
    room: str | None = None


def before(case: dict[str, Any]) -> dict[str, int | Decimal]:
    return {k: qty(v) for k, v in (case.get("b") or {}).items()}


def expected(case: dict[str, Any]) -> Reading:
    after = {k: qty(v) for k, v in case["e"].items()} if "e" in case else before(case)
    reply = case.get("r") or ("ok" if after != before(case) else "silent")
    return Reading(after, reply, case.get("n"), case.get("room"))


def right(case: dict[str, Any], got: Reading, *, notes: bool = True) -> bool:
    want = expected(case)
    ok = (got.book, got.reply) == (want.book, want.reply)
    if notes:
        ok = ok and got.room == want.room and (want.note is None or got.note == want.note)
    return ok


def wrong_change(case: dict[str, Any], got: Reading) -> bool:
    """The order book changed, and not as the member meant: the defect that costs money."""
    return got.book != before(case) and got.book != expected(case).book
