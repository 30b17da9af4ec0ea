"""The web chat's history: what every page shows, kept in the store so it survives a restart."""

from __future__ import annotations

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class WebChatEvent(SQLModel, table=True):
    """One message shown in the web chat (a member's or the bot's), in the order it was shown.

    ``chat`` is ``group:<id>`` or ``private:<member id>``; ``event`` is the JSON pages receive.
    A bot message is written in the transaction that marks its outbox rows sent: shown once.
    """

    __tablename__ = "webchat_event"
    __table_args__ = (Index("ix_webchat_event_chat_seq", "chat", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    chat: str
    event: str = Field(sa_column=Column(Text, nullable=False))
