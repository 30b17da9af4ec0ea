"""Talk is not a command, odd numbers are not crashes, and no acknowledged message is lost."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import App
from bot.core.transport import NotStored
from bot.store.models import GroupMember, Item, OutboxMessage, Role
from bot.testing import Harness, build_harness, demo_settings
from tests.conftest import START

OPEN = "开团 水果团\n苹果 10元/斤 库存20\n截团 今天18:00"


@pytest.mark.parametrize(
    "text",
    [
        "统计一下人数",
        "截团了吗",
        "补货了吗",
        "开团了吗",
        "撤团吧",
        "管理员是谁",
        "跳过吧",
        "改期了吗",
        "战报出来了吗",
        "复盘一下",
        "核销怎么弄",
        "没取货怎么办",
        "汇总一下",
        "加库存了吗",
        "帮助一下",
        "菜单呢",
        "售后怎么弄",
        "收到",
        "好的",
        "抢到了吗",
        "评价一下这个苹果",
        "时间线是什么",
        "确认一下",
        "我的天",
        "取消了吗",
        "改天吧",
    ],
)
async def test_members_talking_get_no_reply(bot: Harness, text: str) -> None:
    await bot.say("王姐", OPEN)
    await bot.say("李阿姨", "苹果1")
    assert await bot.say("张叔", text) == []


@pytest.mark.parametrize("text", ["截团了吗", "统计一下人数", "没取货的人真多", "开团了吗", "战报呢"])
async def test_the_leader_talking_gets_no_reply(bot: Harness, text: str) -> None:
    await bot.say("王姐", OPEN)
    assert await bot.say("王姐", text) == []


async def test_asking_for_my_orders_with_a_question_still_works(bot: Harness) -> None:
    await bot.say("王姐", OPEN)
    await bot.say("李阿姨", "苹果1")
    out = await bot.say("李阿姨", "我的订单呢？")
    assert out[0].template == "orders/mine" and "苹果1斤" in out[0].text


@pytest.mark.parametrize(
    ("text", "usage"),
    [
        ("截团 ²", "usage/close"),
        ("统计 ①", "usage/tally"),
        ("截团 99999999999999999999", "usage/close"),
        ("战报 99999999999999999999", "usage/recap"),
        ("加库存 苹果 1万", "usage/add_stock"),
        ("加库存 苹果 二十亿", "usage/add_stock"),
    ],
)
async def test_odd_numbers_get_usage_not_a_crash(
    bot: Harness, text: str, usage: str, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.say("王姐", OPEN)
    with caplog.at_level(logging.ERROR):
        out = await bot.say("王姐", text)
    assert [m.template for m in out] == [usage]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    with Session(bot.app.engine) as s:
        assert s.exec(select(Item)).one().stock == 20


async def test_a_failed_commit_loses_nothing(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch commit fails once: its messages are handled again one by one."""
    await bot.say("王姐", OPEN)
    real = App._handle_batch
    calls = {"n": 0}

    def flaky(self: App, messages):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is locked")
        return real(self, messages)

    monkeypatch.setattr(App, "_handle_batch", flaky)
    out = await bot.say("李阿姨", "苹果2")
    assert "跟团号1" in out[0].text


async def test_a_message_that_keeps_failing_is_handled_when_redelivered(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.say("王姐", OPEN)
    real = App._handle_batch

    def broken(self: App, messages):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(App, "_handle_batch", broken)
    with pytest.raises(NotStored):  # not stored: the transport must not acknowledge it
        await bot.say("李阿姨", "苹果2", message_id="wx-9")
    assert bot.new() == []
    monkeypatch.setattr(App, "_handle_batch", real)
    out = await bot.say("李阿姨", "苹果2", message_id="wx-9")  # the gateway redelivers it
    assert "跟团号1" in out[0].text


async def test_outbox_sends_rows_that_commit_out_of_id_order(engine: Engine) -> None:
    """On PostgreSQL ids are taken at insert and a lower id can commit later: it must still go out."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: rows always commit in id order")
    h = build_harness(demo_settings(), engine, START)
    async with h.app:
        group = h.group_id()

        def row(text: str) -> OutboxMessage:
            return OutboxMessage(chat_id=group, text=text, template="test/row", created_at=h.clock.now())

        slow, fast = Session(engine), Session(engine)
        slow.add(row("first id, commits last"))
        slow.flush()
        fast.add(row("second id, commits first"))
        fast.commit()
        await h.app.outbox.pump()
        slow.commit()
        await h.app.outbox.pump()
        slow.close()
        fast.close()
        texts = [m.text for m in h.new()]
    assert sorted(texts) == ["first id, commits last", "second id, commits first"]


async def test_an_admin_removed_from_config_loses_the_rights(engine: Engine) -> None:
    groups = {"幸福里1群": {"leader": "王姐", "admins": ["小陈"], "members": ["李阿姨"]}}
    h = build_harness(demo_settings(groups), engine, START)
    async with h.app:
        await h.say("王姐", "管理员 添加 @李阿姨", mentions=("李阿姨",))
    groups["幸福里1群"]["admins"] = []
    h2 = build_harness(demo_settings(groups), engine, START)
    async with h2.app:
        assert (await h2.say("小陈", "统计"))[0].template == "common/refused"
        assert (await h2.say("李阿姨", "统计"))[0].template != "common/refused"  # given in chat: kept
    with Session(engine) as s:
        assert {r.member_id for r in s.exec(select(Role))} == {h.member_id("王姐"), h.member_id("李阿姨")}


async def test_leader_only_commands_in_private_reach_only_groups_the_sender_leads(engine: Engine) -> None:
    groups = {
        "幸福里1群": {"leader": "王姐", "members": ["李阿姨"]},
        "幸福里2群": {"leader": "张叔", "admins": ["王姐"], "members": ["赵姐"]},
    }
    h = build_harness(demo_settings(groups), engine, START)
    async with h.app:
        await h.say("张叔", OPEN, group="幸福里2群")
        await h.say("赵姐", "苹果1", group="幸福里2群")
        await h.say("张叔", "截团", group="幸福里2群")
        out = await h.say("王姐", "未取货", private=True)
    assert out[0].template == "pickup/no_campaign" and "赵姐" not in out[0].text


async def test_a_member_who_leaves_is_no_longer_counted(bot: Harness) -> None:
    leave = bot.transport.message(bot.group_id(), bot.member_id("刘哥"), "刘哥", "", kind="leave")
    await bot.transport.deliver(leave)
    with Session(bot.app.engine) as s:
        link = s.get(GroupMember, (bot.group_id(), bot.member_id("刘哥")))
    assert link is not None and link.left_at is not None
