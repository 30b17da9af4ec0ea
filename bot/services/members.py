"""Who is who: groups, members and roles on the store. Identity is the stable chat id."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, select

from bot.core.commands import Level
from bot.core.config import Settings
from bot.core.context import BatchCache, Ctx
from bot.store.db import table, upsert
from bot.store.models import Group, GroupMember, Member, Role, RoleName


def sync_config(s: Session, settings: Settings, now: datetime) -> None:
    """Make the store agree with config.yaml: groups, their leaders and configured admins."""
    for g in settings.groups:
        group = s.get(Group, g.id) or Group(id=g.id)
        group.name = g.name
        if g.members:
            group.member_count = len(g.members)
        s.add(group)
        s.flush()  # the membership upserts below refer to it
        for person in g.members:
            touch_member(s, g.id, person.id, person.name, now)
        touch_member(s, g.id, g.leader, None, now)
        for role in s.exec(select(Role).where(Role.group_id == g.id, Role.role == RoleName.LEADER)):
            if role.member_id != g.leader:
                s.delete(role)
        s.flush()
        set_role(s, g.id, g.leader, RoleName.LEADER, source="config")
        for admin in g.admins:
            touch_member(s, g.id, admin, None, now)
            if role_of(s, g.id, admin) is None:
                set_role(s, g.id, admin, RoleName.ADMIN, source="config")
        # An admin taken out of config.yaml loses the rights config gave (not those given in chat).
        stale = select(Role).where(
            Role.group_id == g.id, Role.role == RoleName.ADMIN, Role.source == "config"
        )
        for role in s.exec(stale):
            if role.member_id not in g.admins:
                s.delete(role)


_MEMBERS, _GROUPS, _LINKS = table(Member), table(Group), table(GroupMember)

# (group or None for a private chat, member id, display name or None): somebody who spoke.
Seen = tuple[str | None, str, str | None]


def touch_member(s: Session, group_id: str | None, member_id: str, name: str | None, now: datetime) -> None:
    """Create or refresh a member (and their membership of a group)."""
    touch_members(s, [(group_id, member_id, name)], now)


def touch_members(s: Session, seen: Iterable[Seen], now: datetime) -> None:
    """Create or refresh members and their memberships: a few upserts for a whole batch.

    Core statements on the session's connection, so a flash sale's newcomers cost three
    statements per batch, not three look-ups each."""
    conn, insert = s.connection(), upsert(s)
    named: dict[str, str] = {}
    unnamed: set[str] = set()
    groups: set[str] = set()
    links: set[tuple[str, str]] = set()
    for group_id, member_id, name in seen:
        if name:
            named[member_id] = name
        else:
            unnamed.add(member_id)
        if group_id is not None:
            groups.add(group_id)
            links.add((group_id, member_id))
    if named:
        stmt = insert(_MEMBERS)
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={"name": stmt.excluded.name},
            where=_MEMBERS.c.name != stmt.excluded.name,
        )
        conn.execute(stmt, [{"id": m, "name": n, "phone": None} for m, n in named.items()])
    if unnamed - named.keys():
        rows = [{"id": m, "name": m, "phone": None} for m in unnamed - named.keys()]
        conn.execute(insert(_MEMBERS).on_conflict_do_nothing(), rows)
    if groups:
        rows = [{"id": g, "name": g, "member_count": 0} for g in groups]
        conn.execute(insert(_GROUPS).on_conflict_do_nothing(), rows)
    if links:
        stmt = insert(_LINKS).on_conflict_do_update(
            index_elements=["group_id", "member_id"],
            set_={"left_at": None},
            where=_LINKS.c.left_at.is_not(None),
        )
        rows = [
            {"group_id": g, "member_id": m, "alias": None, "joined_at": now, "left_at": None}
            for g, m in links
        ]
        conn.execute(stmt, rows)


def stored_members(s: Session) -> set[Seen]:
    """(group, member id, name) of every current membership: who needs no ``touch_members``."""
    stmt = (
        select(_LINKS.c.group_id, _LINKS.c.member_id, _MEMBERS.c.name)
        .join(_MEMBERS, _MEMBERS.c.id == _LINKS.c.member_id)
        .where(_LINKS.c.left_at.is_(None))
    )
    return {(g, m, n) for g, m, n in s.connection().execute(stmt)}


def mark_left(s: Session, group_id: str, member_id: str, now: datetime) -> None:
    """The member left the group: no longer counted among its members."""
    link = s.get(GroupMember, (group_id, member_id))
    if link is not None and link.left_at is None:
        link.left_at = now
        s.add(link)


def role_of(s: Session, group_id: str, member_id: str) -> str | None:
    role = s.exec(select(Role).where(Role.group_id == group_id, Role.member_id == member_id)).first()
    return role.role if role else None


def set_role(s: Session, group_id: str, member_id: str, role: str | None, source: str = "chat") -> None:
    existing = s.exec(select(Role).where(Role.group_id == group_id, Role.member_id == member_id)).first()
    if role is None:
        if existing is not None:
            s.delete(existing)
        return
    if existing is None:
        s.add(Role(group_id=group_id, member_id=member_id, role=role, source=source))
    else:
        existing.role = role
        existing.source = source
        s.add(existing)


def level_in(s: Session, group_id: str | None, member_id: str) -> Level:
    """The sender's level in a group; in a private chat, the highest over all groups."""
    stmt = select(Role.role).where(Role.member_id == member_id)
    if group_id is not None:
        stmt = stmt.where(Role.group_id == group_id)
    roles = set(s.exec(stmt))
    if RoleName.LEADER in roles:
        return Level.LEADER
    if RoleName.ADMIN in roles:
        return Level.ADMIN
    return Level.MEMBER


