"""Invitations: a join that names its inviter credits them; 邀请榜 ranks inviters."""

from __future__ import annotations

from bot.core.commands import Invocation, Level
from bot.core.context import Ctx
from bot.core.messages import InboundMessage, Reply
from bot.core.routing import Router
from bot.services.invites import ranking, record_join
from bot.services.members import managed_groups, member_name
from bot.services.points import member_groups
from handlers.welcome import welcome

router = Router("invites")


def invited_join(ctx: Ctx) -> InboundMessage | None:
    m = ctx.message
    return m if m.kind == "join" and m.is_group and m.inviter_id else None


@router.route(invited_join, scope="group")
def credit(ctx: Ctx, message: InboundMessage) -> list[Reply]:
    """Credit the inviter privately; the group's welcome still goes out."""
    assert ctx.group_id is not None and message.inviter_id is not None
    replies = [welcome(ctx, message)]
    if record_join(ctx.session, ctx.group_id, message.sender_id, message.inviter_id, ctx.now):
        replies.append(
            Reply(
                "invites/credited",
                {"newcomer": message.sender_name, "cfg": ctx.settings.loyalty.invites},
                chat_id=message.inviter_id,
                private=True,
            )
        )
    return replies


@router.command("invites", writes=False)
def board(ctx: Ctx, inv: Invocation) -> Reply | None:
    if inv.rest:
        return None
    if ctx.group_id is not None:
        groups = [ctx.group_id]
    elif ctx.level >= Level.ADMIN:
        groups = managed_groups(ctx, Level.ADMIN)
    else:
        groups = member_groups(ctx.session, ctx.sender_id)
        if not groups:
            return Reply.of("invites/not_member")
    return Reply.of(
        "invites/board",
        inviters=ranking(ctx.session, groups),
        in_group=ctx.message.is_group,
        me=member_name(ctx.session, ctx.sender_id),
        cfg=ctx.settings.loyalty.invites,
    )
