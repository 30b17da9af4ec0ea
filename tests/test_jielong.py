"""接龙 parsing and whole-list sequences through the reconciler."""

from __future__ import annotations

import pytest

from bot.groupbuy.jielong import (
    DropEntry,
    JielongEntry,
    JielongState,
    NeedsConfirm,
    SetEntry,
    confirm,
    parse_jielong,
    parse_jielong_xml,
    reconcile,
)
from bot.testing import jielong_app_message

MEMBERS = {"王姐": "w", "李阿姨": "l", "张叔": "z", "小明": "m", "3-1202 陈姐": "c", "团长": "boss"}
attribute = MEMBERS.get


def jl(*lines: tuple[str, str], title: str = "周六水果团 18:00截单", trailer: str = "") -> str:
    """A 接龙 the way WeChat prints it."""
    body = "\n".join(f"{i}. {nick} {content}".rstrip() for i, (nick, content) in enumerate(lines, 1))
    text = f"#接龙\n{title}\n例 3栋1202 苹果2斤\n\n{body}"
    return f"{text}\n\n{trailer}" if trailer else text


def run(state: JielongState, text: str, sender: str) -> tuple[JielongState, list]:
    snap = parse_jielong(text)
    assert snap is not None
    return reconcile(state, snap, sender, attribute)


# ----------------------------------------------------------------------------------------- parsing


def test_parses_the_issue_example() -> None:
    snap = parse_jielong(
        "#接龙\n周六水果团 18:00截单\n例 3栋1202 苹果2斤\n\n1. 王姐\n2. 李阿姨 3-1202 苹果两斤\n"
        "3. 张叔 香蕉1把 苹果x3\n\n今晚六点截单"
    )
    assert snap is not None
    assert snap.title == "周六水果团 18:00截单"
    assert snap.example == ("3栋1202 苹果2斤",)
    assert [(e.seq, e.nickname, e.content) for e in snap.entries] == [
        (1, "王姐", ""),
        (2, "李阿姨", "3-1202 苹果两斤"),
        (3, "张叔", "香蕉1把 苹果x3"),
    ]
    assert snap.trailer == ("今晚六点截单",)


def test_header_variants_numbering_styles_and_continuations() -> None:
    text = (
        "@团长 打卡#接龍\n\n周三跑步打卡\n例 公里数\n用时\n\n"
        "１．小明 5公里\n2、 小红 3公里\n配速6分\n3)阿强\n4:老李 10公里\n5）小芳 2公里\n6．小周"
    )
    snap = parse_jielong(text)
    assert snap is not None
    assert snap.title == "打卡" and snap.description == ("周三跑步打卡",)
    assert snap.example == ("公里数", "用时")
    assert [(e.seq, e.nickname, e.content) for e in snap.entries] == [
        (1, "小明", "5公里"),
        (2, "小红", "3公里 配速6分"),
        (3, "阿强", ""),
        (4, "老李", "10公里"),
        (5, "小芳", "2公里"),
        (6, "小周", ""),
    ]
    assert snap.key == "打卡|周三跑步打卡"


def test_english_client_and_missing_space() -> None:
    snap = parse_jielong("#Group Note\nFriday lunch\n\n1. Tom noodles\n2.295-909 6份")
    assert snap is not None
    assert snap.title == "Friday lunch"
    assert [(e.nickname, e.content) for e in snap.entries] == [("Tom", "noodles"), ("295-909", "6份")]


def test_flattened_one_line_list() -> None:
    snap = parse_jielong("#接龙 1. 2. 倪彩霞 gt7 3. 莓心")
    assert snap is not None
    assert [(e.seq, e.nickname, e.content) for e in snap.entries] == [
        (1, "", ""),
        (2, "倪彩霞", "gt7"),
        (3, "莓心", ""),
    ]


def test_flattened_line_with_title_and_example() -> None:
    snap = parse_jielong("#接龙 周六水果团 例 3栋1202 苹果2斤 1. 王姐 苹果2斤 2. 张叔 香蕉1把")
    assert snap is not None
    assert snap.title == "周六水果团" and snap.example == ("3栋1202 苹果2斤",)
    assert [(e.nickname, e.content) for e in snap.entries] == [("王姐", "苹果2斤"), ("张叔", "香蕉1把")]


