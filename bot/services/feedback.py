"""The feedback loop: a private 评价 request after 核销, open tickets (售后单) and overdue ones.

Each deferred send is one row whose key makes it happen once: ``RatingAsk`` per order,
``TicketNudge`` per ticket and overdue period. The row and the message commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.groupbuy.loyalty_config import FeedbackConfig
from bot.store.db import insert_once
from bot.store.models import Campaign, Member, Order, OrderStatus
from bot.store.models_aftersale import Rating, Ticket, TicketStatus
from bot.store.models_loyalty import Optout, RatingAsk, TicketNudge

# Orders collected longer ago than this are never asked (a bot started after a long pause).
ASK_WINDOW = timedelta(days=3)


def claim(s: Session, row: RatingAsk | TicketNudge) -> bool:
    """Insert a once-only marker; False when another fire or process inserted it first."""
    return insert_once(s, type(row), **row.model_dump())


@dataclass(frozen=True)
class Ask:
    order: Order
    campaign: Campaign


def due_rating_asks(
    s: Session, now: datetime, config: FeedbackConfig, limit: int = 100, ready: datetime | None = None
) -> list[Ask]:
    """Collected orders whose member has not been asked, has not rated and has not opted out,
    collected at least ``ask_after_minutes`` ago (or before ``ready``)."""
    ready = ready or now - timedelta(minutes=config.ask_after_minutes)
    stmt = (
        select(Order, Campaign)
        .join(Campaign, col(Campaign.id) == col(Order.campaign_id))
        .outerjoin(RatingAsk, col(RatingAsk.order_id) == col(Order.id))
        .outerjoin(
            Rating,
            (col(Rating.campaign_id) == col(Order.campaign_id))
            & (col(Rating.member_id) == col(Order.member_id)),
        )
        .outerjoin(Optout, col(Optout.member_id) == col(Order.member_id))
        .where(
            Order.status == OrderStatus.ACTIVE,
            col(Order.picked_up_at) <= ready,
            col(Order.picked_up_at) > now - ASK_WINDOW,
            col(RatingAsk.order_id).is_(None),
            col(Rating.id).is_(None),
            col(Optout.member_id).is_(None),
        )
        .order_by(col(Order.picked_up_at))
        .limit(limit)
    )
    return [Ask(o, c) for o, c in s.exec(stmt)]


def open_tickets(
    s: Session, group_ids: list[str] | None, created_before: datetime | None = None
) -> list[tuple[Ticket, str]]:
    """售后单: unanswered tickets (of these groups), oldest first, with the member's name."""
    stmt = (
        select(Ticket, Member.name)
        .join(Member, col(Member.id) == col(Ticket.member_id))
        .where(Ticket.status == TicketStatus.OPEN)
        .order_by(col(Ticket.id))
    )
    if group_ids is not None:
        stmt = stmt.where(col(Ticket.group_id).in_(group_ids))
    if created_before is not None:
        stmt = stmt.where(col(Ticket.created_at) <= created_before)
    return [(t, name) for t, name in s.exec(stmt)]


@dataclass(frozen=True)
class Overdue:
    ticket: Ticket
    name: str
    period: int  # 1 the first time it is overdue, 2 one period later, ...
    hours: float


def overdue_tickets(s: Session, now: datetime, config: FeedbackConfig) -> list[Overdue]:
    """Open tickets past each whole overdue period not yet nudged for that period."""
    period = timedelta(hours=config.ticket_overdue_hours)
    out = []
    for ticket, name in open_tickets(s, None, now - period):
        assert ticket.created_at is not None and ticket.id is not None
        n = int((now - ticket.created_at) / period)
        if n >= 1 and claim(s, TicketNudge(ticket_id=ticket.id, period=n, at=now)):
            out.append(Overdue(ticket, name, n, (now - ticket.created_at) / timedelta(hours=1)))
    return out


def comments(s: Session, campaign_id: int) -> list[str]:
    """The campaign's rating comments (for the recap's common words)."""
    stmt = select(Rating.comment).where(Rating.campaign_id == campaign_id, col(Rating.comment).is_not(None))
    return [c for c in s.exec(stmt) if c]


def next_due(s: Session, now: datetime, config: FeedbackConfig) -> datetime | None:
    """When the next rating ask or ticket nudge falls due (for the sweep's wake-up)."""
    asks = due_rating_asks(s, now, config, limit=1, ready=now)
    when = [asks[0].order.picked_up_at + timedelta(minutes=config.ask_after_minutes)] if asks else []
    period = timedelta(hours=config.ticket_overdue_hours)
    nudged = {(t, p) for t, p in s.exec(select(TicketNudge.ticket_id, TicketNudge.period)).all()}
    for ticket, _ in open_tickets(s, None):
        assert ticket.created_at is not None
        n = max(int((now - ticket.created_at) / period), 0)
        due = n if n >= 1 and (ticket.id, n) not in nudged else n + 1
        when.append(ticket.created_at + due * period)
    return min(when, default=None)
