"""The 战报 command books a timeline job; the runner makes the 战报 outside the chat's write
transaction, exactly once per message: text and poster to the groups (or a private preview),
the leader's files privately."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core.messages import OutboundMessage
from bot.groupbuy.plan import HIDDEN_KINDS, RECAP_REQUESTS, plan_for, utc_iso
from bot.groupbuy.rows import OrderRow
from bot.services import recaps
from bot.services.recaps import RecapMedia
from bot.store.db import READ_ONLY
from bot.store.models import Campaign, CampaignStatus, SentNotice
from bot.testing import Harness, build_harness, demo_settings
from tests.conftest import START
from tests.test_aftersale import two_campaigns  # noqa: F401 (the fixture)
from tests.timeline_support import TZ

GROUP_POST = ["recap/recap", "recap/poster", "recap/files_leader", "recap/file", "recap/file", "recap/file"]


def templates(out: Sequence[OutboundMessage]) -> list[str]:
    return [m.template for m in out]


def request_notices(h: Harness) -> dict[str, str | None]:
    with Session(h.app.engine) as s:
        rows = s.exec(select(SentNotice).where(SentNotice.kind == "recap_request"))
        return {n.key: n.kind for n in rows}


def pending_requests(h: Harness, campaign_id: int = 2) -> list[dict[str, Any]]:
    with Session(h.app.engine) as s:
        campaign = s.get(Campaign, campaign_id)
        assert campaign is not None
        return list((campaign.options.get(RECAP_REQUESTS) or {}).get("pending") or [])


async def test_group_recap_posts_text_poster_and_files_once(two_campaigns: Harness) -> None:  # noqa: F811
    h = two_campaigns
    out = await h.say("王姐", "战报 2")
    group, leader = h.group_id(), h.member_id("王姐")
    assert templates(out) == GROUP_POST
    assert all(m.chat_id == group and m.is_group for m in out[:2])
    assert all(m.chat_id == leader and not m.is_group for m in out[2:])
    assert request_notices(h) == {"campaign:2:recap_request:1": "recap_request"}
    # Nothing more: the job is done (the timeline's own 战报 comes 2 minutes after the close).
    assert await h.timer.run_due() == 0
    assert await h.advance(timedelta(seconds=90)) == []


async def test_private_recap_previews_to_the_asker(two_campaigns: Harness) -> None:  # noqa: F811
    h = two_campaigns
    admin, leader = h.member_id("小陈"), h.member_id("王姐")
    out = await h.say("小陈", "战报", private=True)
    assert sorted(templates(out)) == sorted([*GROUP_POST, "recap/preview_hint"])
    assert all(not m.is_group for m in out)
    previews = [m for m in out if m.template in ("recap/recap", "recap/poster", "recap/preview_hint")]
    assert {m.chat_id for m in previews} == {admin}
    assert templates([m for m in out if m.chat_id == admin]) == [
        "recap/recap",
        "recap/poster",
        "recap/preview_hint",
    ]
    assert {m.chat_id for m in out if m.template.startswith("recap/file")} == {leader}
    assert "预览" in out[-1].text and "周六水果团" in out[-1].text
    assert h.group_id() not in {m.chat_id for m in out}


async def test_refusals_stay_immediate_and_book_nothing(two_campaigns: Harness) -> None:  # noqa: F811
    h = two_campaigns
    assert templates(await h.say("王姐", "战报 3")) == ["recap/not_closed"]
    assert templates(await h.say("王姐", "战报 99")) == ["recap/none"]
    assert templates(await h.say("李阿姨", "战报")) == ["common/refused"]
    assert pending_requests(h, 3) == [] and request_notices(h) == {}


async def test_redelivered_message_gives_one_recap(two_campaigns: Harness) -> None:  # noqa: F811
    h = two_campaigns
    assert templates(await h.say("王姐", "战报 2", message_id="wx-1")) == GROUP_POST
    # The gateway delivers it again to this process...
    assert await h.say("王姐", "战报 2", message_id="wx-1") == []
    # ...and after a restart (the in-memory de-duplication is gone; the store remembers).
    again = build_harness(h.settings, h.app.engine, h.clock.now())
    async with again.app:
        again.new()
        assert await again.say("王姐", "战报 2", message_id="wx-1") == []
        assert await again.advance(timedelta(seconds=60)) == []
    assert list(request_notices(h)) == ["campaign:2:recap_request:1"]


async def test_two_messages_give_two_recaps(two_campaigns: Harness) -> None:  # noqa: F811
    h = two_campaigns
    assert templates(await h.say("王姐", "战报 2")) == GROUP_POST
    assert templates(await h.say("王姐", "战报 2")) == GROUP_POST
    # The first, already fired, left the list when the second was booked.
    assert [r["seq"] for r in pending_requests(h)] == [2]
    # Two at once (one batch, before either fired): both are kept and both are made.
    leader = h.member_id("王姐")
    messages = [h.transport.message(h.group_id(), leader, "王姐", "战报 2") for _ in range(2)]
    await asyncio.gather(*(h.transport.deliver(m) for m in messages))
    assert [r["seq"] for r in pending_requests(h)] == [3, 4]  # 2 had fired
    await h.timer.run_due()
    assert templates(h.new()) == GROUP_POST * 2
    assert sorted(request_notices(h)) == [f"campaign:2:recap_request:{n}" for n in (1, 2, 3, 4)]


async def test_restart_between_request_and_fire_still_delivers(
    two_campaigns: Harness,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Days after the close (outside the 催付 window), the process dies right after the 战报
    message committed: the next start finds the request in the store and makes the 战报."""
    h = two_campaigns
    await h.advance(timedelta(days=3, hours=12))  # the next campaign opens at day 4

    async def killed(campaign_id: int) -> None:  # the process dies before the timer is told
        return None

    monkeypatch.setattr(h.app.timeline, "plan", killed)
    assert await h.say("王姐", "战报 2") == []
    assert [r["seq"] for r in pending_requests(h)] == [1]

    restarted = build_harness(h.settings, h.app.engine, h.clock.now() + timedelta(seconds=30))
    async with restarted.app:
        await restarted.timer.run_due()
        assert templates(restarted.new()) == GROUP_POST
        assert await restarted.advance(timedelta(minutes=10)) == []
    assert list(request_notices(h)) == ["campaign:2:recap_request:1"]


