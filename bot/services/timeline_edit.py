"""What the leader sees and changes of a campaign's timeline: 时间线, 跳过, 改期.

Skipping writes the job's ``SentNotice`` row as "skipped" (the same row a stale reminder
gets), so a skip holds across restarts and processes. Moving changes the campaign itself:
open and close times, the rain and preheat options, or ``options.timeline.move`` for the
reminders; the runner then plans the campaign again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core.commands import TimelineRef
from bot.groupbuy.plan import HIDDEN_KINDS, MUST_RUN, full_timeline, plan_for, rain_of
from bot.groupbuy.timeline_config import TimelineConfig
from bot.store.models import Campaign, CampaignStatus, SentNotice


@dataclass(frozen=True)
class Row:
    no: int
    kind: str
    slot: str
    run_at: datetime
    status: str  # sent, skipped, pending, dropped
    done_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.slot}"


# Posts that must go out (the 截团 result, the 战报...): 改期 moves them, 跳过 cannot drop them.
UNSKIPPABLE = MUST_RUN - {"rain_end"}


def follows(row: Row) -> bool:
    """A post that moves with another: the rain's end, the leader's red-packet heads-up."""
    return row.kind == "rain_end" or row.key == "leader_packets:soon"


def may_skip(row: Row) -> bool:
    return row.status == "pending" and row.kind not in UNSKIPPABLE


def may_move(row: Row) -> bool:
    return row.status == "pending" and not follows(row)


def rows(s: Session, campaign: Campaign, config: TimelineConfig, tz: ZoneInfo) -> list[Row]:
    assert campaign.id is not None
    jobs = [j for j in full_timeline(campaign, config, tz) if j.kind not in HIDDEN_KINDS]
    live = {j.id for j in plan_for(campaign, config, tz)}
    notices = {
        n.key: n
        for n in s.exec(select(SentNotice).where(col(SentNotice.key).startswith(f"campaign:{campaign.id}:")))
    }
    out = []
    for no, job in enumerate(jobs, start=1):
        notice = notices.get(job.id)
        if notice is not None:
            status = "skipped" if notice.kind == "skipped" else "sent"
        else:
            status = "pending" if job.id in live else "dropped"
        out.append(Row(no, job.kind, job.slot, job.run_at, status, notice.sent_at if notice else None))
    return out


class EditError(Exception):
    """Why a skip or move cannot be done; ``reason`` picks the wording in timeline/edit_error."""

    def __init__(self, reason: str, **data: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data


def resolve(found: list[Row], ref: TimelineRef) -> list[Row]:
    if ref.index is not None:
        if not 1 <= ref.index <= len(found):
            raise EditError("no_such_row", index=ref.index, count=len(found))
        return [found[ref.index - 1]]
    for kind in ref.kinds:
        hits = [r for r in found if r.kind == kind and (ref.slot is None or r.slot == ref.slot)]
        if hits:
            if kind == "rain_start":
                hits += [r for r in found if r.kind == "rain_end"]
            if kind == "leader_packets":
                hits += [r for r in found if r.key == "leader_packets:soon"]
            return hits
    raise EditError("no_such_item", ref=ref)


def skip(
    s: Session, campaign: Campaign, ref: TimelineRef, config: TimelineConfig, tz: ZoneInfo, now: datetime
) -> list[Row]:
    """Mark posts as not to be sent. Raises EditError without changing anything."""
    targets = resolve(rows(s, campaign, config, tz), ref)
    if any(r.kind in UNSKIPPABLE for r in targets):
        raise EditError("must_run", row=targets[0])
    pending = [r for r in targets if r.status == "pending"]
    if not pending:
        raise EditError("not_pending", row=targets[0])
    for r in pending:
        s.add(
            SentNotice(
                key=f"campaign:{campaign.id}:{r.key}", campaign_id=campaign.id, kind="skipped", sent_at=now
            )
        )
    return pending


def move(
    s: Session,
    campaign: Campaign,
    ref: TimelineRef,
    when: datetime,
    config: TimelineConfig,
    tz: ZoneInfo,
    now: datetime,
) -> Row:
    """Move one post (open and close move the campaign's times). Raises EditError on bad input."""
    # The options are rewritten whole below: read them under the row lock (PostgreSQL), so a
    # stock post or 战报 request another process wrote meanwhile is kept.
    s.refresh(campaign, with_for_update=True)
    found = rows(s, campaign, config, tz)
    # The rain's end and the leader's packets heads-up follow their main post.
    targets = [r for r in resolve(found, ref) if not follows(r)]
    if len(targets) != 1:
        raise EditError("ambiguous", rows=targets)
    row = targets[0]
    if row.status != "pending":
        raise EditError("not_pending", row=row)
    if when <= now:
        raise EditError("time_in_past", when=when)
    opens, closes = campaign.opens_at, campaign.closes_at
    options = dict(campaign.options or {})
    if row.kind == "open":
        if closes is not None and when >= closes:
            raise EditError("close_before_open", opens=when, closes=closes)
        preheat = options.get("preheat_at")
        if preheat and datetime.fromisoformat(preheat) >= when:
            raise EditError("before_open", kind="preheat", opens=when)
        campaign.opens_at = when
    elif row.kind == "close":
        if opens is not None and when <= opens:
            raise EditError("close_before_open", opens=opens, closes=when)
        campaign.closes_at = when
    elif row.kind in ("preheat", "remind_open", "countdown"):
        if opens is not None and when >= opens:
            raise EditError("before_open", kind=row.kind, opens=opens)
    elif row.kind in ("sales", "last_call"):
        if (opens is not None and when <= opens) or (closes is not None and when >= closes):
            raise EditError("while_open", opens=opens, closes=closes)
    elif row.kind in ("rain_start", "leader_packets"):
        if closes is not None and when >= closes:
            raise EditError("rain_after_close", closes=closes)
    elif row.kind == "pay":
        end = campaign.closed_at if campaign.status == CampaignStatus.CLOSED else closes
        if end is not None and when <= end:
            raise EditError("after_close", closes=end)
    if row.kind == "preheat":
        options["preheat_at"] = when.isoformat()
    elif row.kind == "rain_start":
        rain = rain_of(campaign)
        assert rain is not None
        options["rain"] = {**options["rain"], "at": when.isoformat()}
    elif row.kind == "leader_packets":
        options["leader_packets_at"] = when.isoformat()
    elif row.kind not in ("open", "close"):
        timeline = dict(options.get("timeline") or {})
        timeline["move"] = {**(timeline.get("move") or {}), row.key: when.isoformat()}
        options["timeline"] = timeline
    campaign.options = options
    s.add(campaign)
    return Row(row.no, row.kind, row.slot, when, "pending")
