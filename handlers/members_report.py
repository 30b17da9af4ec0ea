"""会员 (private chat, leader): repeat buyers, silent members and RFM segments of the leader's groups."""

from __future__ import annotations

from sqlmodel import select

from bot.commands import Invocation
from bot.context import Ctx
from bot.member_history import group_names, history_for
from bot.messages import Reply
from bot.routing import Router
from bot.store.models import Role, RoleName

router = Router("members_report")


@router.command("members", writes=False)
def members(ctx: Ctx, inv: Invocation) -> Reply | None:
    if inv.rest:
        return None  # 「会员价多少」 is a question, not the command
    stmt = select(Role.group_id).where(Role.member_id == ctx.sender_id, Role.role == RoleName.LEADER)
    groups = list(ctx.session.exec(stmt))
    history = history_for(ctx.session, groups, ctx.now)
    return Reply.of("members/report", history=history, groups=group_names(ctx.session, groups))
