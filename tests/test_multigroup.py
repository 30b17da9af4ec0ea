"""One campaign in many groups: 开团 from private chat or with 同步, shared stock and limits,
per-group pickup points, and every leader command across the groups."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.store.models import CampaignGroup, Item
from bot.testing import Harness, build_harness, demo_settings, order_book
from tests.conftest import START

GROUPS = {
    "幸福里1群": {"leader": "王姐", "admins": ["小陈"], "members": ["李阿姨", "张叔"]},
    "幸福里2群": {"members": ["王姐", "李阿姨", "钱阿姨", "何叔"]},
    "幸福里3群": {"members": ["王姐", "赵姐", "刘哥"]},
}
OPEN = "开团 周六水果团\n苹果 12.8元/斤 库存10 限购3\n香蕉 9.9元/把 库存50\n截团 今天18:00\n"


@pytest.fixture
async def leader(engine: Engine, tmp_path: Path) -> AsyncIterator[Harness]:
    """王姐 leads 1群 (config.yaml) and has bound 2群 and 3群."""
    settings = demo_settings(GROUPS, media_dir=str(tmp_path / "media"))
    h = build_harness(settings, engine, START)
    async with h.app:
        await h.say("王姐", "绑定", group="幸福里2群")
        await h.say("王姐", "绑定", group="幸福里3群")
        h.new()
        yield h


def groups_of(h: Harness) -> set[str]:
    with Session(h.app.engine) as s:
        return set(s.exec(select(CampaignGroup.group_id)))


async def test_open_in_private_to_all_groups(leader: Harness) -> None:
    out = await leader.say(
        "王姐", OPEN + "群 全部\n自提 1群 东门驿站 / 2群 西门超市 / 3群 南门菜鸟站", private=True
    )
    posts = {(m.chat_id, m.template) for m in out}
    for name in GROUPS:
        gid = leader.group_id(name)
        assert (gid, "campaign/announcement") in posts and (gid, "campaign/jielong_post") in posts
    ann = {m.chat_id: m.text for m in out if m.template == "campaign/announcement"}
    assert (
        "东门驿站" in ann[leader.group_id("幸福里1群")]
        and "西门超市" not in ann[leader.group_id("幸福里1群")]
    )
    assert "西门超市" in ann[leader.group_id("幸福里2群")]
    assert "南门菜鸟站" in ann[leader.group_id("幸福里3群")]
    told = [m for m in out if m.template == "campaign/published"]
    assert len(told) == 1 and not told[0].is_group and "3 个群" in told[0].text
    assert groups_of(leader) == {leader.group_id(n) for n in GROUPS}


async def test_open_in_named_groups_and_with_sync_in_a_group(leader: Harness) -> None:
    out = await leader.say("王姐", OPEN + "群 1群 3群", private=True)
    assert {m.chat_id for m in out if m.is_group} == {
        leader.group_id("幸福里1群"),
        leader.group_id("幸福里3群"),
    }
    await leader.say("王姐", "取消团", private=True)
    out = await leader.say("王姐", OPEN + "同步 全部群", group="幸福里2群")
    assert len({m.chat_id for m in out if m.template == "campaign/announcement"}) == 3


async def test_shared_stock_and_one_limit_across_groups(leader: Harness) -> None:
    await leader.say("王姐", OPEN + "群 全部", private=True)
    await leader.say("李阿姨", "苹果2", group="幸福里1群")
    # The same neighbour in 2群: one member, one limit (3). (苹果2 again would be a re-send.)
    out = await leader.say("李阿姨", "苹果+2", group="幸福里2群")
    assert "限购" in out[0].text
    await leader.say("钱阿姨", "苹果3", group="幸福里2群")
    await leader.say("赵姐", "苹果3", group="幸福里3群")
    out = await leader.say("刘哥", "苹果3", group="幸福里3群")
    assert "2" in out[0].text and order_book(leader).get("刘哥") is None  # only 2 left: told, not guessed
    await leader.say("刘哥", "苹果2", group="幸福里3群")
    out = await leader.say("张叔", "苹果1", group="幸福里1群")
    assert "苹果" in out[0].text and order_book(leader).get("张叔") is None  # sold out in 1群 too
    book = order_book(leader)
    assert book["李阿姨"] == {"苹果": 2} and book["钱阿姨"] == {"苹果": 3}
    with Session(leader.app.engine) as s:
        apple = s.exec(select(Item).where(Item.name == "苹果")).one()
    assert apple.sold == 10 and apple.sold <= (apple.stock or 0)
    assert book["刘哥"] == {"苹果": 2}


async def test_private_open_needs_groups_when_she_has_several(leader: Harness) -> None:
    out = await leader.say("王姐", OPEN, private=True)
    assert [m.template for m in out] == ["campaign/which_groups"]
    assert "幸福里1群、幸福里2群、幸福里3群" in out[0].text
    out = await leader.say("王姐", OPEN + "群 1群 5群", private=True)
    assert [m.template for m in out] == ["groups/unknown"]
    assert "「5群」不是你的群" in out[0].text and "幸福里3群" in out[0].text
    assert groups_of(leader) == set()


async def test_a_busy_group_is_named(leader: Harness) -> None:
    await leader.say("王姐", OPEN, group="幸福里2群")
    out = await leader.say("王姐", OPEN + "群 全部", private=True)
    assert [m.template for m in out] == ["campaign/already_active"] and "幸福里2群" in out[0].text


async def test_members_pick_among_several_points(leader: Harness) -> None:
    out = await leader.say("王姐", OPEN + "群 全部\n自提 东门驿站 / 西门超市", private=True)
    ann = next(m for m in out if m.template == "campaign/announcement")
    assert "1. 东门驿站 2. 西门超市" in ann.text
    await leader.say("钱阿姨", "苹果1", group="幸福里2群")
    out = await leader.say("钱阿姨", "自提点 2", group="幸福里2群")
    assert out[0].template == "pickup/chosen" and "西门超市" in out[0].text
    out = await leader.say("钱阿姨", "自提点 5", group="幸福里2群")
    assert out[0].template == "pickup/choice_unknown"


async def test_unbinding_a_group_mid_campaign_keeps_it_going_elsewhere(leader: Harness) -> None:
    await leader.say("王姐", OPEN + "群 全部", private=True)
    await leader.say("赵姐", "苹果1", group="幸福里3群")
    out = await leader.say("王姐", "解绑", group="幸福里3群")
    told = next(m for m in out if m.template == "groups/unbound_leader")
    assert "照常在 幸福里1群、幸福里2群 进行" in told.text
    assert leader.group_id("幸福里3群") not in groups_of(leader)
    assert await leader.say("刘哥", "苹果1", group="幸福里3群") == []
    out = await leader.say("何叔", "苹果1", group="幸福里2群")
    assert out[0].template == "orders/placed"
    out = await leader.say("王姐", "统计", private=True)
    assert "赵*" in out[0].text or "赵姐" in out[0].text


async def test_unbinding_the_only_group_of_a_campaign_is_refused(leader: Harness) -> None:
    await leader.say("王姐", OPEN, group="幸福里3群")
    out = await leader.say("王姐", "解绑", group="幸福里3群")
    assert [m.template for m in out] == ["groups/unbind_blocked"]


async def test_leader_commands_cover_every_group_from_private_chat(leader: Harness) -> None:
    await leader.say(
        "王姐", OPEN + "群 全部\n自提 1群 东门驿站 / 2群 西门超市 / 3群 南门菜鸟站", private=True
    )
    await leader.say("李阿姨", "苹果2", group="幸福里1群")
    await leader.say("钱阿姨", "3栋1202 苹果1 香蕉2", group="幸福里2群")
    await leader.say("赵姐", "香蕉1", group="幸福里3群")
    out = await leader.say("王姐", "统计", private=True)
    text = out[0].text
    assert "共3人" in text and "—— 各群 ——" in text
    assert "幸福里1群：1人 ¥25.60" in text and "幸福里3群：1人 ¥9.90" in text
    out = await leader.say("王姐", "截团", private=True)
    closed = [m for m in out if m.template == "campaign/closed"]
    assert {m.chat_id for m in closed} == {leader.group_id(n) for n in GROUPS}
    assert "西门超市" in next(m.text for m in closed if m.chat_id == leader.group_id("幸福里2群"))
    out = await leader.say("王姐", "战报", private=True)
    out += await leader.drain()
    # Asked in private: a preview to her. Posted from a group: each group its own figures.
    out = await leader.say("王姐", "战报", group="幸福里1群")
    out += await leader.drain()
    recaps = {m.chat_id: m.text for m in out if m.template == "recap/recap"}
    assert set(recaps) == {leader.group_id(n) for n in GROUPS}
    assert "感谢幸福里2群的家人们" in recaps[leader.group_id("幸福里2群")]
    assert "参团 1 人" in recaps[leader.group_id("幸福里3群")]
    whole = next(m for m in out if m.template == "recap/files_leader")
    assert "全部 3 个群合计：3 人参团" in whole.text and "幸福里2群：1 人" in whole.text
    # 核销 from private chat: a code of any group's order.
    with Session(leader.app.engine) as s:
        from bot.store.models import Order

        code = next(
            o.pickup_code for o in s.exec(select(Order)) if o.group_id == leader.group_id("幸福里3群")
        )
    out = await leader.say("王姐", f"核销 {code}", private=True)
    assert out[0].template == "pickup/verified"
    out = await leader.say("王姐", "未取货", private=True)
    assert "李" in out[0].text and "钱" in out[0].text


async def test_sorting_list_goes_by_each_groups_pickup_point(leader: Harness) -> None:
    from bot.services.reports import order_rows

    await leader.say(
        "王姐", OPEN + "群 全部\n自提 1群 东门驿站 / 2群 西门超市 / 3群 南门菜鸟站", private=True
    )
    await leader.say("李阿姨", "苹果2", group="幸福里1群")
    await leader.say("钱阿姨", "苹果1", group="幸福里2群")
    await leader.say("赵姐", "香蕉1", group="幸福里3群")
    with Session(leader.app.engine) as s:
        from bot.store.models import Campaign

        campaign = s.exec(select(Campaign)).one()
        rows = order_rows(s, campaign, leader.clock.tz)
    assert {r.member_name: r.pickup for r in rows} == {
        "李阿姨": "东门驿站",
        "钱阿姨": "西门超市",
        "赵姐": "南门菜鸟站",
    }
