"""Members ordering through WeChat 接龙, as the group and the leader see it."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.core.messages import InboundMessage
from bot.store.models import GroupMember
from bot.store.models_jielong import PendingStatus
from bot.testing import Harness, jielong_app_message
from bot.testing import order_book as book
from bot.testing import units_sold as sold
from tests.jielong_support import OPEN, jl, pending

A = "李阿姨 3-1202 苹果2斤"
B = "张叔 香蕉1把 苹果x3"


@pytest.fixture
async def opened(bot: Harness) -> Harness:
    out = await bot.say("王姐", OPEN)
    assert [m.template for m in out] == ["campaign/announcement", "campaign/jielong_post"]
    return bot


async def deliver(h: Harness, who: str, text: str, authors: tuple[str, ...] | None = None) -> list:
    """A 接龙 as the WeChat transport hands over its app message: the raw XML (built here from the
    list and its author ids when ``authors`` is given) in ``jielong``."""
    raw = jielong_app_message(text, list(authors)) if authors is not None else text
    message = InboundMessage(
        id=f"x-{len(h.transport.sent)}-{who}-{hash(text)}",
        chat_id=h.group_id(),
        sender_id=h.member_id(who),
        sender_name=who,
        text=text,
        jielong=raw,
    )
    await h.transport.deliver(message)
    return h.new()


async def test_tapping_the_bots_own_list_orders(bot: Harness) -> None:
    out = await bot.say("王姐", OPEN)
    posted = out[1].text
    assert posted.startswith("#接龙 周六水果团") and posted.rstrip().endswith("1.")
    out = await bot.say("李阿姨", posted.rstrip() + " 李阿姨 3栋1202 苹果两斤 香蕉x1")
    assert [m.template for m in out] == ["jielong/applied"]
    assert out[0].text == "@李** ✅ 跟团号1：苹果2斤 香蕉1把，合计 ¥35.50"
    assert out[0].mentions == (bot.member_id("李阿姨"),)
    assert book(bot) == {"李阿姨": {"苹果": 2, "香蕉": 1}}


async def test_identical_repaste_and_duplicate_delivery_are_silent(opened: Harness) -> None:
    await opened.say("李阿姨", jl(A), message_id="m-1")
    assert await opened.say("李阿姨", jl(A), message_id="m-1") == []  # same message delivered twice
    assert await opened.say("张叔", jl(A)) == []  # same list pasted again
    assert book(opened) == {"李阿姨": {"苹果": 2}} and sold(opened)["苹果"] == 2


async def test_edit_and_delete_own_line_move_stock(opened: Harness) -> None:
    await opened.say("李阿姨", jl(A))
    await opened.say("张叔", jl(A, B))
    out = await opened.say("李阿姨", jl("李阿姨 苹果4斤", B))
    assert out[0].text == "@李** ✅ 跟团号1：苹果4斤，合计 ¥51.20"
    out = await opened.say("李阿姨", jl(B))
    assert out[0].text == "@李** ✅ 接龙里你的那一行删掉了，订单已取消。"
    assert book(opened) == {"张叔": {"苹果": 3, "香蕉": 1}} and sold(opened) == {"苹果": 3, "香蕉": 1}


async def test_command_order_then_jielong_sets_not_adds(opened: Harness) -> None:
    await opened.say("李阿姨", "苹果x2 香蕉1")
    await opened.say("李阿姨", jl("李阿姨 苹果2斤"))
    assert book(opened) == {"李阿姨": {"苹果": 2, "香蕉": 1}} and sold(opened) == {"苹果": 2, "香蕉": 1}


async def test_one_merged_reply_for_a_snapshot_with_author_ids(opened: Harness) -> None:
    ids = (opened.member_id("李阿姨"), opened.member_id("张叔"))
    out = await deliver(opened, "张叔", jl(A, B), authors=ids)
    assert [m.template for m in out] == ["jielong/applied"]
    assert out[0].mentions == ids
    assert out[0].text.splitlines() == [
        "@李** ✅ 跟团号1：苹果2斤，合计 ¥25.60",
        "@张* ✅ 跟团号2：苹果3斤 香蕉1把，合计 ¥48.30",
    ]
    assert pending(opened) == []


async def test_wechat_xml_message_uses_author_ids(opened: Harness) -> None:
    ids = [opened.member_id("李阿姨"), opened.member_id("张叔")]
    # nicknames that match nobody: only WeChat's author ids say whose lines they are
    xml = jielong_app_message(jl("🍎阿姨 苹果2斤", "老张 香蕉1把"), ids)
    out = await deliver(opened, "张叔", xml)
    assert [m.template for m in out] == ["jielong/applied"] and set(out[0].mentions) == set(ids)
    assert book(opened) == {"李阿姨": {"苹果": 2}, "张叔": {"香蕉": 1}}


async def test_a_jielong_the_transport_marked_is_read_from_its_raw_payload(opened: Harness) -> None:
    """WeChat's own 接龙 (``InboundMessage.jielong``): the XML's author ids attribute the lines, and
    a GroupNote's plain list counts like a pasted one."""
    ids = [opened.member_id("李阿姨"), opened.member_id("张叔")]
    xml = jielong_app_message(jl("🍎阿姨 苹果2斤", "老张 香蕉1把"), ids)
    message = InboundMessage(
        id="note-1", chat_id=opened.group_id(), sender_id=ids[1], sender_name="张叔", text="", jielong=xml
    )
    await opened.transport.deliver(message)
    assert book(opened) == {"李阿姨": {"苹果": 2}, "张叔": {"香蕉": 1}}


