"""Personal coupons (win-back, points, invitations): issued to a member, taken by their next order.

The order path applies at most one coupon per order with one conditional UPDATE, so a coupon is
used once even when two orders of the same member race in two groups.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, func, select

from bot.core.context import Ctx
from bot.groupbuy.quantity import amount_fen
from bot.store.db import insert_once, table
from bot.store.models import Item, Order, OrderLine, OrderStatus
from bot.store.models_loyalty import Coupon
from bot.store.prepared import Prepared

_COUPONS, _ORDERS = table(Coupon), table(Order)
# Code letters a member reads out without confusion (no 0/O, 1/I/L).
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

# The member's free coupon that expires first, taken for this order; NULL-safe on both dialects.
_FREE = (
    core_select(_COUPONS.c.id)
    .where(
        _COUPONS.c.member_id == bindparam("m_id"),
        _COUPONS.c.order_id.is_(None),
        or_(_COUPONS.c.expires_at.is_(None), _COUPONS.c.expires_at > bindparam("now")),
    )
    .order_by(_COUPONS.c.expires_at, _COUPONS.c.id)
    .limit(1)
    .scalar_subquery()
)
_ON_ORDER = core_select(_COUPONS.c.id).where(_COUPONS.c.order_id == bindparam("o_id")).exists()
# One statement: the first free coupon, unless the order already has one.
_TAKE = Prepared(
    update(_COUPONS)
    .where(_COUPONS.c.id == _FREE, _COUPONS.c.order_id.is_(None), ~_ON_ORDER)
    .values(order_id=bindparam("o_id"), used_at=bindparam("now"))
    .returning(_COUPONS.c.amount_fen)
)
_ADD_TO_ORDER = Prepared(
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("o_id"))
    .values(coupon_fen=_ORDERS.c.coupon_fen + bindparam("fen"))
)


def apply_coupon(s: Session, order_id: int, member_id: str, now: datetime) -> int:
    """Put the member's next free coupon on this order (one per order). Returns fen taken off.

    Runs on the order path: one indexed statement when the member holds no coupon."""
    conn = s.connection()
    fen = _TAKE.scalar(conn, {"m_id": member_id, "o_id": order_id, "now": now})
    if fen:
        _ADD_TO_ORDER.execute(conn, {"o_id": order_id, "fen": fen})
    return int(fen or 0)


_HOLDERS = Prepared(
    core_select(_COUPONS.c.member_id)
    .where(
        _COUPONS.c.order_id.is_(None),
        or_(_COUPONS.c.expires_at.is_(None), _COUPONS.c.expires_at > bindparam("now")),
    )
    .distinct()
)


def coupon_holders(ctx: Ctx) -> set[str]:
    """Members holding a free coupon, read once per batch: a flash sale's orders (almost all by
    members without one) then pay a set look-up instead of a statement each."""
    return ctx.cache.get(
        "coupon_holders", lambda: {r[0] for r in _HOLDERS.rows(ctx.session.connection(), {"now": ctx.now})}
    )


def issue_coupon(
    s: Session, member_id: str, fen: int, source: str, now: datetime, days: int, ref: str | None = None
) -> Coupon | None:
    """A new personal coupon; None when ``ref`` already issued one (a retried job)."""
    if ref is not None and s.exec(select(Coupon).where(Coupon.ref == ref)).first() is not None:
        return None
    for _ in range(5):
        code = "".join(secrets.choice(_ALPHABET) for _ in range(6))
        expires = now + timedelta(days=days)
        values = {"member_id": member_id, "amount_fen": fen, "source": source, "ref": ref}
        if insert_once(s, Coupon, code=code, created_at=now, expires_at=expires, **values):
            return s.exec(select(Coupon).where(Coupon.code == code)).one()
        if ref is not None and s.exec(select(Coupon.id).where(Coupon.ref == ref)).first() is not None:
            return None  # issued meanwhile by another process
        # else the same code was drawn twice: draw again
    raise RuntimeError("could not draw a free coupon code")


def open_order_id(s: Session, member_id: str, campaign_ids: list[int]) -> int | None:
    """The member's active order in one of these (open) campaigns, for a coupon given mid-sale."""
    if not campaign_ids:
        return None
    return s.exec(
        select(Order.id).where(
            Order.member_id == member_id,
            Order.status == OrderStatus.ACTIVE,
            col(Order.campaign_id).in_(campaign_ids),
        )
    ).first()


@dataclass(frozen=True)
class CouponUse:
    issued: int
    used: int
    used_fen: int
    order_fen: int  # what the orders that used them came to (before the coupon)


def coupon_use(s: Session, source: str, refs_like: str) -> CouponUse:
    """How the coupons of one source (and ref prefix) fared: issued, used, and the orders' value."""
    rows = list(
        s.exec(
            select(Coupon.order_id, Coupon.amount_fen).where(
                Coupon.source == source, col(Coupon.ref).startswith(refs_like)
            )
        )
    )
    used = [(o, fen) for o, fen in rows if o is not None]
    order_fen = 0
    if used:
        # per line in Python: quantities are exact (halves), stored as hundredths
        price = func.coalesce(Item.settled_price_fen, OrderLine.unit_price_fen)
        lines = s.exec(
            select(price, OrderLine.quantity)
            .join(Item, col(Item.id) == col(OrderLine.item_id))
            .where(col(OrderLine.order_id).in_([o for o, _ in used]))
        )
        order_fen = sum(amount_fen(fen, qty) for fen, qty in lines)
    return CouponUse(len(rows), len(used), sum(fen for _, fen in used), order_fen)


def free_coupons(s: Session, member_id: str, now: datetime) -> list[Coupon]:
    """The member's coupons still to use, first to expire first."""
    return list(
        s.exec(
            select(Coupon)
            .where(
                Coupon.member_id == member_id,
                col(Coupon.order_id).is_(None),
                or_(col(Coupon.expires_at).is_(None), col(Coupon.expires_at) > now),
            )
            .order_by(col(Coupon.expires_at))
        )
    )