def test_numbered_description_and_times_are_not_entries() -> None:
    text = (
        "#接龙\n本周团购\n1、周六发货\n2、18:00截单\n例 3栋1202 苹果2斤\n\n"
        "1. 王姐 苹果2斤\n2. 张叔\n\n18:30前付款"
    )
    snap = parse_jielong(text)
    assert snap is not None
    assert [e.nickname for e in snap.entries] == ["王姐", "张叔"]
    assert snap.description == ("1、周六发货", "2、18:00截单")
    assert snap.trailer == ("18:30前付款",)


def test_quote_reply_is_not_a_snapshot() -> None:
    quoted = "「王姐：#接龙\n周六水果团\n\n1. 王姐 苹果2斤」\n- - - - - - - - - - - - - - -\n我也要"
    assert parse_jielong(quoted) is None


def test_quote_rule_inside_a_list_is_ignored() -> None:
    snap = parse_jielong(jl(("王姐", "苹果2斤"), ("张叔", "香蕉1把")).replace("\n2.", "\n- - - - - -\n2."))
    assert snap is not None
    assert [(e.nickname, e.content) for e in snap.entries] == [("王姐", "苹果2斤"), ("张叔", "香蕉1把")]


@pytest.mark.parametrize("text", ["苹果2斤", "大家记得接龙", "1. 王姐 苹果2斤\n2. 张叔", "", "#"])
def test_not_a_jielong(text: str) -> None:
    assert parse_jielong(text) is None


def test_key_is_stable_while_members_join() -> None:
    first = parse_jielong(jl())
    later = parse_jielong(jl(("王姐", "苹果2斤"), ("张叔", "")))
    other = parse_jielong(jl(title="周日蔬菜团"))
    assert first and later and other
    assert first.key == later.key != other.key


def test_xml_form_carries_author_ids_even_after_emoji() -> None:
    title = (
        "@团长 打卡#接龙\n\n早起打卡🌞💪🏻 加油\n例 几点起\n\n"
        "1. 小明🍎 6点 早起\n跑步\n2. Jasmine 7点\n3. 阿强 5点半"
    )
    snap = parse_jielong_xml(jielong_app_message(title, ["wxid_m", "wxid_j", "wxid_q"]))
    assert snap is not None
    assert [(e.nickname, e.content, e.author_id) for e in snap.entries] == [
        ("小明🍎", "6点 早起 跑步", "wxid_m"),
        ("Jasmine", "7点", "wxid_j"),
        ("阿强", "5点半", "wxid_q"),
    ]


@pytest.mark.parametrize(
    "xml",
    [
        "<msg><appmsg><title>hello</title><type>53</type></appmsg></msg>",
        "<msg><appmsg><title>#接龙\n1. a</title><type>5</type></appmsg></msg>",
        '<!DOCTYPE x [<!ENTITY a "aaaa">]><msg><appmsg><title>&a;</title></appmsg></msg>',
        "<msg><appmsg><title>#接龙",
        "not xml at all",
    ],
)
def test_xml_that_is_not_a_jielong(xml: str) -> None:
    assert parse_jielong_xml(xml) is None


def test_xml_without_solitaire_info_still_parses() -> None:
    snap = parse_jielong_xml(
        "<msg><appmsg><title>#接龙\n周六团\n\n1. 王姐 苹果2斤</title><type>53</type></appmsg></msg>"
    )
    assert snap is not None and snap.entries == (JielongEntry(1, "王姐", "苹果2斤"),)


# -------------------------------------------------------------------------------------- sequences


def test_seq_joins_each_count_once() -> None:
    state, actions = run(JielongState(), jl(), "boss")
    assert actions == []
    state, actions = run(state, jl(("王姐", "苹果2斤")), "w")
    assert actions == [SetEntry("w", "苹果2斤")]
    state, actions = run(state, jl(("王姐", "苹果2斤"), ("李阿姨", "3-1202 苹果两斤")), "l")
    assert actions == [SetEntry("l", "3-1202 苹果两斤")]
    assert state.contents() == {"w": "苹果2斤", "l": "3-1202 苹果两斤"}


def test_seq_same_snapshot_twice_does_nothing() -> None:
    state, _ = run(JielongState(), jl(("王姐", "苹果2斤")), "w")
    state, actions = run(state, jl(("王姐", "苹果2斤")), "w")
    assert actions == []
    state, actions = run(state, jl(("王姐", "苹果2斤")), "l")
    assert actions == []


