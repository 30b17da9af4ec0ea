"""群发 and 定时: the leader's own words to her groups, paced, once, confirmed when many."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.testing import Harness, build_harness, demo_settings
from tests.conftest import START

OPEN = "开团 周六水果团\n苹果 12.8元/斤 库存10\n截团 今天18:00\n群 全部"


def _groups(n: int) -> dict[str, dict[str, object]]:
    spec: dict[str, dict[str, object]] = {"幸福里1群": {"leader": "王姐", "members": ["李阿姨"]}}
    for i in range(2, n + 1):
        spec[f"幸福里{i}群"] = {"members": ["王姐", f"邻居{i}"]}
    return spec


async def _leader(engine: Engine, tmp_path: Path, n: int) -> AsyncIterator[Harness]:
    h = build_harness(demo_settings(_groups(n), media_dir=str(tmp_path / "m")), engine, START)
    async with h.app:
        for i in range(2, n + 1):
            await h.say("王姐", "绑定", group=f"幸福里{i}群")
        h.new()
        yield h


@pytest.fixture
async def three(engine: Engine, tmp_path: Path) -> AsyncIterator[Harness]:
    async for h in _leader(engine, tmp_path, 3):
        yield h


@pytest.fixture
async def twelve(engine: Engine, tmp_path: Path) -> AsyncIterator[Harness]:
    async for h in _leader(engine, tmp_path, 12):
        yield h


async def test_broadcast_to_all_and_to_named_groups(three: Harness) -> None:
    out = await three.say("王姐", "群发 今晚8点到货，记得来取", private=True)
    posts = [m for m in out if m.template == "groups/broadcast"]
    assert len(posts) == 3 and {m.text for m in posts} == {
        "今晚8点到货,记得来取"
    }  # the transport folds full-width marks
    assert next(m for m in out if m.template == "groups/broadcast_sent").chat_id == three.member_id("王姐")
    out = await three.say("王姐", "群发 1群 3群 明早9点自提", private=True)
    posts = [m for m in out if m.template == "groups/broadcast"]
    assert {m.chat_id for m in posts} == {three.group_id("幸福里1群"), three.group_id("幸福里3群")}
    assert posts[0].text == "明早9点自提"


async def test_broadcast_refusals(three: Harness) -> None:
    assert [m.template for m in await three.say("李阿姨", "群发 大家好")] == ["common/refused"]
    assert [m.template for m in await three.say("李阿姨", "定时 明天9:00 大家好")] == ["common/refused"]
    out = await three.say("王姐", "群发 5群 你好", private=True)
    assert [m.template for m in out] == ["groups/unknown"] and "幸福里2群" in out[0].text
    out = await three.say("王姐", "群发", private=True)
    assert [m.template for m in out] == ["usage/broadcast"]


async def test_ten_groups_or_more_wait_for_confirm_and_go_once(twelve: Harness) -> None:
    out = await twelve.say("王姐", "群发 周末休息一天", private=True)
    assert [m.template for m in out] == ["groups/broadcast_confirm"] and "12 个群" in out[0].text
    out = await twelve.say("王姐", "确认", private=True)
    out += await twelve.drain()
    assert len([m for m in out if m.template == "groups/broadcast"]) == 12
    again = await twelve.say("王姐", "确认", private=True)
    assert not [m for m in again if m.template == "groups/broadcast"]


async def test_own_post_is_on_the_timeline_and_can_be_moved_or_skipped(three: Harness) -> None:
    await three.say("王姐", OPEN, private=True)
    out = await three.say("王姐", "定时 今天12:00 中午前下单的明天一早到", private=True)
    assert out[0].template == "groups/own_scheduled" and "定时1" in out[0].text
    out = await three.say("王姐", "定时 今天13:00 第二条", private=True)
    timeline = (await three.say("王姐", "时间线", private=True))[0].text
    assert "定时1" in timeline and "定时2" in timeline
    await three.say("王姐", "改期 定时1 11:00", private=True)
    await three.say("王姐", "跳过 定时2", private=True)
    out = await three.at(START.replace(hour=11, minute=1).astimezone(three.clock.tz))
    own = [m for m in out if m.template == "groups/own_post"]
    assert len(own) == 3 and own[0].text == "中午前下单的明天一早到"
    out = await three.advance(timedelta(hours=3))
    assert not [m for m in out if m.template == "groups/own_post"]


async def test_own_post_needs_a_future_time_and_a_campaign(three: Harness) -> None:
    out = await three.say("王姐", "定时 明天9:00 你好", private=True)
    assert out[0].template == "timeline/none"
    await three.say("王姐", OPEN, private=True)
    out = await three.say("王姐", "定时 今天8:00 你好", private=True)
    assert out[0].template == "usage/own_post" and "已经过了" in out[0].text
