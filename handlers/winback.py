"""Win-back: the leader's 召回 30天 券5元 (or 召回 alone for the last waves), a member's 退订."""

from __future__ import annotations

from bot.core.commands import Invocation, Level, parse_winback
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.services.members import managed_groups
from bot.services.winback import opt_out, recent_waves, start_wave

router = Router("winback")


@router.command("winback")
def winback(ctx: Ctx, inv: Invocation) -> Reply:
    args = parse_winback(inv.rest)
    groups = managed_groups(ctx, Level.LEADER)
    if args is None:
        return Reply.of("winback/status", waves=recent_waves(ctx.session, ctx.sender_id))
    cfg = ctx.settings.loyalty.winback
    wave = start_wave(ctx.session, ctx.sender_id, groups, args.days, args.coupon_fen, ctx.now, cfg)
    minutes = -(-wave.total // cfg.per_minute)
    return Reply.of("winback/started", wave=wave, minutes=minutes, cfg=cfg, in_group=ctx.message.is_group)


@router.command("unsubscribe")
def unsubscribe(ctx: Ctx, inv: Invocation) -> Reply | None:
    if inv.rest:
        return None
    first = opt_out(ctx.session, ctx.sender_id, ctx.now)
    return Reply("winback/unsubscribed", {"again": not first}, chat_id=ctx.sender_id, private=True)
