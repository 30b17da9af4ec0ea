"""The persistent outbox between the core and the transport.

Replies are written to the database in the same transaction as the change that caused
them; this pump delivers them in order per chat, paced, and marks them sent. When the
network is down the rows simply wait: nothing acknowledged is lost, and after a restart
the pump picks up where it stopped. When a chat has more waiting than pacing lets out,
neighbouring text messages are merged into one send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.messages import OutboundMessage
from bot.pacing import Pacer
from bot.store.db import reader, table
from bot.store.models import OutboxMessage
from bot.transports.base import Transport, TransportUnavailable
from scheduler.timers import Timer

log = logging.getLogger(__name__)

MERGE_LIMIT = 1800  # characters in one merged message; WeChat folds longer texts
RETRY_AFTER = timedelta(seconds=3)


def enqueue(session: Session, owner: str, messages: Iterable[OutboundMessage], now: datetime) -> None:
    """Write replies to the outbox in the caller's transaction (one Core INSERT: hot path)."""
    rows = [
        {
            "owner": owner,
            "chat_id": m.chat_id,
            "is_group": m.is_group,
            "text": m.text,
            "template": m.template,
            "kind": m.kind,
            "path": m.path,
            "mentions": list(m.mentions),
            "must_send": m.must_send,
            "standalone": m.standalone,
            "created_at": now,
            "sent_at": None,
        }
        for m in messages
    ]
    if rows:
        session.connection().execute(_INSERT, rows)


_INSERT = table(OutboxMessage).insert()


def _merge(rows: list[OutboxMessage], limit: int) -> list[OutboxMessage]:
    """The longest run of leading text rows that fits in one message (at least one row)."""
    batch = [rows[0]]
    if rows[0].kind != "text" or rows[0].standalone:
        return batch
    size = len(rows[0].text)
    for row in rows[1:limit]:
        if row.kind != "text" or row.standalone or size + len(row.text) + 2 > MERGE_LIMIT:
            break
        batch.append(row)
        size += len(row.text) + 2
    return batch


class Outbox:
    """Delivers this instance's outbox rows. Rows are read once (by id cursor) into per-chat
    queues; a pump run sends what pacing allows and marks the sent rows in one UPDATE."""

    def __init__(
        self,
        engine: Engine,
        transport: Transport,
        clock: Clock,
        timer: Timer,
        pacer: Pacer,
        owner: str = "main",
        writer: AbstractContextManager[object] | None = None,
    ) -> None:
        self.engine = engine
        # The app's SQLite writer lock: marking rows sent queues behind a batch here rather
        # than in SQLite's busy handler, which sleeps in coarse steps.
        self._writer = writer or contextlib.nullcontext()
        self.transport = transport
        self.clock = clock
        self.timer = timer
        self.pacer = pacer
        self.owner = owner
        self._lock = asyncio.Lock()
        self._wake_at: datetime | None = None
        self._queues: dict[str, list[OutboxMessage]] = {}
        # Row ids already taken into the queues. Not an id cursor: on PostgreSQL a lower id
        # can commit after a higher one, and a cursor would skip it.
        self._queued: set[int] = set()

    def pending(self) -> list[OutboxMessage]:
        """Every row of this instance not yet sent, in order."""
        with Session(reader(self.engine)) as s:
            stmt = (
                select(OutboxMessage)
                .where(OutboxMessage.owner == self.owner, OutboxMessage.sent_at.is_(None))  # type: ignore[union-attr]
                .order_by(col(OutboxMessage.id))
            )
            return list(s.exec(stmt))

    async def pump(self) -> None:
        """Send everything pacing allows now; schedule a wake-up for the rest."""
        sent: list[int] = []
        try:
            async with self._lock:
                for row in await asyncio.to_thread(self.pending):
                    if row.id not in self._queued:
                        self._queued.add(row.id)  # type: ignore[arg-type]
                        self._queues.setdefault(row.chat_id, []).append(row)
                await self._send_queued(sent)
        finally:
            # Outside the lock: the next pump sends while this one waits to write (the sent
            # rows stay in ``_queued`` until marked, so nobody sends them twice).
            if sent:
                await asyncio.to_thread(self._mark_sent, sent, self.clock.now())
                self._queued.difference_update(sent)

    async def _send_queued(self, sent: list[int]) -> None:
        next_wake: datetime | None = None
        for chat_id, queue in self._queues.items():
            while queue:
                now = self.clock.now()
                ready = self.pacer.ready_at(chat_id, now)
                if ready > now:
                    next_wake = ready if next_wake is None else min(next_wake, ready)
                    break
                spare = max(self.pacer.spare(chat_id, now), 1)
                # Merge only when more is waiting than pacing lets out now.
                batch = _merge(queue, len(queue)) if len(queue) > spare else queue[:1]
                try:
                    await self.transport.send(_outbound(batch))
                except TransportUnavailable:
                    waiting = sum(len(q) for q in self._queues.values())
                    log.warning("transport unavailable; %d message(s) wait in the outbox", waiting)
                    self._schedule(self.clock.now() + RETRY_AFTER)
                    return
                except Exception:
                    # The network is up but refused this message (an unknown chat, say): it can
                    # never go out, so it must not hold back the messages behind it.
                    log.exception("outbox rows %s refused by the transport; dropped", [r.id for r in batch])
                self.pacer.take(chat_id, now)
                sent.extend(r.id for r in batch if r.id is not None)
                del queue[: len(batch)]
        if next_wake is not None:
            self._schedule(next_wake)

    def _mark_sent(self, ids: list[int], now: datetime) -> None:
        with self._writer, Session(self.engine) as s:
            s.exec(update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(sent_at=now))  # type: ignore[call-overload]
            s.commit()

    def _schedule(self, when: datetime) -> None:
        if self._wake_at is not None and self.clock.now() < self._wake_at <= when:
            return
        self._wake_at = when
        self.timer.call_at(f"outbox:{self.owner}", when, self.pump)


def _outbound(batch: list[OutboxMessage]) -> OutboundMessage:
    first = batch[0]
    mentions: list[str] = []
    for row in batch:
        mentions.extend(m for m in row.mentions if m not in mentions)
    return OutboundMessage(
        chat_id=first.chat_id,
        text="\n\n".join(row.text for row in batch),
        template="+".join(dict.fromkeys(row.template for row in batch)),
        is_group=first.is_group,
        kind=first.kind,  # type: ignore[arg-type]
        path=first.path,
        mentions=tuple(mentions),
        must_send=any(row.must_send for row in batch),
        standalone=first.standalone,
    )
