"""Shared fixtures: every store test runs on SQLite and, when TUANBOT_TEST_PG_URL is set, PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy.engine import Engine

from bot.testing import Harness, build_harness, demo_settings, isolated_engine

# In CI the property tests replay the same examples every run: a red CI means a change broke
# something, not that a new random draw happened to find an old bug (locally they explore).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

PG_URL = os.environ.get("TUANBOT_TEST_PG_URL")
BACKENDS = ["sqlite", *(["postgres"] if PG_URL else [])]
START = datetime(2026, 12, 5, 9, 0)  # a Saturday morning, local time


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = PG_URL if request.param == "postgres" else f"sqlite:///{tmp_path / 'tuanbot.db'}"
    assert url is not None
    with isolated_engine(url) as eng:
        yield eng


@pytest.fixture
async def bot(engine: Engine, tmp_path: Path) -> AsyncIterator[Harness]:
    """The demo group 幸福里1群: leader 王姐, admin 小陈, members 李阿姨 张叔 赵姐 刘哥."""
    settings = demo_settings(
        {"幸福里1群": {"leader": "王姐", "admins": ["小陈"], "members": ["李阿姨", "张叔", "赵姐", "刘哥"]}},
        media_dir=str(tmp_path / "media"),
    )
    h = build_harness(settings, engine, START)
    async with h.app:
        h.new()
        yield h
