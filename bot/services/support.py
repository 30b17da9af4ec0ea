"""After-sales (售后) tickets, refunds on orders, and members' ratings (评价).

Functions change the store and return plain results; handlers turn them into replies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.groupbuy.money import parse_price
from bot.groupbuy.numerals import parse_int
from bot.services.pickup import Packet, packet
from bot.store.models import Campaign, CampaignGroup, CampaignStatus, Order, OrderStatus
from bot.store.models_aftersale import Rating, Ticket, TicketStatus

# 跟团号5 / #5 / 5号 at the start of a member's 售后 text names the order it is about.
_ORDER_REF = re.compile(r"^\s*(?:跟团号\s*|#\s*)(?P<no>\d{1,6})(?:号)?\s*[:：,，]?\s*")
# 退款 12.5 元 / 退款¥12.5 / 退款12块5 anywhere in the leader's answer.
_REFUND = re.compile(
    r"退款\s*(?P<amount>[¥￥]?\s*[0-9零〇一二两三四五六七八九十百千万.]+\s*(?:元|块钱|块)?\d?)"
)


def split_order_ref(text: str) -> tuple[int | None, str]:
    """A member's 售后 text -> (follow number named at its start or None, the description)."""
    m = _ORDER_REF.match(text)
    if m is None:
        return None, text.strip()
    return int(m["no"]), text[m.end() :].strip()


def find_refund(text: str) -> int | bool | None:
    """The refund in a leader's answer, in fen: None when there is none, False when unreadable."""
    m = _REFUND.search(text)
    if m is None:
        return None if "退款" not in text else False
    fen = parse_price(m["amount"].replace(" ", ""))
    return fen if fen is not None and fen > 0 else False


def member_orders(s: Session, member_id: str, group_ids: list[str] | None) -> list[tuple[Order, Campaign]]:
    """The member's active orders, newest campaign first (in these groups when given)."""
    stmt = (
        select(Order, Campaign)
        .join(Campaign, col(Campaign.id) == col(Order.campaign_id))
        .where(
            Order.member_id == member_id,
            Order.status == OrderStatus.ACTIVE,
            Campaign.status != CampaignStatus.CANCELLED,
        )
        .order_by(col(Campaign.id).desc())
    )
    if group_ids is not None:
        stmt = stmt.join(CampaignGroup, col(CampaignGroup.campaign_id) == col(Campaign.id)).where(
            col(CampaignGroup.group_id).in_(group_ids)
        )
    seen: dict[int | None, tuple[Order, Campaign]] = {}
    for order, campaign in s.exec(stmt):
        seen.setdefault(order.id, (order, campaign))  # one row per campaign group: keep the first
    return list(seen.values())


class TicketProblem(StrEnum):
    NO_ORDER = "no_order"
    NOT_YOURS = "not_yours"


@dataclass(frozen=True)
class Opened:
    ticket: Ticket | None
    problem: TicketProblem | None = None
    packet: Packet | None = None
    follow_no: int | None = None


def open_ticket(
    s: Session, member_id: str, group_id: str | None, follow_no: int | None, text: str, now: datetime
) -> Opened:
    """Open a ticket on the member's newest order (or the order with ``follow_no``, if theirs)."""
    orders = member_orders(s, member_id, [group_id] if group_id else None)
    if follow_no is not None:
        mine = [(o, c) for o, c in orders if o.follow_no == follow_no]
        if not mine:
            others = s.exec(select(Order).where(Order.follow_no == follow_no)).first()
            problem = TicketProblem.NOT_YOURS if others is not None else TicketProblem.NO_ORDER
            return Opened(None, problem, follow_no=follow_no)
        orders = mine
    if not orders:
        return Opened(None, TicketProblem.NO_ORDER, follow_no=follow_no)
    order, campaign = orders[0]
    assert order.id is not None and campaign.id is not None
    ticket = Ticket(
        campaign_id=campaign.id,
        order_id=order.id,
        member_id=member_id,
        group_id=order.group_id,
        text=text,
        created_at=now,
    )
    s.add(ticket)
    s.flush()
    return Opened(ticket, packet=packet(s, campaign, order))


