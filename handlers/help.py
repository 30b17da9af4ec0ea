"""帮助: what the asker may do."""

from __future__ import annotations

from bot.core.commands import COMMANDS, Invocation
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router

router = Router("help")


@router.command("help", writes=False)
def show_help(ctx: Ctx, inv: Invocation) -> Reply:
    keys = [spec.key for spec in COMMANDS if spec.shown_from <= ctx.level]
    return Reply.of("help/help", keys=keys, level=int(ctx.level), in_group=ctx.message.is_group)
