"""A whole campaign day on the fake clock, with production pacing: preheat -> countdown -> rain ->
open -> sales -> last call -> close -> 催付. Every timeline post fires once, in order, at its time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core.config import PacingConfig
from bot.core.messages import OutboundMessage
from bot.store.models import Item, Order
from bot.testing import Harness, build_harness
from tests.timeline_support import (
    ANNOUNCEMENT,
    Sent,
    check_pacing,
    day_settings,
    local,
    notices,
    record_sends,
)

TIMELINE = {
    "timeline/preheat",
    "timeline/remind_open",
    "timeline/countdown",
    "redpacket/rain_start",
    "redpacket/rain_end",
    "campaign/announcement",
    "campaign/jielong_post",
    "timeline/stock",
    "timeline/sales",
    "timeline/last_call",
    "campaign/closed",
    "timeline/tier_settled",
    "recap/recap",
    "recap/poster",
    "payments/reminder",
}

EXPECTED = [  # (template, due time)
    ("timeline/preheat", local(5, 12)),
    ("timeline/remind_open", local(5, 19)),
    ("timeline/remind_open", local(5, 19, 30)),
    ("timeline/countdown", local(5, 19, 50)),
    ("redpacket/rain_start", local(5, 19, 50)),
    ("redpacket/rain_end", local(5, 19, 53)),
    ("timeline/countdown", local(5, 19, 55)),
    ("timeline/countdown", local(5, 19, 59)),
    ("campaign/announcement", local(5, 20)),
    ("campaign/jielong_post", local(5, 20)),
    ("timeline/stock", local(5, 20, 0, 38)),  # 张叔's order at 20:00:33 crosses 20%; posted 5 s later
    ("timeline/sales", local(5, 20, 30)),
    ("timeline/last_call", local(5, 21)),
    ("timeline/last_call", local(5, 22, 30)),
    ("campaign/closed", local(5, 23)),
    ("timeline/tier_settled", local(5, 23)),
    ("recap/recap", local(5, 23, 2)),  # the 战报 text and poster follow the close
    ("recap/poster", local(5, 23, 2)),
    # 23:30 falls in quiet hours -> 08:00; the second stage keeps a 2 h gap; the third finds
    # every unpaid member at the cap of 2 and says nothing.
    ("payments/reminder", local(6, 8)),
    ("payments/reminder", local(6, 10)),
]


async def say(h: Harness, who: str, text: str) -> list[OutboundMessage]:
    """Say something and let paced replies drain (jitter holds a reply back by up to 1.5 s)."""
    out = await h.say(who, text)
    return out + await h.advance(timedelta(seconds=3))


async def test_a_whole_campaign_day(engine: Engine) -> None:
    settings = day_settings(payment={"max_per_member": 2})
    h = build_harness(settings, engine, local(5, 9))
    log: list[Sent] = []
    record_sends(h, log)
    async with h.app:
        out = await say(h, "王姐", ANNOUNCEMENT)
        assert [m.template for m in out] == ["campaign/scheduled"]

        await h.at(local(5, 19, 50, 30))
        # The rain is on: two members grab, one tries twice.
        first = await say(h, "李阿姨", "抢")
        assert first[0].template == "redpacket/grabbed"
        assert (await say(h, "张叔", "抢！"))[0].template == "redpacket/grabbed"
        assert (await say(h, "李阿姨", "抢"))[0].template == "redpacket/twice"
        await h.at(local(5, 19, 54))
        assert [m.template for m in await say(h, "赵姐", "抢")] == ["redpacket/over"]

        await h.at(local(5, 20, 0, 30))
        # A rush of orders right after opening: pacing merges the replies, none is lost.
        for name in ["李阿姨", "张叔"]:
            await say(h, name, "苹果4" if name == "张叔" else "苹果5")
        for name in ["赵姐", "刘哥", "孙奶奶", "周老师", "吴妈", "郑小妹", "陈叔", "琳琳", "马姨", "钱伯"]:
            await say(h, name, "香蕉1")
        await h.at(local(5, 23, 5))
        assert (await say(h, "王姐", "收款 2"))[0].template == "payments/marked"
        assert (await say(h, "赵姐", "已付款"))[0].template == "payments/reported"
        await h.at(local(7, 12))

    group = settings.groups[0].id
    posts = [(t, s.at) for s in log if s.message.chat_id == group for t in s.templates if t in TIMELINE]
    assert [t for t, _ in posts] == [t for t, _ in EXPECTED]
    for (template, sent_at), (_, due) in zip(posts, EXPECTED, strict=True):
        # On time: never early, and pacing delays a post by seconds, not minutes.
        assert due <= sent_at < due + timedelta(seconds=60), (template, sent_at, due)

    # Exactly once, recorded at the planned minute.
    keys = notices(h)
    sent_kinds = sorted(k.split(":")[2] for k, n in keys.items() if n.kind != "skipped")
    assert sent_kinds.count("countdown") == 3 and sent_kinds.count("pay") == 3
    assert not [k for k, n in keys.items() if n.kind == "skipped"]
    assert keys["campaign:1:open:0"].sent_at == local(5, 20)
    assert keys["campaign:1:close:0"].sent_at == local(5, 23)

    # Every member's order reply went out (merged or not), and pacing held all day.
    texts = "\n".join(s.message.text for s in log if s.message.chat_id == group)
    assert texts.count("跟团号") >= 12
    check_pacing(log, PacingConfig())

    with Session(h.app.engine) as s:
        apple = s.exec(select(Item).where(Item.name == "苹果")).one()
        assert apple.sold == 9 and apple.settled_price_fen == 800  # 阶梯 满8斤 8元
        orders = {o.follow_no: o for o in s.exec(select(Order))}
    assert orders[1].coupon_fen > 0 and orders[2].coupon_fen > 0  # rain coupons on the orders
    assert orders[2].paid and orders[3].paid_reported

    reminders = [s.message for s in log if "payments/reminder" in s.templates]
    # 张叔 paid and 赵姐 reported: neither is nudged; everyone else is, at most twice.
    assert h.member_id("张叔") not in reminders[0].mentions
    assert h.member_id("赵姐") not in reminders[0].mentions
    assert h.member_id("李阿姨") in reminders[0].mentions and h.member_id("李阿姨") in reminders[1].mentions
    leader = settings.groups[0].leader
    private = [s for s in log if s.message.chat_id == leader]
    assert any("timeline/close_leader" in s.templates for s in private)
    assert any("payments/report_leader" in s.templates for s in private)
