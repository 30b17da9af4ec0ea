"""Points and win-back under pressure: concurrent redemptions of the same points (real concurrent
transactions on SQLite and PostgreSQL), two groups at once, and a 2,000-member win-back wave that
is paced within the account's limits and survives a restart midway without sending anyone twice."""

from __future__ import annotations

import asyncio
import threading
from bisect import bisect_left
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.groupbuy.loyalty_config import PointsConfig
from bot.services.points import Redeem, redeem_or_refuse
from bot.store.db import create_schema, table
from bot.store.models import Campaign, CampaignStatus, Group, GroupMember, Item, Member, Order, OrderLine
from bot.store.models_loyalty import Coupon, PointsAccount, PointsEntry, PointsLot, WinbackMessage
from bot.testing import build_harness, demo_settings
from tests.conftest import START

NOW = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


def seed_points(engine: Engine, member: str, points: int) -> None:
    with Session(engine) as s:
        s.add(Group(id="g1", name="幸福里1群"))
        s.add(Member(id=member, name="李阿姨"))
        s.flush()
        s.add(GroupMember(group_id="g1", member_id=member))
        s.add(PointsAccount(member_id=member, balance=points))
        s.add(
            PointsLot(
                member_id=member,
                amount=points,
                left=points,
                earned_at=NOW,
                expires_at=NOW + timedelta(days=9),
            )
        )
        s.add(PointsEntry(member_id=member, delta=points, reason="order", ref="seed", created_at=NOW))
        s.commit()


def test_two_concurrent_redemptions_of_the_same_points_exactly_one_succeeds(engine: Engine) -> None:
    create_schema(engine)
    seed_points(engine, "m1", 500)
    config = PointsConfig()
    pg = engine.dialect.name == "postgresql"
    both_open = threading.Barrier(2)

    def attempt(n: int) -> Redeem:
        if not pg:
            both_open.wait()  # SQLite: BEGIN IMMEDIATE serialises writers, so meet before it
        with Session(engine) as s:
            if pg:
                s.exec(select(Member.id)).all()  # both transactions open and holding a snapshot
                both_open.wait()
            result = redeem_or_refuse(s, "m1", 500, f"redeem:message-{n}", NOW, config)
            s.commit()
            return result.outcome

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(attempt, [1, 2]))
    assert outcomes == [Redeem.DONE, Redeem.NOT_ENOUGH]
    with Session(engine) as s:
        assert s.get(PointsAccount, "m1").balance == 0  # type: ignore[union-attr]
        assert len(s.exec(select(Coupon)).all()) == 1
        assert s.exec(select(func.sum(PointsEntry.delta))).one() == 0  # the ledger agrees
        assert s.exec(select(func.sum(PointsLot.left))).one() == 0


def test_the_same_redemption_message_twice_spends_once(engine: Engine) -> None:
    create_schema(engine)
    seed_points(engine, "m1", 1000)
    for _ in range(2):
        with Session(engine) as s:
            result = redeem_or_refuse(s, "m1", 500, "redeem:same-message", NOW, PointsConfig())
            s.commit()
    assert result.outcome == Redeem.TWICE
    with Session(engine) as s:
        assert s.get(PointsAccount, "m1").balance == 500  # type: ignore[union-attr]


async def test_two_messages_at_once_in_two_groups_spend_the_points_once(
    engine: Engine, tmp_path: Path
) -> None:
    people = {"leader": "王姐", "members": ["李阿姨"]}
    settings = demo_settings({"幸福里1群": people, "幸福里2群": {"leader": "张叔", "members": ["李阿姨"]}})
    h = build_harness(settings, engine, START)
    async with h.app:
        li = h.member_id("李阿姨")
        with Session(engine) as s:
            s.add(PointsAccount(member_id=li, balance=600))
            s.add(
                PointsLot(
                    member_id=li, amount=600, left=600, earned_at=NOW, expires_at=NOW + timedelta(days=9)
                )
            )
            s.commit()
        h.new()
        first, second = await asyncio.gather(
            h.say("李阿姨", "积分兑换 500", group="幸福里1群"),
            h.say("李阿姨", "积分兑换 500", group="幸福里2群"),
        )
        texts = [m.text for m in first + second if m.template == "points/redeemed"]
        assert sum("✅" in t for t in texts) == 1 and sum("积分不够" in t for t in texts) == 1
        with Session(engine) as s:
            assert s.get(PointsAccount, li).balance == 100  # type: ignore[union-attr]
            assert len(s.exec(select(Coupon)).all()) == 1


