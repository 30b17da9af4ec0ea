"""The core tables: chats, members, roles, campaigns, items, orders and idempotency keys.

Money is always integer fen. Times are aware UTC datetimes (see ``UTCDateTime``).
Feature issues add their own tables in sibling modules (``models_<feature>.py``) that
``bot.store.db`` imports before creating the schema.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from bot.groupbuy.quantity import STORE_SCALE, Quantity
from bot.groupbuy.status import CampaignStatus
from bot.store.types import QuantityType, UTCDateTime

__all__ = ["CampaignStatus"]  # the domain's statuses, stored as text


def _dt(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _qty(key: str, *, nullable: bool = False, default: Quantity | None = None) -> Any:
    """A quantity column: code knows it as ``key``; the stored column's name says it holds hundredths."""
    column = Column(
        f"{key}_x100",
        QuantityType(),
        key=key,
        nullable=nullable,
        info={"scaled_from": key, "scale": STORE_SCALE},  # how an older store is brought along
    )
    return Field(default=default, sa_column=column)


class Group(SQLModel, table=True):
    """A group chat (WeChat room). ``id`` is the network's stable room id."""

    id: str = Field(primary_key=True)
    name: str = ""
    member_count: int = 0


class Member(SQLModel, table=True):
    """A person, keyed by the network's stable contact id; the name is display only."""

    id: str = Field(primary_key=True)
    name: str = ""
    phone: str | None = None


class GroupMember(SQLModel, table=True):
    """Membership of a member in a group, with the member's alias (群昵称) there."""

    group_id: str = Field(primary_key=True, foreign_key="group.id")
    member_id: str = Field(primary_key=True, foreign_key="member.id")
    alias: str | None = None
    joined_at: datetime | None = _dt()
    left_at: datetime | None = _dt()


class RoleName(StrEnum):
    LEADER = "leader"
    ADMIN = "admin"


class Role(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("group_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: str = Field(foreign_key="group.id", index=True)
    member_id: str = Field(foreign_key="member.id")
    role: str = RoleName.ADMIN
    # "config" (config.yaml, which may also take it back) or "chat" (管理员 添加).
    source: str = "chat"


class Campaign(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    status: str = Field(default=CampaignStatus.DRAFT, index=True)
    owner_group_id: str = Field(foreign_key="group.id", index=True)
    created_by: str = Field(foreign_key="member.id")
    created_at: datetime | None = _dt()
    opens_at: datetime | None = _dt()
    closes_at: datetime | None = _dt()
    closed_at: datetime | None = _dt()
    min_buyers: int | None = None
    pickup: str | None = None
    # Set at close: True 成团, False 未成团, None while open.
    succeeded: bool | None = None
    # Counter for follow numbers (跟团号), bumped atomically in the database.
    order_seq: int = 0
    # Per-campaign options from the 开团 message (timeline overrides and the like).
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CampaignGroup(SQLModel, table=True):
    """A campaign published to a group; all its groups share the campaign's stock."""

    campaign_id: int = Field(primary_key=True, foreign_key="campaign.id")
    group_id: str = Field(primary_key=True, foreign_key="group.id")


class Item(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("campaign_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    position: int = 0
    name: str
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    price_fen: int
    original_price_fen: int | None = None
    unit: str = "份"
    # Quantities are exact (int, or Decimal halves for goods sold by weight), stored as integer
    # hundredths in columns named for it; a store written before halves existed has its whole
    # numbers carried over at start (bot.store.db.add_missing_columns), never misread.
    # None: unlimited.
    stock: Quantity | None = _qty("stock", nullable=True)
    sold: Quantity = _qty("sold", default=0)
    limit_per_member: Quantity | None = _qty("limit_per_member", nullable=True)
    # 阶梯价: [{"min_units": 30, "price_fen": 1180}] or {"min_buyers": ...}; settled at close.
    tiers: list[dict[str, int]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    settled_price_fen: int | None = None


class OrderStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class Order(SQLModel, table=True):
    """A member's order in a campaign: one per member, holding one line per item."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id"),
        UniqueConstraint("campaign_id", "follow_no"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    member_id: str = Field(foreign_key="member.id", index=True)
    group_id: str = Field(foreign_key="group.id")
    follow_no: int
    status: str = OrderStatus.ACTIVE
    paid: bool = False
    # A member said 已付款; waits for the leader's 收款.
    paid_reported: bool = False
    coupon_fen: int = 0
    refund_fen: int = 0
    note: str | None = None
    # Building-room key (3栋1202, 3-1202) for sorting lists.
    room: str | None = None
    # The member's last message that changed this order (order_text.repeat_key) and when: the
    # same text again within a few minutes is a re-send, not an add.
    last_text: str | None = None
    last_text_at: datetime | None = _dt()
    pickup_code: str | None = Field(default=None, index=True)
    picked_up_at: datetime | None = _dt()
    created_at: datetime | None = _dt()
    updated_at: datetime | None = _dt()


class OrderLine(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("order_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    quantity: Quantity = _qty("quantity")
    unit_price_fen: int
    note: str | None = None
    created_at: datetime | None = _dt()
    updated_at: datetime | None = _dt()


class SentNotice(SQLModel, table=True):
    """Idempotency for scheduled sends: the row is written before the message goes out."""

    key: str = Field(primary_key=True)  # campaign:{id}:{kind}:{slot}
    campaign_id: int | None = Field(default=None, index=True)
    kind: str = ""
    sent_at: datetime | None = _dt()


class ProcessedMessage(SQLModel, table=True):
    """Inbound message ids already acted on, so a redelivered message never counts twice."""

    id: str = Field(primary_key=True)
    at: datetime | None = _dt()


class OutboxMessage(SQLModel, table=True):
    """A rendered message waiting to go out, written in the same transaction as the change
    that caused it: a crash or a disconnected network never loses an acknowledged reply."""

    id: int | None = Field(default=None, primary_key=True)
    # The bot instance that delivers it (two processes on one database each send their own).
    owner: str = Field(default="main", index=True)
    chat_id: str
    is_group: bool = True
    text: str
    template: str
    kind: str = "text"
    path: str | None = None
    mentions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    must_send: bool = False
    standalone: bool = False
    # Not an answer to somebody waiting (a timeline post, a 群发): sent after the answers.
    bulk: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime | None = _dt()
    sent_at: datetime | None = _dt(index=True)
