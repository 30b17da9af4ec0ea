"""Live alerts for the leader, sent privately to the leader and admins, never into the group.

Chat activity (messages and who sent them) is counted in memory by an ``ActivityMeter`` the
app owns (one per process; a restarted process waits one full window before judging the message
rate, three before judging active members). Conversion and order rate come from the database.
The same alert is not repeated within the cool-down.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.core.messages import Reply
from bot.groupbuy.timeline_config import AlertsConfig
from bot.services.campaigns import buyers_count, campaign_groups
from bot.services.members import group_size
from bot.store.models import Campaign, Order, Role, RoleName
from bot.store.models_timeline import AlertLog

KEEP = timedelta(hours=1)


@dataclass
class ActivityMeter:
    """Group messages seen per group (time and sender), for the chat and active-member alerts."""

    started: datetime | None = None
    _seen: dict[str, deque[tuple[datetime, str]]] = field(default_factory=dict)

    def record(self, group_id: str, at: datetime, sender_id: str) -> None:
        if self.started is None:
            self.started = at
        q = self._seen.setdefault(group_id, deque())
        q.append((at, sender_id))
        while q and at - q[0][0] > KEEP:
            q.popleft()

    def per_minute(self, group_id: str, now: datetime, window: timedelta) -> float | None:
        """Messages a minute over the window, or None when the meter has not watched that long."""
        if self.started is None or now - self.started < window:
            return None
        q = self._seen.get(group_id, deque())
        count = sum(1 for t, _ in q if now - window < t <= now)
        return count / (window.total_seconds() / 60)

    def active_members(self, group_id: str, now: datetime, window: timedelta) -> tuple[int, float] | None:
        """Members who spoke in the last window, and the usual: the mean over the windows before
        it (up to an hour back). None until the meter has watched three windows."""
        if self.started is None:
            return None
        earlier = int(min(now - self.started, KEEP) / window) - 1  # whole windows before this one
        if earlier < 2:
            return None
        speakers: list[set[str]] = [set() for _ in range(earlier + 1)]
        for at, who in self._seen.get(group_id, ()):
            back = int((now - at) / window)  # 0: the current window
            if at <= now and back <= earlier:
                speakers[back].add(who)
        return len(speakers[0]), sum(len(s) for s in speakers[1:]) / earlier


@dataclass(frozen=True)
class Alert:
    kind: str  # conversion, chat, members, order_drop
    data: dict[str, object]


def _orders_between(s: Session, campaign_id: int, start: datetime, end: datetime) -> int:
    stmt = select(func.count()).where(
        Order.campaign_id == campaign_id, col(Order.created_at) >= start, col(Order.created_at) < end
    )
    return int(s.exec(stmt).one())


def check(
    s: Session, campaign: Campaign, meter: ActivityMeter, config: AlertsConfig, now: datetime
) -> list[Alert]:
    """The alerts due now for an open campaign (edge-triggered, cool-down applied, recorded)."""
    assert campaign.id is not None
    window = timedelta(minutes=config.every_minutes)
    groups = campaign_groups(s, campaign.id)
    found: list[Alert] = []
    members = sum(group_size(s, g) for g in groups)
    buyers = buyers_count(s, campaign.id)
    if members and buyers / members < config.conversion_below:
        found.append(
            Alert(
                "conversion",
                {
                    "buyers": buyers,
                    "members": members,
                    "rate": buyers / members,
                    "threshold": config.conversion_below,
                },
            )
        )
    for g in groups:
        rate = meter.per_minute(g, now, window)
        if rate is not None and rate < config.chat_per_minute_below:
            found.append(
                Alert("chat", {"group_id": g, "rate": rate, "threshold": config.chat_per_minute_below})
            )
        active = meter.active_members(g, now, window)
        if active is not None:
            speakers, usual = active
            if usual >= config.active_members_min_usual and speakers < usual * config.active_members_below:
                data = {
                    "group_id": g,
                    "speakers": speakers,
                    "usual": usual,
                    "minutes": config.every_minutes,
                    "threshold": config.active_members_below,
                }
                found.append(Alert("members", data))
    current = _orders_between(s, campaign.id, now - window, now)
    previous = _orders_between(s, campaign.id, now - 2 * window, now - window)
    if previous >= config.order_drop_min_orders and current < previous * (1 - config.order_drop):
        found.append(
            Alert(
                "order_drop",
                {
                    "current": current,
                    "previous": previous,
                    "minutes": config.every_minutes,
                    "drop": 1 - current / previous,
                },
            )
        )
    kinds = {"conversion", "chat", "members", "order_drop"}
    return _edge_triggered(s, campaign.id, found, kinds, config, now)


def _edge_triggered(
    s: Session, campaign_id: int, found: list[Alert], kinds: set[str], config: AlertsConfig, now: datetime
) -> list[Alert]:
    """An alert goes out when its condition starts (not again while it lasts), at most once a cool-down.

    ``AlertLog`` keeps "<kind>" when an alert went out and "<kind>:ok" when the condition cleared.
    """
    cooldown = timedelta(minutes=config.cooldown_minutes)
    active = {a.kind: a for a in found}
    due = []
    for kind in sorted(kinds):
        last = s.exec(
            select(AlertLog)
            .where(AlertLog.campaign_id == campaign_id, col(AlertLog.kind).in_([kind, f"{kind}:ok"]))
            .order_by(col(AlertLog.id).desc())
        ).first()
        raised = last is not None and last.kind == kind
        if kind in active and not raised:
            sent = s.exec(
                select(func.max(AlertLog.at)).where(
                    AlertLog.campaign_id == campaign_id, AlertLog.kind == kind
                )
            ).one()
            if sent is None or now - sent >= cooldown:
                s.add(AlertLog(campaign_id=campaign_id, kind=kind, at=now))
                due.append(active[kind])
        elif kind not in active and raised:
            s.add(AlertLog(campaign_id=campaign_id, kind=f"{kind}:ok", at=now))
    return due


def staff_of(s: Session, group_ids: list[str]) -> list[str]:
    """The leaders and admins of these groups, leaders first, each once: who private notices go to."""
    roles = list(s.exec(select(Role).where(col(Role.group_id).in_(group_ids))))
    roles.sort(key=lambda r: (r.role != RoleName.LEADER, r.member_id))
    return list(dict.fromkeys(r.member_id for r in roles))


def alert_replies(s: Session, campaign: Campaign, alerts: list[Alert]) -> list[Reply]:
    if not alerts:
        return []
    assert campaign.id is not None
    return [
        Reply("timeline/alert", {"campaign": campaign, "alerts": alerts}, chat_id=who, private=True)
        for who in staff_of(s, campaign_groups(s, campaign.id))
    ]
