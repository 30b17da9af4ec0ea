"""Engine and sessions. SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateColumn
from sqlmodel import Session, SQLModel, create_engine

# Feature modules that define tables; imported before the schema is created.
MODEL_MODULES = (
    "bot.store.models",
    "bot.store.models_timeline",
    "bot.store.models_aftersale",
    "bot.store.models_jielong",
    "bot.store.models_groups",
    "bot.store.models_webchat",
    "bot.store.models_loyalty",
    "bot.store.models_console",
)


def _import_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and pick the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, synchronous: str = "FULL") -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_pragmas(engine, synchronous)
    else:
        engine = create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    return engine


def _sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, issue BEGIN (see _on_begin). FULL: an acknowledged
        # order survives a power cut, not only a crash.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Writers take the write lock up front, so two processes never deadlock upgrading a
        # read lock; readers (see ``reader``) must not queue behind writers for nothing.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


READ_ONLY = "tuanbot_read_only"


def reader(engine: Engine) -> Engine:
    """The same engine for read-only sessions: no write lock taken on SQLite."""
    return engine.execution_options(**{READ_ONLY: True})


def create_schema(engine: Engine) -> None:
    _import_models()
    SQLModel.metadata.create_all(engine)
    add_missing_columns(engine)


def add_missing_columns(engine: Engine) -> None:
    """Columns a newer model has that an existing table lacks, added in place (additive only:
    every such column has a server default or allows NULL, so old rows stay valid)."""
    found = inspect(engine)
    missing = []
    for tbl in SQLModel.metadata.sorted_tables:
        have = {c["name"] for c in found.get_columns(tbl.name)}
        missing += [(tbl, column) for column in tbl.columns if column.name not in have]
    if not missing:
        return
    with engine.begin() as conn:
        for tbl, column in missing:
            table_name = conn.dialect.identifier_preparer.format_table(tbl)
            ddl = f"ALTER TABLE {table_name} ADD COLUMN "
            old = column.info.get("scaled_from")
            if old and old in {c["name"] for c in found.get_columns(tbl.name)}:
                # A quantity column now kept in hundredths (quantity -> quantity_x100): the old
                # whole numbers are carried over scaled, and the old column goes.
                quote = conn.dialect.identifier_preparer.quote
                new, kind = quote(column.name), column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"{ddl}{new} {kind}")
                conn.exec_driver_sql(f"UPDATE {table_name} SET {new} = {quote(old)} * {column.info['scale']}")
                conn.exec_driver_sql(f"ALTER TABLE {table_name} DROP COLUMN {quote(old)}")
                continue
            conn.exec_driver_sql(ddl + str(CreateColumn(column).compile(dialect=conn.dialect)))


def upsert(bind: Session | Engine) -> Callable[[Table], Any]:
    """The dialect's INSERT that knows ON CONFLICT (SQLite and PostgreSQL share the syntax)."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return pg_insert if engine.dialect.name == "postgresql" else sqlite_insert


def table(model: type[SQLModel]) -> Table:
    """A model's Core table, for hot paths that skip the ORM's unit of work."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]


@contextmanager
def savepoint(s: Session, name: str) -> Iterator[None]:
    """A SAVEPOINT sent straight to the driver: a fraction of ``Session.begin_nested``'s cost
    (and a tenth of ``exec_driver_sql``'s), since a flash sale pays it once per message.

    The ORM is flushed before the release. After a rollback the session's objects are
    dropped, since they may describe rows that no longer exist; a failed ORM flush leaves the
    session needing a full rollback, which the caller's batch handles like any failed commit.
    """
    driver = s.connection().connection.dbapi_connection
    assert driver is not None
    driver.execute(f"SAVEPOINT {name}")  # sqlite3 and psycopg connections both have execute()
    try:
        yield
        s.flush()
    except BaseException:
        driver.execute(f"ROLLBACK TO SAVEPOINT {name}")
        s.expunge_all()
        raise
    driver.execute(f"RELEASE SAVEPOINT {name}")


def insert_once(s: Session, model: type[SQLModel], **values: Any) -> bool:
    """INSERT a row unless its key (or a unique column) is taken; True when this call inserted it.

    ON CONFLICT DO NOTHING, not an ORM flush: a conflict must not spoil the session's transaction.
    """
    t = table(model)
    stmt = upsert(s)(t).values(**values).on_conflict_do_nothing().returning(*t.primary_key.columns)
    # RETURNING, not rowcount: psycopg reports no row count for a conflicting ON CONFLICT insert.
    return s.execute(stmt).first() is not None
