"""The context handed to every trigger and handler."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.clock import Clock
from bot.commands import Invocation, Level
from bot.config import Settings
from bot.members import groups_managed
from bot.messages import InboundMessage


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
    # Campaigns whose timeline must be planned again once this transaction commits.
    replan: set[int] = field(default_factory=set)

    @property
    def now(self) -> datetime:
        return self.clock.now()

    @property
    def sender_id(self) -> str:
        return self.message.sender_id

    @property
    def text(self) -> str:
        return self.message.text

    def managed_groups(self, level: Level = Level.ADMIN) -> list[str]:
        """The group this message is in; in a private chat, the groups the sender runs at ``level``."""
        if self.group_id is not None:
            return [self.group_id]
        return groups_managed(self.session, self.sender_id, level)
