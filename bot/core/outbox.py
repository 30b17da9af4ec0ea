"""The persistent outbox between the core and the transport.

Replies are written to the database in the same transaction as the change that caused
them; this pump delivers them in order per chat, paced, and marks each send's rows sent
right after it (a crash between the two resends that one message, nothing more). When the
network is down the rows simply wait: nothing acknowledged is lost, and after a restart
the pump picks up where it stopped. When a chat has more waiting than pacing lets out,
neighbouring text messages are merged into one send.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.clock import Clock, Timer
from bot.core.messages import OutboundMessage
from bot.core.pacing import Pacer
from bot.core.transport import Transport, TransportUnavailable
from bot.store.db import reader, table
from bot.store.models import OutboxMessage
from bot.store.prepared import Prepared

log = logging.getLogger(__name__)

MERGE_LIMIT = 1800  # characters in one merged message; WeChat folds longer texts
RETRY_AFTER = timedelta(seconds=3)


def enqueue(session: Session, owner: str, messages: Iterable[OutboundMessage], now: datetime) -> None:
    """Write replies to the outbox in the caller's transaction (one INSERT: hot path)."""
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
            "bulk": m.bulk,
            "created_at": now,
            "sent_at": None,
        }
        for m in messages
    ]
    if rows:
        _INSERT.execute_many(session.connection(), rows)


_OUTBOX = table(OutboxMessage)
_COLUMNS = (
    "owner",
    "chat_id",
    "is_group",
    "text",
    "template",
    "kind",
    "path",
    "mentions",
    "must_send",
    "standalone",
    "bulk",
    "created_at",
    "sent_at",
)
_INSERT = Prepared(_OUTBOX.insert(), columns=_COLUMNS)
# Core rows, not ORM objects: the pump reads these after every batch.
_UNSENT = (
    core_select(_OUTBOX)
    .where(_OUTBOX.c.owner == bindparam("owner"), _OUTBOX.c.sent_at.is_(None))
    .order_by(_OUTBOX.c.id)
)
_MARK_SENT = (
    update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True))).values(sent_at=bindparam("at"))
)
Queued = Row[Any]  # an unsent outbox row


def _merge(rows: list[Queued], limit: int) -> list[Queued]:
    """The longest run of leading text rows that fits in one message (at least one row)."""
    batch = [rows[0]]
    if rows[0].kind != "text" or rows[0].standalone:
        return batch
    size = len(rows[0].text)
    for row in rows[1:limit]:
        grown = size + len(_separator(batch[-1].text, row.text)) + len(row.text)
        if row.kind != "text" or row.standalone or grown > MERGE_LIMIT:
            break
        batch.append(row)
        size = grown
    return batch


def _separator(before: str, after: str) -> str:
    """One-line replies (a flash sale's ✅ lines) stack line by line; longer posts keep a blank
    line between them. Denser merges let more answers through the account's few sends."""
    return "\n" if "\n" not in before and "\n" not in after else "\n\n"


def _joined(texts: list[str]) -> str:
    out = texts[0]
    for before, after in itertools.pairwise(texts):
        out += _separator(before, after) + after
    return out


