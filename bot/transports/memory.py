"""An in-process transport for tests and `tuanbot replay`: say() in, sent list out."""

from __future__ import annotations

import itertools
from datetime import datetime

from bot.core.clock import Clock
from bot.core.messages import InboundMessage, OutboundMessage
from bot.core.normalize import normalize_text
from bot.core.transport import Sink, TransportUnavailable


class MemoryTransport:
    name = "memory"

    def __init__(self, bot_names: tuple[str, ...] = ("团长助手",), clock: Clock | None = None) -> None:
        self.bot_names = bot_names
        self.clock = clock
        self.sent: list[OutboundMessage] = []
        self.sent_at: list[datetime | None] = []
        self.online = True
        self._sink: Sink | None = None
        self._ids = itertools.count(1)

    async def start(self, sink: Sink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        self._sink = None

    async def send(self, message: OutboundMessage) -> None:
        if not self.online:
            raise TransportUnavailable("memory transport is offline")
        self.sent.append(message)
        self.sent_at.append(self.clock.now() if self.clock else None)

    def message(
        self,
        chat_id: str,
        sender_id: str,
        sender_name: str,
        text: str,
        *,
        is_group: bool = True,
        chat_name: str | None = None,
        mentions: tuple[str, ...] = (),
        message_id: str | None = None,
        kind: str = "text",
        timestamp: datetime | None = None,
        inviter_id: str | None = None,
        chat_size: int | None = None,
    ) -> InboundMessage:
        clean, mentioned = normalize_text(text, self.bot_names)
        return InboundMessage(
            id=message_id or f"m{next(self._ids)}",
            chat_id=chat_id if is_group else sender_id,
            sender_id=sender_id,
            sender_name=sender_name,
            text=clean,
            is_group=is_group,
            chat_name=chat_name,
            mentions_bot=mentioned,
            mentions=mentions,
            kind=kind,  # type: ignore[arg-type]
            timestamp=timestamp,
            inviter_id=inviter_id,
            chat_size=chat_size if is_group else None,
        )

    async def deliver(self, message: InboundMessage) -> None:
        assert self._sink is not None, "transport not started"
        await self._sink(message)
