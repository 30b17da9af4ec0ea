"""Tables for keeping members: points, coupons, win-back waves, opt-outs, invitations,
rating asks, ticket nudges and group activity.

Every unit of deferred work has its own row whose primary key makes it happen once: a rating ask
per order, a ticket nudge per ticket and period, a win-back message per wave and member, a
points entry per reference (order, day's sign-in, rating, redemption message, expiring lot).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


def _dt(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class PointsAccount(SQLModel, table=True):
    """A member's points balance: spent only by a conditional UPDATE (balance >= n), so it can
    never go negative nor be spent twice, whatever runs at the same time."""

    __tablename__ = "points_account"

    member_id: str = Field(primary_key=True, foreign_key="member.id")
    balance: int = 0


class PointsLot(SQLModel, table=True):
    """Points earned together, expiring together; spending takes from the oldest lots first."""

    __tablename__ = "points_lot"
    __table_args__ = (Index("ix_points_lot_due", "expires_at", "left"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(foreign_key="member.id", index=True)
    amount: int
    left: int
    earned_at: datetime | None = _dt()
    expires_at: datetime | None = _dt()
    warned_at: datetime | None = _dt()


class PointsEntry(SQLModel, table=True):
    """The points ledger; ``ref`` is unique, so the same order, sign-in day, rating or redemption
    never counts twice (a redelivered message, two processes, a retried job)."""

    __tablename__ = "points_entry"

    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(foreign_key="member.id", index=True)
    delta: int
    reason: str  # order, sign_in, rating, redeem, expire
    ref: str = Field(unique=True)
    created_at: datetime | None = _dt()


class Coupon(SQLModel, table=True):
    """A personal coupon (win-back, points, invitation). The next order takes it off the amount,
    like a red-packet coupon; ``order_id`` is set once by a conditional UPDATE, so it is used once."""

    __tablename__ = "coupon"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    member_id: str = Field(foreign_key="member.id", index=True)
    amount_fen: int
    source: str  # winback, points, invite
    ref: str | None = Field(default=None, unique=True)
    created_at: datetime | None = _dt()
    expires_at: datetime | None = _dt()
    order_id: int | None = Field(default=None, foreign_key="orders.id")
    used_at: datetime | None = _dt()


class WinbackWave(SQLModel, table=True):
    """A leader's 召回: who was chosen is in ``WinbackMessage``; the leader hears the count when
    every message has gone out (``finished_at``) and the coupons used later (``reported_at``)."""

    __tablename__ = "winback_wave"

    id: int | None = Field(default=None, primary_key=True)
    leader_id: str = Field(foreign_key="member.id")
    silent_days: int
    coupon_fen: int
    total: int = 0
    created_at: datetime | None = _dt()
    finished_at: datetime | None = _dt()
    report_at: datetime | None = _dt()
    reported_at: datetime | None = _dt()


class WinbackMessage(SQLModel, table=True):
    """One member's win-back message: an exactly-once unit of work. ``released_at`` is set by a
    conditional UPDATE in the transaction that writes the message to the outbox."""

    __tablename__ = "winback_message"
    __table_args__ = (Index("ix_winback_pending", "wave_id", "released_at"),)

    wave_id: int = Field(primary_key=True, foreign_key="winback_wave.id")
    member_id: str = Field(primary_key=True, foreign_key="member.id", index=True)
    group_id: str = Field(foreign_key="group.id")
    position: int = 0
    released_at: datetime | None = _dt()
    skipped: bool = False  # opted out (退订) before their turn
    coupon_id: int | None = Field(default=None, foreign_key="coupon.id")


class Optout(SQLModel, table=True):
    """A member who said 退订: never sent an unsolicited private message again."""

    member_id: str = Field(primary_key=True, foreign_key="member.id")
    at: datetime | None = _dt()


class Invitation(SQLModel, table=True):
    """A newcomer who joined a group through a member's invitation (the network named them)."""

    group_id: str = Field(primary_key=True, foreign_key="group.id")
    member_id: str = Field(primary_key=True, foreign_key="member.id")
    inviter_id: str = Field(foreign_key="member.id", index=True)
    joined_at: datetime | None = _dt()
    rewarded_at: datetime | None = _dt(index=True)


class RatingAsk(SQLModel, table=True):
    """The one private 评价 request after an order was collected."""

    __tablename__ = "rating_ask"

    order_id: int = Field(primary_key=True, foreign_key="orders.id")
    at: datetime | None = _dt()


class TicketNudge(SQLModel, table=True):
    """An overdue ticket sent to the leader again: once per ticket and overdue period."""

    __tablename__ = "ticket_nudge"

    ticket_id: int = Field(primary_key=True, foreign_key="aftersale_ticket.id")
    period: int = Field(primary_key=True)
    at: datetime | None = _dt()


class Activity(SQLModel, table=True):
    """A member's helpful group messages per day (for 活跃之星)."""

    group_id: str = Field(primary_key=True, foreign_key="group.id")
    member_id: str = Field(primary_key=True, foreign_key="member.id")
    day: date = Field(primary_key=True)
    helpful: int = 0
