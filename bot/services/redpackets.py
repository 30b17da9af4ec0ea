"""The bot's own 拼手气 red-packet rain: split at the start, grabbed with 抢, announced at the end.

Amounts are coupons (integer fen) taken off the member's order in the campaign. A member
may grab before ordering (the rain usually comes before opening); the coupon goes onto the
order as soon as there is one (``claim_coupons`` runs in the order path).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from bot.groupbuy.redpacket import split_red_packet
from bot.store.db import table
from bot.store.models import Campaign, Member, Order, OrderStatus, SentNotice
from bot.store.models_timeline import RainPacket


def start_rain(s: Session, campaign: Campaign, count: int, total_fen: int, rng: random.Random) -> list[int]:
    """Split the rain into packets (once: the runner's SentNotice guards the call)."""
    assert campaign.id is not None
    packets = split_red_packet(total_fen, count, rng)
    for pos, amount in enumerate(packets):
        s.add(RainPacket(campaign_id=campaign.id, position=pos, amount_fen=amount))
    return packets


class RainState(StrEnum):
    NONE = "none"  # no rain in this campaign
    NOT_STARTED = "not_started"
    ON = "on"
    OVER = "over"


def rain_state(s: Session, campaign_id: int) -> RainState:
    start, end = f"campaign:{campaign_id}:rain_start:0", f"campaign:{campaign_id}:rain_end:0"
    kinds = dict(
        s.exec(select(SentNotice.key, SentNotice.kind).where(col(SentNotice.key).in_([start, end]))).all()
    )
    if end in kinds or kinds.get(start) == "skipped":
        return RainState.OVER
    if start in kinds:
        return RainState.ON
    return RainState.NOT_STARTED


class GrabOutcome(StrEnum):
    GRABBED = "grabbed"
    TWICE = "twice"
    EMPTY = "empty"


@dataclass(frozen=True)
class Grab:
    outcome: GrabOutcome
    amount_fen: int = 0
    left: int = 0
    has_order: bool = False  # the coupon went onto an order (else it waits for one)


def grab(s: Session, campaign_id: int, member_id: str, group_id: str | None, now: datetime) -> Grab:
    """Take the next free packet for a member; one per member per rain."""
    mine = s.exec(
        select(RainPacket).where(RainPacket.campaign_id == campaign_id, RainPacket.member_id == member_id)
    ).first()
    if mine is not None:
        return Grab(GrabOutcome.TWICE, mine.amount_fen)
    free = list(
        s.exec(
            select(RainPacket.id)
            .where(RainPacket.campaign_id == campaign_id, col(RainPacket.member_id).is_(None))
            .order_by(col(RainPacket.position))
        )
    )
    for packet_id in free:
        # Conditional claim: a concurrent grab of the same packet (another process) loses cleanly.
        stmt = (
            update(RainPacket)
            .where(col(RainPacket.id) == packet_id, col(RainPacket.member_id).is_(None))
            .values(member_id=member_id, group_id=group_id, grabbed_at=now)
        )
        if s.execute(stmt.execution_options(synchronize_session=False)).rowcount == 1:
            packet = s.get(RainPacket, packet_id)
            assert packet is not None
            s.refresh(packet)
            has_order = _active_order_id(s, campaign_id, member_id) is not None
            claim_coupons(s, campaign_id, member_id)
            left = len(free) - free.index(packet_id) - 1
            return Grab(GrabOutcome.GRABBED, packet.amount_fen, left, has_order)
    return Grab(GrabOutcome.EMPTY)


_PACKETS, _ORDERS = table(RainPacket), table(Order)
_ACTIVE_ORDER_ID = core_select(_ORDERS.c.id).where(
    _ORDERS.c.campaign_id == bindparam("c_id"),
    _ORDERS.c.member_id == bindparam("m_id"),
    _ORDERS.c.status == OrderStatus.ACTIVE,
)
_CLAIM = (
    update(_PACKETS)
    .where(
        _PACKETS.c.campaign_id == bindparam("c_id"),
        _PACKETS.c.member_id == bindparam("m_id"),
        _PACKETS.c.applied.is_(False),
    )
    .values(applied=True)
    .returning(_PACKETS.c.amount_fen)
)
_ANY_PACKET = core_select(_PACKETS.c.id).where(_PACKETS.c.campaign_id == bindparam("c_id")).limit(1)
_ADD_COUPON = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("o_id"))
    .values(coupon_fen=_ORDERS.c.coupon_fen + bindparam("fen"))
)


def _active_order_id(s: Session, campaign_id: int, member_id: str) -> int | None:
    return s.connection().execute(_ACTIVE_ORDER_ID, {"c_id": campaign_id, "m_id": member_id}).scalar()


def claim_coupons(s: Session, campaign_id: int, member_id: str) -> int:
    """Put the member's grabbed, not yet applied packets onto their active order. Returns fen added.

    Core statements on the session's connection: this runs on the order path."""
    order_id = _active_order_id(s, campaign_id, member_id)
    if order_id is None:
        return 0
    conn = s.connection()
    added = sum(conn.execute(_CLAIM, {"c_id": campaign_id, "m_id": member_id}).scalars())
    if added:
        conn.execute(_ADD_COUPON, {"o_id": order_id, "fen": added})
    return added


def has_packets(s: Session, campaign_id: int) -> bool:
    """Whether the campaign ever had a red-packet rain (else the order path skips coupons)."""
    return s.connection().execute(_ANY_PACKET, {"c_id": campaign_id}).first() is not None


@dataclass(frozen=True)
class RainResult:
    grabs: list[tuple[str, int]]  # (member name, fen) in grab order
    best: tuple[str, int] | None
    left_count: int
    left_fen: int
    total_fen: int


def rain_result(s: Session, campaign_id: int) -> RainResult | None:
    packets = list(s.exec(select(RainPacket).where(RainPacket.campaign_id == campaign_id)))
    if not packets:
        return None
    taken = sorted((p for p in packets if p.member_id), key=lambda p: (p.grabbed_at, p.position))
    names = {
        m.id: m.name for m in s.exec(select(Member).where(col(Member.id).in_([p.member_id for p in taken])))
    }
    grabs = [(names.get(p.member_id or "", p.member_id or ""), p.amount_fen) for p in taken]
    # 手气最佳: the largest amount; the earlier grab wins a tie.
    best = max(grabs, key=lambda g: g[1]) if grabs else None
    left = [p for p in packets if not p.member_id]
    return RainResult(
        grabs, best, len(left), sum(p.amount_fen for p in left), sum(p.amount_fen for p in packets)
    )
