"""Firing timeline jobs exactly once.

The database is the truth. Before a job's messages are queued, a ``SentNotice`` row with
the job's unique key is inserted in the same transaction as the messages themselves
(they go to the outbox), so a double fire, a restart or a second process sends once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.campaigns import ACTIVE
from bot.messages import Reply
from bot.store.models import Campaign, SentNotice
from scheduler.actions import ACTIONS
from scheduler.plan import JobSpec, plan_for

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


@dataclass
class JobCtx:
    session: Session
    campaign: Campaign
    spec: JobSpec
    app: App

    @property
    def now(self):  # type: ignore[no-untyped-def]
        return self.app.clock.now()


Action = Callable[[JobCtx], list[Reply]]


class TimelineRunner:
    def __init__(self, app: App) -> None:
        self.app = app

    def _specs(self, campaign_id: int) -> tuple[list[JobSpec], set[str]]:
        with Session(self.app.engine) as s:
            campaign = s.get(Campaign, campaign_id)
            if campaign is None:
                return [], set()
            specs = plan_for(campaign, self.app.settings.timeline)
            prefix = f"campaign:{campaign_id}:"
            done = set(s.exec(select(SentNotice.key).where(col(SentNotice.key).startswith(prefix))))
            return specs, done

    async def plan(self, campaign_id: int) -> None:
        """(Re)schedule a campaign's jobs after it was opened, edited, closed or cancelled."""
        specs, done = await asyncio.to_thread(self._specs, campaign_id)
        wanted = {s.id for s in specs if s.id not in done}
        prefix = f"campaign:{campaign_id}:"
        for job_id in self.app.timer.job_ids():
            if job_id.startswith(prefix) and job_id not in wanted:
                self.app.timer.cancel(job_id)
        now = self.app.clock.now()
        for spec in specs:
            if spec.id in wanted:
                self.app.timer.call_at(spec.id, max(spec.run_at, now), self._firer(spec))

    def _firer(self, spec: JobSpec):  # type: ignore[no-untyped-def]
        async def fire() -> None:
            await self.fire(spec)

        return fire

    async def reconcile(self) -> None:
        """On start: schedule every active campaign again (overdue must-run work fires now)."""

        def active_ids() -> list[int]:
            with Session(self.app.engine) as s:
                return [c for c in s.exec(select(Campaign.id).where(col(Campaign.status).in_(ACTIVE)))]  # type: ignore[misc]

        for campaign_id in await asyncio.to_thread(active_ids):
            await self.plan(campaign_id)

    async def fire(self, spec: JobSpec) -> None:
        try:
            fired = await asyncio.to_thread(self._fire, spec)
        except Exception:
            log.exception("job %s failed", spec.id)
            return
        if fired:
            await self.plan(spec.campaign_id)
            await self.app.outbox.pump()

    def _fire(self, spec: JobSpec) -> bool:
        now = self.app.clock.now()
        with Session(self.app.engine, expire_on_commit=False) as s:
            campaign = s.get(Campaign, spec.campaign_id)
            current = {j.id: j for j in plan_for(campaign, self.app.settings.timeline)} if campaign else {}
            if spec.id not in current:
                return False  # the campaign changed since this job was scheduled
            spec = current[spec.id]
            late = now - spec.run_at
            skipped = not spec.must_run and late > spec.grace
            s.add(SentNotice(key=spec.id, campaign_id=spec.campaign_id, kind="skipped" if skipped else spec.kind,
                             sent_at=now))
            try:
                s.flush()
            except IntegrityError:
                s.rollback()
                return False  # another fire (or process) got there first
            if skipped:
                log.info("job %s skipped: %s late, grace %s", spec.id, late, spec.grace)
            else:
                assert campaign is not None
                replies = ACTIONS[spec.kind](JobCtx(s, campaign, spec, self.app))
                self.app.send_in_transaction(s, replies)
            s.commit()
            return True
