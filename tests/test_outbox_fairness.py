"""The outbox serves chats fairly: the oldest waiting answer first, answers before broadcasts,
each chat's rows in order, and a schema from before the ``bulk`` column still works."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.config import PacingConfig
from bot.core.messages import OutboundMessage
from bot.core.outbox import enqueue
from bot.store.db import create_schema, make_engine
from bot.testing import build_harness, demo_settings
from tests.conftest import START

INSERT_OLD_ROW = (
    "INSERT INTO outboxmessage (owner, chat_id, is_group, text, template, kind, mentions, must_send,"
    " standalone) VALUES ('main', 'g', 1, 'hi', 't', 'text', '[]', 0, 0)"
)
GROUPS = {f"{n}群": {"leader": "王姐", "members": ["李阿姨"]} for n in (1, 2, 3)}


def _row(chat: str, text_: str, *, bulk: bool = False) -> OutboundMessage:
    return OutboundMessage(chat_id=chat, text=text_, template="t", bulk=bulk)


async def test_the_oldest_answer_goes_first_and_broadcasts_wait(engine: Engine) -> None:
    # One send at a time for the whole account: the order of sends is the policy.
    pacing = PacingConfig(per_chat_per_minute=60, per_account_per_minute=6, burst=1, jitter_seconds=0)
    settings = demo_settings(GROUPS, pacing=pacing.model_dump())
    h = build_harness(settings, engine, START)
    g1, g2, g3 = (h.group_id(f"{n}群") for n in (1, 2, 3))
    async with h.app:
        h.new()
        now = h.clock.now()
        with Session(h.app.engine) as s:
            enqueue(s, "main", [_row(g1, "群发1", bulk=True), _row(g2, "群发2", bulk=True)], now)
            enqueue(s, "main", [_row(g1, "a1"), _row(g1, "a2")], now + timedelta(seconds=1))
            enqueue(s, "main", [_row(g3, "c1")], now + timedelta(seconds=2))
            enqueue(s, "main", [_row(g2, "b1")], now + timedelta(seconds=3))
            s.commit()
        await h.app.outbox.pump()
        await h.drain(within=timedelta(minutes=5))
    order = [m.text for m in h.transport.sent]
    # Answers by age across chats, then the broadcasts; a chat's broadcast may ride in the same
    # send as its answers (that costs no one a send), never ahead of them.
    flat = [part for text_ in order for part in text_.split("\n")]
    assert flat.index("a1") < flat.index("a2") < flat.index("群发1")
    assert flat.index("a1") < flat.index("c1") < flat.index("b1") < flat.index("群发2")
    assert "群发2" not in order[0] and order[-1].endswith("群发2")
    assert sorted(flat) == sorted(["群发1", "群发2", "a1", "a2", "c1", "b1"])  # each exactly once


def test_an_old_outbox_table_gets_the_new_column(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    create_schema(engine)
    with engine.begin() as conn:  # the table as an older version made it
        conn.exec_driver_sql("ALTER TABLE outboxmessage DROP COLUMN bulk")
        conn.execute(text(INSERT_OLD_ROW))
    assert "bulk" not in {c["name"] for c in inspect(engine).get_columns("outboxmessage")}
    create_schema(engine)
    assert "bulk" in {c["name"] for c in inspect(engine).get_columns("outboxmessage")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT bulk FROM outboxmessage")).scalar_one() in (0, False)
    engine.dispose()
