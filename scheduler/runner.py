"""Firing timeline jobs exactly once.

The database is the truth. Before a job's messages are queued, a ``SentNotice`` row with
the job's unique key is inserted in the same transaction as the messages themselves
(they go to the outbox), so a double fire, a restart or a second process sends once.

Every process re-reads the store now and then (``reconcile_seconds``), so campaigns that
another process created, moved or closed are timed here too; a job that fires early in a
process that has not heard of a move yet is simply put back to its new time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from bot.core.messages import Reply
from bot.groupbuy.plan import RECAP_REQUESTS, JobSpec, plan_for, utc_iso
from bot.services.alerts import ActivityMeter
from bot.services.campaigns import ACTIVE
from bot.store.db import reader
from bot.store.models import Campaign, CampaignStatus, SentNotice
from scheduler.actions import ACTIONS, READ_ONLY_ACTIONS
from scheduler.jobs import Host, JobCtx

log = logging.getLogger(__name__)

RECONCILE_JOB = "timeline:reconcile"
# Closed campaigns keep their 催付 stages planned for this long.
PAYMENT_WINDOW = timedelta(days=3)
# A timer may call a little early (clock resolution); earlier than this is a stale schedule.
EARLY_TOLERANCE = timedelta(seconds=1)


class Fired(Enum):
    SENT = "sent"
    SKIPPED = "skipped"
    NOT_DUE = "not_due"
    GONE = "gone"  # already done elsewhere, or no longer in the plan


def timer_jobs(specs: list[JobSpec], done: set[str], now: datetime) -> list[JobSpec]:
    """The jobs a timer needs to hold: every overdue one, and those of the next due moment."""
    pending = [s for s in specs if s.id not in done]
    overdue = [s for s in pending if s.run_at <= now]
    future = [s for s in pending if s.run_at > now]
    if not future:
        return overdue
    first = min(s.run_at for s in future)
    return overdue + [s for s in future if s.run_at == first]


class TimelineRunner:
    def __init__(self, host: Host, activity: ActivityMeter | None = None) -> None:
        self.host = host
        self.config = host.settings.timeline
        self.alerts = host.settings.alerts
        self.activity = activity or ActivityMeter()
        self._scheduled: dict[int, dict[str, datetime]] = {}

    def plan_of(self, campaign: Campaign) -> list[JobSpec]:
        return plan_for(campaign, self.config, self.host.clock.tz, self.alerts)

    def _specs(self, campaign_id: int) -> tuple[list[JobSpec], set[str]]:
        with Session(reader(self.host.engine)) as s:
            campaign = s.get(Campaign, campaign_id)
            if campaign is None:
                return [], set()
            specs = self.plan_of(campaign)
            prefix = f"campaign:{campaign_id}:"
            done = set(s.exec(select(SentNotice.key).where(col(SentNotice.key).startswith(prefix))))
            return specs, done

    async def plan(self, campaign_id: int) -> None:
        """(Re)schedule a campaign's jobs after it was opened, edited, closed or cancelled."""
        specs, done = await asyncio.to_thread(self._specs, campaign_id)
        self._schedule(campaign_id, specs, done)

    def _schedule(self, campaign_id: int, specs: list[JobSpec], done: set[str]) -> None:
        """Bring the timer in line with the plan; unchanged jobs are left alone (cheap to repeat).

        Only a campaign's overdue jobs and its next due moment go to the timer: each fire plans
        the campaign again, which puts the following job in. 10,000 campaigns cost the timer
        10,000 entries instead of 160,000, which keeps memory and fire lateness low.
        """
        now = self.host.clock.now()
        chosen = timer_jobs(specs, done, now)
        wanted = {s.id: s.run_at for s in chosen}
        timer = self.host.timer
        known = self._scheduled.get(campaign_id, {})
        for job_id in known.keys() - wanted.keys():
            timer.cancel(job_id)
        for spec in chosen:
            if known.get(spec.id) != spec.run_at:
                timer.call_at(spec.id, max(spec.run_at, now), self._firer(spec))
        self._scheduled[campaign_id] = wanted

    def _forget(self, spec: JobSpec) -> None:
        """The timer no longer holds this job: let the next plan or reconcile schedule it again."""
        self._scheduled.get(spec.campaign_id, {}).pop(spec.id, None)

    def _firer(self, spec: JobSpec) -> Callable[[], Awaitable[None]]:
        async def fire() -> None:
            await self.fire(spec)

        return fire

    def _live(self) -> list[tuple[int, list[JobSpec], set[str]]]:
        """Every campaign that may still have jobs, with its plan and what is already done."""
        since = self.host.clock.now() - PAYMENT_WINDOW
        with Session(reader(self.host.engine)) as s:
            # A 战报 command's request may be for an older campaign: recent requests count too.
            asked = col(Campaign.options)[(RECAP_REQUESTS, "at")].as_string() >= utc_iso(since)
            stmt = select(Campaign).where(
                or_(
                    col(Campaign.status).in_(ACTIVE),
                    (col(Campaign.status) == CampaignStatus.CLOSED)
                    & or_(col(Campaign.closed_at) >= since, asked),
                )
            )
            campaigns = list(s.exec(stmt))
            done_rows = s.exec(
                select(SentNotice.campaign_id, SentNotice.key).where(
                    col(SentNotice.campaign_id).in_([c.id for c in campaigns])
                )
            )
            done: dict[int, set[str]] = {}
            for cid, key in done_rows:
                done.setdefault(cid, set()).add(key)
            return [(c.id, self.plan_of(c), done.get(c.id, set())) for c in campaigns if c.id is not None]

    async def reconcile(self) -> None:
        """On start (and every ``reconcile_seconds``): schedule every live campaign again.

        Overdue must-run work fires at once; overdue reminders fire and are skipped by their grace.
        """
        live = await asyncio.to_thread(self._live)
        seen = set()
        for campaign_id, specs, done in live:
            seen.add(campaign_id)
            self._schedule(campaign_id, specs, done)
        for campaign_id in set(self._scheduled) - seen:
            self._schedule(campaign_id, [], set())
            del self._scheduled[campaign_id]
        self.host.timer.call_at(
            RECONCILE_JOB,
            self.host.clock.now() + timedelta(seconds=self.config.reconcile_seconds),
            self.reconcile,
        )

    async def fire(self, spec: JobSpec) -> None:
        try:
            fired, run_at = await asyncio.to_thread(self._fire, spec)
        except Exception:
            log.exception("job %s failed; retried at the next reconcile", spec.id)
            self._forget(spec)
            return
        if fired is Fired.NOT_DUE:
            self.host.timer.call_at(spec.id, run_at, self._firer(spec))
            self._scheduled.setdefault(spec.campaign_id, {})[spec.id] = run_at
            return
        self._forget(spec)
        # Whatever happened (sent here, done by another process, gone from the plan), the
        # campaign's next job goes to the timer now.
        await self.plan(spec.campaign_id)
        if fired in (Fired.SENT, Fired.SKIPPED):
            self.host.campaign_changed(spec.campaign_id)
            await self.host.outbox.pump()

    def _prepare(self, spec: JobSpec) -> list[Reply] | None:
        """Run a read-only action (poster, Excel files) before the write transaction, so the
        heavy work never holds SQLite's single writer. None: nothing to prepare (not such an
        action, or one the write transaction will find done, gone or not due)."""
        if spec.kind not in READ_ONLY_ACTIONS:
            return None
        with Session(reader(self.host.engine)) as s:
            campaign = s.get(Campaign, spec.campaign_id)
            if campaign is None or s.get(SentNotice, spec.id) is not None:
                return None  # done by another fire or process: no 战报 made for nothing
            current = self._planned(campaign, spec.id)
            if current is None or current.run_at - self.host.clock.now() > EARLY_TOLERANCE:
                return None
            return ACTIONS[spec.kind](JobCtx(s, campaign, current, self.host, self.activity))

    def _planned(self, campaign: Campaign | None, job_id: str) -> JobSpec | None:
        """The job as the campaign's plan has it now; None when it left the plan."""
        if campaign is None:
            return None
        return next((j for j in self.plan_of(campaign) if j.id == job_id), None)

    def _fire(self, spec: JobSpec) -> tuple[Fired, datetime]:
        prepared = self._prepare(spec)
        now = self.host.clock.now()
        with self.host.writer, Session(self.host.engine, expire_on_commit=False) as s:
            campaign = s.get(Campaign, spec.campaign_id)
            current = self._planned(campaign, spec.id)
            if current is None:
                return Fired.GONE, now  # the campaign changed since this job was scheduled
            spec = current
            if spec.run_at - now > EARLY_TOLERANCE:
                return Fired.NOT_DUE, spec.run_at  # moved later in another process
            late = now - spec.run_at
            skipped = not spec.must_run and late > spec.grace
            s.add(
                SentNotice(
                    key=spec.id,
                    campaign_id=spec.campaign_id,
                    kind="skipped" if skipped else spec.kind,
                    sent_at=now,
                )
            )
            try:
                s.flush()
            except IntegrityError:
                s.rollback()
                return Fired.GONE, now  # another fire (or process) got there first
            if skipped:
                log.info("job %s skipped: %s late, grace %s", spec.id, late, spec.grace)
            else:
                assert campaign is not None
                replies = (
                    prepared
                    if prepared is not None
                    else ACTIONS[spec.kind](JobCtx(s, campaign, spec, self.host, self.activity))
                )
                self.host.send_in_transaction(s, replies)
            s.commit()
            return (Fired.SKIPPED if skipped else Fired.SENT), now
