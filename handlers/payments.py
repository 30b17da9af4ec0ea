"""收款 (leader marks payments) and 已付款 (a member reports paying, for the leader to confirm)."""

from __future__ import annotations

import re

from bot.core.commands import Level, PaidArgs, UsageError, is_bare, parse_mark_paid
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.services.members import member_name
from bot.services.payments import known_follow_nos, mark_paid, report_paid
from bot.store.models import Campaign
from handlers.timeline import leader_campaign

router = Router("payments")

# A follow number, # or @ in the rest: the leader meant 收款 as a command.
_ATTEMPT = re.compile(r"[0-9#@]")


def mark_trigger(ctx: Ctx) -> PaidArgs | None:
    inv = ctx.invocation
    if inv is None or inv.spec.key != "mark_paid" or ctx.message.kind != "text":
        return None
    # 「收款码发一下」 is chit-chat, not a command: only readable arguments make it one.
    args = parse_mark_paid(inv.rest, ctx.message.mentions)
    if args is None and ctx.level >= Level.ADMIN and _ATTEMPT.search(inv.rest):
        raise UsageError("mark_paid")  # 「收款 12号半」: meant as a command, but unreadable
    return args


@router.route(mark_trigger, level=Level.ADMIN)
def mark(ctx: Ctx, args: PaidArgs) -> Reply:
    campaign = leader_campaign(ctx)
    if campaign is None:
        return Reply.of("payments/no_campaign", action="收款", in_group=ctx.message.is_group)
    return mark_in(ctx, campaign, args, ctx.message.mentions)


def mark_in(ctx: Ctx, campaign: Campaign, args: PaidArgs, member_ids: tuple[str, ...] = ()) -> Reply:
    """收款 in this campaign (the chat command, and the console's 收款 button)."""
    assert campaign.id is not None
    marked = mark_paid(
        ctx.session,
        campaign.id,
        follow_nos=args.follow_nos,
        member_ids=member_ids,
        everyone=args.everyone,
    )
    if marked.unknown:
        # Follow numbers as written; @-mentioned members by name (the template masks them in a group).
        return Reply.of(
            "payments/unknown",
            campaign=campaign,
            unknown_nos=[u for u in marked.unknown if u.isdigit()],
            unknown_names=[member_name(ctx.session, u) for u in marked.unknown if not u.isdigit()],
            in_group=ctx.message.is_group,
            known=known_follow_nos(ctx.session, campaign.id),
        )
    return Reply.of("payments/marked", campaign=campaign, marked=marked)


def report_trigger(ctx: Ctx) -> Campaign | None:
    inv = ctx.invocation
    if inv is None or inv.spec.key != "report_paid" or not is_bare(inv.rest) or ctx.group_id is None:
        return None
    return leader_campaign(ctx)


@router.route(report_trigger, scope="group")
def report(ctx: Ctx, campaign: Campaign) -> list[Reply] | Reply:
    mention = (ctx.sender_id,)
    reported = report_paid(ctx.session, campaign, ctx.sender_id)
    if reported.problem is not None:
        return Reply(f"payments/{reported.problem}", {"campaign": campaign}, mentions=mention)
    return [
        Reply(
            "payments/reported",
            {"due_fen": reported.due_fen, "follow_no": reported.follow_no},
            mentions=mention,
        ),
        Reply(
            "payments/report_leader",
            {
                "campaign": campaign,
                "name": ctx.message.sender_name,
                "follow_no": reported.follow_no,
                "due_fen": reported.due_fen,
            },
            chat_id=reported.leader_id,
            private=True,
        ),
    ]
