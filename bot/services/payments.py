"""催付 and 收款: staged, merged payment reminders; the leader marks payments; members report them.

A reminder stage is one group message per group with @mentions of the unpaid members,
each member reminded at most ``max_per_member`` times per campaign (``PaymentNudge``).
Members who said 已付款 wait for the leader, not for another nudge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from bot.core.messages import Reply
from bot.services.campaigns import tally
from bot.services.jielong_book import leader_of
from bot.services.orderbook import view_order
from bot.store.models import Campaign, Member, Order, OrderStatus
from bot.store.models_timeline import PaymentNudge


@dataclass(frozen=True)
class Due:
    follow_no: int
    member_id: str
    name: str
    due_fen: int


def unpaid(s: Session, campaign_id: int) -> dict[str, list[Due]]:
    """Unpaid active orders by group, in follow-number order."""
    amounts = {
        line.follow_no: max(line.amount_fen - line.coupon_fen, 0) for line in tally(s, campaign_id).lines
    }
    stmt = (
        select(Order, Member)
        .join(Member, col(Member.id) == col(Order.member_id))
        .where(
            Order.campaign_id == campaign_id, Order.status == OrderStatus.ACTIVE, col(Order.paid).is_(False)
        )
        .order_by(col(Order.follow_no))
    )
    out: dict[str, list[Due]] = {}
    for order, member in s.exec(stmt):
        if order.paid_reported:
            continue
        out.setdefault(order.group_id, []).append(
            Due(order.follow_no, member.id, member.name, amounts.get(order.follow_no, 0))
        )
    return out


def nudge(s: Session, campaign: Campaign, stage: int, max_per_member: int, now: datetime) -> list[Reply]:
    """One merged reminder per group for the members still under their reminder cap."""
    assert campaign.id is not None
    replies: list[Reply] = []
    for group_id, dues in unpaid(s, campaign.id).items():
        chosen = []
        for due in dues:
            row = s.get(PaymentNudge, (campaign.id, due.member_id)) or PaymentNudge(
                campaign_id=campaign.id, member_id=due.member_id
            )
            if row.count >= max_per_member:
                continue
            row.count += 1
            row.last_at = now
            s.add(row)
            chosen.append(due)
        if chosen:
            replies.append(
                Reply(
                    "payments/reminder",
                    {"campaign": campaign, "dues": chosen, "stage": stage},
                    chat_id=group_id,
                    mentions=tuple(d.member_id for d in chosen),
                )
            )
    return replies


@dataclass(frozen=True)
class Marked:
    newly: list[Due]
    already: list[Due]
    unknown: list[str]  # follow numbers or names that match no order
    still_unpaid: int


def _orders(s: Session, campaign_id: int) -> list[tuple[Order, Member]]:
    stmt = (
        select(Order, Member)
        .join(Member, col(Member.id) == col(Order.member_id))
        .where(Order.campaign_id == campaign_id, Order.status == OrderStatus.ACTIVE)
        .order_by(col(Order.follow_no))
    )
    return list(s.exec(stmt))


def mark_paid(
    s: Session,
    campaign_id: int,
    *,
    follow_nos: tuple[int, ...] = (),
    member_ids: tuple[str, ...] = (),
    everyone: bool = False,
) -> Marked:
    """收款: mark orders paid. Nothing changes when any reference is unknown."""
    rows = _orders(s, campaign_id)
    by_no = {o.follow_no: (o, m) for o, m in rows}
    by_member = {o.member_id: (o, m) for o, m in rows}
    unknown = [str(n) for n in follow_nos if n not in by_no] + [m for m in member_ids if m not in by_member]
    if unknown:
        return Marked([], [], unknown, sum(1 for o, _ in rows if not o.paid))
    targets = rows if everyone else [by_no[n] for n in follow_nos] + [by_member[m] for m in member_ids]
    newly, already, seen = [], [], set()
    for order, member in targets:
        if order.id in seen:
            continue
        seen.add(order.id)
        due = Due(order.follow_no, member.id, member.name, 0)
        if order.paid:
            already.append(due)
            continue
        order.paid = True
        order.paid_reported = False
        s.add(order)
        newly.append(due)
    return Marked(newly, already, [], sum(1 for o, _ in rows if not o.paid))


def known_follow_nos(s: Session, campaign_id: int) -> list[int]:
    return [o.follow_no for o, _ in _orders(s, campaign_id)]


class ReportProblem(StrEnum):
    NO_ORDER = "no_order"
    ALREADY_PAID = "already_paid"


@dataclass(frozen=True)
class Reported:
    problem: ReportProblem | None
    follow_no: int = 0
    due_fen: int = 0
    leader_id: str = ""  # who confirms it: the leader of the order's group


def report_paid(s: Session, campaign: Campaign, member_id: str) -> Reported:
    """已付款: flag the member's active order as reported paid, for the leader to confirm with 收款."""
    assert campaign.id is not None
    order = s.exec(
        select(Order).where(Order.campaign_id == campaign.id, Order.member_id == member_id)
    ).first()
    if order is None or order.status != OrderStatus.ACTIVE:
        return Reported(ReportProblem.NO_ORDER)
    if order.paid:
        return Reported(ReportProblem.ALREADY_PAID, order.follow_no)
    view = view_order(s, campaign.id, member_id)
    order.paid_reported = True
    s.add(order)
    leader = leader_of(s, order.group_id) or campaign.created_by
    return Reported(None, order.follow_no, view.due_fen if view else 0, leader)
