"""Tables of the campaign timeline: red-packet rains, stock crossings, 催付 counts, alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


def _dt(index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=index))


class RainPacket(SQLModel, table=True):
    """One packet of the bot's 拼手气 rain; ``member_id`` is set when somebody grabs it.

    The unique (campaign, member) pair makes "one packet per member per rain" hold even
    across processes (NULLs do not collide while packets wait).
    """

    __tablename__ = "rain_packet"
    __table_args__ = (UniqueConstraint("campaign_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    position: int
    amount_fen: int
    member_id: str | None = None
    group_id: str | None = None
    grabbed_at: datetime | None = _dt()
    # The coupon was put on the member's order (an order may come after the rain).
    applied: bool = False


class StockWatch(SQLModel, table=True):
    """Whether an item is currently below its low-stock line or sold out (once per crossing)."""

    __tablename__ = "stock_watch"

    item_id: int = Field(primary_key=True, foreign_key="item.id")
    low: bool = False
    sold_out: bool = False
    crossings: int = 0
    # Crossings waiting for the next stock post (a timeline job a few seconds later).
    announce_low: bool = False
    announce_sold_out: bool = False


class PaymentNudge(SQLModel, table=True):
    """How many times a member was reminded to pay for a campaign (at most N)."""

    __tablename__ = "payment_nudge"

    campaign_id: int = Field(primary_key=True, foreign_key="campaign.id")
    member_id: str = Field(primary_key=True)
    count: int = 0
    last_at: datetime | None = _dt()


class AlertLog(SQLModel, table=True):
    """Alerts sent to the leader, for the cool-down between repeats."""

    __tablename__ = "alert_log"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    kind: str
    at: datetime | None = _dt()
