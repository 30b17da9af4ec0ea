"""Points (积分): earned for collected orders, daily sign-in and ratings; spent on coupons; expiring.

The balance lives in ``PointsAccount`` and is spent only by ``UPDATE … SET balance = balance - n
WHERE balance >= n``: on PostgreSQL a second concurrent spender waits for the first's row lock and
then finds the balance too low; on SQLite writers are serialised. Every change is a ledger entry
with a unique ``ref``, so nothing counts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import case, update
from sqlmodel import Session, col, func, select

from bot.groupbuy.loyalty import points_for, redeem_fen
from bot.groupbuy.loyalty_config import PointsConfig
from bot.services.coupons import apply_coupon, free_coupons, issue_coupon, open_order_id
from bot.services.pickup import Packet
from bot.store.db import insert_once, savepoint, table, upsert
from bot.store.models import Campaign, CampaignGroup, CampaignStatus, GroupMember
from bot.store.models_aftersale import Rating
from bot.store.models_loyalty import Coupon, PointsAccount, PointsEntry, PointsLot


def member_groups(s: Session, member_id: str) -> list[str]:
    """The bot's groups the member is in now."""
    stmt = select(GroupMember.group_id).where(
        GroupMember.member_id == member_id, col(GroupMember.left_at).is_(None)
    )
    return list(s.exec(stmt))


def in_any_group(s: Session, member_id: str) -> bool:
    """Whether the member is in one of the bot's groups now (left members get nothing)."""
    return bool(member_groups(s, member_id))


def balance(s: Session, member_id: str) -> int:
    account = s.get(PointsAccount, member_id)
    return account.balance if account is not None else 0


def earn(
    s: Session, member_id: str, points: int, reason: str, ref: str, now: datetime, config: PointsConfig
) -> bool:
    """Credit points once per ``ref`` (zero points still records the ref). False when done before."""
    if not _record(s, member_id, points, reason, ref, now):
        return False
    if points > 0:
        accounts = table(PointsAccount)
        ins = upsert(s)(accounts).values(member_id=member_id, balance=points)
        s.execute(
            ins.on_conflict_do_update(
                index_elements=["member_id"], set_={"balance": accounts.c.balance + points}
            )
        )
        expires = now + timedelta(days=config.expire_days)
        s.add(PointsLot(member_id=member_id, amount=points, left=points, earned_at=now, expires_at=expires))
    return True


def _record(s: Session, member_id: str, delta: int, reason: str, ref: str, now: datetime) -> bool:
    """A ledger entry, unless its ref is there already."""
    return insert_once(
        s, PointsEntry, member_id=member_id, delta=delta, reason=reason, ref=ref, created_at=now
    )


