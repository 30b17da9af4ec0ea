"""campaign -> timeline. Pure: the same campaign always gives the same jobs and ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.store.models import Campaign, CampaignStatus


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


def plan_for(campaign: Campaign, timeline: dict[str, Any] | None = None) -> list[JobSpec]:
    """Every timed job of a campaign, in time order."""
    assert campaign.id is not None
    cid = campaign.id
    jobs: list[JobSpec] = []
    if campaign.status == CampaignStatus.SCHEDULED and campaign.opens_at is not None:
        jobs.append(JobSpec(cid, "open", "0", campaign.opens_at, must_run=True))
    if campaign.status in (CampaignStatus.SCHEDULED, CampaignStatus.OPEN) and campaign.closes_at is not None:
        jobs.append(JobSpec(cid, "close", "0", campaign.closes_at, must_run=True))
    return sorted(jobs, key=lambda j: (j.run_at, j.id))
