"""Tables of the after-sale features: after-sales tickets (售后) and ratings (评价)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


def _dt(index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=index))


class TicketStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class Ticket(SQLModel, table=True):
    """A member's after-sales request about one order; ``id`` is the 编号 the leader answers with."""

    __tablename__ = "aftersale_ticket"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    member_id: str = Field(foreign_key="member.id", index=True)
    group_id: str = Field(foreign_key="group.id")
    text: str
    status: str = TicketStatus.OPEN
    answer: str | None = None
    answered_by: str | None = None
    # Refunds recorded through this ticket (also added to the order's refund_fen).
    refund_fen: int = 0
    created_at: datetime | None = _dt()
    answered_at: datetime | None = _dt()


class Rating(SQLModel, table=True):
    """A member's 1-5 rating of a campaign; rating again replaces the earlier one."""

    __tablename__ = "rating"
    __table_args__ = (UniqueConstraint("campaign_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    member_id: str = Field(foreign_key="member.id")
    order_id: int = Field(foreign_key="orders.id")
    stars: int
    comment: str | None = None
    created_at: datetime | None = _dt()
    updated_at: datetime | None = _dt()
