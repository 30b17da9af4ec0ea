"""收款 (leader marks payments) and 已付款 (a member reports paying, for the leader to confirm)."""

from __future__ import annotations

from sqlmodel import select

from bot.commands import Level, PaidArgs, is_bare, parse_mark_paid
from bot.context import Ctx
from bot.members import member_name
from bot.messages import Reply
from bot.orderbook import view_order
from bot.payments import known_follow_nos, mark_paid
from bot.routing import Router
from bot.store.models import Campaign, Order, OrderStatus
from handlers.timeline import leader_campaign

router = Router("payments")


def mark_trigger(ctx: Ctx) -> PaidArgs | None:
    inv = ctx.invocation
    if inv is None or inv.spec.key != "mark_paid" or ctx.message.kind != "text":
        return None
    # 「收款码发一下」 is chit-chat, not a command: only readable arguments make it one.
    return parse_mark_paid(inv.rest, ctx.message.mentions)


@router.route(mark_trigger, level=Level.ADMIN)
def mark(ctx: Ctx, args: PaidArgs) -> Reply:
    campaign = leader_campaign(ctx)
    if campaign is None:
        return Reply.of("payments/no_campaign", action="收款", in_group=ctx.message.is_group)
    assert campaign.id is not None
    marked = mark_paid(
        ctx.session,
        campaign.id,
        follow_nos=args.follow_nos,
        member_ids=ctx.message.mentions,
        everyone=args.everyone,
    )
    if marked.unknown:
        unknown = [u if u.isdigit() else _name(ctx, u) for u in marked.unknown]
        return Reply.of(
            "payments/unknown",
            campaign=campaign,
            unknown=unknown,
            known=known_follow_nos(ctx.session, campaign.id),
        )
    return Reply.of("payments/marked", campaign=campaign, marked=marked)


def _name(ctx: Ctx, member_id: str) -> str:
    return "@" + member_name(ctx.session, member_id)


def report_trigger(ctx: Ctx) -> Campaign | None:
    inv = ctx.invocation
    if inv is None or inv.spec.key != "report_paid" or not is_bare(inv.rest) or ctx.group_id is None:
        return None
    return leader_campaign(ctx)


@router.route(report_trigger, scope="group")
def report(ctx: Ctx, campaign: Campaign) -> list[Reply] | Reply:
    assert campaign.id is not None
    mention = (ctx.sender_id,)
    order = ctx.session.exec(
        select(Order).where(Order.campaign_id == campaign.id, Order.member_id == ctx.sender_id)
    ).first()
    if order is None or order.status != OrderStatus.ACTIVE:
        return Reply("payments/no_order", {"campaign": campaign}, mentions=mention)
    if order.paid:
        return Reply("payments/already_paid", {}, mentions=mention)
    view = view_order(ctx.session, campaign.id, ctx.sender_id)
    due = view.due_fen if view else 0
    order.paid_reported = True
    ctx.session.add(order)
    return [
        Reply("payments/reported", {"due_fen": due, "follow_no": order.follow_no}, mentions=mention),
        Reply(
            "payments/report_leader",
            {
                "campaign": campaign,
                "name": ctx.message.sender_name,
                "follow_no": order.follow_no,
                "due_fen": due,
            },
            chat_id=campaign.created_by,
            private=True,
        ),
    ]
