"""后台 (a one-time link to the leader's console, sent in private chat) and 退出后台."""

from __future__ import annotations

from bot.core.commands import Invocation
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.services.console_access import LOGIN_PATH, console_base, end_sessions, issue_link

router = Router("console")


@router.command("console")
def link(ctx: Ctx, inv: Invocation) -> Reply | None:
    if inv.rest:
        return None  # 「后台 在哪」: talk, not the command
    if ctx.message.is_group:
        return Reply.of("console/private_only")  # a login link never goes to a group
    minutes = ctx.settings.console.link_minutes
    token = issue_link(ctx.session, ctx.sender_id, ctx.now, minutes)
    return Reply.of("console/link", url=console_base(ctx.settings) + LOGIN_PATH + token, minutes=minutes)


@router.command("console_logout")
def logout(ctx: Ctx, inv: Invocation) -> Reply | None:
    if inv.rest:
        return None
    return Reply.of("console/logged_out", count=end_sessions(ctx.session, ctx.sender_id, ctx.now))
