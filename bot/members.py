"""Who is who: groups, members and roles on the store. Identity is the stable chat id."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.commands import Level
from bot.config import Settings
from bot.store.models import Group, GroupMember, Member, Role, RoleName


def sync_config(s: Session, settings: Settings, now: datetime) -> None:
    """Make the store agree with config.yaml: groups, their leaders and configured admins."""
    for g in settings.groups:
        group = s.get(Group, g.id) or Group(id=g.id)
        group.name = g.name
        if g.members:
            group.member_count = len(g.members)
        s.add(group)
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


def touch_member(s: Session, group_id: str | None, member_id: str, name: str | None, now: datetime) -> Member:
    """Create or refresh a member (and their membership of a group)."""
    member = s.get(Member, member_id)
    if member is None:
        member = Member(id=member_id, name=name or member_id)
        s.add(member)
    elif name and member.name != name:
        member.name = name
        s.add(member)
    if group_id is not None:
        if s.get(Group, group_id) is None:
            s.add(Group(id=group_id, name=group_id))
            s.flush()
        link = s.get(GroupMember, (group_id, member_id))
        if link is None:
            s.add(GroupMember(group_id=group_id, member_id=member_id, joined_at=now))
        elif link.left_at is not None:
            link.left_at = None
            s.add(link)
    return member


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
