"""Tables of the leader's many groups: pickup points members choose, broadcasts to confirm."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


class PickupChoice(SQLModel, table=True):
    """The pickup point (1-based, of the campaign's ``pickup_points``) a member chose."""

    __tablename__ = "pickup_choice"

    campaign_id: int = Field(primary_key=True, foreign_key="campaign.id")
    member_id: str = Field(primary_key=True, foreign_key="member.id")
    point: int


class PendingBroadcast(SQLModel, table=True):
    """A 群发 to many groups at once, waiting for the leader's 确认 (one per leader)."""

    __tablename__ = "pending_broadcast"

    leader_id: str = Field(primary_key=True, foreign_key="member.id")
    text: str
    groups: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
