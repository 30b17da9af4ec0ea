"""The contract every transport fulfils."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.core.messages import InboundMessage, OutboundMessage

Sink = Callable[[InboundMessage], Awaitable[None]]


class Transport(Protocol):
    """A chat network. ``start`` begins delivering inbound messages to ``sink``, which returns
    once the message's transaction has committed (raising ``NotStored`` when it could not): a
    transport acknowledges a message, or lets its sender forget it, only after that.

    ``send`` delivers one outbound message; it may raise ``TransportUnavailable`` when
    the network is down, and the core's outbox keeps the message and retries.
    """

    name: str

    async def start(self, sink: Sink) -> None: ...

    async def send(self, message: OutboundMessage) -> None: ...

    async def stop(self) -> None: ...


# Optional, found by name:
# - ``use_store(engine, writer)``: a transport that keeps records of its own in the app's store
#   (the web chat's history) is handed the engine and the app's writer lock before it starts;
# - ``record(conn, message, outbox_ids) -> shown`` and ``async publish(shown)``: a transport whose delivery
#   is a row in that store; the outbox calls ``record`` in the transaction that marks the rows
#   sent and ``publish`` after it committed, so such a transport shows each reply exactly once.


class TransportUnavailable(RuntimeError):
    """The network cannot take a message right now; try again later."""


class NotStored(RuntimeError):
    """The app could not record this message (its transaction failed): do not acknowledge it;
    the sender's retry will be handled."""
