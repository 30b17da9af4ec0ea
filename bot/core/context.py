"""The context handed to every trigger and handler."""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from jinja2 import Environment
from sqlmodel import Session

from bot.core.clock import Clock
from bot.core.commands import Invocation, Level
from bot.core.config import Settings
from bot.core.messages import InboundMessage

T = TypeVar("T")


@dataclass
class BatchCache:
    """Look-ups that hold for one batch transaction (a flash sale's hot path): read once per
    batch, not once per message. The services decide what goes in (each group's roles and
    shop, items found sold out). Only routes marked ``keeps_cache`` (they change orders, never
    campaigns, items or roles) leave it in place; the app clears it after any other route and
    after a failed message, and it dies with the batch.
    """

    _entries: dict[Hashable, Any] = field(default_factory=dict)

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The value under ``key``, loaded once per batch."""
        if key not in self._entries:
            self._entries[key] = load()
        return cast(T, self._entries[key])

    def clear(self) -> None:
        self._entries.clear()


@dataclass
class Ctx:
    """One message being handled, inside one database transaction.

    ``group_id`` is the group the message concerns: the chat itself for group messages,
    None in a private chat (handlers then look up the groups the sender leads).
    """

    message: InboundMessage
    session: Session
    settings: Settings
    clock: Clock
    rng: random.Random
    level: Level
    invocation: Invocation | None
    group_id: str | None
    env: Environment  # the app's one jinja2 environment, for text rendered into pictures
    # Campaigns whose timeline must be planned again once this transaction commits.
    replan: set[int] = field(default_factory=set)
    cache: BatchCache = field(default_factory=BatchCache)

    @property
    def now(self) -> datetime:
        return self.clock.now()

    @property
    def sender_id(self) -> str:
        return self.message.sender_id

    @property
    def text(self) -> str:
        return self.message.text
