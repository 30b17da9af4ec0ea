"""Plain order-line facts handed to the after-sale layer (recap, poster, exports).

The store maps its rows into these; nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.groupbuy.quantity import Quantity


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One order line. Several lines share a follow_no (跟团号) when an order has several items."""

    follow_no: int
    member_id: str
    member_name: str
    item: str
    unit: str
    quantity: Quantity
    unit_price_fen: int
    amount_fen: int  # the line's price before coupons and refunds
    note: str | None
    paid: bool
    pickup: str | None
    ordered_at: datetime  # aware, already in local time
    room: str | None = None
    phone: str | None = None
    coupon_fen: int = 0
    refund_fen: int = 0
    group_name: str = ""
    pickup_code: str | None = None
    original_price_fen: int | None = None
    group_id: str = ""  # the group the order was placed in (a campaign may run in several)
