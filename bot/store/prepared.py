"""Hot-path statements compiled once and run straight on the database driver.

SQLAlchemy Core spends ~20 µs of Python on every statement (an execution context,
parameter processing, a result object) where the SQLite driver itself needs 2-3 µs. The
order path runs a handful of fixed statements per message, so it keeps them as
``Prepared``: compiled once per dialect together with the bind and result processors of
their columns (the same conversions Core applies), then executed on the session's own
DBAPI connection, inside its transaction. Driver errors come back as SQLAlchemy's
exceptions (IntegrityError, ...), so callers handle them exactly as before.

Use it for statements with fixed parameters (no expanding IN lists); everything else
stays plain Core.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Slot:
    """One parameter the driver gets: from the caller (``name``) or fixed in the statement."""

    key: str  # the placeholder's name
    name: str | None  # the caller's parameter; None for a literal written into the statement
    process: Processor
    value: Any = None  # the literal, already processed


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    slots: tuple[_Slot, ...]  # in placeholder order for positional drivers
    keys: tuple[str, ...]  # the slots' placeholder names, for drivers that take a mapping
    results: tuple[Processor, ...]
    row: type[tuple[Any, ...]] | None  # a named tuple of the returned columns, if any
    errors: type[Exception]


class Prepared:
    """A Core statement run on the driver: ``rows``, ``first``, ``scalar``, ``execute``,
    ``execute_many``."""

    def __init__(self, statement: Select[Any] | UpdateBase, columns: tuple[str, ...] = ()) -> None:
        """``columns``: for an INSERT without ``values``, the columns every call passes."""
        self.statement = statement
        self.columns = columns
        # One compiled form per dialect and driver: a memo of pure values, filled on first use.
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _compile(self.statement, self.columns, dialect)
        return compiled

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Run the statement; its returned rows (named tuples), or [] when it returns none."""
        c = self._for(conn.dialect)
        args = _args(c, params)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(c.sql, args)
            fetched = cursor.fetchall() if c.row is not None else []
        except c.errors as err:
            raise DBAPIError.instance(c.sql, args, err, c.errors) from err
        finally:
            cursor.close()
        if c.row is None:
            return []
        make = c.row._make  # type: ignore[attr-defined]
        if not any(c.results):
            return [make(r) for r in fetched]
        return [make(p(v) if p else v for p, v in zip(c.results, r, strict=True)) for r in fetched]

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a statement that returns nothing once per parameter set (the driver's executemany)."""
        c = self._for(conn.dialect)
        if c.row is not None:
            raise ValueError("execute_many cannot return rows")
        args = [_args(c, params) for params in rows]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(c.sql, args)
        except c.errors as err:
            raise DBAPIError.instance(c.sql, args, err, c.errors) from err
        finally:
            cursor.close()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        rows = self.rows(conn, params)
        return rows[0] if rows else None

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        """The first column of the first row, or None when there is no row."""
        rows = self.rows(conn, params)
        return rows[0][0] if rows else None

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> None:
        self.rows(conn, params)


def _args(c: _Compiled, params: Mapping[str, Any]) -> Any:
    """The driver's parameters: processed like Core would, in placeholder order if positional."""
    values = []
    for slot in c.slots:
        if slot.name is None:
            values.append(slot.value)
        else:
            value = params[slot.name]
            values.append(slot.process(value) if slot.process else value)
    return tuple(values) if c.positional else dict(zip(c.keys, values, strict=True))


def _compile(statement: Select[Any] | UpdateBase, columns: tuple[str, ...], dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect, column_keys=list(columns) or None)
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    slots: dict[str, _Slot] = {}
    for name, bind in by_name.items():
        if bind.expanding:
            raise ValueError(f"Prepared cannot run expanding parameter {name!r}")
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.required:
            slots[name] = _Slot(name, name, process)
        elif bind.value is None:  # Core would fill in a column default here; we do not
            raise ValueError(f"Prepared needs {name!r} passed (a column default is not applied)")
        else:  # a literal in the statement (status == 'active')
            slots[name] = _Slot(name, None, None, process(bind.value) if process else bind.value)
    order = (compiled.positiontup or ()) if compiled.positional else slots
    ordered = tuple(slots[n] for n in order)
    returned = list(statement.exported_columns)
    results = tuple(col.type.dialect_impl(dialect).result_processor(dialect, None) for col in returned)
    names = [col.key for col in returned]
    row = namedtuple("Row", names, rename=True) if names else None  # type: ignore[misc]
    errors = dialect.loaded_dbapi.Error
    keys = tuple(slot.key for slot in ordered)
    return _Compiled(str(compiled), compiled.positional, ordered, keys, results, row, errors)
