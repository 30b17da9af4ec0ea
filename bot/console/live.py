"""Live pages: each open console page watches one campaign over a WebSocket and is told,
within a moment, that it changed; the page then fetches what it shows again.

The app calls ``changed`` after every handled batch of a chat and every timeline job; a
flash sale's hundreds of batches a second become at most one push per ``GAP`` per campaign.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from bot.app import Changed

log = logging.getLogger(__name__)

GAP = 0.3  # seconds between two pushes about one campaign
SETTLE = 0.03  # a first change waits this long for the rest of its burst


@dataclass(eq=False)
class Watcher:
    ws: web.WebSocketResponse
    still_valid: Callable[[], Awaitable[bool]]  # the page's session has not ended


@dataclass
class _Campaign:
    groups: frozenset[str]
    watchers: set[Watcher] = field(default_factory=set)
    due: asyncio.TimerHandle | None = None
    last: float = float("-inf")


class LiveHub:
    def __init__(self) -> None:
        self._campaigns: dict[int, _Campaign] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def watch(self, campaign_id: int, groups: frozenset[str], watcher: Watcher) -> Callable[[], None]:
        entry = self._campaigns.setdefault(campaign_id, _Campaign(groups))
        entry.groups = groups
        entry.watchers.add(watcher)

        def stop() -> None:
            entry.watchers.discard(watcher)
            if not entry.watchers and self._campaigns.get(campaign_id) is entry:
                if entry.due is not None:
                    entry.due.cancel()
                del self._campaigns[campaign_id]

        return stop

    def changed(self, change: Changed) -> None:
        """The app's listener: which watched campaigns this change may concern."""
        if change.campaign_id is not None:
            self.touch(change.campaign_id)
        elif change.is_group:
            for campaign_id, entry in list(self._campaigns.items()):
                if change.chat_id in entry.groups:
                    self.touch(campaign_id)
        else:  # a leader's private command may concern any of her campaigns
            for campaign_id in list(self._campaigns):
                self.touch(campaign_id)

    def touch(self, campaign_id: int) -> None:
        entry = self._campaigns.get(campaign_id)
        if entry is None or entry.due is not None:
            return
        loop = asyncio.get_running_loop()
        wait = max(SETTLE, entry.last + GAP - loop.time())
        entry.due = loop.call_later(wait, self._start_push, campaign_id, entry)

    def _start_push(self, campaign_id: int, entry: _Campaign) -> None:
        task = asyncio.ensure_future(self._push(campaign_id, entry))
        self._tasks.add(task)  # held until done, so it is not collected mid-way
        task.add_done_callback(self._tasks.discard)

    async def _push(self, campaign_id: int, entry: _Campaign) -> None:
        entry.due = None
        entry.last = asyncio.get_running_loop().time()
        for watcher in list(entry.watchers):
            try:
                if not await watcher.still_valid():
                    await watcher.ws.close(code=4401, message=b"logged out")
                    continue
                await watcher.ws.send_json({"type": "changed", "campaign": campaign_id})
            except (ConnectionError, RuntimeError):
                entry.watchers.discard(watcher)
            except Exception:
                log.exception("live push to a console page failed")
