"""Whole 接龙 sequences through the bot: after every step the order book says what the list says.

Each case is a list of (sender, snapshot) steps and the order book expected at the end; snapshots are
lists of entry lines (``jl``) or raw text. ``quiet`` names the steps that must get no reply at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.testing import Harness
from bot.testing import order_book as book
from bot.testing import units_sold as sold
from tests.jielong_support import HEAD, OPEN, jl, pending


@dataclass(frozen=True)
class Seq:
    steps: tuple[tuple[str, str], ...]
    expected: dict[str, dict[str, int]]
    quiet: tuple[int, ...] = ()  # step indexes that must get no reply
    reports: int = 0  # lines reported to the leader


A = "李阿姨 3-1202 苹果2斤"
B = "张叔 香蕉1把 苹果x3"
C = "赵姐 香蕉两把"

SEQUENCES = {
    "join": Seq((("李阿姨", jl(A)),), {"李阿姨": {"苹果": 2}}),
    "joins_count_once_each": Seq(
        (("李阿姨", jl(A)), ("张叔", jl(A, B)), ("赵姐", jl(A, B, C))),
        {"李阿姨": {"苹果": 2}, "张叔": {"香蕉": 1, "苹果": 3}, "赵姐": {"香蕉": 2}},
    ),
    "same_snapshot_twice_is_silent": Seq(
        (("李阿姨", jl(A)), ("李阿姨", jl(A)), ("张叔", jl(A))),
        {"李阿姨": {"苹果": 2}},
        quiet=(1, 2),
    ),
    "edit_own_line": Seq(
        (("李阿姨", jl(A, B)), ("李阿姨", jl("李阿姨 3-1202 苹果4斤 香蕉1把", B))),
        {"李阿姨": {"苹果": 4, "香蕉": 1}},
        reports=1,  # 张叔's line came first in 李阿姨's list: reported, not applied
    ),
    "edit_drops_an_item": Seq(
        (("李阿姨", jl("李阿姨 苹果2斤 香蕉1把")), ("李阿姨", jl("李阿姨 香蕉3把"))),
        {"李阿姨": {"香蕉": 3}},
    ),
    "delete_with_renumbering": Seq(
        (
            ("李阿姨", jl(A)),
            ("张叔", jl(A, B)),
            ("赵姐", jl(A, B, C)),
            ("张叔", jl(A, C)),
            ("赵姐", jl(A, C)),
        ),
        {"李阿姨": {"苹果": 2}, "赵姐": {"香蕉": 2}},
        quiet=(4,),
    ),
    "concurrent_appends_from_one_base": Seq(
        (("李阿姨", jl(A)), ("张叔", jl(A, B)), ("赵姐", jl(A, C))),
        {"李阿姨": {"苹果": 2}, "张叔": {"香蕉": 1, "苹果": 3}, "赵姐": {"香蕉": 2}},
    ),
    "repasted_old_snapshot_after_edit": Seq(
        (("李阿姨", jl(A)), ("张叔", jl(A, B)), ("李阿姨", jl("李阿姨 苹果5斤", B)), ("张叔", jl(A, B))),
        {"李阿姨": {"苹果": 5}, "张叔": {"香蕉": 1, "苹果": 3}},
        quiet=(3,),
    ),
    "repasted_old_snapshot_after_delete": Seq(
        (("李阿姨", jl(A)), ("张叔", jl(A, B)), ("李阿姨", jl(B)), ("张叔", jl(A, B))),
        {"张叔": {"香蕉": 1, "苹果": 3}},
        quiet=(3,),
    ),
    "quote_reply_changes_nothing": Seq(
        (("李阿姨", jl(A)), ("张叔", f"「王姐：{jl(A)}」\n- - - - - - - - - - - - - - -\n收到，几点到？")),
        {"李阿姨": {"苹果": 2}},
        quiet=(1,),
    ),
    "flattened_one_line_form": Seq(
        (
            ("李阿姨", "#接龙 周六水果团 例 3栋1202 苹果1斤 1. 李阿姨 3-1202 苹果2斤"),
            ("张叔", "#接龙 周六水果团 例 3栋1202 苹果1斤 1. 李阿姨 3-1202 苹果2斤 2. 张叔 香蕉1把 苹果x3"),
        ),
        {"李阿姨": {"苹果": 2}, "张叔": {"香蕉": 1, "苹果": 3}},
    ),
    "numbering_styles_and_full_width": Seq(
        (
            ("李阿姨", HEAD + "\n１、李阿姨 苹果２斤"),
            ("张叔", HEAD + "\n1、李阿姨 苹果２斤\n2）张叔 香蕉【3】"),
        ),
        {"李阿姨": {"苹果": 2}, "张叔": {"香蕉": 3}},
    ),
    "entry_continued_on_next_line": Seq(
        (("李阿姨", HEAD + "\n1. 李阿姨 苹果2斤\n香蕉1把\n\n今晚六点截单"),),
        {"李阿姨": {"苹果": 2, "香蕉": 1}},
    ),
    "two_lines_of_one_member_both_count": Seq(
        (("李阿姨", jl("李阿姨 苹果2斤", "李阿姨 香蕉1把")),),
        {"李阿姨": {"苹果": 2, "香蕉": 1}},
    ),
    "non_group_buy_jielong_ignored": Seq(
        (
            ("李阿姨", jl(A)),
            ("张叔", jl("张叔 苹果3斤", head="#接龙 周日晨跑打卡\n")),
            ("赵姐", "@王姐 打卡#接龙\n午饭订餐\n\n1. 赵姐 香蕉2 米饭1"),
        ),
        {"李阿姨": {"苹果": 2}},
        quiet=(1, 2),
    ),
    "someone_else_edits_a_line": Seq(
        (("李阿姨", jl(A)), ("张叔", jl("李阿姨 3-1202 苹果5斤", B))),
        {"李阿姨": {"苹果": 2}, "张叔": {"香蕉": 1, "苹果": 3}},
        reports=1,
    ),
    "someone_else_deletes_an_older_line": Seq(
        (("李阿姨", jl(A)), ("赵姐", jl(A, C)), ("张叔", jl(C, B))),
        {"李阿姨": {"苹果": 2}, "张叔": {"香蕉": 1, "苹果": 3}, "赵姐": {"香蕉": 2}},
        reports=1,
    ),
    "the_only_new_line_is_the_senders": Seq(
        (("李阿姨", jl(A)), ("张叔", jl(A, "3-909莓心 香蕉2把"))),
        {"李阿姨": {"苹果": 2}, "张叔": {"香蕉": 2}},
    ),
    "unattributed_lines": Seq(
        (("李阿姨", jl(A)), ("张叔", jl(A, "3-909莓心 香蕉2把", "路人乙 苹果1斤"))),
        {"李阿姨": {"苹果": 2}},
        reports=2,
    ),
    "over_limit_line_records_nothing": Seq(
        (("李阿姨", jl("李阿姨 苹果6斤")), ("张叔", jl("李阿姨 苹果6斤", B))),
        {"张叔": {"香蕉": 1, "苹果": 3}},
    ),
    "unreadable_line_records_nothing_rest_applies": Seq(
        (("李阿姨", jl(A)), ("张叔", jl(A, "张叔 苹果两斤半斤"))),
        {"李阿姨": {"苹果": 2}},
    ),
}


@pytest.mark.parametrize("name", SEQUENCES)
async def test_sequence(bot: Harness, name: str) -> None:
    seq = SEQUENCES[name]
    await bot.say("王姐", OPEN)
    for n, (who, text) in enumerate(seq.steps):
        out = await bot.say(who, text)
        if n in seq.quiet:
            assert out == [], f"step {n} should be silent: {[m.text for m in out]}"
    assert book(bot) == seq.expected
    # stock agrees with the orders: nothing counted twice or lost
    totals: dict[str, int] = {"苹果": 0, "香蕉": 0}
    for items in seq.expected.values():
        for item, qty in items.items():
            totals[item] += qty
    assert sold(bot) == totals
    assert len(pending(bot)) == seq.reports


def test_there_are_enough_sequences() -> None:
    assert len(SEQUENCES) >= 15
