"""Tables of the leader's console: one-time 后台 links and the sessions they open.

Only SHA-256 digests of the link and session tokens are stored: whoever reads the database
cannot log in with what is in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime


def _dt(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class ConsoleLink(SQLModel, table=True):
    """A 后台 link: valid until ``expires_at``, once, for the member it was sent to."""

    __tablename__ = "console_link"

    digest: str = Field(primary_key=True)
    member_id: str = Field(foreign_key="member.id", index=True)
    created_at: datetime | None = _dt()
    expires_at: datetime | None = _dt(nullable=False)
    used_at: datetime | None = _dt()


class ConsoleSession(SQLModel, table=True):
    """A console login (the browser holds the token in an HttpOnly cookie)."""

    __tablename__ = "console_session"

    digest: str = Field(primary_key=True)
    member_id: str = Field(foreign_key="member.id", index=True)
    # The form token of this session (CSRF): sent back with every change, never in a cookie.
    csrf: str
    created_at: datetime | None = _dt()
    expires_at: datetime | None = _dt(nullable=False)
    ended_at: datetime | None = _dt()
