"""Points: 签到 once a day, 我的积分, 积分兑换 N (into a coupon the next order uses)."""

from __future__ import annotations

from bot.core.commands import Invocation, parse_redeem
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.services.points import redeem_or_refuse, sign_in, statement
from handlers.orders import _to_sender

router = Router("points")


@router.command("sign_in")
def sign(ctx: Ctx, inv: Invocation) -> Reply | None:
    if inv.rest and not set(inv.rest) <= set("!！~～。.啦了"):
        return None  # 「签到送什么」: talk, not a sign-in
    today = ctx.now.astimezone(ctx.clock.tz).date()
    done = sign_in(ctx.session, ctx.sender_id, today, ctx.now, ctx.settings.loyalty.points)
    return _to_sender(ctx, "points/signed_in", result=done)


@router.command("my_points", writes=False)
def mine(ctx: Ctx, inv: Invocation) -> Reply | None:
    if inv.rest:
        return None
    cfg = ctx.settings.loyalty.points
    return Reply(
        "points/mine",
        {"st": statement(ctx.session, ctx.sender_id, ctx.now, cfg), "cfg": cfg},
        chat_id=ctx.sender_id,
        private=True,  # a member's points and coupons are their own business
    )


@router.command("redeem")
def redeem(ctx: Ctx, inv: Invocation) -> Reply:
    points = parse_redeem(inv.rest)
    cfg = ctx.settings.loyalty.points
    # The message id is the redemption's key: a redelivered message cannot spend twice.
    done = redeem_or_refuse(ctx.session, ctx.sender_id, points, f"redeem:{ctx.message.id}", ctx.now, cfg)
    return _to_sender(ctx, "points/redeemed", result=done, cfg=cfg)