# --- the 2,000-member win-back wave -----------------------------------------------------------

WAVE = 2000
PACING = {"per_chat_per_minute": 20, "per_account_per_minute": 30, "burst": 5, "jitter_seconds": 1.5}


def seed_silent(engine: Engine, group_id: str, leader: str, when: datetime) -> list[str]:
    """2,000 members of the group whose one order is 40 days old (Core inserts: it is a fixture)."""
    ids = [f"silent-{n:04d}" for n in range(WAVE)]
    with Session(engine) as s:
        campaign = Campaign(
            title="上个月的水果团",
            status=CampaignStatus.CLOSED,
            owner_group_id=group_id,
            created_by=leader,
            created_at=when,
            closed_at=when,
            succeeded=True,
        )
        s.add(campaign)
        s.flush()
        item = Item(campaign_id=campaign.id, name="苹果", price_fen=1280)  # type: ignore[arg-type]
        s.add(item)
        s.flush()
        s.execute(insert(table(Member)), [{"id": m, "name": f"邻居{m[-4:]}", "phone": None} for m in ids])
        s.execute(insert(table(GroupMember)), [{"group_id": group_id, "member_id": m} for m in ids])
        orders = [
            {
                "campaign_id": campaign.id,
                "member_id": m,
                "group_id": group_id,
                "follow_no": n + 1,
                "status": "active",
                "paid": True,
                "paid_reported": False,
                "coupon_fen": 0,
                "refund_fen": 0,
                "created_at": when,
            }
            for n, m in enumerate(ids)
        ]
        s.execute(insert(table(Order)), orders)
        order_ids = s.exec(select(Order.id).where(Order.campaign_id == campaign.id)).all()
        s.execute(
            insert(table(OrderLine)),
            [{"order_id": o, "item_id": item.id, "quantity": 1, "unit_price_fen": 1280} for o in order_ids],
        )
        s.commit()
    return ids


async def test_winback_wave_of_2000_is_paced_and_survives_a_restart_midway(engine: Engine) -> None:
    settings = demo_settings({"幸福里1群": {"leader": "王姐", "members": []}}, pacing=PACING)
    first = build_harness(settings, engine, START)
    async with first.app:
        leader = first.member_id("王姐")
        members = seed_silent(engine, first.group_id(), leader, first.clock.now() - timedelta(days=40))
        first.new()
        started = await first.say("王姐", "召回 30天 券5元", private=True)
        assert started[0].template == "winback/started" and "2000 位会员" in started[0].text
        # One member says 退订 before their turn (the last in the wave).
        quitter = members[-1]
        await first.transport.deliver(
            first.transport.message(
                quitter, quitter, "邻居1999", "退订", is_group=False, timestamp=first.clock.now()
            )
        )
        await first.advance(timedelta(minutes=80))  # about 800 released, then the process stops
        midway = first.clock.now()
    with Session(engine) as s:
        released = s.exec(select(func.count()).where(WinbackMessage.released_at.is_not(None))).one()  # type: ignore[union-attr]
    assert 0 < released < WAVE
    second = build_harness(settings, engine, midway.astimezone(settings.tz).replace(tzinfo=None))
    async with second.app:
        await second.advance(timedelta(hours=3, minutes=30))
        await second.drain(timedelta(minutes=30))
    sent = [
        (m, at) for h in (first, second) for m, at in zip(h.transport.sent, h.transport.sent_at, strict=True)
    ]
    offers = Counter(m.chat_id for m, _ in sent if m.template == "winback/offer")
    assert set(offers) == set(members) - {quitter}  # everyone once, the one who said 退订 never
    assert set(offers.values()) == {1}
    finished = [m for m, _ in sent if m.template == "winback/finished"]
    assert len(finished) == 1 and "1999 位会员" in finished[0].text and "1 位已退订" in finished[0].text
    # Within the account's limits: WeChat restricts at about 60 sends in 90 seconds.
    times = sorted(at for _, at in sent if at is not None)
    assert most_within(times, timedelta(seconds=90)) <= 60
    # And no faster than the leader's win-back rate: 10 a minute (a minute's batch may straddle).
    offer_times = sorted(at for m, at in sent if m.template == "winback/offer" and at is not None)
    assert most_within(offer_times, timedelta(seconds=60)) <= 2 * settings.loyalty.winback.per_minute


def most_within(times: list[datetime], window: timedelta) -> int:
    """The most sends in any window of this length (times sorted)."""
    return max(bisect_left(times, t + window) - i for i, t in enumerate(times))
