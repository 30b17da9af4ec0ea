"""The contract every transport fulfils."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.core.messages import InboundMessage, OutboundMessage

Sink = Callable[[InboundMessage], Awaitable[None]]


class Transport(Protocol):
    """A chat network. ``start`` begins delivering inbound messages to ``sink``.

    ``send`` delivers one outbound message; it may raise ``TransportUnavailable`` when
    the network is down, and the core's outbox keeps the message and retries.
    """

    name: str

    async def start(self, sink: Sink) -> None: ...

    async def send(self, message: OutboundMessage) -> None: ...

    async def stop(self) -> None: ...


class TransportUnavailable(RuntimeError):
    """The network cannot take a message right now; try again later."""