def refundable_fen(s: Session, order: Order) -> int:
    """What may still be refunded: the paid amount (after coupons) minus earlier refunds."""
    if not order.paid:
        return 0
    campaign = s.get(Campaign, order.campaign_id)
    assert campaign is not None
    return max(packet(s, campaign, order).amount_fen - order.coupon_fen - order.refund_fen, 0)


class AnswerProblem(StrEnum):
    UNKNOWN = "unknown"
    NOT_YOURS = "not_yours"  # a ticket of a group the answerer does not manage
    BAD_REFUND = "bad_refund"
    TOO_MUCH = "too_much"


@dataclass(frozen=True)
class Answered:
    ticket: Ticket | None
    problem: AnswerProblem | None = None
    refund_fen: int = 0
    refundable_fen: int = 0
    packet: Packet | None = None


def answer_ticket(
    s: Session, ticket_id: int, answer: str, staff_id: str, managed: list[str], now: datetime
) -> Answered:
    """Record the leader's answer; a 退款 N 元 inside it is added to the order's refunds."""
    ticket = s.get(Ticket, ticket_id)
    if ticket is None:
        return Answered(None, AnswerProblem.UNKNOWN)
    if ticket.group_id not in managed:
        return Answered(None, AnswerProblem.NOT_YOURS)
    order = s.get(Order, ticket.order_id)
    campaign = s.get(Campaign, ticket.campaign_id)
    assert order is not None and campaign is not None
    refund = find_refund(answer)
    if refund is False:
        return Answered(ticket, AnswerProblem.BAD_REFUND)
    limit = refundable_fen(s, order)
    if refund and refund > limit:
        return Answered(ticket, AnswerProblem.TOO_MUCH, refund, limit, packet(s, campaign, order))
    if refund:
        order.refund_fen += refund
        order.updated_at = now
        ticket.refund_fen += refund
        s.add(order)
    ticket.answer = answer
    ticket.answered_by = staff_id
    ticket.answered_at = now
    ticket.status = TicketStatus.ANSWERED
    s.add(ticket)
    return Answered(ticket, None, refund or 0, limit - (refund or 0), packet(s, campaign, order))


class RateProblem(StrEnum):
    NO_ORDER = "no_order"
    NOT_YET = "not_yet"  # the campaign is still open and nothing was collected


@dataclass(frozen=True)
class Rated:
    rating: Rating | None
    problem: RateProblem | None = None
    campaign: Campaign | None = None
    again: bool = False


def parse_stars(text: str) -> tuple[int | None, str | None]:
    """``5`` / ``5分`` / ``五星 很新鲜`` -> (stars or None when unreadable, comment)."""
    # The number must stand alone: 「评价一下」 is not a one-star rating.
    m = re.match(
        r"^\s*(?P<n>[0-9零一二两三四五六七八九十]+)\s*(?:分|星|颗星)?(?:$|[\s,，.。!！~～])(?P<rest>.*)$",
        text,
        re.S,
    )
    if m is None:
        return None, None
    return parse_int(m["n"]), (m["rest"].strip() or None)


def rate(
    s: Session, member_id: str, group_id: str | None, stars: int, comment: str | None, now: datetime
) -> Rated:
    """Rate the newest campaign the member bought in, once goods could have been collected."""
    orders = member_orders(s, member_id, [group_id] if group_id else None)
    if not orders:
        return Rated(None, RateProblem.NO_ORDER)
    order, campaign = orders[0]
    if campaign.status != CampaignStatus.CLOSED and order.picked_up_at is None:
        return Rated(None, RateProblem.NOT_YET, campaign)
    assert order.id is not None and campaign.id is not None
    rating = s.exec(
        select(Rating).where(Rating.campaign_id == campaign.id, Rating.member_id == member_id)
    ).first()
    again = rating is not None
    if rating is None:
        rating = Rating(
            campaign_id=campaign.id, member_id=member_id, order_id=order.id, stars=stars, created_at=now
        )
    rating.stars, rating.comment, rating.updated_at = stars, comment, now
    s.add(rating)
    return Rated(rating, None, campaign, again)


def average_rating(s: Session, campaign_id: int) -> tuple[float | None, int]:
    """The campaign's mean rating and how many members rated (None when nobody did)."""
    mean, count = s.exec(
        select(func.avg(Rating.stars), func.count()).where(Rating.campaign_id == campaign_id)
    ).one()
    return (float(mean) if count else None), int(count)
