"""docs/examples/three_groups.yaml: one campaign in three groups, played as a leader would."""

from __future__ import annotations

from pathlib import Path

from bot.replay import Event, replay

SCENARIO = Path(__file__).resolve().parents[1] / "docs" / "examples" / "three_groups.yaml"


def _bot(events: list[Event], template: str) -> list[Event]:
    return [e for e in events if e.speaker == "团长助手" and (e.template or "").split("+")[0] == template]


async def test_three_groups_scenario(tmp_path: Path) -> None:
    events = await replay(SCENARIO, db=tmp_path / "three.db")
    # Binding by chat; a member may not; a group she lacks is named back with her groups.
    assert len(_bot(events, "groups/bound")) == 2 and len(_bot(events, "groups/bind_refused")) == 1
    unknown = _bot(events, "groups/unknown")[0]
    assert "「5群」不是你的群" in unknown.text and "幸福里3群" in unknown.text
    # One 开团 from private chat: each group its announcement (own pickup point) and 接龙.
    announced = {e.chat: e.text for e in _bot(events, "campaign/announcement")}
    assert set(announced) == {"幸福里1群", "幸福里2群", "幸福里3群"}
    assert "东门驿站" in announced["幸福里1群"] and "西门超市" in announced["幸福里2群"]
    assert len(_bot(events, "campaign/jielong_post")) == 3
    # Shared stock sold out across groups; 李阿姨 in two groups held to one limit.
    placed = _bot(events, "orders/placed")
    assert any(e.chat == "幸福里2群" and "限购2盒" in e.text for e in placed)
    assert sum("已经抢光" in e.text for e in placed) == 2
    # 统计 per group and in total; 定时 and 群发 in every group.
    tally = _bot(events, "campaign/tally")[0].text
    assert "车厘子：6盒（剩0）" in tally and "幸福里3群：1人 ¥119.80" in tally
    assert {e.chat for e in _bot(events, "groups/own_post")} == set(announced)
    assert {e.chat for e in _bot(events, "groups/broadcast")} == set(announced)
    assert _bot(events, "common/refused")  # a member's 定时
    # 战报: each group its own figures, the leader the whole picture and the files.
    recaps = {e.chat: e.text for e in _bot(events, "recap/recap") if e.chat}
    assert set(recaps) == set(announced) and "感谢幸福里3群的家人们" in recaps["幸福里3群"]
    whole = _bot(events, "recap/files_leader")[-1].text
    assert "全部 3 个群合计：3 人参团" in whole
    assert any(e.kind == "file" and "分拣单" in (e.path or "") for e in events)
