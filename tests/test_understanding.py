"""The single-message corpus (tests/corpus/messages.yaml): every line read as a careful human would."""

from __future__ import annotations

from typing import Any

import pytest

from tests.corpus_cases import expected, messages
from tests.understanding_support import read_message

CASES = messages()


def test_corpus_is_broad() -> None:
    categories = {c["c"] for c in CASES}
    assert len(CASES) >= 400
    assert {"add", "set", "reduce", "remove", "replace", "lookup", "halves", "bare", "helpers"} <= categories
    assert {"notes_rooms", "multi", "typos", "price", "questions", "forwarded", "chat"} <= categories


@pytest.mark.parametrize("case", CASES, ids=[f"{c['c']}-{i}-{c['t'][:16]}" for i, c in enumerate(CASES)])
def test_message(case: dict[str, Any]) -> None:
    got, want = read_message(case), expected(case)
    assert (got.book, got.reply) == (want.book, want.reply)
    if want.note is not None or got.note is not None:
        assert got.note == want.note
    assert got.room == want.room