def test_seq_edit_own_line() -> None:
    state, _ = run(JielongState(), jl(("王姐", "苹果2斤"), ("张叔", "香蕉1把")), "w")
    state, _ = run(state, jl(("王姐", "苹果2斤"), ("张叔", "香蕉1把")), "z")
    state, actions = run(state, jl(("王姐", "苹果3斤"), ("张叔", "香蕉1把")), "w")
    assert actions == [SetEntry("w", "苹果3斤")]
    assert state.contents() == {"w": "苹果3斤", "z": "香蕉1把"}


def test_seq_delete_renumbers_later_lines() -> None:
    state = JielongState()
    lines = [("王姐", "苹果2斤"), ("李阿姨", "苹果1斤"), ("张叔", "香蕉1把")]
    for i, sender in enumerate(["w", "l", "z"]):
        state, _ = run(state, jl(*lines[: i + 1]), sender)
    state, actions = run(state, jl(lines[1], lines[2]), "w")  # 李阿姨 is now 1., 张叔 2.
    assert actions == [DropEntry("w")]
    assert state.contents() == {"l": "苹果1斤", "z": "香蕉1把"}


def test_seq_concurrent_appends_from_one_base_both_count() -> None:
    state, _ = run(JielongState(), jl(("王姐", "苹果2斤")), "w")
    state, first = run(state, jl(("王姐", "苹果2斤"), ("李阿姨", "苹果1斤")), "l")
    state, second = run(state, jl(("王姐", "苹果2斤"), ("张叔", "香蕉1把")), "z")
    assert first == [SetEntry("l", "苹果1斤")]
    assert second == [SetEntry("z", "香蕉1把")]  # 李阿姨's line is newer than 张叔's base: no cancel
    state, merged = run(state, jl(("王姐", "苹果2斤"), ("李阿姨", "苹果1斤"), ("张叔", "香蕉1把")), "m")
    assert merged == []
    assert state.contents() == {"w": "苹果2斤", "l": "苹果1斤", "z": "香蕉1把"}


def test_seq_repasted_old_snapshot_neither_resurrects_nor_double_counts() -> None:
    state = JielongState()
    old = jl(("王姐", "苹果2斤"), ("李阿姨", "苹果1斤"))
    state, _ = run(state, jl(("王姐", "苹果2斤")), "w")
    state, _ = run(state, old, "l")
    state, _ = run(state, jl(("李阿姨", "苹果1斤")), "w")  # 王姐 cancels
    state, _ = run(state, jl(("李阿姨", "苹果3斤")), "l")  # 李阿姨 edits
    state, _ = run(state, jl(("李阿姨", "苹果3斤"), ("张叔", "香蕉1把")), "z")
    before = state.contents()
    for sender in ("z", "boss", "w", "l"):  # anyone pastes the old list again
        state, actions = run(state, old, sender)
        assert actions == [], sender
    assert state.contents() == before == {"l": "苹果3斤", "z": "香蕉1把"}


def test_seq_revert_and_rejoin_with_same_words_count() -> None:
    state, _ = run(JielongState(), jl(("王姐", "苹果2斤")), "w")
    state, actions = run(state, jl(("王姐", "苹果3斤")), "w")
    assert actions == [SetEntry("w", "苹果3斤")]
    state, actions = run(state, jl(("王姐", "苹果2斤")), "w")
    assert actions == [SetEntry("w", "苹果2斤")]
    state, actions = run(state, jl(), "w")
    assert actions == [DropEntry("w")]
    state, actions = run(state, jl(("王姐", "苹果2斤")), "w")
    assert actions == [SetEntry("w", "苹果2斤")]


def test_seq_editing_someone_elses_line_is_reported_not_applied() -> None:
    state, _ = run(JielongState(), jl(("王姐", "苹果2斤")), "w")
    state, _ = run(state, jl(("王姐", "苹果2斤"), ("张叔", "香蕉1把")), "z")
    state, actions = run(state, jl(("王姐", "苹果5斤"), ("张叔", "香蕉1把")), "z")
    assert len(actions) == 1 and isinstance(actions[0], NeedsConfirm)
    request = actions[0]
    assert (request.kind, request.nickname, request.content, request.member_id) == (
        "other_edit",
        "王姐",
        "苹果5斤",
        "w",
    )
    assert state.contents()["w"] == "苹果2斤"
    state, again = run(state, jl(("王姐", "苹果5斤"), ("张叔", "香蕉1把")), "z")
    assert again == []  # reported once
    state, applied = confirm(state, request)
    assert applied == SetEntry("w", "苹果5斤")
    assert state.contents()["w"] == "苹果5斤"


