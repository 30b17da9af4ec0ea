"""campaign -> timeline. Pure: the same campaign and config always give the same jobs and ids.

``full_timeline`` is every timed post the campaign has or had (what 时间线 shows);
``plan_for`` is the part of it that may still fire given the campaign's status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.groupbuy.status import CampaignStatus
from bot.groupbuy.timeline_config import AlertsConfig, TimelineConfig

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Tie-break for jobs at the same minute: the countdown speaks before the rain starts, etc.
KIND_ORDER = {
    "preheat": 0,
    "remind_open": 1,
    "countdown": 2,
    "leader_packets": 3,
    "rain_start": 3,
    "rain_end": 4,
    "open": 5,
    "sales": 6,
    "stock": 6,
    "alert": 7,
    "own": 7,
    "last_call": 8,
    "close": 9,
    "recap": 10,
    "recap_request": 10,
    "pay": 11,
}
MUST_RUN = {"open", "close", "rain_end", "recap", "recap_request"}
LEADER_PACKETS_NOTICE = timedelta(minutes=5)
# The 战报 follows the close after a short pause (late payments and 已付款 land first).
RECAP_AFTER = timedelta(minutes=2)
# Reminders a leader turns off with 「提醒 关」 (explicit 预热 / 红包雨 lines still run).
REMINDER_KINDS = {"remind_open", "countdown", "sales", "last_call", "pay"}
PRE_OPEN = {"preheat", "remind_open", "countdown"}
# Alerts (private checks), stock posts and 战报 commands (event-driven) are not shown in 时间线
# nor moved.
HIDDEN_KINDS = {"alert", "stock", "recap_request"}
OWN_POSTS = "own_posts"  # options key: [{seq, at, text}] from 定时
OWN_GRACE = 1800  # seconds a leader's own post may be late after a restart
ALERT_HORIZON = timedelta(hours=6)  # checks for a campaign without a closing time


class Campaign(Protocol):
    """What the plan reads of a campaign (the store's row has it)."""

    id: int | None
    status: str
    owner_group_id: str
    options: dict[str, Any]
    created_at: datetime | None
    opens_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    succeeded: bool | None


@dataclass(frozen=True)
class JobSpec:
    campaign_id: int
    kind: str
    slot: str
    run_at: datetime
    # Must-run work (open, close, recap) runs even when overdue; reminders have a grace.
    must_run: bool = False
    grace: timedelta = timedelta(minutes=10)
    data: tuple[tuple[str, Any], ...] = ()

    @property
    def id(self) -> str:
        return f"campaign:{self.campaign_id}:{self.kind}:{self.slot}"

    @property
    def key(self) -> str:
        """The job's name inside its campaign (``countdown:5``), used for overrides."""
        return f"{self.kind}:{self.slot}"


def iso_time(value: Any) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo is not None else when.replace(tzinfo=SHANGHAI)


def rain_of(campaign: Campaign) -> tuple[datetime, int, int] | None:
    """(start, packets, total fen) of the campaign's rain, or None."""
    rain = (campaign.options or {}).get("rain")
    if not rain:
        return None
    at = iso_time(rain.get("at"))
    return None if at is None else (at, int(rain["count"]), int(rain["total_fen"]))


# ``campaign.options`` key of the 战报 command's requests (written by bot.services.recaps.request_recap):
# {"seq": last number, "at": last request (UTC ISO), "pending": [{"seq", "at", "to"}, ...]}.
RECAP_REQUESTS = "recap_requests"


@dataclass(frozen=True)
class RecapRequest:
    seq: int
    at: datetime
    preview_to: str | None  # a private preview for this member, else the campaign's groups


def utc_iso(when: datetime) -> str:
    """A time as stored in RECAP_REQUESTS: UTC with microseconds, so strings sort as times."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def recap_requests(campaign: Campaign) -> list[RecapRequest]:
    """The 战报 requests the campaign's options still hold (fired ones stay until the next one)."""
    book = (campaign.options or {}).get(RECAP_REQUESTS) or {}
    out = []
    for entry in book.get("pending") or []:
        at = iso_time(entry.get("at"))
        if at is not None:
            out.append(RecapRequest(int(entry["seq"]), at, entry.get("to")))
    return out


def moved(campaign: Campaign) -> dict[str, str]:
    return dict(((campaign.options or {}).get("timeline") or {}).get("move") or {})


def pay_times(closed: datetime, config: TimelineConfig, tz: ZoneInfo) -> list[datetime]:
    """催付 stage times: spaced by the minimum gap and moved out of quiet hours."""
    pay = config.payment
    out: list[datetime] = []
    for minutes in pay.stages_minutes:
        when = closed + timedelta(minutes=minutes)
        if out:
            when = max(when, out[-1] + timedelta(minutes=pay.min_gap_minutes))
        local = when.astimezone(tz)
        if pay.is_quiet(local.timetz().replace(tzinfo=None)):
            end = local.replace(hour=pay.quiet_end.hour, minute=pay.quiet_end.minute, second=0, microsecond=0)
            if end <= local:
                end += timedelta(days=1)
            when = end.astimezone(when.tzinfo)
        out.append(when)
    return out


def full_timeline(
    campaign: Campaign,
    config: TimelineConfig | None = None,
    tz: ZoneInfo = SHANGHAI,
    alerts: AlertsConfig | None = None,
) -> list[JobSpec]:
    """Every timed job the campaign has or had, in time order (status ignored, cancelled aside)."""
    assert campaign.id is not None
    if campaign.status in (CampaignStatus.CANCELLED, CampaignStatus.DRAFT):
        return []
    config = (config or TimelineConfig()).for_group(campaign.owner_group_id)
    options = campaign.options or {}
    reminders = config.reminders and options.get("reminders", True) is not False
    cid = campaign.id
    grace = config.grace
    opens, closes, created = campaign.opens_at, campaign.closes_at, campaign.created_at
    jobs: list[JobSpec] = []

    def add(kind: str, slot: object, when: datetime | None, secs: int = 600) -> None:
        if when is None or (kind in REMINDER_KINDS and not reminders):
            return
        jobs.append(JobSpec(cid, kind, str(slot), when, kind in MUST_RUN, timedelta(seconds=secs)))

    if opens is not None:
        add("open", 0, opens)
        if (preheat := iso_time(options.get("preheat_at"))) is not None:
            add("preheat", 0, preheat, grace.preheat)
        for m in config.remind_open_minutes:
            add("remind_open", m, opens - timedelta(minutes=m), grace.remind_open)
        for m in config.countdown_minutes:
            add("countdown", m, opens - timedelta(minutes=m), grace.countdown)
        if config.sales_after_minutes is not None:
            add(
                "sales",
                config.sales_after_minutes,
                opens + timedelta(minutes=config.sales_after_minutes),
                grace.sales,
            )
    for own in options.get(OWN_POSTS) or []:
        # The leader's own posts (定时), on the timeline like the others.
        add("own", own["seq"], iso_time(own["at"]), OWN_GRACE)
    if (post := options.get("stock_post")) and (at := iso_time(post.get("at"))) is not None:
        add("stock", post["seq"], at, 600)
    for request in recap_requests(campaign):
        # Due at once: the 战报 command's heavy work runs here instead of in the chat's transaction.
        data = (("preview_to", request.preview_to),)
        jobs.append(JobSpec(cid, "recap_request", str(request.seq), request.at, True, data=data))
    if (packets := iso_time(options.get("leader_packets_at"))) is not None:
        # The leader's own WeChat red packets: a heads-up five minutes before, then "now".
        add("leader_packets", "soon", packets - LEADER_PACKETS_NOTICE, 300)
        add("leader_packets", "0", packets, 300)
    if (rain := rain_of(campaign)) is not None:
        add("rain_start", 0, rain[0], config.rain_minutes * 60)
        add("rain_end", 0, rain[0] + timedelta(minutes=config.rain_minutes))
    if closes is not None:
        add("close", 0, closes)
        for m in config.last_call_minutes:
            add("last_call", m, closes - timedelta(minutes=m), grace.last_call)
    ended = campaign.closed_at if campaign.status == CampaignStatus.CLOSED else closes
    if ended is not None and campaign.succeeded is not False:
        add("recap", 0, ended + RECAP_AFTER)
        for n, when in enumerate(pay_times(ended, config, tz), start=1):
            add("pay", n, when, grace.pay)
    if alerts is not None and alerts.enabled and opens is not None:
        first = opens + timedelta(minutes=alerts.start_after_minutes)
        last = closes or (first + ALERT_HORIZON)
        step = timedelta(minutes=alerts.every_minutes)
        n, when = 1, first + step
        while when < last:
            add("alert", n, when, grace.alert)
            n, when = n + 1, when + step

    overrides = moved(campaign)
    out = []
    for job in jobs:
        if job.key in overrides and (when := iso_time(overrides[job.key])) is not None:
            job = replace(job, run_at=when)
        elif job.kind == "rain_end" and "rain_start:0" in overrides:
            start = iso_time(overrides["rain_start:0"])
            assert start is not None
            job = JobSpec(
                cid,
                job.kind,
                job.slot,
                start + timedelta(minutes=config.rain_minutes),
                job.must_run,
                job.grace,
            )
        # A reminder that was already past when the campaign was made was never meant.
        if job.kind in REMINDER_KINDS | PRE_OPEN and created is not None and job.run_at < created:
            continue
        if job.kind == "last_call" and opens is not None and job.run_at <= opens:
            continue
        out.append(job)
    return sorted(out, key=lambda j: (j.run_at, KIND_ORDER[j.kind], j.id))


def plan_for(
    campaign: Campaign,
    config: TimelineConfig | dict[str, Any] | None = None,
    tz: ZoneInfo = SHANGHAI,
    alerts: AlertsConfig | None = None,
) -> list[JobSpec]:
    """The jobs that may still fire, given the campaign's status, in time order."""
    if isinstance(config, dict):
        config = TimelineConfig.model_validate(config)
    jobs = full_timeline(campaign, config, tz, alerts)
    status = campaign.status
    if status == CampaignStatus.SCHEDULED:
        return jobs
    if status == CampaignStatus.OPEN:
        return [j for j in jobs if j.kind not in PRE_OPEN and j.kind != "open"]
    if status == CampaignStatus.CLOSED:
        return [j for j in jobs if j.kind in ("pay", "rain_end", "recap", "recap_request", "own")]
    return []
