"""Money is integer fen everywhere; yuan only at the edges (parsing and display)."""

from __future__ import annotations


def yuan(fen: int) -> str:
    """12.80 -> '12.8', 1200 -> '12', 1205 -> '12.05' (how leaders write prices)."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    if part == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{part:02d}".rstrip("0")


def yuan2(fen: int) -> str:
    """Always two decimals, for exports and totals: 1280 -> '12.80'."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole}.{part:02d}"
