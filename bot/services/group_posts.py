"""The leader's own words to her groups: 群发 (now, to all or named groups) and 定时 (a post of
her own on the campaign's timeline, where 时间线, 跳过 and 改期 treat it like the others).

A 群发 is one outbox row per group written in the command's transaction: paced, sent exactly
once, and still sent after a restart. One that would reach ``CONFIRM_FROM`` groups or more
waits for her 确认 (``PendingBroadcast``) first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.core.messages import Reply
from bot.groupbuy.group_names import is_all, match_group
from bot.groupbuy.plan import OWN_POSTS, utc_iso
from bot.groupbuy.timeparse import TimeParseError, parse_time
from bot.services.groups import GroupView, leader_groups
from bot.store.models import Campaign
from bot.store.models_groups import PendingBroadcast

CONFIRM_FROM = 10
_TOKEN = re.compile(r"\s*(\S+)")


@dataclass(frozen=True)
class BroadcastDraft:
    groups: list[GroupView]  # where it goes
    unknown: list[str]  # group references that name none of hers
    text: str
    pool: list[GroupView]


def read_broadcast(s: Session, leader_id: str, rest: str) -> BroadcastDraft:
    """「群发 内容」 to all her groups; 「群发 1群 3群 内容」 to those (leading words that name groups)."""
    pool = leader_groups(s, leader_id)
    named: list[GroupView] = []
    unknown: list[str] = []
    every = False
    while (m := _TOKEN.match(rest)) is not None:
        word = m.group(1)
        found = match_group(word, [(g.id, g.name) for g in pool])
        if is_all([word]):
            every = True
        elif found is not None:
            named += [g for g in pool if g.id == found and g not in named]
        elif word.endswith("群") and len(word) <= 12:
            unknown.append(word)
        else:
            break
        rest = rest[m.end() :]
    groups = pool if every or not named else named
    return BroadcastDraft(groups, unknown, rest.strip(), pool)


def broadcast_replies(group_ids: list[str], text: str) -> list[Reply]:
    """The 群发 itself: a broadcast row per group (answers to members go out first)."""
    return [
        Reply("groups/broadcast", {"text": text}, chat_id=g, must_send=True, bulk=True) for g in group_ids
    ]


def hold_broadcast(s: Session, leader_id: str, draft: BroadcastDraft, now: datetime) -> None:
    pending = s.get(PendingBroadcast, leader_id) or PendingBroadcast(leader_id=leader_id, text="")
    pending.text, pending.groups, pending.created_at = draft.text, [g.id for g in draft.groups], now
    s.add(pending)


def take_pending(s: Session, leader_id: str) -> PendingBroadcast | None:
    """Her 群发 waiting for 确认, removed as it is taken (so a second 确认 sends nothing)."""
    pending = s.get(PendingBroadcast, leader_id)
    if pending is not None:
        s.delete(pending)
    return pending


def has_pending(s: Session, leader_id: str) -> bool:
    return (
        s.exec(select(PendingBroadcast.leader_id).where(PendingBroadcast.leader_id == leader_id)).first()
        is not None
    )


def split_when(rest: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, str] | None:
    """「明天9:00 内容」 -> (when, 内容): the longest leading words (up to three) read as a time."""
    ends, pos = [], 0
    while len(ends) < 3 and (m := _TOKEN.match(rest, pos)) is not None:
        ends.append(pos := m.end())
    for end in reversed(ends):
        try:
            return parse_time(rest[:end].strip(), now, tz), rest[end:].strip()
        except TimeParseError:
            continue
    return None


def add_own_post(s: Session, campaign_id: int, when: datetime, text: str) -> int:
    """Put the leader's post on the campaign's timeline (``own:<seq>``); returns its number.

    The campaign row is locked (PostgreSQL) before its options are read, so two at once both stay."""
    stmt = (
        select(Campaign)
        .where(Campaign.id == campaign_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    campaign = s.exec(stmt).one()
    options = dict(campaign.options or {})
    posts = list(options.get(OWN_POSTS) or [])
    seq = max((int(p["seq"]) for p in posts), default=0) + 1
    posts.append({"seq": seq, "at": utc_iso(when), "text": text})
    options[OWN_POSTS] = posts
    campaign.options = options
    s.add(campaign)
    return seq
