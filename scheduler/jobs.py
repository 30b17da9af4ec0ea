"""What a timeline job is handed: its campaign, its place in the plan, and the app that runs it
(seen through ``Host``, the few things the timeline needs of it)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from jinja2 import Environment
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.clock import Clock, Timer
from bot.core.config import Settings
from bot.core.messages import Reply
from bot.groupbuy.plan import JobSpec
from bot.groupbuy.timeline_config import TimelineConfig
from bot.services.alerts import ActivityMeter
from bot.store.models import Campaign


class Outbox(Protocol):
    async def pump(self) -> None: ...


class Host(Protocol):
    """The app, as the timeline sees it."""

    settings: Settings
    clock: Clock
    engine: Engine
    timer: Timer
    rng: random.Random
    env: Environment  # the one jinja2 environment (the 战报 poster's text)
    writer: AbstractContextManager[object]  # every write transaction of the process queues here
    outbox: Outbox

    def send_in_transaction(self, s: Session, replies: Iterable[Reply]) -> None:
        """Queue replies in the caller's transaction (they go out once it commits)."""
        ...

    def campaign_changed(self, campaign_id: int) -> None:
        """Tell whoever watches the store (the leader's console) that a job changed a campaign."""
        ...


@dataclass
class JobCtx:
    session: Session
    campaign: Campaign
    spec: JobSpec
    host: Host
    activity: ActivityMeter  # who spoke lately, for the alerts

    @property
    def now(self) -> datetime:
        return self.host.clock.now()

    @property
    def config(self) -> TimelineConfig:
        """The timeline settings of the campaign's group."""
        return self.host.settings.timeline.for_group(self.campaign.owner_group_id)


Action = Callable[[JobCtx], list[Reply]]
