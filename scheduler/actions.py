"""What each timeline job does. An action returns the replies to post; the runner queues
them in the same transaction that records the job as done."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot import broadcasts
from bot.campaigns import open_campaign
from bot.messages import Reply

if TYPE_CHECKING:
    from scheduler.runner import JobCtx


def open_job(job: JobCtx) -> list[Reply]:
    if not open_campaign(job.session, job.campaign, job.now):
        return []
    return broadcasts.opened(job.session, job.campaign)


def close_job(job: JobCtx) -> list[Reply]:
    return broadcasts.closed(job.session, job.campaign, job.app.settings, job.now)


ACTIONS: dict[str, Callable[[JobCtx], list[Reply]]] = {
    "open": open_job,
    "close": close_job,
}
