"""Access to the leader's console: one-time 后台 links, the sessions they open, 退出后台.

A link carries a random token (256 bits) that works once, for a few minutes, and only for the
member it was sent to; using it opens a session whose token lives in an HttpOnly cookie. The
store keeps SHA-256 digests of both tokens, never the tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core.commands import Level
from bot.core.config import Settings
from bot.services.members import groups_managed, member_name
from bot.store.models_console import ConsoleLink, ConsoleSession

# What secrets.token_urlsafe(32) makes: anything else is not worth a database look-up.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
LOGIN_PATH = "/console/login/"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def console_base(settings: Settings) -> str:
    """Where phones reach the server: the configured public URL, else the web server itself."""
    if settings.console.public_url:
        return settings.console.public_url.rstrip("/")
    host = settings.web.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{host}:{settings.web.port}"


def issue_link(s: Session, member_id: str, now: datetime, minutes: int) -> str:
    """A new one-time link token for the member; her earlier unused links stop working."""
    _expire_links(s, member_id, now)
    token = secrets.token_urlsafe(32)
    s.add(
        ConsoleLink(
            digest=_digest(token),
            member_id=member_id,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    return token


def _expire_links(s: Session, member_id: str, now: datetime) -> None:
    s.exec(  # type: ignore[call-overload]
        update(ConsoleLink)
        .where(
            col(ConsoleLink.member_id) == member_id,
            col(ConsoleLink.used_at).is_(None),
            col(ConsoleLink.expires_at) > now,
        )
        .values(expires_at=now)
    )


class LinkProblem(StrEnum):
    UNKNOWN = "unknown"  # forged, mistyped or cut short
    EXPIRED = "expired"
    USED = "used"


def link_problem(s: Session, token: str, now: datetime) -> LinkProblem | None:
    """What is wrong with a link (None: it can open a session). Reads only."""
    row = s.get(ConsoleLink, _digest(token)) if _TOKEN.fullmatch(token) else None
    return _problem(row, now)


def _problem(row: ConsoleLink | None, now: datetime) -> LinkProblem | None:
    if row is None:
        return LinkProblem.UNKNOWN
    if row.used_at is not None:
        return LinkProblem.USED
    assert row.expires_at is not None
    return LinkProblem.EXPIRED if row.expires_at <= now else None


@dataclass(frozen=True)
class Login:
    """An open console session."""

    member_id: str
    csrf: str
    expires_at: datetime
    token: str = ""  # the cookie's value; only set when the session was just opened


def redeem_link(s: Session, token: str, now: datetime, hours: int) -> Login | LinkProblem:
    """Use the link (once) and open a session for its member."""
    if not _TOKEN.fullmatch(token):
        return LinkProblem.UNKNOWN
    row = s.exec(select(ConsoleLink).where(ConsoleLink.digest == _digest(token)).with_for_update()).first()
    if (problem := _problem(row, now)) is not None:
        return problem
    assert row is not None
    row.used_at = now
    s.add(row)
    session_token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = now + timedelta(hours=hours)
    s.add(
        ConsoleSession(
            digest=_digest(session_token),
            member_id=row.member_id,
            csrf=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    return Login(row.member_id, csrf, expires, session_token)


def session_of(s: Session, token: str | None, now: datetime) -> Login | None:
    """The open session this cookie value belongs to, or None."""
    if token is None or not _TOKEN.fullmatch(token):
        return None
    row = s.get(ConsoleSession, _digest(token))
    if row is None or row.ended_at is not None or row.expires_at is None or row.expires_at <= now:
        return None
    return Login(row.member_id, row.csrf, row.expires_at)


def end_session(s: Session, token: str, now: datetime) -> None:
    """Log this browser out."""
    if _TOKEN.fullmatch(token):
        s.exec(  # type: ignore[call-overload]
            update(ConsoleSession)
            .where(col(ConsoleSession.digest) == _digest(token), col(ConsoleSession.ended_at).is_(None))
            .values(ended_at=now)
        )


def end_sessions(s: Session, member_id: str, now: datetime) -> int:
    """退出后台: every open session of the member ends, and her unused links stop working."""
    _expire_links(s, member_id, now)
    result = s.exec(  # type: ignore[call-overload]
        update(ConsoleSession)
        .where(
            col(ConsoleSession.member_id) == member_id,
            col(ConsoleSession.ended_at).is_(None),
            col(ConsoleSession.expires_at) > now,
        )
        .values(ended_at=now)
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class Visitor:
    """Who is using the console, and what she may see."""

    member_id: str
    name: str
    csrf: str
    groups: list[str]  # the groups she leads or helps run: the campaigns she sees
    leads: list[str]  # the groups she leads: the member history (会员) she sees


def visitor(s: Session, token: str | None, now: datetime) -> Visitor | None:
    """The visitor this session cookie belongs to; None when it opens no session."""
    login = session_of(s, token, now)
    if login is None:
        return None
    return Visitor(
        login.member_id,
        member_name(s, login.member_id),
        login.csrf,
        groups_managed(s, login.member_id, Level.ADMIN),
        groups_managed(s, login.member_id, Level.LEADER),
    )
