"""Win-back (召回): a personal coupon, privately, to every member silent for N days (by orders).

A wave is rows in the store, one per member (``WinbackMessage``); releasing a member's message
is one conditional UPDATE in the transaction that writes it to the outbox and issues the coupon.
A restart midway picks up the rows still waiting, and nobody is sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from bot.groupbuy.loyalty_config import WinbackConfig
from bot.services.coupons import CouponUse, coupon_use, issue_coupon
from bot.store.db import insert_once, table
from bot.store.models import Campaign, CampaignStatus, GroupMember, Order, OrderStatus, Role
from bot.store.models_loyalty import Coupon, Optout, WinbackMessage, WinbackWave


def silent_members(
    s: Session, group_ids: list[str], days: int, now: datetime, config: WinbackConfig
) -> list[tuple[str, str]]:
    """(member, group) of members still in these groups whose last order is at least ``days`` old,
    who did not opt out and had no win-back message within ``once_per_days``."""
    last = (
        select(Order.member_id, func.max(Order.created_at).label("last"))
        .join(Campaign, col(Campaign.id) == col(Order.campaign_id))
        .where(
            col(Order.group_id).in_(group_ids),
            Order.status == OrderStatus.ACTIVE,
            Campaign.status != CampaignStatus.CANCELLED,
        )
        .group_by(col(Order.member_id))
        .subquery()
    )
    recent = now - timedelta(days=config.once_per_days)
    messaged = (
        select(WinbackMessage.member_id)
        .join(WinbackWave, col(WinbackWave.id) == col(WinbackMessage.wave_id))
        .where(~col(WinbackMessage.skipped), col(WinbackWave.created_at) > recent)
    )
    staff = select(Role.member_id).where(col(Role.group_id).in_(group_ids))
    stmt = (
        select(GroupMember.member_id, GroupMember.group_id)
        .join(last, last.c.member_id == col(GroupMember.member_id))
        .where(
            col(GroupMember.group_id).in_(group_ids),
            col(GroupMember.left_at).is_(None),
            last.c.last <= now - timedelta(days=days),
            col(GroupMember.member_id).not_in(select(Optout.member_id)),
            col(GroupMember.member_id).not_in(messaged),
            col(GroupMember.member_id).not_in(staff),
        )
        .order_by(col(GroupMember.member_id), col(GroupMember.group_id))
    )
    chosen: dict[str, str] = {}
    for member_id, group_id in s.exec(stmt):
        chosen.setdefault(member_id, group_id)  # one message per member, in their first group
    return list(chosen.items())


def start_wave(
    s: Session,
    leader_id: str,
    group_ids: list[str],
    days: int,
    coupon_fen: int,
    now: datetime,
    config: WinbackConfig,
) -> WinbackWave:
    """Choose the members and store one waiting message each (released later, paced)."""
    members = silent_members(s, group_ids, days, now, config)
    wave = WinbackWave(
        leader_id=leader_id,
        silent_days=days,
        coupon_fen=coupon_fen,
        total=len(members),
        created_at=now,
        report_at=now + timedelta(days=config.report_after_days),
        finished_at=now if not members else None,
    )
    s.add(wave)
    s.flush()
    if members:
        rows = [
            {"wave_id": wave.id, "member_id": m, "group_id": g, "position": i, "skipped": False}
            for i, (m, g) in enumerate(members)
        ]
        s.execute(insert(table(WinbackMessage)), rows)
    return wave


@dataclass(frozen=True)
class Release:
    wave: WinbackWave
    member_id: str
    group_id: str
    coupon: Coupon


def release(s: Session, now: datetime, count: int, config: WinbackConfig) -> list[Release]:
    """Release up to ``count`` waiting messages, oldest wave first. Each is claimed by a
    conditional UPDATE: a second process (or a retried tick) cannot release it again."""
    waiting = s.exec(
        select(WinbackMessage.wave_id, WinbackMessage.member_id, WinbackMessage.group_id)
        .where(col(WinbackMessage.released_at).is_(None))
        .order_by(col(WinbackMessage.wave_id), col(WinbackMessage.position))
        .limit(count)
    ).all()
    ids = [w[1] for w in waiting]
    opted = set(s.exec(select(Optout.member_id).where(col(Optout.member_id).in_(ids))))
    # Whoever left every group since the wave was chosen gets nothing either.
    present = set(
        s.exec(
            select(GroupMember.member_id).where(
                col(GroupMember.member_id).in_(ids), col(GroupMember.left_at).is_(None)
            )
        )
    )
    waves: dict[int, WinbackWave] = {}
    out = []
    for wave_id, member_id, group_id in waiting:
        skip = member_id in opted or member_id not in present
        claimed = s.execute(
            update(WinbackMessage)
            .where(
                col(WinbackMessage.wave_id) == wave_id,
                col(WinbackMessage.member_id) == member_id,
                col(WinbackMessage.released_at).is_(None),
            )
            .values(released_at=now, skipped=skip)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1 or skip:
            continue
        wave = waves.get(wave_id) or s.get(WinbackWave, wave_id)
        assert wave is not None
        waves[wave_id] = wave
        coupon = issue_coupon(
            s,
            member_id,
            wave.coupon_fen,
            "winback",
            now,
            config.coupon_days,
            f"winback:{wave_id}:{member_id}",
        )
        assert coupon is not None and coupon.id is not None
        s.execute(
            update(WinbackMessage)
            .where(col(WinbackMessage.wave_id) == wave_id, col(WinbackMessage.member_id) == member_id)
            .values(coupon_id=coupon.id)
            .execution_options(synchronize_session=False)
        )
        out.append(Release(wave, member_id, group_id, coupon))
    return out


@dataclass(frozen=True)
class WaveCount:
    wave: WinbackWave
    sent: int
    skipped: int


def _counts(s: Session, wave: WinbackWave) -> tuple[int, int]:
    rows = s.exec(
        select(WinbackMessage.skipped, func.count())
        .where(WinbackMessage.wave_id == wave.id, col(WinbackMessage.released_at).is_not(None))
        .group_by(col(WinbackMessage.skipped))
    ).all()
    by = dict(rows)
    return int(by.get(False, 0)), int(by.get(True, 0))


def finished_waves(s: Session, now: datetime) -> list[WaveCount]:
    """Waves whose every message is out, not yet told to the leader: marked told, once."""
    out = []
    for wave in s.exec(select(WinbackWave).where(col(WinbackWave.finished_at).is_(None))):
        pending = s.exec(
            select(WinbackMessage.member_id)
            .where(WinbackMessage.wave_id == wave.id, col(WinbackMessage.released_at).is_(None))
            .limit(1)
        ).first()
        if pending is not None or not _mark(s, WinbackWave.finished_at, wave.id, now):
            continue
        out.append(WaveCount(wave, *_counts(s, wave)))
    return out


def _mark(s: Session, column: object, wave_id: int | None, now: datetime) -> bool:
    name = column.key  # type: ignore[attr-defined]
    return bool(
        s.execute(
            update(WinbackWave)
            .where(col(WinbackWave.id) == wave_id, col(column).is_(None))  # type: ignore[arg-type]
            .values({name: now})
            .execution_options(synchronize_session=False)
        ).rowcount
    )


@dataclass(frozen=True)
class WaveReport:
    wave: WinbackWave
    sent: int
    use: CouponUse


def due_reports(s: Session, now: datetime) -> list[WaveReport]:
    """Waves whose report day came: how many coupons were used (told once)."""
    out = []
    stmt = select(WinbackWave).where(
        col(WinbackWave.reported_at).is_(None), col(WinbackWave.report_at) <= now
    )
    for wave in s.exec(stmt):
        if wave.total and _mark(s, WinbackWave.reported_at, wave.id, now):
            out.append(report(s, wave))
    return out


def report(s: Session, wave: WinbackWave) -> WaveReport:
    return WaveReport(wave, _counts(s, wave)[0], coupon_use(s, "winback", f"winback:{wave.id}:"))


def recent_waves(s: Session, leader_id: str, limit: int = 3) -> list[WaveReport]:
    stmt = (
        select(WinbackWave)
        .where(WinbackWave.leader_id == leader_id, col(WinbackWave.total) > 0)
        .order_by(col(WinbackWave.id).desc())
        .limit(limit)
    )
    return [report(s, w) for w in s.exec(stmt)]


def opt_out(s: Session, member_id: str, now: datetime) -> bool:
    """退订: never an unsolicited private message again. False when already opted out."""
    return insert_once(s, Optout, member_id=member_id, at=now)


def waiting(s: Session) -> bool:
    """Whether a wave still has messages to release."""
    stmt = select(WinbackMessage.member_id).where(col(WinbackMessage.released_at).is_(None)).limit(1)
    return s.exec(stmt).first() is not None


def next_report(s: Session) -> datetime | None:
    return s.exec(select(func.min(WinbackWave.report_at)).where(col(WinbackWave.reported_at).is_(None))).one()


def unfinished(s: Session) -> bool:
    """Whether a wave has not been reported to its leader as sent yet."""
    return (
        s.exec(select(WinbackWave.id).where(col(WinbackWave.finished_at).is_(None)).limit(1)).first()
        is not None
    )
