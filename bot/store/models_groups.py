"""Tables of the leader's many groups: pickup points members choose."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class PickupChoice(SQLModel, table=True):
    """The pickup point (1-based, of the campaign's ``pickup_points``) a member chose."""

    __tablename__ = "pickup_choice"

    campaign_id: int = Field(primary_key=True, foreign_key="campaign.id")
    member_id: str = Field(primary_key=True, foreign_key="member.id")
    point: int