def group_levels(s: Session, group_id: str) -> dict[str, Level]:
    """Everybody with a role in the group and their level (one query; members are absent)."""
    rows = s.exec(select(Role.member_id, Role.role).where(Role.group_id == group_id))
    return {m: Level.LEADER if r == RoleName.LEADER else Level.ADMIN for m, r in rows}


def level_of(s: Session, cache: BatchCache, group_id: str | None, member_id: str) -> Level:
    """The sender's level where the message was written; a group's roles are read once per batch."""
    if group_id is None:
        return level_in(s, None, member_id)
    levels = cache.get(("levels", group_id), lambda: group_levels(s, group_id))
    return levels.get(member_id, Level.MEMBER)


def group_led(s: Session, cache: BatchCache, group_id: str) -> bool:
    """Whether a leader runs the group (config.yaml or 绑定); read once per batch."""
    levels = cache.get(("levels", group_id), lambda: group_levels(s, group_id))
    return Level.LEADER in levels.values()


def managed_groups(ctx: Ctx, level: Level = Level.ADMIN) -> list[str]:
    """The group the message is in; in a private chat, the groups the sender runs at ``level``."""
    if ctx.group_id is not None:
        return [ctx.group_id]
    return groups_managed(ctx.session, ctx.sender_id, level)


def groups_managed(s: Session, member_id: str, level: Level = Level.ADMIN) -> list[str]:
    """Groups where the member has at least ``level`` (leader or admin), leader's groups first.

    In a private chat a leader-only command must only reach the groups the sender leads."""
    roles = list(s.exec(select(Role).where(Role.member_id == member_id)))
    if level >= Level.LEADER:
        roles = [r for r in roles if r.role == RoleName.LEADER]
    roles.sort(key=lambda r: r.role != RoleName.LEADER)
    return [r.group_id for r in roles]


def member_name(s: Session, member_id: str) -> str:
    member = s.get(Member, member_id)
    return member.name if member else member_id


def group_size(s: Session, group_id: str) -> int:
    group = s.get(Group, group_id)
    links = s.exec(select(GroupMember).where(GroupMember.group_id == group_id, GroupMember.left_at.is_(None)))  # type: ignore[union-attr]
    return max(group.member_count if group else 0, len(list(links)))
