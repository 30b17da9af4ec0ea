"""会员 (private chat, leader): repeat buyers, silent members and RFM segments of the leader's groups."""

from __future__ import annotations

from bot.core.commands import Invocation, Level
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.services.member_history import report_data
from bot.services.members import managed_groups

router = Router("members_report")


@router.command("members", writes=False)
def members(ctx: Ctx, inv: Invocation) -> Reply | None:
    if inv.rest:
        return None  # 「会员价多少」 is a question, not the command
    groups = managed_groups(ctx, Level.LEADER)
    data = report_data(ctx.session, groups, ctx.now, ctx.settings.loyalty.vip.levels)
    return Reply("members/report", data)
