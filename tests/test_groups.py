"""The leader's groups: 绑定 / 解绑 in chat, 我的群, and who may do it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.store.models import Group, Role
from bot.testing import Harness, build_harness, demo_settings
from tests.conftest import START

GROUPS = {
    "幸福里1群": {"leader": "王姐", "admins": ["小陈"], "members": ["李阿姨", "张叔"]},
    "幸福里2群": {"members": ["王姐", "小陈", "李阿姨", "钱阿姨", "何叔"]},
    "幸福里3群": {"members": ["王姐", "赵姐", "刘哥"]},
    "隔壁小区群": {"members": ["孙老板", "周阿姨"]},
}


@pytest.fixture
async def multi(engine: Engine, tmp_path: Path) -> AsyncIterator[Harness]:
    """1群 configured for 王姐; 2群 and 3群 in the chat, not bound; 孙老板 a leader by config."""
    settings = demo_settings(GROUPS, leaders=["孙老板"], media_dir=str(tmp_path / "media"))
    h = build_harness(settings, engine, START)
    async with h.app:
        h.new()
        yield h


def roles(h: Harness, group: str) -> dict[str, str]:
    with Session(h.app.engine) as s:
        rows = s.exec(select(Role).where(Role.group_id == h.group_id(group)))
        return {r.member_id: r.role for r in rows}


async def test_leader_binds_a_group_by_chat_with_its_name(multi: Harness) -> None:
    out = await multi.say("王姐", "绑定", group="幸福里2群")
    assert [m.template for m in out] == ["groups/bound", "groups/list"]
    assert "已绑定「幸福里2群」" in out[0].text
    assert out[1].chat_id == multi.member_id("王姐") and not out[1].is_group
    assert "1. 幸福里1群" in out[1].text and "2. 幸福里2群 · 5人（新绑定）" in out[1].text
    assert roles(multi, "幸福里2群") == {multi.member_id("王姐"): "leader"}
    with Session(multi.app.engine) as s:
        group = s.get(Group, multi.group_id("幸福里2群"))
        assert group is not None and group.name == "幸福里2群"
    # Now she leads it: leader commands work there.
    out = await multi.say("王姐", "统计", group="幸福里2群")
    assert out[0].template == "campaign/none"
    again = await multi.say("王姐", "绑定", group="幸福里2群")
    assert again[0].template == "groups/bound" and "早就绑定好了" in again[0].text


async def test_my_groups_lists_the_leaders_groups_with_member_counts(multi: Harness) -> None:
    await multi.say("王姐", "绑定", group="幸福里3群")
    await multi.say("王姐", "绑定", group="幸福里2群")
    out = await multi.say("王姐", "我的群", private=True)
    assert out[0].template == "groups/list"
    assert out[0].text.index("幸福里1群") < out[0].text.index("幸福里2群") < out[0].text.index("幸福里3群")
    assert "幸福里3群 · 3人" in out[0].text and "共3个" in out[0].text


async def test_members_may_not_bind_and_chit_chat_is_ignored(multi: Harness) -> None:
    out = await multi.say("钱阿姨", "绑定", group="幸福里2群")
    assert [m.template for m in out] == ["groups/bind_refused"]
    assert roles(multi, "幸福里2群") == {}
    # An admin of 1群 is no leader either.
    out = await multi.say("小陈", "绑定", group="幸福里2群")
    assert [m.template for m in out] == ["groups/bind_refused"]
    assert await multi.say("钱阿姨", "绑定手机号要怎么弄", group="幸福里2群") == []
    assert await multi.say("钱阿姨", "我的群好热闹", group="幸福里2群") == []
    # In a group no leader runs, nothing but 绑定 is answered (not even a refusal).
    assert await multi.say("钱阿姨", "解绑", group="幸福里2群") == []
    assert await multi.say("钱阿姨", "帮助", group="幸福里2群") == []


async def test_a_group_bound_to_one_leader_cannot_be_taken_by_another(multi: Harness) -> None:
    await multi.say("王姐", "绑定", group="幸福里2群")
    out = await multi.say("孙老板", "绑定", group="幸福里2群")
    assert [m.template for m in out] == ["groups/bind_taken"]
    assert roles(multi, "幸福里2群") == {multi.member_id("王姐"): "leader"}


async def test_a_config_leader_binds_her_first_group(multi: Harness) -> None:
    out = await multi.say("孙老板", "绑定", group="隔壁小区群")
    assert out[0].template == "groups/bound"
    out = await multi.say("孙老板", "我的群", private=True)
    assert "隔壁小区群" in out[0].text and "幸福里" not in out[0].text


async def test_unbind_takes_the_group_off_her_list(multi: Harness) -> None:
    await multi.say("王姐", "绑定", group="幸福里2群")
    out = await multi.say("王姐", "解绑", group="幸福里2群")
    assert [m.template for m in out] == ["groups/unbound", "groups/unbound_leader"]
    assert roles(multi, "幸福里2群") == {}
    out = await multi.say("王姐", "我的群", private=True)
    assert "幸福里2群" not in out[0].text
    # A configured group is unbound by editing config.yaml.
    out = await multi.say("王姐", "解绑", group="幸福里1群")
    assert [m.template for m in out] == ["groups/unbind_configured"]
