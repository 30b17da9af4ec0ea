"""The month-long rehearsal in docs/examples/loyalty_month.yaml, played and checked event by event."""

from __future__ import annotations

from pathlib import Path

from bot.replay import Event, replay

MONTH = Path(__file__).resolve().parents[1] / "docs" / "examples" / "loyalty_month.yaml"


def bot_said(events: list[Event], template: str, to: str | None = None) -> list[Event]:
    return [e for e in events if e.template == template and (to is None or e.to == to)]


async def test_a_month_of_keeping_neighbours(tmp_path: Path) -> None:
    month = await replay(MONTH, tmp_path / "month.db")
    # Ratings asked once each after 核销, privately; the low one reached the leader and the admin.
    asks = bot_said(month, "feedback/ask")
    assert sorted(e.to for e in asks) == sorted(
        ["李阿姨", "张叔", "赵姐", "周老师", "吴妈", "刘哥", "李阿姨", "张叔", "赵姐", "小美"]
    )
    assert all(e.chat is None for e in asks)
    low = bot_said(month, "feedback/low_rating")
    assert {e.to for e in low} == {"王姐", "小陈"} and all("物流太慢了" in e.text for e in low)
    # The ticket went to the leader again after 24 hours, once, and stopped once answered.
    overdue = bot_said(month, "feedback/ticket_overdue", "王姐")
    assert len(overdue) == 1 and "24 小时" in overdue[0].text
    # The 战报 shows the average rating, the comments' common words and 活跃之星 (masked).
    recap = next(e for e in month if e.template == "recap/recap" and e.to == "王姐")
    assert "平均评分 3.7 分（3 人评价）" in recap.text and "新鲜" in recap.text and "孙**" in recap.text
    # Sign-ins once a day, points into a coupon, the coupon taken off the next order.
    signed = bot_said(month, "points/signed_in")
    assert sum("签到成功" in e.text for e in signed) == 4 and sum("已经签到过" in e.text for e in signed) == 1
    (redeemed,) = bot_said(month, "points/redeemed")
    assert "已用 500 积分换了一张5元券" in redeemed.text
    # The invitation: credited at the join, both rewarded after the newcomer's first sale closed.
    assert len(bot_said(month, "invites/credited", "李阿姨")) == 1
    assert {e.to for e in bot_said(month, "invites/reward")} == {"李阿姨", "小美"}
    # The win-back wave: three silent members once each, one 退订, no second wave to them, the report.
    assert sorted(e.to for e in bot_said(month, "winback/offer")) == ["刘哥", "吴妈", "周老师"]
    assert len(bot_said(month, "winback/unsubscribed", "吴妈")) == 1
    (report,) = bot_said(month, "winback/report", "王姐")
    assert "发出 3 张，已使用 1 张" in report.text
    back = [e for e in month if e.chat and e.template == "orders/placed" and "周**" in e.text][-1]
    assert "优惠抵扣 ¥5.00" in back.text
