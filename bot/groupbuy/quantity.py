"""Quantities of goods: exact, whole for most goods, halves for goods sold by weight.

A quantity is an ``int`` when it is whole and a ``Decimal`` otherwise (1.5斤): both are exact, so
stock, limits and money never meet a binary float. Keeping whole quantities as plain ints leaves
the flash-sale path (nearly always whole units) as fast as before and every existing sum valid.
The store keeps quantities as integer hundredths (``STORE_SCALE``; bot/store/types.py), so SQL
arithmetic such as ``sold + n <= stock`` stays integer on SQLite and PostgreSQL alike.

Money: a line costs ``price × quantity`` rounded half up to the fen (12.85元/斤 × 0.5斤 = ¥6.43).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

Quantity = int | Decimal

STORE_SCALE = 100  # stored as integer hundredths of the item's unit
HALF = Decimal("0.5")

# Units in which a member may order halves (半斤, 一斤半, 1.5公斤), and their size in 斤.
WEIGHT_UNITS: dict[str, Decimal] = {
    "斤": Decimal(1),
    "市斤": Decimal(1),
    "公斤": Decimal(2),
    "千克": Decimal(2),
    "kg": Decimal(2),
    "克": Decimal("0.002"),
    "g": Decimal("0.002"),
    "两": Decimal("0.1"),
}


def normalize(value: Quantity) -> Quantity:
    """An int when whole (Decimal('3.0') -> 3), else the Decimal without trailing zeros."""
    if isinstance(value, int):
        return value
    if value == value.to_integral_value():
        return int(value)
    return value.normalize()


def to_store(value: Quantity) -> int:
    """Hundredths for the database; a quantity finer than that is a bug upstream."""
    if isinstance(value, int):
        return value * STORE_SCALE
    scaled = value * STORE_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"quantity {value} is finer than 1/{STORE_SCALE}")
    return int(scaled)


def from_store(value: int) -> Quantity:
    whole, part = divmod(value, STORE_SCALE)
    return whole if part == 0 else (Decimal(value) / STORE_SCALE).normalize()


def is_whole(value: Quantity) -> bool:
    return isinstance(value, int) or value == value.to_integral_value()


def is_half_step(value: Quantity) -> bool:
    """Whole or a half (0.5, 1.5 …): what goods sold by weight may be ordered in."""
    return is_whole(value) or is_whole(value * 2)


def is_weight(unit: str | None) -> bool:
    return bool(unit) and unit.lower() in WEIGHT_UNITS  # type: ignore[union-attr]


def convert(value: Quantity, written: str, sold_by: str) -> Quantity | None:
    """``value`` written in one weight unit, in another (1公斤 -> 2斤); None if either is no weight."""
    a, b = WEIGHT_UNITS.get(written.lower()), WEIGHT_UNITS.get(sold_by.lower())
    if a is None or b is None:
        return None
    return normalize(Decimal(value) * a / b)


def amount_fen(price_fen: int, quantity: Quantity) -> int:
    """What a line costs, in fen: exact for whole quantities, rounded half up to the fen otherwise."""
    if isinstance(quantity, int):
        return price_fen * quantity
    return int((Decimal(price_fen) * quantity).quantize(Decimal(1), ROUND_HALF_UP))


def show(value: Quantity) -> str:
    """1.5 -> '1.5', 3 -> '3', Decimal('3.0') -> '3'."""
    return str(normalize(value))
