"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

from bot.groupbuy.quantity import Quantity, from_store, to_store


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and returns them aware, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware (UTC) datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class QuantityType(TypeDecorator[Any]):
    """An exact quantity (int, or Decimal for halves) stored as integer hundredths.

    SQL arithmetic and comparisons on these columns (``sold + n <= stock``) stay integer on SQLite
    and PostgreSQL; Python sees ``bot.groupbuy.quantity.Quantity`` values. A bound parameter
    compared with or added to such a column is scaled the same way.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Quantity | None, dialect: object) -> int | None:
        return None if value is None else to_store(value)

    def process_result_value(self, value: int | None, dialect: object) -> Quantity | None:
        return None if value is None else from_store(int(value))

    def coerce_compared_value(self, op: object, value: object) -> TypeDecorator[Any]:
        return self
