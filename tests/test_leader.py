"""The leader's and admins' commands, permissions, and malformed 开团 messages."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.store.models import Campaign, CampaignStatus, Item, Role
from bot.testing import Harness

OPEN = (
    "开团 周六水果团\n苹果 12.8元/斤 库存10 限购5\n香蕉 9.9元/把 库存50\n截团 今天18:00\n自提 幸福里东门驿站"
)


def campaigns(h: Harness) -> list[Campaign]:
    with Session(h.app.engine) as s:
        return list(s.exec(select(Campaign)))


async def test_open_announces_campaign_number_items_and_jielong(bot: Harness) -> None:
    out = await bot.say("王姐", OPEN)
    text = out[0].text
    assert "周六水果团（团号 1）" in text and "苹果 ¥12.8/斤" in text and "限量10斤" in text
    assert "每人限购5斤" in text and "幸福里东门驿站" in text and "12月05日 18:00" in text
    assert out[1].text.startswith("#接龙 周六水果团") and "例 3栋1202 苹果1斤 香蕉1把" in out[1].text
    assert out[1].standalone
    assert [c.status for c in campaigns(bot)] == [CampaignStatus.OPEN]


async def test_members_cannot_use_leader_commands(bot: Harness) -> None:
    for text in (OPEN, "截团", "取消团", "加库存 苹果 5", "统计", "管理员 添加 @张叔"):
        out = await bot.say("李阿姨", text, mentions=("张叔",))
        assert [m.template for m in out] == ["common/refused"], text
    assert campaigns(bot) == []


async def test_admin_may_open_but_only_leader_grants_admins(bot: Harness) -> None:
    out = await bot.say("小陈", OPEN)
    assert out[0].template == "campaign/announcement"
    out = await bot.say("小陈", "管理员 添加 @张叔", mentions=("张叔",))
    assert out[0].template == "common/refused"
    out = await bot.say("王姐", "管理员 添加 @张叔", mentions=("张叔",))
    assert "已设为管理员：张*" in out[0].text  # masked in the group
    out = await bot.say("张叔", "统计")
    assert out[0].template == "campaign/tally"
    out = await bot.say("王姐", "管理员 删除 @张叔", mentions=("张叔",))
    assert "已取消管理员：张*" in out[0].text
    assert (await bot.say("张叔", "统计"))[0].template == "common/refused"
    with Session(bot.app.engine) as s:
        assert {r.member_id for r in s.exec(select(Role))} == {bot.member_id("王姐"), bot.member_id("小陈")}


async def test_identity_is_the_chat_id_not_the_display_name(bot: Harness) -> None:
    """Someone renaming themselves 王姐 is still a member."""
    msg = bot.transport.message(bot.group_id(), "u-impostor", "王姐", OPEN)
    await bot.transport.deliver(msg)
    assert [m.template for m in bot.new()] == ["common/refused"]


async def test_malformed_open_points_at_the_line(bot: Harness) -> None:
    out = await bot.say("王姐", "开团 周六水果团\n苹果 库存100\n截团 今天18:00")
    assert out[0].template == "campaign/announce_error"
    assert "第2行「苹果 库存100」" in out[0].text and "12.8元/斤" in out[0].text
    out = await bot.say("王姐", "开团 周六水果团\n苹果 12元\n截团 今天8:00")
    assert out[0].template == "campaign/announce_error" and "截团" in out[0].text
    assert campaigns(bot) == []


async def test_only_one_active_campaign_per_group(bot: Harness) -> None:
    await bot.say("王姐", OPEN)
    out = await bot.say("王姐", "开团 第二团\n梨 5元/个")
    assert out[0].template == "campaign/already_active" and len(campaigns(bot)) == 1


async def test_add_stock_close_and_tally(bot: Harness) -> None:
    await bot.say("王姐", OPEN)
    await bot.say("李阿姨", "苹果5")
    await bot.say("张叔", "苹果5")
    out = await bot.say("赵姐", "苹果1")
    assert "抢光" in out[0].text
    out = await bot.say("王姐", "加库存 苹果 5")
    assert "还剩 5斤" in out[0].text
    out = await bot.say("王姐", "加库存 西瓜 5")
    assert out[0].template == "usage/add_stock" and "苹果、香蕉" in out[0].text
    out = await bot.say("王姐", "加库存 苹果")
    assert out[0].template == "usage/add_stock"
    await bot.say("赵姐", "苹果1")
    out = await bot.say("王姐", "统计")
    text = out[0].text
    assert "1. 李** 苹果5斤" in text and "3. 赵* 苹果1斤" in text and "苹果：11斤（剩4）" in text
    assert "李阿姨" not in text  # names are masked in the group
    out = await bot.say("王姐", "统计", private=True)
    assert out[0].is_group is False and "1. 李阿姨 苹果5斤" in out[0].text
    out = await bot.say("王姐", "截团")
    assert out[0].template == "campaign/closed" and "成团" in out[0].text
    out = await bot.say("王姐", "截团")
    assert out[0].template == "campaign/none"
    with Session(bot.app.engine) as s:
        assert s.exec(select(Item).where(Item.name == "苹果")).one().sold == 11


async def test_minimum_not_reached_cancels_orders(bot: Harness) -> None:
    await bot.say("王姐", "开团 小团\n苹果 10元/斤\n成团 3人")
    await bot.say("李阿姨", "苹果2")
    out = await bot.say("王姐", "截团")
    assert "未成团" in out[0].text and "全部取消" in out[0].text
    with Session(bot.app.engine) as s:
        assert s.exec(select(Item)).one().sold == 0


async def test_cancel_campaign(bot: Harness) -> None:
    await bot.say("王姐", OPEN)
    await bot.say("李阿姨", "苹果2")
    out = await bot.say("王姐", "取消团")
    assert out[0].template == "campaign/cancelled" and "1个订单" in out[0].text
    assert (await bot.say("李阿姨", "苹果2")) == []  # nothing to order in any more
    assert [c.status for c in campaigns(bot)] == [CampaignStatus.CANCELLED]


async def test_help_lists_what_the_asker_may_do(bot: Harness) -> None:
    member = (await bot.say("李阿姨", "帮助"))[0].text
    leader = (await bot.say("王姐", "帮助"))[0].text
    assert "开团" not in member and "我的订单" in member
    assert "开团" in leader and "管理员 添加" in leader
