"""Send pacing that keeps the WeChat account safe.

Real accounts are restricted at about 60 sends in 90 seconds. Every send takes a token
from its chat's bucket and from the account's bucket; a chat also waits a little random
jitter after each send (on top of any wait for the next token) so the bot never looks like
a machine gun. With the defaults an account sends at most 10 + 45 = 55 in any 90 s.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.config import PacingConfig


@dataclass
class Bucket:
    capacity: float
    per_second: float
    tokens: float
    stamp: datetime | None = None

    def refill(self, now: datetime) -> None:
        if self.stamp is not None:
            elapsed = (now - self.stamp).total_seconds()
            self.tokens = min(self.capacity, self.tokens + elapsed * self.per_second)
        self.stamp = now

    def wait(self, now: datetime) -> timedelta:
        """How long until one token is there (zero if there is one now)."""
        self.refill(now)
        if self.tokens >= 1:
            return timedelta(0)
        return timedelta(seconds=(1 - self.tokens) / self.per_second)


@dataclass
class Pacer:
    config: PacingConfig
    rng: random.Random
    _chats: dict[str, Bucket] = field(default_factory=dict)
    _account: Bucket | None = None
    _not_before: dict[str, datetime] = field(default_factory=dict)

    def _bucket(self, chat_id: str) -> Bucket:
        if chat_id not in self._chats:
            cap = self.config.burst
            self._chats[chat_id] = Bucket(cap, self.config.per_chat_per_minute / 60, cap)
        return self._chats[chat_id]

    def _account_bucket(self) -> Bucket:
        if self._account is None:
            cap = self.config.burst * 2
            self._account = Bucket(cap, self.config.per_account_per_minute / 60, cap)
        return self._account

    def ready_at(self, chat_id: str, now: datetime) -> datetime:
        """The earliest time a message to this chat may go out."""
        wait = max(self._bucket(chat_id).wait(now), self._account_bucket().wait(now))
        return max(now + wait, self._not_before.get(chat_id, now))

    def spare(self, chat_id: str, now: datetime) -> int:
        """Whole sends this chat may make right now without waiting."""
        self._bucket(chat_id).refill(now)
        self._account_bucket().refill(now)
        return int(min(self._bucket(chat_id).tokens, self._account_bucket().tokens))

    def take(self, chat_id: str, now: datetime) -> None:
        self._bucket(chat_id).tokens -= 1
        self._account_bucket().tokens -= 1
        # Jitter comes on top of any wait for the next token, so even a steady stream has no
        # fixed beat (a flood would otherwise go out exactly every 60/rate seconds).
        refill = max(self._bucket(chat_id).wait(now), self._account_bucket().wait(now))
        jitter = timedelta(seconds=self.rng.uniform(0, self.config.jitter_seconds))
        self._not_before[chat_id] = now + refill + jitter
