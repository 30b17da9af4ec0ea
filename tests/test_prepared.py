"""Prepared statements (the order path's driver-level statements) behave exactly like Core."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.store.prepared import Prepared
from bot.store.types import UTCDateTime

META = MetaData()
THINGS = Table(
    "prepared_thing",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True, nullable=False),
    Column("status", String(10), nullable=False, default="new"),
    Column("flag", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=True),
)
COLUMNS = ("name", "status", "flag", "at")
ADD = Prepared(insert(THINGS).returning(THINGS.c.id), columns=COLUMNS)
READ = Prepared(
    select(THINGS.c.id, THINGS.c.name.label("who"), THINGS.c.flag, THINGS.c.at)
    .where(THINGS.c.status == "new", THINGS.c.name == bindparam("name"))
    .order_by(THINGS.c.id)
)
RENAME = Prepared(update(THINGS).where(THINGS.c.id == bindparam("thing")).values(name=bindparam("new")))
SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture
def things(engine: Engine) -> Engine:
    META.create_all(engine)
    return engine


def _row(name: str, at: datetime | None = None, status: str = "new") -> dict[str, object]:
    return {"name": name, "status": status, "flag": True, "at": at}


def test_rows_match_what_core_returns(things: Engine) -> None:
    at = datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=SHANGHAI)
    with things.begin() as conn:
        first = ADD.scalar(conn, _row("苹果", at))
        ADD.scalar(conn, _row("香蕉", None, status="old"))
        got = READ.rows(conn, {"name": "苹果"})
        core = conn.execute(READ.statement, {"name": "苹果"}).all()
    assert [tuple(r) for r in got] == [tuple(r) for r in core]
    (row,) = got
    assert (row.id, row.who, row.flag) == (first, "苹果", True)
    assert row.flag is True  # SQLite's 1 comes back as a bool, as through Core
    assert row.at == at and row.at.tzinfo is not None  # aware in, the same instant out (UTC)
    assert row.at.utcoffset() == UTC.utcoffset(None)


def test_no_row_and_statements_without_rows(things: Engine) -> None:
    with things.begin() as conn:
        assert READ.rows(conn, {"name": "nobody"}) == []
        assert READ.first(conn, {"name": "nobody"}) is None
        thing = ADD.scalar(conn, _row("梨"))
        RENAME.execute(conn, {"thing": thing, "new": "雪梨"})
        assert READ.scalar(conn, {"name": "雪梨"}) == thing


def test_driver_errors_come_back_as_sqlalchemy_errors(things: Engine) -> None:
    """The app retries an IntegrityError (another process took the row first): keep its type."""
    with things.connect() as conn:
        ADD.scalar(conn, _row("桃"))
        with pytest.raises(IntegrityError):
            ADD.scalar(conn, _row("桃"))
        conn.rollback()


def test_statements_it_cannot_run_faithfully_are_refused(things: Engine) -> None:
    missing_default = Prepared(insert(THINGS), columns=("name", "flag"))  # status has a default
    expanding = Prepared(select(THINGS.c.id).where(THINGS.c.id.in_(bindparam("ids", expanding=True))))
    with things.connect() as conn:
        with pytest.raises(ValueError, match="status"):
            missing_default.execute(conn, {"name": "x", "flag": False})
        with pytest.raises(ValueError, match="ids"):
            expanding.rows(conn, {"ids": [1]})
