"""Who wrote a 接龙 line: only the transport's structured 接龙 may say, never typed text.

A member who types WeChat's 接龙 XML naming other members as authors changes nothing of theirs;
an author the bot has never seen becomes a member; a line that fails leaves the rest of the list
and later snapshots working.
"""

from __future__ import annotations

import pytest

from bot.core.messages import InboundMessage
from bot.testing import Harness, jielong_app_message
from bot.testing import order_book as book
from tests.jielong_support import OPEN, jl, pending


@pytest.fixture
async def opened(bot: Harness) -> Harness:
    await bot.say("王姐", OPEN)
    bot.new()
    return bot


async def structured(h: Harness, who: str, text: str, authors: tuple[str, ...], mid: str) -> list:
    """A 接龙 as the WeChat transport hands over an app message: its raw XML, with author ids."""
    message = InboundMessage(
        id=mid,
        chat_id=h.group_id(),
        sender_id=h.member_id(who),
        sender_name=who,
        text=text,
        jielong=jielong_app_message(text, list(authors)),
    )
    await h.transport.deliver(message)
    return h.new()


async def test_typed_xml_cannot_change_other_members_orders(opened: Harness) -> None:
    await opened.say("李阿姨", jl("李阿姨 苹果2斤"))
    forged = jielong_app_message(
        jl("李阿姨 苹果5斤", "张叔 香蕉1把"), [opened.member_id("李阿姨"), opened.member_id("张叔")]
    )
    out = await opened.say("张叔", forged)
    assert book(opened)["李阿姨"] == {"苹果": 2}
    assert all(opened.member_id("李阿姨") not in m.mentions for m in out)


async def test_typed_xml_naming_a_stranger_creates_nobody(opened: Harness) -> None:
    forged = jielong_app_message(jl("王姐 苹果5斤"), ["wxid_forged"])
    await opened.say("张叔", forged)
    assert "wxid_forged" not in str(book(opened)) and book(opened).get("王姐") is None


async def test_unknown_author_becomes_a_member_and_later_snapshots_work(opened: Harness) -> None:
    li = opened.member_id("李阿姨")
    out = await structured(opened, "李阿姨", jl("新邻居 苹果1斤", "李阿姨 香蕉1把"), ("wxid_new", li), "s1")
    assert [m.template for m in out] == ["jielong/applied"]
    assert book(opened) == {"新邻居": {"苹果": 1}, "李阿姨": {"香蕉": 1}}
    # A later snapshot of the same list still counts.
    zhang = opened.member_id("张叔")
    await structured(
        opened, "张叔", jl("新邻居 苹果1斤", "李阿姨 香蕉1把", "张叔 苹果3斤"), ("wxid_new", li, zhang), "s2"
    )
    assert book(opened)["张叔"] == {"苹果": 3}


async def test_a_failing_line_never_blocks_the_rest_or_later_snapshots(
    opened: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.services.jielong_book as book_service

    real = book_service.change_order
    li = opened.member_id("李阿姨")

    def flaky(s, campaign, member_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        if member_id == li:
            raise RuntimeError("this one line's write fails")
        return real(s, campaign, member_id, *args, **kwargs)

    monkeypatch.setattr(book_service, "change_order", flaky)
    await opened.say("张叔", jl("李阿姨 苹果2斤", "张叔 香蕉1把"))  # 李阿姨's line is only reported
    zhang, zhao = opened.member_id("张叔"), opened.member_id("赵姐")
    await structured(
        opened, "张叔", jl("李阿姨 苹果2斤", "张叔 香蕉2把", "赵姐 苹果1斤"), (li, zhang, zhao), "s1"
    )
    assert book(opened) == {"张叔": {"香蕉": 2}, "赵姐": {"苹果": 1}}
    monkeypatch.setattr(book_service, "change_order", real)
    # The failed line was not recorded as counted: the next snapshot applies it.
    await structured(
        opened, "赵姐", jl("李阿姨 苹果2斤", "张叔 香蕉2把", "赵姐 苹果1斤"), (li, zhang, zhao), "s2"
    )
    assert book(opened)["李阿姨"] == {"苹果": 2}
    assert pending(opened) is not None


async def test_a_pasted_list_of_strangers_sends_the_leader_a_summary(opened: Harness) -> None:
    lines = [f"路人{i:03d} 苹果{i % 3 + 1}斤" for i in range(1, 301)]
    out = await opened.say("李阿姨", jl(*lines))
    [report] = [m for m in out if m.template == "jielong/confirm_request"]
    assert report.chat_id == opened.member_id("王姐") and len(report.text) < 1800
    assert "有300处要你确认" in report.text and "先列前10处" in report.text
    numbers = [p.id for p in pending(opened)]
    assert len(numbers) == 300 and f"还有290处没列出（编号#{numbers[10]}到#{numbers[-1]}）" in report.text
    assert f"#{numbers[0]} 「路人001 苹果2斤」" in report.text and "路人011" not in report.text
    # The numbers are the stored ones: the leader can confirm the last line for a member.
    await opened.say("王姐", f"确认 {numbers[-1]} 张叔")
    assert book(opened) == {"张叔": {"苹果": 1}}
