"""The leader's groups: binding a group in chat (绑定/解绑), listing them, naming them.

A group is the leader's when she holds the leader role there: given by config.yaml (the
groups written out by hand) or by binding the group in chat. Every "which groups" question
(a private-chat command, 群 1群 3群 in a 开团, 群发) asks ``leader_groups``; which groups a
campaign is published to is ``bot.services.campaigns.campaign_groups``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, delete, select

from bot.core.commands import Level
from bot.core.config import Settings
from bot.groupbuy.group_names import match_group, match_groups, natural_key
from bot.services.campaigns import ACTIVE, campaign_groups
from bot.services.members import group_size, set_role, touch_member
from bot.store.models import Campaign, CampaignGroup, Group, Role, RoleName

BOUND = "bind"  # Role.source of a leader role given by 绑定


@dataclass(frozen=True)
class GroupView:
    id: str
    name: str
    members: int
    configured: bool  # written in config.yaml (解绑 there means editing the file)


def leader_groups(s: Session, leader_id: str, level: Level = Level.LEADER) -> list[GroupView]:
    """The groups this member leads (with ``Level.ADMIN``: leads or helps run), in natural
    name order: what 我的群 lists and what 「群 全部」 means."""
    stmt = (
        select(Group, Role.source)
        .join(Role, col(Role.group_id) == col(Group.id))
        .where(Role.member_id == leader_id)
    )
    if level >= Level.LEADER:
        stmt = stmt.where(Role.role == RoleName.LEADER)
    views = [
        GroupView(g.id, g.name or g.id, group_size(s, g.id), source == "config") for g, source in s.exec(stmt)
    ]
    return sorted(views, key=lambda v: natural_key(v.name))


def may_bind(s: Session, settings: Settings, member_id: str) -> bool:
    """A leader named in config.yaml, or one who already leads a group (configured or bound)."""
    if settings.leader(member_id) is not None:
        return True
    stmt = select(Role.id).where(Role.member_id == member_id, Role.role == RoleName.LEADER)
    return s.exec(stmt).first() is not None


class BindResult(StrEnum):
    BOUND = "bound"
    ALREADY = "already"  # hers already
    TAKEN = "taken"  # another leader's group


@dataclass(frozen=True)
class Binding:
    result: BindResult
    group: GroupView
    leader_id: str | None = None  # the other leader, when taken


def bind_group(
    s: Session,
    settings: Settings,
    group_id: str,
    leader_id: str,
    now: datetime,
    *,
    name: str | None = None,
    size: int | None = None,
) -> Binding:
    """Register the group to the leader, named and sized as the network knows it; her
    configured admins become admins here."""
    group = s.get(Group, group_id) or Group(id=group_id)
    if name:
        group.name = name
    if size:
        group.member_count = size
    s.add(group)
    s.flush()
    current = s.exec(select(Role).where(Role.group_id == group_id, Role.role == RoleName.LEADER)).first()
    view = GroupView(
        group_id, group.name or group_id, group_size(s, group_id), settings.group(group_id) is not None
    )
    if current is not None:
        result = BindResult.ALREADY if current.member_id == leader_id else BindResult.TAKEN
        return Binding(result, view, current.member_id)
    touch_member(s, group_id, leader_id, None, now)
    set_role(s, group_id, leader_id, RoleName.LEADER, source=BOUND)
    conf = settings.leader(leader_id)
    for admin in conf.admins if conf else ():
        touch_member(s, group_id, admin, None, now)
        set_role(s, group_id, admin, RoleName.ADMIN, source=BOUND)
    return Binding(BindResult.BOUND, view)


@dataclass(frozen=True)
class Unbinding:
    group: GroupView
    # Active campaigns that go on in their other groups: (campaign, names of the groups left).
    continuing: list[tuple[Campaign, list[str]]]
    # Active campaigns published only here: the leader must close or cancel them first.
    blocking: list[Campaign]


def unbind_group(s: Session, group_id: str, now: datetime) -> Unbinding:
    """Take a bound group off the leader's list; its active campaigns go on in their other groups.

    Nothing changes while a campaign runs only here (``blocking``)."""
    group = s.get(Group, group_id)
    view = GroupView(group_id, group.name if group else group_id, group_size(s, group_id), False)
    stmt = (
        select(Campaign)
        .join(CampaignGroup, col(CampaignGroup.campaign_id) == col(Campaign.id))
        .where(CampaignGroup.group_id == group_id, col(Campaign.status).in_(ACTIVE))
    )
    active = list(s.exec(stmt))
    others = {
        c.id: [g for g in campaign_groups(s, c.id) if g != group_id] for c in active if c.id is not None
    }
    blocking = [c for c in active if not others[c.id]]
    if blocking:
        return Unbinding(view, [], blocking)
    continuing = []
    for campaign in active:
        rest = others[campaign.id]
        s.exec(  # type: ignore[call-overload]
            delete(CampaignGroup).where(
                col(CampaignGroup.campaign_id) == campaign.id, col(CampaignGroup.group_id) == group_id
            )
        )
        if campaign.owner_group_id == group_id:
            campaign.owner_group_id = rest[0]
            s.add(campaign)
        continuing.append((campaign, [group_name(s, g) for g in rest]))
    s.exec(delete(Role).where(col(Role.group_id) == group_id))  # type: ignore[call-overload]
    return Unbinding(view, continuing, [])


def group_name(s: Session, group_id: str) -> str:
    group = s.get(Group, group_id)
    return group.name if group and group.name else group_id


@dataclass(frozen=True)
class Targets:
    """The groups a 开团 (or 群发) names among the sender's groups, or what went wrong."""

    ids: list[str]
    unknown: list[str]  # references that name none of her groups
    pool: list[GroupView]  # her groups, to list back


def target_groups(
    s: Session, sender_id: str, refs: Sequence[str], here: str | None, level: Level = Level.ADMIN
) -> Targets:
    """Her groups named by ``refs`` (「全部」: all); the group she writes in comes first."""
    pool = leader_groups(s, sender_id, level)
    ids, unknown = match_groups(refs, [(g.id, g.name) for g in pool]) if refs else ([], [])
    if here is not None:
        ids = [here, *(g for g in ids if g != here)]
    return Targets(ids, unknown, pool)


def pickups_by_group(
    entries: Sequence[tuple[str | None, str]], targets: Targets
) -> tuple[dict[str, str], list[str]]:
    """(group id -> point for 「自提 1群 东门驿站 / 2群 西门超市」, references naming no target)."""
    chosen = [(g.id, g.name) for g in targets.pool if g.id in targets.ids]
    by_group: dict[str, str] = {}
    unknown: list[str] = []
    for ref, point in entries:
        if ref is None:
            continue
        found = match_group(ref, chosen)
        if found is None:
            unknown.append(ref)
        else:
            by_group[found] = point
    return by_group, unknown
