"""Tables of WeChat 接龙 reconciliation: each list's state, and lines waiting for the leader."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


def _dt(index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=index))


class JielongList(SQLModel, table=True):
    """One 接龙 of a group (keyed by its header and description) and what it has shown so far.

    Keyed per campaign too: the same 「#接龙 周六水果团」 comes back every Saturday.
    ``state`` is ``JielongState.to_json()``; the row is locked while a snapshot is applied.
    """

    __tablename__ = "jielong_list"
    __table_args__ = (UniqueConstraint("group_id", "campaign_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: str = Field(index=True)
    key: str
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    title: str = ""
    state: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime | None = _dt()


class PendingStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # the member changed their own entry since the report


class JielongPending(SQLModel, table=True):
    """A line only the leader may decide (someone else's entry, or nobody's); its id is the 编号."""

    __tablename__ = "jielong_pending"

    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(foreign_key="jielong_list.id", index=True)
    group_id: str = Field(index=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    kind: str  # other_add, other_edit, other_delete, unattributed
    nickname: str
    content: str | None = None
    member_id: str | None = None  # whose entry it touches; for unattributed the likely author
    fingerprints: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reported_by: str
    status: str = PendingStatus.PENDING
    created_at: datetime | None = _dt()
    decided_at: datetime | None = _dt()
