"""plan_for is pure and deterministic; per-group config and per-campaign options shape it;
the leader's 时间线 / 跳过 / 改期, with bad input answered and nothing changed."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
import yaml
from sqlmodel import Session

from bot.core.config import ConfigError, parse_settings
from bot.groupbuy.plan import plan_for
from bot.groupbuy.timeline_config import TimelineConfig
from bot.store.models import Campaign, CampaignStatus
from bot.testing import Harness
from tests.timeline_support import TZ, local, notices


def campaign(**kw: object) -> Campaign:
    base = dict(
        id=7,
        title="t",
        status=CampaignStatus.SCHEDULED,
        owner_group_id="g1",
        created_by="u",
        created_at=local(5, 9),
        opens_at=local(5, 20),
        closes_at=local(5, 23),
        options={},
    )
    base.update(kw)
    return Campaign(**base)  # type: ignore[arg-type]


def test_plan_is_deterministic_and_ordered() -> None:
    jobs = plan_for(campaign())
    assert [j.id for j in jobs] == [j.id for j in plan_for(campaign())]
    assert [j.run_at for j in jobs] == sorted(j.run_at for j in jobs)
    keys = [j.key for j in jobs]
    assert keys[:6] == [
        "remind_open:60",
        "remind_open:30",
        "countdown:10",
        "countdown:5",
        "countdown:1",
        "open:0",
    ]
    assert "close:0" in keys and keys.index("last_call:120") < keys.index("last_call:30") < keys.index(
        "close:0"
    )
    assert jobs[0].id == "campaign:7:remind_open:60"
    assert {j.kind for j in jobs if j.must_run} == {"open", "close", "recap"}


def test_reminders_off_and_options_in_the_plan() -> None:
    off = plan_for(campaign(options={"reminders": False}))
    assert {j.kind for j in off} == {"open", "close", "recap"}
    rain = {"at": local(5, 19, 50).isoformat(), "count": 5, "total_fen": 1000}
    jobs = {
        j.key: j for j in plan_for(campaign(options={"preheat_at": local(5, 12).isoformat(), "rain": rain}))
    }
    assert jobs["preheat:0"].run_at == local(5, 12)
    assert jobs["rain_end:0"].run_at - jobs["rain_start:0"].run_at == timedelta(minutes=3)
    # Reminders that were already past when the campaign was made are not planned.
    late = plan_for(campaign(created_at=local(5, 19, 40)))
    assert "remind_open:60" not in {j.key for j in late} and "countdown:10" in {j.key for j in late}


def test_per_group_config_and_quiet_hours() -> None:
    config = TimelineConfig.model_validate(
        {"groups": {"g1": {"countdown_minutes": [3], "payment": {"quiet_end": "09:00"}}}}
    )
    keys = {j.key: j for j in plan_for(campaign(), config)}
    assert "countdown:3" in keys and "countdown:10" not in keys
    assert keys["pay:1"].run_at == local(6, 9)  # 23:30 is quiet until 09:00 for this group
    other = {j.key for j in plan_for(campaign(owner_group_id="g2"), config)}
    assert "countdown:10" in other


def test_status_filters_what_may_still_fire() -> None:
    open_ = {j.kind for j in plan_for(campaign(status=CampaignStatus.OPEN))}
    assert not open_ & {"open", "countdown", "remind_open"} and "close" in open_
    closed = {j.kind for j in plan_for(campaign(status=CampaignStatus.CLOSED, closed_at=local(5, 21)))}
    assert closed == {"pay", "recap"}
    assert plan_for(campaign(status=CampaignStatus.CANCELLED)) == []
    failed = plan_for(campaign(status=CampaignStatus.CLOSED, closed_at=local(5, 21), succeeded=False))
    assert failed == []


@pytest.mark.parametrize(
    ("section", "bad"),
    [
        ({"countdown_minutes": [0]}, "countdown_minutes"),
        ({"payment": {"max_per_member": 0}}, "max_per_member"),
        ({"groups": {"g1": {"rain_minutes": 0}}}, "rain_minutes"),
        ({"no_such": 1}, "no_such"),
    ],
)
def test_bad_config_fails_start_up_naming_the_field(section: dict, bad: str) -> None:
    text = yaml.safe_dump({"timeline": section}, allow_unicode=True)
    with pytest.raises(ConfigError, match=rf"line \d+: timeline.*{bad}"):
        parse_settings(text, env={})


SCHEDULED = "开团 晚场\n苹果 10元/斤\n开始 今天20:00\n截团 今天22:00\n预热 今天12:00"


async def test_timeline_shows_skip_and_move(bot: Harness) -> None:
    await bot.say("王姐", SCHEDULED)
    out = await bot.say("王姐", "时间线")
    text = out[0].text
    assert out[0].template == "timeline/timeline"
    for label in ["预热", "开团前1小时", "倒计时10分钟", "开团", "最后30分钟", "截团", "催付1"]:
        assert label in text
    assert (await bot.say("王姐", "跳过 倒计时5分钟"))[0].template == "timeline/skipped"
    assert (await bot.say("王姐", "改期 预热 13:30"))[0].template == "timeline/moved"
    out = await bot.advance(timedelta(hours=4, minutes=30))  # 13:30
    assert [m.template for m in out] == ["timeline/preheat"]
    out = await bot.advance(timedelta(hours=6, minutes=30))  # 20:00
    templates = [m.template for m in out]
    assert templates.count("timeline/countdown") == 2 and "campaign/announcement" in templates
    assert notices(bot)["campaign:1:countdown:5"].kind == "skipped"
    assert "已跳过" in (await bot.say("王姐", "时间线"))[0].text


async def test_bad_edits_change_nothing(bot: Harness) -> None:
    await bot.say("王姐", SCHEDULED)
    before = notices(bot)
    with Session(bot.app.engine) as s:
        options = dict(s.get(Campaign, 1).options)  # type: ignore[union-attr]
    cases = {
        "改期 预热 08:00": "已经过去",  # a time in the past
        "改期 截团 19:00": "要晚于开团时间",  # close before open
        "改期 开团 23:00": "要晚于开团时间",
        "改期 预热 乱写": "看不懂",
        "跳过 开团": "不能跳过",
        "跳过 99": "没有第99项",
        "跳过 乱七八糟": "没找到要跳过",
        "改期 倒计时5分钟 21:00": "要早于开团时间",
    }
    for text, expected in cases.items():
        out = await bot.say("王姐", text)
        assert expected in out[0].text, (text, out[0].text)
    assert (await bot.say("李阿姨", "跳过 预热"))[0].template == "common/refused"
    assert await bot.say("李阿姨", "移动信号不好") == []
    assert notices(bot).keys() == before.keys()
    with Session(bot.app.engine) as s:
        c = s.get(Campaign, 1)
        assert c is not None and c.options == options and c.opens_at == local(5, 20).astimezone(UTC)
    assert (await bot.say("王姐", "跳过 预热"))[0].template == "timeline/skipped"
    assert "已经跳过" in (await bot.say("王姐", "跳过 预热"))[0].text


async def test_moving_the_open_replans_the_countdown(bot: Harness) -> None:
    await bot.say("王姐", SCHEDULED)
    assert (await bot.say("王姐", "改期 开团 21:00"))[0].template == "timeline/moved"
    out = await bot.advance(timedelta(hours=11))  # 20:00: nothing opens
    assert "campaign/announcement" not in [m.template for m in out]
    out = await bot.advance(timedelta(hours=1))
    assert "campaign/announcement" in [m.template for m in out]
    assert TZ  # times shown and parsed in Asia/Shanghai


async def test_welcome_on_join_with_rules_and_campaign(bot: Harness) -> None:
    await bot.say("王姐", "开团 水果团\n苹果 10元/斤")
    msg = bot.transport.message(bot.group_id(), "u-new", "新邻居小王", "", kind="join")
    await bot.transport.deliver(msg)
    await bot.timer.run_due()
    out = bot.new()
    assert [m.template for m in out] == ["welcome/welcome"]
    assert "新**" in out[0].text and "水果团" in out[0].text and out[0].mentions == ("u-new",)
    await bot.transport.deliver(msg)  # a gateway delivering the join twice
    assert bot.new() == []


LEADER_PACKETS = "开团 晚场\n苹果 10元/斤\n开始 今天20:00\n截团 今天22:00\n团长红包 今天19:55"


async def test_leader_red_packets_are_announced_counted_down_and_movable(bot: Harness) -> None:
    await bot.say("王姐", LEADER_PACKETS)
    shown = (await bot.say("王姐", "时间线"))[0].text
    assert "团长红包预告" in shown and "团长红包" in shown
    out = await bot.say("王姐", "改期 团长红包 19:58")
    assert out[0].template == "timeline/moved"
    sent = await bot.at(local(5, 19, 52))  # the heads-up moved with it, to 19:53
    assert not [m for m in sent if m.template == "timeline/leader_packets"]
    sent = await bot.at(local(5, 19, 58, 30))
    posts = [m for m in sent if m.template == "timeline/leader_packets"]
    assert len(posts) == 2 and "19:58" in posts[0].text and "团长红包来啦" in posts[1].text
    assert all(m.is_group for m in posts)


async def test_leader_red_packets_after_close_is_refused(bot: Harness) -> None:
    out = await bot.say("王姐", LEADER_PACKETS.replace("团长红包 今天19:55", "团长红包 今天23:00"))
    assert out[0].template == "campaign/announce_error" and "团长红包" in out[0].text
