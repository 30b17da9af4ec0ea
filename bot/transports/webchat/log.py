"""The web chat's history in the store: the page's messages and the bot's replies, in order.

Pages load it when they connect, so a restart loses nothing they were shown. A bot message is
written by ``record`` on the outbox's connection, in the transaction that marks its rows sent,
so a crash can neither lose it nor show it twice. Without the app's store (a web chat on its
own, in tests) it keeps an in-memory SQLite store of its own.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from contextlib import AbstractContextManager
from functools import partial
from typing import Any

from sqlalchemy import Connection, create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from bot.store.db import table, upsert
from bot.store.models_webchat import WebChatEvent

HISTORY_PER_CHAT = 500

_EVENTS = table(WebChatEvent)
_dumps = partial(json.dumps, ensure_ascii=False)


def history_key(chat_id: str, private_to: str | None) -> str:
    """Group chats are keyed by group id; each member's private chat with the bot by member id."""
    return f"private:{private_to}" if private_to else f"group:{chat_id}"


class ChatLog:
    def __init__(
        self, engine: Engine | None = None, writer: AbstractContextManager[object] | None = None
    ) -> None:
        if engine is None:
            engine = create_engine(
                "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
            )
        self.engine = engine
        self.writer = writer or contextlib.nullcontext()
        _EVENTS.create(engine, checkfirst=True)

    def record(self, conn: Connection, event: dict[str, Any]) -> bool:
        """Write ``event`` on the caller's connection; False when it was recorded before."""
        insert = upsert(self.engine)(_EVENTS).on_conflict_do_nothing(index_elements=["id"])
        row = {
            "id": event["id"],
            "chat": history_key(event["chat_id"], event["private_to"]),
            "event": _dumps(event),
        }
        return bool(conn.execute(insert, row).rowcount)

    def save(self, event: dict[str, Any]) -> bool:
        """``record`` in a transaction of its own."""
        with self.writer, self.engine.begin() as conn:
            return self.record(conn, event)

    def recent(self, chats: Iterable[str], limit: int = HISTORY_PER_CHAT) -> dict[str, list[dict[str, Any]]]:
        """The last ``limit`` events of each chat, oldest first."""
        found: dict[str, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            for chat in chats:
                rows = conn.execute(
                    select(_EVENTS.c.event)
                    .where(_EVENTS.c.chat == chat)
                    .order_by(_EVENTS.c.seq.desc())
                    .limit(limit)
                ).scalars()
                events = [json.loads(e) for e in rows]
                if events:
                    found[chat] = events[::-1]
        return found