async def test_a_group_note_the_transport_marked_counts_like_a_pasted_list(opened: Harness) -> None:
    note = jl(A)
    message = InboundMessage(
        id="note-1",
        chat_id=opened.group_id(),
        sender_id=opened.member_id("李阿姨"),
        sender_name="李阿姨",
        text=note,
        jielong=note,
    )
    await opened.transport.deliver(message)
    assert book(opened) == {"李阿姨": {"苹果": 2}}


async def test_editing_someone_elses_line_waits_for_the_leader(opened: Harness) -> None:
    await opened.say("李阿姨", jl(A))
    out = await opened.say("张叔", jl("李阿姨 3-1202 苹果5斤", B))
    group = [m for m in out if m.is_group]
    private = [m for m in out if not m.is_group]
    assert [m.template for m in group] == ["jielong/applied"] and "李" not in group[0].text
    assert [m.template for m in private] == ["jielong/confirm_request"]
    report = private[0]
    assert report.chat_id == opened.member_id("王姐")
    number = pending(opened)[0].id
    assert f"#{number} 把李阿姨的接龙改成：3-1202 苹果5斤" in report.text
    assert "李阿姨现在：跟团号1 苹果2斤" in report.text and "张叔发的接龙" in report.text
    assert book(opened)["李阿姨"] == {"苹果": 2}

    out = await opened.say("张叔", f"确认 {number}")  # only the leader decides
    assert [m.template for m in out] == ["common/refused"]
    assert book(opened)["李阿姨"] == {"苹果": 2}

    out = await opened.say("王姐", f"确认 {number}", private=True)
    out.sort(key=lambda m: m.template)
    assert [m.template for m in out] == ["jielong/applied", "jielong/decided"]
    assert out[1].text == f"✅ #{number} 已确认，李阿姨：跟团号1。" and not out[1].is_group
    assert out[0].is_group and out[0].text == "@李** ✅ 跟团号1：苹果5斤，合计 ¥64.00"
    assert book(opened)["李阿姨"] == {"苹果": 5}
    assert pending(opened)[0].status == PendingStatus.CONFIRMED

    out = await opened.say("王姐", f"确认 {number}", private=True)
    assert out[0].text == f"#{number} 之前已经处理过了。" and book(opened)["李阿姨"] == {"苹果": 5}


async def test_leader_rejects_and_a_later_own_edit_supersedes(opened: Harness) -> None:
    await opened.say("李阿姨", jl(A))
    await opened.say("张叔", jl("李阿姨 苹果5斤", B))
    await opened.say(
        "赵姐", jl("李阿姨 苹果5斤", B, "赵姐 香蕉2")
    )  # carries the same edit: not reported twice
    first = pending(opened)
    assert len(first) == 1
    out = await opened.say("王姐", f"拒绝 {first[0].id}")
    assert out[0].text == f"✅ #{first[0].id} 已拒绝，这一处接龙不算数。"
    assert book(opened)["李阿姨"] == {"苹果": 2}

    await opened.say("张叔", jl("李阿姨 苹果4斤", B, "赵姐 香蕉2"))
    second = pending(opened)[-1]
    assert second.kind == "other_edit" and second.status == PendingStatus.PENDING
    await opened.say("李阿姨", jl("李阿姨 苹果1斤", B, "赵姐 香蕉2"))  # she fixes it herself
    assert pending(opened)[-1].status == PendingStatus.SUPERSEDED
    out = await opened.say("王姐", f"确认 {second.id}")
    assert "以本人的为准" in out[0].text and book(opened)["李阿姨"] == {"苹果": 1}


