"""Invitations (邀请有礼): a newcomer who joined through a member's invitation credits the inviter;
after the newcomer's first order goes through, both get a coupon. 邀请榜 ranks inviters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.groupbuy.loyalty_config import InvitesConfig
from bot.services.coupons import issue_coupon
from bot.services.points import in_any_group
from bot.store.db import insert_once
from bot.store.models import Campaign, CampaignStatus, GroupMember, Member, Order, OrderStatus
from bot.store.models_loyalty import Coupon, Invitation


def record_join(s: Session, group_id: str, member_id: str, inviter_id: str | None, now: datetime) -> bool:
    """Credit the inviter of a newcomer; False when there is nothing to credit (no inviter, the
    inviter is not in the group, the newcomer invited themselves, was invited here before or has
    ordered before: a returning member is not new)."""
    if not inviter_id or inviter_id == member_id:
        return False
    inviter_in = s.exec(
        select(GroupMember.member_id).where(
            GroupMember.group_id == group_id,
            GroupMember.member_id == inviter_id,
            col(GroupMember.left_at).is_(None),
        )
    ).first()
    ordered = s.exec(select(Order.id).where(Order.member_id == member_id).limit(1)).first()
    if inviter_in is None or ordered is not None:
        return False
    return insert_once(
        s, Invitation, group_id=group_id, member_id=member_id, inviter_id=inviter_id, joined_at=now
    )


@dataclass(frozen=True)
class Reward:
    invitation: Invitation
    inviter_coupon: Coupon | None
    newcomer_coupon: Coupon | None


def due_rewards(s: Session, now: datetime, config: InvitesConfig) -> list[Reward]:
    """Invitations whose newcomer's first order went through (an active order in a campaign that
    closed successfully): both get their coupon, once. Whoever left every group gets none."""
    done = (
        select(Order.member_id)
        .join(Campaign, col(Campaign.id) == col(Order.campaign_id))
        .where(
            Order.status == OrderStatus.ACTIVE,
            Campaign.status == CampaignStatus.CLOSED,
            col(Campaign.succeeded).is_not(False),
        )
    )
    stmt = select(Invitation).where(
        col(Invitation.rewarded_at).is_(None), col(Invitation.member_id).in_(done)
    )
    out = []
    for inv in s.exec(stmt):
        claimed = s.execute(
            update(Invitation)
            .where(
                col(Invitation.group_id) == inv.group_id,
                col(Invitation.member_id) == inv.member_id,
                col(Invitation.rewarded_at).is_(None),
            )
            .values(rewarded_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        coupons = []
        for who, yuan, side in (
            (inv.inviter_id, config.inviter_coupon_yuan, "inviter"),
            (inv.member_id, config.newcomer_coupon_yuan, "newcomer"),
        ):
            fen = round(yuan * 100)
            ok = fen > 0 and in_any_group(s, who)
            ref = f"invite:{inv.group_id}:{inv.member_id}:{side}"
            coupons.append(issue_coupon(s, who, fen, "invite", now, config.coupon_days, ref) if ok else None)
        out.append(Reward(inv, coupons[0], coupons[1]))
    return out


@dataclass(frozen=True)
class Inviter:
    member_id: str
    name: str
    invited: int
    ordered: int  # invitees whose first order went through


def ranking(s: Session, group_ids: list[str], limit: int = 10) -> list[Inviter]:
    """邀请榜: inviters by members brought in, then by those who ordered."""
    stmt = (
        select(
            Invitation.inviter_id,
            Member.name,
            func.count(),
            func.count(col(Invitation.rewarded_at)),
        )
        .join(Member, col(Member.id) == col(Invitation.inviter_id))
        .where(col(Invitation.group_id).in_(group_ids))
        .group_by(col(Invitation.inviter_id), col(Member.name))
        .order_by(func.count().desc(), func.count(col(Invitation.rewarded_at)).desc(), col(Member.name))
        .limit(limit)
    )
    return [Inviter(m, name, int(n), int(k)) for m, name, n, k in s.exec(stmt)]


def waiting(s: Session) -> bool:
    """Whether an invitation still waits for its reward."""
    stmt = select(Invitation.member_id).where(col(Invitation.rewarded_at).is_(None)).limit(1)
    return s.exec(stmt).first() is not None