class Outbox:
    """Delivers this instance's outbox rows. Rows are read once into per-chat queues; a pump run
    sends what pacing allows, each send's rows marked sent right after it."""

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
        self._down = False  # the last send found the transport unavailable
        self._queues: dict[str, list[Queued]] = {}
        # Row ids already taken into the queues. Not an id cursor: on PostgreSQL a lower id
        # can commit after a higher one, and a cursor would skip it.
        self._queued: set[int] = set()

    def pending(self) -> list[Queued]:
        """Every row of this instance not yet sent, in order."""
        with reader(self.engine).connect() as conn:
            return list(conn.execute(_UNSENT, {"owner": self.owner}))

    async def pump(self) -> None:
        """Send everything pacing allows now; schedule a wake-up for the rest."""
        async with self._lock:
            grown: set[str] = set()
            for row in await asyncio.to_thread(self.pending):
                if row.id not in self._queued:
                    self._queued.add(row.id)
                    self._queues.setdefault(row.chat_id, []).append(row)
                    grown.add(row.chat_id)
            for chat_id in grown:
                # Answers before broadcasts; each kind in the order it was written (stable sort).
                self._queues[chat_id].sort(key=lambda r: bool(r.bulk))
            await self._send_queued()

    def _next_chat(self, now: datetime, waiting: dict[str, datetime]) -> str | None:
        """The chat to serve next: among those pacing lets send now, the one whose first row is
        an answer (before broadcasts) and has waited longest. Chats that must wait go into
        ``waiting`` with the time they may send. With the account's limit the bottleneck, a
        fixed order would let the first groups drain it while the last one waits."""
        best: tuple[bool, datetime, int] | None = None
        chosen = None
        for chat_id, queue in self._queues.items():
            if not queue or chat_id in waiting:
                continue
            ready = self.pacer.ready_at(chat_id, now)
            if ready > now:
                waiting[chat_id] = ready
                continue
            head = queue[0]
            key = (bool(head.bulk), head.created_at or now, head.id)
            if best is None or key < best:
                best, chosen = key, chat_id
        return chosen

    async def _send_queued(self) -> None:
        waiting: dict[str, datetime] = {}
        while True:
            now = self.clock.now()
            chat_id = self._next_chat(now, waiting)
            if chat_id is None:
                break
            queue = self._queues[chat_id]
            spare = max(self.pacer.spare(chat_id, now), 1)
            # Merge only when more is waiting than pacing lets out now.
            batch = _merge(queue, len(queue)) if len(queue) > spare else queue[:1]
            try:
                await self._deliver(batch)
            except TransportUnavailable:
                count = sum(len(q) for q in self._queues.values())
                # Once per outage: the transport itself says why the network is down.
                log.log(
                    logging.DEBUG if self._down else logging.WARNING,
                    "transport unavailable; %d message(s) wait in the outbox",
                    count,
                )
                self._down = True
                self._schedule(self.clock.now() + RETRY_AFTER)
                return
            self._down = False
            self.pacer.take(chat_id, now)
            del queue[: len(batch)]
        if waiting:
            self._schedule(min(waiting.values()))

    async def _deliver(self, batch: list[Queued]) -> None:
        """Send one message and mark its rows sent right after it, inside the pump's lock (a
        concurrent pump's read must not see them unsent once they left ``_queued``).

        A transport that delivers into the store (the web chat's history) records the message
        in the same transaction as the mark, and shows it once that committed: exactly once.
        Any other transport is sent to first: a crash before the mark resends this one message.
        """
        message, ids = _outbound(batch), [r.id for r in batch]
        record = getattr(self.transport, "record", None)
        if record is not None:
            shown = await asyncio.to_thread(
                self._mark_sent, ids, self.clock.now(), lambda conn: record(conn, message, ids)
            )
            await self.transport.publish(shown)  # type: ignore[attr-defined]
        else:
            try:
                await self.transport.send(message)
            except TransportUnavailable:
                raise
            except Exception:
                # The network is up but refused this message (an unknown chat, say): it can
                # never go out, so it must not hold back the messages behind it.
                log.exception("outbox rows %s refused by the transport; dropped", ids)
            await asyncio.to_thread(self._mark_sent, ids, self.clock.now())
        self._queued.difference_update(ids)

    def _mark_sent(self, ids: list[int], now: datetime, record: Callable[..., Any] | None = None) -> Any:
        with self._writer, self.engine.begin() as conn:
            shown = record(conn) if record is not None else None
            conn.execute(_MARK_SENT, {"ids": ids, "at": now})
        return shown

    def _schedule(self, when: datetime) -> None:
        if self._wake_at is not None and self.clock.now() < self._wake_at <= when:
            return
        self._wake_at = when
        self.timer.call_at(f"outbox:{self.owner}", when, self.pump)


def _outbound(batch: list[Queued]) -> OutboundMessage:
    first = batch[0]
    mentions: list[str] = []
    for row in batch:
        mentions.extend(m for m in row.mentions if m not in mentions)
    return OutboundMessage(
        chat_id=first.chat_id,
        text=_joined([row.text for row in batch]),
        template="+".join(dict.fromkeys(row.template for row in batch)),
        is_group=first.is_group,
        kind=first.kind,  # type: ignore[arg-type]
        path=first.path,
        mentions=tuple(mentions),
        must_send=any(row.must_send for row in batch),
        standalone=first.standalone,
    )