async def test_unattributed_line_is_confirmed_for_a_named_member(opened: Harness) -> None:
    await opened.say("李阿姨", jl(A))
    # two new lines nobody's by name: whose they are is the leader's to say
    out = await opened.say("李阿姨", jl(A, "3-909莓心 香蕉2把", "路人乙 苹果1斤"))
    report = next(m for m in out if m.template == "jielong/confirm_request")
    number = pending(opened)[0].id
    assert f"#{number} 「3-909莓心 香蕉2把」对不上群里的人" in report.text
    assert "可能是" not in report.text  # the sender has a line of her own: no suggestion
    out = await opened.say("王姐", f"确认 {number}", private=True)
    assert "请写明是谁的" in out[0].text and "赵姐" not in book(opened)
    out = await opened.say("王姐", f"确认 {number} 小王", private=True)
    assert "群里找不到「小王」" in out[0].text
    out = await opened.say("王姐", f"确认 {number} 赵姐", private=True)
    assert f"✅ #{number} 已确认，赵姐：跟团号2。" in [m.text for m in out if not m.is_group]
    assert book(opened) == {"李阿姨": {"苹果": 2}, "赵姐": {"香蕉": 2}}


async def test_the_only_new_line_is_the_senders(opened: Harness) -> None:
    """Whoever adds a line sends the whole list: 大刘 / 8-602 in front, it is the sender's line."""
    await opened.say("李阿姨", jl(A))
    out = await opened.say("刘哥", jl(A, "大刘 香蕉3把"))
    assert [m.template for m in out] == ["jielong/applied"] and pending(opened) == []
    await opened.say("赵姐", jl(A, "大刘 香蕉3把", "8-602 苹果1斤"))
    assert book(opened) == {"李阿姨": {"苹果": 2}, "刘哥": {"香蕉": 3}, "赵姐": {"苹果": 1}}


async def test_unattributed_lines_suggest_a_sender_without_a_line(opened: Harness) -> None:
    await opened.say("李阿姨", jl(A))
    out = await opened.say("刘哥", jl(A, "大刘 香蕉3把", "小刘 苹果1斤"))
    report = next(m for m in out if m.template == "jielong/confirm_request")
    assert "可能是刘哥的" in report.text
    await opened.say("王姐", f"确认 {pending(opened)[0].id}")
    assert book(opened)["刘哥"] == {"香蕉": 3}


async def test_group_alias_attributes_a_line(opened: Harness) -> None:
    with Session(opened.app.engine) as s:
        link = s.get(GroupMember, (opened.group_id(), opened.member_id("赵姐")))
        assert link is not None
        link.alias = "5栋赵姐"
        s.add(link)
        s.commit()
    await opened.say("张叔", jl(B, "5栋赵姐 香蕉2把"))
    assert [(p.kind, p.member_id) for p in pending(opened)] == [("other_add", opened.member_id("赵姐"))]


async def test_limit_and_sold_out_lines_get_clear_replies(opened: Harness) -> None:
    out = await opened.say("李阿姨", jl("李阿姨 苹果6斤 香蕉1把"))
    assert out[0].text.splitlines() == [
        "@李** ✅ 跟团号1：香蕉1把，合计 ¥9.90",
        "❗ 苹果每人限购5斤，接龙写的6斤没记上，最多写苹果5斤。",
    ]
    await opened.say("张叔", jl("李阿姨 苹果6斤 香蕉1把", "张叔 苹果5斤"))
    await opened.say("赵姐", jl("李阿姨 苹果6斤 香蕉1把", "张叔 苹果5斤", "赵姐 苹果4斤"))
    out = await opened.say("李阿姨", jl("李阿姨 苹果3斤 香蕉1把", "张叔 苹果5斤", "赵姐 苹果4斤"))
    assert "❗ 苹果只剩1斤了，可以改成：苹果1斤" in out[0].text
    await opened.say("刘哥", jl("李阿姨 苹果3斤 香蕉1把", "张叔 苹果5斤", "赵姐 苹果4斤", "刘哥 苹果1斤"))
    out = await opened.say(
        "李阿姨", jl("李阿姨 苹果2斤 香蕉1把", "张叔 苹果5斤", "赵姐 苹果4斤", "刘哥 苹果1斤")
    )
    assert "❗ 苹果已经抢光了。" in out[0].text
    assert sold(opened)["苹果"] == 10 and "苹果" not in book(opened)["李阿姨"]


