"""After-sales: a member's 售后 <描述>, the leader's 售后 <编号> <回复> (退款 N 元), and 评价 1-5."""

from __future__ import annotations

from bot.core.commands import Invocation, Level, UsageError, parse_ticket_answer
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.services.alerts import staff_of
from bot.services.campaigns import campaign_groups
from bot.services.members import groups_managed, member_name
from bot.services.points import rating_points
from bot.services.support import answer_ticket, open_ticket, parse_stars, rate, split_order_ref
from handlers.orders import _to_sender

router = Router("support")


@router.command("support")
def support(ctx: Ctx, inv: Invocation) -> list[Reply] | Reply:
    if not inv.rest:
        raise UsageError("support")
    if ctx.level >= Level.ADMIN and (answer := parse_ticket_answer(inv.rest)) is not None:
        return _answer(ctx, answer.ticket_id, answer.answer)
    if ctx.level >= Level.ADMIN and inv.rest.strip().lstrip("#").isdigit():
        raise UsageError("support", staff=True)
    follow_no, text = split_order_ref(inv.rest)
    if not text:
        raise UsageError("support")
    opened = open_ticket(ctx.session, ctx.sender_id, ctx.group_id, follow_no, text, ctx.now)
    if opened.ticket is None:
        return _to_sender(ctx, "support/no_order", problem=str(opened.problem), follow_no=opened.follow_no)
    ticket, packet = opened.ticket, opened.packet
    replies = [_to_sender(ctx, "support/opened", ticket=ticket, packet=packet)]
    for staff in staff_of(ctx.session, [ticket.group_id]):
        if staff != ctx.sender_id:
            replies.append(
                Reply(
                    "support/ticket_staff",
                    {"ticket": ticket, "packet": packet, "member": member_name(ctx.session, ctx.sender_id)},
                    chat_id=staff,
                    private=True,
                    must_send=True,
                )
            )
    return replies


def _answer(ctx: Ctx, ticket_id: int, text: str) -> list[Reply] | Reply:
    managed = groups_managed(ctx.session, ctx.sender_id)
    done = answer_ticket(ctx.session, ticket_id, text, ctx.sender_id, managed, ctx.now)
    if done.problem is not None:
        return Reply.of(
            f"support/{done.problem}",
            ticket_id=ticket_id,
            refund_fen=done.refund_fen,
            refundable_fen=done.refundable_fen,
            packet=done.packet,
        )
    ticket = done.ticket
    assert ticket is not None
    return [
        Reply(
            "support/answer_member",
            {"ticket": ticket, "packet": done.packet, "refund_fen": done.refund_fen},
            chat_id=ticket.member_id,
            private=True,
            must_send=True,
        ),
        Reply.of(
            "support/answered",
            ticket=ticket,
            packet=done.packet,
            refund_fen=done.refund_fen,
            refundable_fen=done.refundable_fen,
            in_group=ctx.message.is_group,
        ),
    ]


@router.command("rate")
def rate_campaign(ctx: Ctx, inv: Invocation) -> Reply | list[Reply] | None:
    if not inv.rest:
        raise UsageError("rate")
    stars, comment = parse_stars(inv.rest)
    if stars is None:
        return None  # 「评价一下这个苹果」: chit-chat, not a rating
    if not 1 <= stars <= 5:
        return _to_sender(ctx, "support/rate_range", stars=stars)
    rated = rate(ctx.session, ctx.sender_id, ctx.group_id, stars, comment, ctx.now)
    if rated.rating is None:
        return _to_sender(ctx, f"support/rate_{rated.problem}", campaign=rated.campaign)
    rating, campaign = rated.rating, rated.campaign
    assert campaign is not None
    loyalty = ctx.settings.loyalty
    points = rating_points(ctx.session, rating, ctx.now, loyalty.points)
    replies = [
        _to_sender(ctx, "support/rated", rating=rating, campaign=campaign, again=rated.again, points=points)
    ]
    if rating.stars <= loyalty.feedback.alert_at_most:
        # A disappointed member reaches the leader at once, in private, with their words.
        data = {"rating": rating, "campaign": campaign, "member": member_name(ctx.session, ctx.sender_id)}
        replies += [
            Reply("feedback/low_rating", data, chat_id=staff, private=True, must_send=True)
            for staff in staff_of(ctx.session, campaign_groups(ctx.session, rating.campaign_id))
            if staff != ctx.sender_id
        ]
    return replies