@pytest.fixture
async def two_groups(engine: Engine, tmp_path: Path) -> AsyncIterator[Harness]:
    """幸福里1群's 周六水果团 is closed; 阳光2群's 周日蔬菜团 is open and selling."""
    settings = demo_settings(
        {
            "幸福里1群": {"leader": "王姐", "admins": ["小陈"], "members": ["李阿姨", "张叔"]},
            "阳光2群": {"leader": "刘姐", "members": ["小美"]},
        },
        media_dir=str(tmp_path / "media"),
    )
    h = build_harness(settings, engine, START)
    async with h.app:
        await h.say("王姐", "开团 周六水果团\n苹果 12.8元/斤 库存100", group="幸福里1群")
        await h.say("李阿姨", "苹果2", group="幸福里1群")
        await h.say("王姐", "截团", group="幸福里1群")
        await h.say("刘姐", "开团 周日蔬菜团\n白菜 3元/颗 库存50", group="阳光2群")
        h.new()
        yield h


async def test_recap_is_made_outside_the_write_transaction(
    two_groups: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the 战报 is drawn, the app's writer is free, the store is read through a read-only
    session, and an order in another group is handled at once (not after the 战报)."""
    h = two_groups
    loop = asyncio.get_running_loop()
    seen: dict[str, object] = {}
    real_rows, real_media = recaps.order_rows, recaps.render_media

    def rows(s: Session, campaign: Campaign, tz: Any) -> list[OrderRow]:
        seen["read_only"] = s.get_bind().get_execution_options().get(READ_ONLY, False)
        return real_rows(s, campaign, tz)

    def media(rows: Sequence[OrderRow], recap: Any, poster: Path, exports: Any) -> RecapMedia:
        locked = getattr(h.app.writer, "locked", None)  # a threading.Lock on SQLite
        seen["writer_held"] = bool(locked and locked())
        # A flash-sale order in another group meanwhile: on the old path it would wait for the
        # writer (SQLite) until the 战报 was done; here it is handled while we wait.
        order = h.transport.message(h.group_id("阳光2群"), h.member_id("小美"), "小美", "白菜3")
        asyncio.run_coroutine_threadsafe(h.transport.deliver(order), loop).result(timeout=20)
        seen["order_handled_during_render"] = True
        return real_media(rows, recap, poster, exports)

    monkeypatch.setattr(recaps, "order_rows", rows)
    monkeypatch.setattr(recaps, "render_media", media)
    out = await h.say("王姐", "战报", group="幸福里1群")
    assert seen == {"read_only": True, "writer_held": False, "order_handled_during_render": True}
    group2 = h.group_id("阳光2群")
    # The order's reply went out before the 战报 did.
    assert out[0].chat_id == group2 and "白菜" in out[0].text
    assert templates(out[1:]) == GROUP_POST
    assert out[1].chat_id == h.group_id("幸福里1群")


def test_plan_holds_pending_requests_hidden_from_the_timeline() -> None:
    closed = START.replace(tzinfo=TZ)
    at = closed + timedelta(hours=3)
    campaign = Campaign(
        id=5,
        title="t",
        owner_group_id="g",
        created_by="u",
        status=CampaignStatus.CLOSED,
        closed_at=closed,
        succeeded=False,  # no timeline 战报 or 催付: only the requests
        options={
            RECAP_REQUESTS: {
                "seq": 2,
                "at": utc_iso(at),
                "pending": [
                    {"seq": 1, "at": utc_iso(at), "to": None},
                    {"seq": 2, "at": utc_iso(at), "to": "u"},
                ],
            }
        },
    )
    jobs = plan_for(campaign)
    assert [(j.id, j.run_at, j.must_run, dict(j.data)) for j in jobs] == [
        ("campaign:5:recap_request:1", at, True, {"preview_to": None}),
        ("campaign:5:recap_request:2", at, True, {"preview_to": "u"}),
    ]
    assert "recap_request" in HIDDEN_KINDS
    cancelled = Campaign(**{**campaign.model_dump(), "status": CampaignStatus.CANCELLED})
    assert plan_for(cancelled) == []
