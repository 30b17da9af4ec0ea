"""What each timeline job does. An action returns the replies to post; the runner queues
them in the same transaction that records the job as done."""

from __future__ import annotations

from bot.core.messages import Reply
from bot.groupbuy import plan
from bot.groupbuy.plan import rain_of
from bot.services import alerts, broadcasts, payments, redpackets
from bot.services.campaigns import buyers_count, open_campaign
from bot.services.recaps import media_dir_for, recap_replies
from bot.services.timeline_stock import item_views, stock_post
from bot.store.models import CampaignStatus
from scheduler.jobs import Action, JobCtx


def _post(job: JobCtx, template: str, *, must_send: bool = False, **data: object) -> list[Reply]:
    c = job.campaign
    assert c.id is not None
    return broadcasts.to_groups(
        job.session,
        c,
        template,
        must_send=must_send,
        items=item_views(job.session, c.id),
        buyers=buyers_count(job.session, c.id),
        rain=rain_of(c),
        **data,
    )


def preheat_job(job: JobCtx) -> list[Reply]:
    return _post(job, "timeline/preheat")


def remind_open_job(job: JobCtx) -> list[Reply]:
    return _post(job, "timeline/remind_open", minutes=int(job.spec.slot))


def countdown_job(job: JobCtx) -> list[Reply]:
    return _post(job, "timeline/countdown", minutes=int(job.spec.slot))


def leader_packets_job(job: JobCtx) -> list[Reply]:
    """Hype for the leader's own WeChat red packets (the bot cannot send those itself)."""
    if job.campaign.status not in (CampaignStatus.SCHEDULED, CampaignStatus.OPEN):
        return []
    at = plan.iso_time((job.campaign.options or {}).get("leader_packets_at"))
    return broadcasts.to_groups(
        job.session, job.campaign, "timeline/leader_packets", slot=job.spec.slot, at=at
    )


def rain_start_job(job: JobCtx) -> list[Reply]:
    rain = rain_of(job.campaign)
    if rain is None or job.campaign.status not in (CampaignStatus.SCHEDULED, CampaignStatus.OPEN):
        return []
    _, count, total = rain
    redpackets.start_rain(job.session, job.campaign, count, total, job.host.rng)
    ends = job.spec.run_at + job.config.rain_timedelta
    return broadcasts.to_groups(
        job.session, job.campaign, "redpacket/rain_start", count=count, total_fen=total, ends_at=ends
    )


def rain_end_job(job: JobCtx) -> list[Reply]:
    assert job.campaign.id is not None
    result = redpackets.rain_result(job.session, job.campaign.id)
    if result is None:
        return []  # the rain never started (skipped, or the campaign closed first)
    return broadcasts.to_groups(
        job.session, job.campaign, "redpacket/rain_end", must_send=True, result=result
    )


def open_job(job: JobCtx) -> list[Reply]:
    if not open_campaign(job.session, job.campaign, job.now):
        return []
    return broadcasts.opened(job.session, job.campaign)


def sales_job(job: JobCtx) -> list[Reply]:
    ratio = job.config.low_stock_ratio
    return _post(job, "timeline/sales", minutes=int(job.spec.slot), ratio=ratio)


def stock_job(job: JobCtx) -> list[Reply]:
    if job.campaign.status != CampaignStatus.OPEN:
        return []
    return stock_post(job.session, job.campaign)


def last_call_job(job: JobCtx) -> list[Reply]:
    return _post(job, "timeline/last_call", minutes=int(job.spec.slot))


def close_job(job: JobCtx) -> list[Reply]:
    return broadcasts.closed(job.session, job.campaign, job.host.settings, job.now)


def pay_job(job: JobCtx) -> list[Reply]:
    cap = job.config.payment.max_per_member
    return payments.nudge(job.session, job.campaign, int(job.spec.slot), cap, job.now)


def alert_job(job: JobCtx) -> list[Reply]:
    if job.campaign.status != CampaignStatus.OPEN:
        return []
    found = alerts.check(job.session, job.campaign, job.activity, job.host.settings.alerts, job.now)
    return alerts.alert_replies(job.session, job.campaign, found)


def recap_job(job: JobCtx) -> list[Reply]:
    """战报 after a successful close: text and poster to the groups, files to the leader."""
    if job.campaign.status != CampaignStatus.CLOSED or job.campaign.succeeded is False:
        return []
    media_dir = media_dir_for(job.session, job.host.settings)
    return recap_replies(job.session, job.campaign, job.host.settings, job.now, media_dir, env=job.host.env)


def recap_request_job(job: JobCtx) -> list[Reply]:
    """The 战报 command (``bot.services.recaps.request_recap``): what ``recap_job`` sends, or with
    ``preview_to`` a private preview for the asker and a hint how to post it."""
    if job.campaign.status != CampaignStatus.CLOSED:
        return []
    preview_to = dict(job.spec.data).get("preview_to")
    media_dir = media_dir_for(job.session, job.host.settings)
    replies = recap_replies(
        job.session,
        job.campaign,
        job.host.settings,
        job.now,
        media_dir,
        env=job.host.env,
        preview_to=preview_to,
    )
    if preview_to is not None:
        hint = Reply("recap/preview_hint", {"campaign": job.campaign}, chat_id=preview_to, private=True)
        replies.append(hint)
    return replies


def own_job(job: JobCtx) -> list[Reply]:
    """The leader's own post (定时) to every group of the campaign."""
    posts = job.campaign.options.get(plan.OWN_POSTS) or []
    post = next((p for p in posts if str(p["seq"]) == job.spec.slot), None)
    if post is None:
        return []
    return broadcasts.to_groups(
        job.session, job.campaign, "groups/own_post", must_send=True, text=post["text"]
    )


# Actions that only read the store (and write files): the runner runs them before its write
# transaction and queues their replies inside it.
READ_ONLY_ACTIONS = frozenset({"recap", "recap_request"})

ACTIONS: dict[str, Action] = {
    "preheat": preheat_job,
    "remind_open": remind_open_job,
    "countdown": countdown_job,
    "leader_packets": leader_packets_job,
    "rain_start": rain_start_job,
    "rain_end": rain_end_job,
    "open": open_job,
    "sales": sales_job,
    "stock": stock_job,
    "last_call": last_call_job,
    "close": close_job,
    "recap": recap_job,
    "recap_request": recap_request_job,
    "pay": pay_job,
    "alert": alert_job,
    "own": own_job,
}
