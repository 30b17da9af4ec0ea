"""The context handed to every trigger and handler."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from jinja2 import Environment
from sqlmodel import Session

from bot.core.clock import Clock
from bot.core.commands import Invocation, Level
from bot.core.config import Settings
from bot.core.messages import InboundMessage
from bot.services.members import group_levels, groups_managed, level_in
from bot.services.shop import Shop, find_shop


@dataclass
class BatchCache:
    """Look-ups that hold for one batch transaction: each group's roles and shop.

    A batch is one transaction of many messages (a flash sale's hot path), so these are read
    once per batch, not once per message. Only routes marked ``keeps_cache`` (they change
    orders, never campaigns, items or roles) leave it in place; the app clears it after any
    other route and after a failed message, and it dies with the batch.
    """

    levels: dict[str, dict[str, Level]] = field(default_factory=dict)
    shops: dict[str, Shop | None] = field(default_factory=dict)
    # Items found sold out in this batch: later orders are refused without a write. Orders
    # that give units back remove their items (see ``change_order``).
    sold_out: set[int] = field(default_factory=set)

    def clear(self) -> None:
        self.levels.clear()
        self.shops.clear()
        self.sold_out.clear()

    def level(self, s: Session, group_id: str | None, member_id: str) -> Level:
        if group_id is None:
            return level_in(s, None, member_id)
        if group_id not in self.levels:
            self.levels[group_id] = group_levels(s, group_id)
        return self.levels[group_id].get(member_id, Level.MEMBER)


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

    def shop(self) -> Shop | None:
        """The campaign this group orders in (see ``bot.services.shop``); None in a private chat."""
        if self.group_id is None:
            return None
        if self.group_id not in self.cache.shops:
            self.cache.shops[self.group_id] = find_shop(self.session, self.group_id, self.now)
        return self.cache.shops[self.group_id]

    def managed_groups(self, level: Level = Level.ADMIN) -> list[str]:
        """The group this message is in; in a private chat, the groups the sender runs at ``level``."""
        if self.group_id is not None:
            return [self.group_id]
        return groups_managed(self.session, self.sender_id, level)