def _spend(s: Session, member_id: str, points: int) -> bool:
    """Take points off the balance if it holds them; then from the oldest lots (under the row lock)."""
    taken = s.execute(
        update(PointsAccount)
        .where(col(PointsAccount.member_id) == member_id, col(PointsAccount.balance) >= points)
        .values(balance=col(PointsAccount.balance) - points)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        return False
    left = points
    lots = s.exec(
        select(PointsLot)
        .where(PointsLot.member_id == member_id, col(PointsLot.left) > 0)
        .order_by(col(PointsLot.expires_at), col(PointsLot.id))
    )
    for lot in lots:
        used = min(lot.left, left)
        lot.left -= used
        left -= used
        s.add(lot)
        if left == 0:
            break
    return True


def points_for_order(s: Session, pk: Packet, now: datetime, config: PointsConfig) -> int:
    """Points for a collected order, per yuan paid (after coupons and refunds); once per order."""
    order = pk.order
    points = points_for(pk.due_fen, config.per_yuan)
    if not in_any_group(s, order.member_id):
        return 0
    return points if earn(s, order.member_id, points, "order", f"order:{order.id}", now, config) else 0


def rating_points(s: Session, rating: Rating, now: datetime, config: PointsConfig) -> int:
    """Points for the first rating of a campaign (a member no longer in any group gets none)."""
    member_id = rating.member_id
    if not in_any_group(s, member_id):
        return 0
    ref = f"rating:{rating.campaign_id}:{member_id}"
    return config.rating if earn(s, member_id, config.rating, "rating", ref, now, config) else 0


class SignIn(StrEnum):
    DONE = "done"
    TWICE = "twice"
    NOT_MEMBER = "not_member"


@dataclass(frozen=True)
class SignedIn:
    outcome: SignIn
    points: int = 0
    balance: int = 0
    streak: int = 0


def sign_in(s: Session, member_id: str, today: date, now: datetime, config: PointsConfig) -> SignedIn:
    """签到: once per local day, and only for members of one of the bot's groups."""
    if not in_any_group(s, member_id):
        return SignedIn(SignIn.NOT_MEMBER)
    done = earn(
        s, member_id, config.sign_in, "sign_in", f"sign_in:{member_id}:{today.isoformat()}", now, config
    )
    return SignedIn(
        SignIn.DONE if done else SignIn.TWICE,
        config.sign_in if done else 0,
        balance(s, member_id),
        _streak(s, member_id, today),
    )


def _streak(s: Session, member_id: str, today: date) -> int:
    """Days in a row the member signed in, ending today."""
    refs = set(
        s.exec(
            select(PointsEntry.ref).where(
                PointsEntry.member_id == member_id,
                PointsEntry.reason == "sign_in",
                col(PointsEntry.ref) >= f"sign_in:{member_id}:{(today - timedelta(days=60)).isoformat()}",
            )
        )
    )
    n = 0
    while f"sign_in:{member_id}:{(today - timedelta(days=n)).isoformat()}" in refs:
        n += 1
    return n


class Redeem(StrEnum):
    DONE = "done"
    TOO_FEW = "too_few"  # below the minimum or not a multiple that makes whole fen
    NOT_ENOUGH = "not_enough"
    NOT_MEMBER = "not_member"
    TWICE = "twice"  # the same message redelivered


@dataclass(frozen=True)
class Redeemed:
    outcome: Redeem
    points: int
    balance: int
    coupon: Coupon | None = None
    applied: bool = False  # went straight onto an order of an open campaign


def redeem(
    s: Session, member_id: str, points: int, ref: str, now: datetime, config: PointsConfig
) -> Redeemed:
    """积分兑换 N: points into a coupon, all or nothing."""
    if not in_any_group(s, member_id):
        return Redeemed(Redeem.NOT_MEMBER, points, 0)
    if points < config.min_redeem or redeem_fen(points, config.points_per_yuan) <= 0:
        return Redeemed(Redeem.TOO_FEW, points, balance(s, member_id))
    if not _record(s, member_id, -points, "redeem", ref, now):
        return Redeemed(Redeem.TWICE, points, balance(s, member_id))
    if not _spend(s, member_id, points):
        raise _NotEnough(balance(s, member_id))
    coupon = issue_coupon(
        s, member_id, redeem_fen(points, config.points_per_yuan), "points", now, config.coupon_days, ref
    )
    assert coupon is not None and coupon.id is not None
    order_id = open_order_id(s, member_id, _open_campaigns(s, member_id))
    applied = order_id is not None and apply_coupon(s, order_id, member_id, now) > 0
    return Redeemed(Redeem.DONE, points, balance(s, member_id), coupon, applied)


class _NotEnough(Exception):
    def __init__(self, balance: int) -> None:
        super().__init__(balance)
        self.balance = balance


def redeem_or_refuse(
    s: Session, member_id: str, points: int, ref: str, now: datetime, config: PointsConfig
) -> Redeemed:
    """``redeem`` in a savepoint: a balance too low leaves no ledger entry behind."""
    try:
        with savepoint(s, "redeem"):
            return redeem(s, member_id, points, ref, now, config)
    except _NotEnough as low:
        return Redeemed(Redeem.NOT_ENOUGH, points, low.balance)


def _open_campaigns(s: Session, member_id: str) -> list[int]:
    stmt = (
        select(Campaign.id)
        .join(CampaignGroup, col(CampaignGroup.campaign_id) == col(Campaign.id))
        .join(GroupMember, col(GroupMember.group_id) == col(CampaignGroup.group_id))
        .where(GroupMember.member_id == member_id, Campaign.status == CampaignStatus.OPEN)
    )
    return [cid for cid in s.exec(stmt) if cid is not None]


@dataclass(frozen=True)
class Statement:
    balance: int
    expiring: int  # points that expire within the warning window
    expiring_at: datetime | None
    entries: list[PointsEntry]
    coupons: list[Coupon]


def statement(s: Session, member_id: str, now: datetime, config: PointsConfig) -> Statement:
    """我的积分: the balance, what expires soon, the last entries and the coupons to use."""
    soon = now + timedelta(days=config.warn_days)
    expiring, first = s.exec(
        select(func.coalesce(func.sum(PointsLot.left), 0), func.min(PointsLot.expires_at)).where(
            PointsLot.member_id == member_id, col(PointsLot.left) > 0, col(PointsLot.expires_at) <= soon
        )
    ).one()
    entries = list(
        s.exec(
            select(PointsEntry)
            .where(PointsEntry.member_id == member_id, PointsEntry.delta != 0)
            .order_by(col(PointsEntry.id).desc())
            .limit(5)
        )
    )
    return Statement(balance(s, member_id), int(expiring), first, entries, free_coupons(s, member_id, now))


# --- expiry ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Warning:
    member_id: str
    points: int
    expires_at: datetime


def warn_expiring(s: Session, now: datetime, config: PointsConfig, limit: int = 200) -> list[Warning]:
    """Members with points expiring within ``warn_days`` not warned yet: mark their lots warned
    (one warning per lot) and say what to tell them."""
    soon = now + timedelta(days=config.warn_days)
    lots = list(
        s.exec(
            select(PointsLot)
            .where(
                col(PointsLot.left) > 0, col(PointsLot.expires_at) <= soon, col(PointsLot.warned_at).is_(None)
            )
            .order_by(col(PointsLot.member_id), col(PointsLot.expires_at))
            .limit(limit)
        )
    )
    out: dict[str, Warning] = {}
    for lot in lots:
        # Conditional: a second process warning the same lot does nothing.
        marked = s.execute(
            update(PointsLot)
            .where(col(PointsLot.id) == lot.id, col(PointsLot.warned_at).is_(None))
            .values(warned_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not marked:
            continue
        assert lot.expires_at is not None
        w = out.get(lot.member_id)
        points = lot.left + (w.points if w else 0)
        first = min(lot.expires_at, w.expires_at) if w else lot.expires_at
        out[lot.member_id] = Warning(lot.member_id, points, first)
    return list(out.values())


def expire(s: Session, now: datetime, limit: int = 500) -> int:
    """Take expired lots off their balances, once per lot. Returns the points expired.

    Like spending, it locks the member's account row before touching lots, so a redemption at
    the same moment sees either the points or their expiry, never both."""
    total = 0
    due = s.exec(
        select(PointsLot.id, PointsLot.member_id)
        .where(col(PointsLot.left) > 0, col(PointsLot.expires_at) <= now)
        .limit(limit)
    ).all()
    for lot_id, member_id in due:
        s.exec(
            select(PointsAccount.member_id).where(PointsAccount.member_id == member_id).with_for_update()
        ).all()
        left = s.exec(select(PointsLot.left).where(PointsLot.id == lot_id)).one()
        if left <= 0:
            continue  # spent meanwhile
        if not _record(s, member_id, -left, "expire", f"expire:{lot_id}", now):
            continue
        s.execute(
            update(PointsLot)
            .where(col(PointsLot.id) == lot_id)
            .values(left=0)
            .execution_options(synchronize_session=False)
        )
        s.execute(
            update(PointsAccount)
            .where(col(PointsAccount.member_id) == member_id)
            .values(balance=col(PointsAccount.balance) - left)
            .execution_options(synchronize_session=False)
        )
        total += left
    return total


def next_due(s: Session, config: PointsConfig) -> datetime | None:
    """When the next expiry warning or expiry falls due (for the sweep's wake-up)."""
    warn, expires = s.exec(
        select(
            func.min(case((col(PointsLot.warned_at).is_(None), PointsLot.expires_at))),
            func.min(PointsLot.expires_at),
        ).where(col(PointsLot.left) > 0)
    ).one()
    when = [expires] if expires else []
    if warn is not None:
        when.append(warn - timedelta(days=config.warn_days))
    return min(when, default=None)