def test_seq_deleting_someone_elses_line_is_reported() -> None:
    state = JielongState()
    state, _ = run(state, jl(("王姐", "苹果2斤")), "w")
    state, _ = run(state, jl(("王姐", "苹果2斤"), ("张叔", "香蕉1把")), "z")
    state, actions = run(state, jl(("张叔", "香蕉1把")), "boss")
    assert actions == [NeedsConfirm("other_delete", "王姐", "苹果2斤", "w", actions[0].fingerprints)]
    assert state.contents()["w"] == "苹果2斤"
    state, applied = confirm(state, actions[0])
    assert applied == DropEntry("w") and "w" not in state.contents()


def test_seq_member_deleting_an_older_line_of_someone_else_is_reported() -> None:
    state, _ = run(JielongState(), jl(("王姐", "苹果2斤")), "w")
    state, _ = run(state, jl(("王姐", "苹果2斤"), ("张叔", "香蕉1把")), "z")
    state, actions = run(state, jl(("张叔", "香蕉1把")), "z")  # 张叔 removes 王姐, keeps his own line
    assert [(a.kind, a.member_id) for a in actions] == [("other_delete", "w")]
    assert state.contents() == {"w": "苹果2斤", "z": "香蕉1把"}


def test_seq_adding_a_line_for_someone_else_is_reported() -> None:
    state, actions = run(JielongState(), jl(("王姐", "苹果2斤"), ("张叔", "香蕉1把")), "z")
    assert SetEntry("z", "香蕉1把") in actions
    assert [(a.kind, a.member_id) for a in actions if isinstance(a, NeedsConfirm)] == [("other_add", "w")]
    assert state.contents() == {"z": "香蕉1把"}


def test_seq_the_only_new_line_is_its_senders_whatever_it_starts_with() -> None:
    """Whoever adds a line sends the whole list: 路人甲 / 8-602 in front is still the sender's line."""
    state, actions = run(JielongState(), jl(("路人甲", "苹果2斤")), "m")
    assert actions == [SetEntry("m", "苹果2斤")]
    state, again = run(state, jl(("路人甲", "苹果2斤")), "z")  # re-sent by another: nothing new
    assert again == []
    state, actions = run(state, jl(("路人甲", "苹果2斤"), ("8-602", "香蕉1把")), "z")
    assert actions == [SetEntry("z", "8-602 香蕉1把")]  # the room stays with the order
    # the member's own later snapshot without her line cancels it
    state, actions = run(state, jl(("8-602", "香蕉1把")), "m")
    assert actions == [DropEntry("m")]


def test_seq_two_new_unattributed_lines_are_reported_with_the_sender_suggested() -> None:
    state, actions = run(JielongState(), jl(("路人甲", "苹果2斤"), ("路人乙", "香蕉1把")), "m")
    assert [a.kind for a in actions] == ["unattributed", "unattributed"]  # type: ignore[union-attr]
    assert all(a.member_id == "m" for a in actions)  # type: ignore[union-attr]
    state, applied = confirm(state, actions[0])  # type: ignore[arg-type]
    assert applied == SetEntry("m", "苹果2斤")


def test_seq_line_seen_first_in_another_snapshot_counts_when_its_author_sends_it() -> None:
    """Out-of-order delivery: 张叔's list (holding 李阿姨's new line) arrives before 李阿姨's own."""
    state, _ = run(JielongState(), jl(("王姐", "苹果2斤")), "w")
    state, actions = run(state, jl(("王姐", "苹果2斤"), ("李阿姨", "苹果1斤"), ("张叔", "香蕉1把")), "z")
    assert actions[1] == SetEntry("z", "香蕉1把") and actions[0].kind == "other_add"  # in list order
    state, actions = run(state, jl(("王姐", "苹果2斤"), ("李阿姨", "苹果1斤")), "l")
    assert actions == [SetEntry("l", "苹果1斤")]
    assert state.contents() == {"w": "苹果2斤", "l": "苹果1斤", "z": "香蕉1把"}


def test_seq_flattened_form_reconciles_like_the_normal_form() -> None:
    normal, _ = run(JielongState(), jl(("王姐", "苹果2斤")), "w")
    normal, a = run(normal, jl(("王姐", "苹果2斤"), ("张叔", "香蕉1把")), "z")
    flat, _ = run(JielongState(), "#接龙 周六水果团 18:00截单 1. 王姐 苹果2斤", "w")
    flat, b = run(flat, "#接龙 周六水果团 18:00截单 1. 王姐 苹果2斤 2. 张叔 香蕉1把", "z")
    assert a == b == [SetEntry("z", "香蕉1把")]
    assert normal.contents() == flat.contents()