async def test_unreadable_line_is_answered_once_and_the_rest_applies(opened: Harness) -> None:
    await opened.say("李阿姨", jl(A))
    out = await opened.say("张叔", jl(A, "张叔 苹果两斤半斤 香蕉1把"))
    assert out[0].text.splitlines() == [
        "@张* ✅ 跟团号2：香蕉1把，合计 ¥9.90",
        "❓ 没看懂「苹果两斤半斤」，请写成：苹果2斤",
    ]
    assert out[0].mentions == (opened.member_id("张叔"),)
    assert await opened.say("赵姐", jl(A, "张叔 苹果两斤半斤 香蕉1把")) == []
    out = await opened.say("刘哥", jl(A, "张叔 苹果两斤半斤 香蕉1把", "刘哥 随便来点好吃的"))
    assert "❓ 没看懂「随便来点好吃的」，请写成：苹果2斤" in out[0].text
    assert book(opened) == {"李阿姨": {"苹果": 2}, "张叔": {"香蕉": 1}}


async def test_an_unreadable_edit_keeps_the_old_quantity(opened: Harness) -> None:
    await opened.say("李阿姨", jl("李阿姨 苹果2斤"))
    out = await opened.say("李阿姨", jl("李阿姨 苹果两斤半斤"))
    assert "没看懂「苹果两斤半斤」" in out[0].text
    assert book(opened) == {"李阿姨": {"苹果": 2}}


async def test_before_opening_and_after_closing(bot: Harness) -> None:
    await bot.say("王姐", OPEN.replace("截团 今天18:00", "开始 今天10:00\n截团 今天18:00"))
    out = await bot.say("李阿姨", jl(A))
    assert [m.template for m in out] == ["orders/not_open"] and book(bot) == {}
    await bot.advance(timedelta(hours=1, minutes=5))
    await bot.say("李阿姨", jl(A))
    assert book(bot) == {"李阿姨": {"苹果": 2}}
    await bot.advance(timedelta(hours=9))
    bot.new()
    out = await bot.say("张叔", jl(A, B))
    assert [m.template for m in out] == ["orders/closed"] and "张叔" not in book(bot)
    assert await bot.say("张叔", jl(A)) == []  # nothing the sender changed: no reply


@pytest.mark.parametrize(
    "text",
    [
        "#接龙",
        "#接龙\n\n1.\n2.\n3.",
        "#接龙 周六水果团\n" + "1. 李阿姨 苹果2斤\n" * 3000,
        "#接龙 周六水果团\n" + "🍎" * 50_000,
        "#接龙 周六水果团\n\n1. \x00\x01\u202e李阿姨\u200b 苹果\x7f2斤 \ufeff",
        "#接龙 周六水果团\n\n1. 1. 1. 2. 2. 3.",
        "#接龙 周六水果团\n\n9999. 李阿姨 苹果99999999斤",
        "<msg><appmsg><title>#接龙 周六水果团\n1. a</title><type>53</type></appmsg></msg>",
        "wxid_x:\n<?xml version='1.0'?><msg><appmsg><title>#接龙",
        "打卡 #接龙 第3天 💪",
        "🍎🍌" * 5000,
    ],
)
async def test_junk_never_raises_and_never_answers(
    opened: Harness, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        out = await opened.say("张叔", text)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [m.text for m in out if m.is_group] == []  # at most a private report to the leader
    assert book(opened).get("张叔") is None


async def test_non_group_buy_jielong_never_becomes_an_order(opened: Harness) -> None:
    out = await opened.say("张叔", "#接龙 周日晨跑打卡\n\n1. 张叔 苹果2")
    assert out == [] and book(opened) == {} and pending(opened) == []


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("#接龙 周六水果团\n\n1. 王姐", True),
        ("#接龙\n周六水果团 18:00截单\n\n1. 王姐", True),
        ("@王姐 #接龙 周六 水果团\n\n1. 王姐", True),
        ("#Group Note\n【周六水果团】今晚截单\n\n1. 王姐", True),
        ("#接龙\n幸福里团购\n周六水果团，六点截单\n\n1. 王姐", True),  # named in the description
        ("#接龙 水果团\n\n1. 王姐", True),  # a shorter name the leader uses
        ("#接龙 周日晨跑打卡\n\n1. 王姐", False),
        ("#接龙 团购\n\n1. 王姐", False),
        ("#接龙\n\n1. 王姐", False),
        ("#接龙 周日蔬菜团\n\n1. 王姐", False),
    ],
)
def test_which_jielong_feeds_the_campaign(text: str, links: bool) -> None:
    from bot.groupbuy.jielong import parse_jielong
    from bot.services.jielong_book import links_to

    snap = parse_jielong(text)
    assert snap is not None and links_to(snap, "周六水果团") is links