def test_seq_quote_reply_changes_nothing() -> None:
    state, _ = run(JielongState(), jl(("王姐", "苹果2斤")), "w")
    quote = "「王姐：" + jl(("王姐", "苹果2斤"), ("张叔", "香蕉9把")) + "」\n- - - - - - - - - - -\n收到"
    assert parse_jielong(quote) is None
    assert state.contents() == {"w": "苹果2斤"}


def test_seq_non_group_buy_jielong_parses_and_the_lead_decides() -> None:
    text = "@小明 打卡#接龙\n\n周三跑步\n\n1. 小明 5公里\n2. 王姐 3公里"
    snap = parse_jielong(text)
    assert snap is not None and snap.title == "打卡" and snap.key == "打卡|周三跑步"
    _, actions = reconcile(JielongState(), snap, "m", attribute)
    assert actions[0] == SetEntry("m", "5公里")  # reconciling is generic; linking is the lead's choice


def test_seq_two_lines_of_one_member_are_joined() -> None:
    state, actions = run(JielongState(), jl(("王姐", "苹果2斤"), ("王姐", "香蕉1把")), "w")
    assert actions == [SetEntry("w", "苹果2斤；香蕉1把")]
    state, actions = run(state, jl(("王姐", "香蕉1把")), "w")
    assert actions == [SetEntry("w", "香蕉1把")]


def test_seq_nickname_with_a_space_and_a_renamed_member() -> None:
    state, actions = run(JielongState(), jl(("3-1202", "陈姐 苹果2斤")), "c")
    assert actions == [SetEntry("c", "苹果2斤")]
    renamed = {**MEMBERS, "陈姐姐": "c"}
    snap = parse_jielong(jl(("陈姐姐", "苹果2斤")))
    assert snap is not None
    state, actions = reconcile(state, snap, "c", renamed.get)
    assert actions == []  # same content under a new nickname: nothing to change


def test_seq_multi_line_entry_edit() -> None:
    state, _ = run(JielongState(), jl(("王姐", "苹果2斤\n香蕉1把")), "w")
    assert state.contents() == {"w": "苹果2斤 香蕉1把"}
    state, actions = run(state, jl(("王姐", "苹果2斤\n香蕉2把")), "w")
    assert actions == [SetEntry("w", "苹果2斤 香蕉2把")]


def test_seq_xml_author_ids_are_trusted() -> None:
    def xml(lines: list[tuple[str, str, str]]) -> str:
        title = jl(*[(n, c) for n, c, _ in lines])
        return jielong_app_message(title, [a for _, _, a in lines])

    snap = parse_jielong_xml(xml([("王姐", "苹果2斤", "wx_w"), ("Lily", "香蕉1把", "wx_l")]))
    assert snap is not None
    _, actions = reconcile(JielongState(), snap, "wx_l", lambda _: None)
    assert actions == [SetEntry("wx_w", "苹果2斤"), SetEntry("wx_l", "香蕉1把")]


def test_state_survives_json_round_trip_mid_sequence() -> None:
    state, _ = run(JielongState(), jl(("王姐", "苹果2斤")), "w")
    state, _ = run(state, jl(("王姐", "苹果2斤"), ("张叔", "香蕉1把")), "z")
    state, _ = run(state, jl(("张叔", "香蕉1把")), "w")
    restored = JielongState.from_json(state.to_json())
    assert restored == state
    old = jl(("王姐", "苹果2斤"), ("张叔", "香蕉1把"))
    assert run(restored, old, "z")[1] == run(state, old, "z")[1] == []


def test_reconcile_does_not_mutate_the_given_state() -> None:
    state, _ = run(JielongState(), jl(("王姐", "苹果2斤")), "w")
    frozen = state.to_json()
    run(state, jl(("王姐", "苹果3斤")), "w")
    assert state.to_json() == frozen


def test_confirm_unattributed_needs_a_member() -> None:
    request = NeedsConfirm("unattributed", "路人甲", "苹果2斤", None)
    with pytest.raises(ValueError):
        confirm(JielongState(), request)
    state, action = confirm(JielongState(), request, member_id="m")
    assert action == SetEntry("m", "苹果2斤") and state.contents() == {"m": "苹果2斤"}
