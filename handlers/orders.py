"""Members' orders: free-form order text (苹果x2 香蕉1), 取消, 改, 我的订单."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from bot.core.commands import Invocation
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.groupbuy.order_text import ParsedOrder, parse_order_text
from bot.services.campaigns import find_item
from bot.services.coupons import apply_coupon, coupon_holders
from bot.services.orderbook import Outcome, cancel_order, change_order, view_order
from bot.services.shop import Shop, shop_of, sold_out
from bot.services.stars import vip_of, vip_window_open
from bot.services.timeline_hooks import order_followups
from bot.store.models import Campaign, CampaignStatus, Order, OrderStatus

router = Router("orders")


def _closed_reply(ctx: Ctx, shop: Shop) -> Reply | None:
    """Before opening or after closing, ordering gets a clear word instead (VIPs may start early)."""
    c = shop.campaign
    if c.status == CampaignStatus.SCHEDULED:
        if vip_window_open(c, ctx.now) and vip_of(
            ctx.session, ctx.sender_id, ctx.settings.loyalty.vip.levels
        ):
            return None
        return _to_sender(ctx, "orders/not_open", campaign=c)
    if c.status != CampaignStatus.OPEN or (c.closes_at is not None and ctx.now >= c.closes_at):
        return _to_sender(ctx, "orders/closed", campaign=c)
    return None


def _to_sender(ctx: Ctx, template: str, **data: object) -> Reply:
    mentions = (ctx.sender_id,) if ctx.message.is_group else ()
    return Reply(template, {"in_group": ctx.message.is_group, **data}, mentions=mentions)


def _result(ctx: Ctx, shop: Shop, outcome: Outcome, parsed: ParsedOrder | None, template: str) -> list[Reply]:
    assert shop.campaign.id is not None
    if outcome.closed:
        return [_to_sender(ctx, "orders/closed", campaign=shop.campaign)]
    # Timeline hooks (issue 4): red-packet coupons onto the order, 仅剩N件 / 售罄 broadcasts.
    extra = order_followups(ctx, shop.campaign, outcome.touched_items, coupons=shop.rain)
    if outcome.order_id is not None and outcome.accepted and ctx.sender_id in coupon_holders(ctx):
        apply_coupon(ctx.session, outcome.order_id, ctx.sender_id, ctx.now)  # a personal coupon, once
    view = view_order(ctx.session, shop.campaign.id, ctx.sender_id) if outcome.order_id else None
    return [
        _to_sender(
            ctx,
            template,
            campaign=shop.campaign,
            outcome=outcome,
            order=view,
            unknown=list(parsed.unknown) if parsed else [],
            unreadable=list(parsed.unreadable) if parsed else [],
            item_names=[i.name for i in shop.items],
        ),
        *extra,
    ]


@dataclass(frozen=True)
class OrderArgs:
    shop: Shop
    parsed: ParsedOrder


def order_text(ctx: Ctx) -> OrderArgs | None:
    """Any group message that reads as an order for the current campaign."""
    if ctx.invocation is not None or not ctx.message.is_group:
        return None
    shop = shop_of(ctx)
    if shop is None:
        return None
    parsed = parse_order_text(ctx.text, shop.index)
    return None if parsed is None else OrderArgs(shop, parsed)


@router.command("cancel_order", keeps_cache=True)
def cancel(ctx: Ctx, inv: Invocation) -> Reply | list[Reply] | None:
    shop = shop_of(ctx)
    if shop is None:
        return None
    names = inv.rest.split()
    found = [find_item(n, shop.items) for n in names]
    if names and any(f is None for f in found):
        return None  # 「取消了吗」: not a command after all
    if (closed := _closed_reply(ctx, shop)) is not None:
        return closed
    items = [f for f in found if f is not None] if names else None
    outcome = cancel_order(ctx.session, shop.campaign, ctx.sender_id, items, ctx.now, sold_out(ctx))
    if not outcome.accepted and not outcome.rejected:
        return _to_sender(ctx, "orders/none", campaign=shop.campaign)
    return _result(ctx, shop, outcome, None, "orders/cancelled")


@router.command("change", keeps_cache=True)
def change(ctx: Ctx, inv: Invocation) -> Reply | list[Reply] | None:
    shop = shop_of(ctx)
    if shop is None:
        return None
    parsed = parse_order_text(inv.rest, shop.index)
    if parsed is None or not (parsed.parts or parsed.unknown or parsed.unreadable):
        return None
    return _apply(ctx, shop, parsed, mode="set")


@router.command("my_orders", writes=False, keeps_cache=True)
def mine(ctx: Ctx, inv: Invocation) -> Reply | None:
    if inv.rest:
        return None
    shop = shop_of(ctx)
    campaigns = [shop.campaign] if shop else _my_campaigns(ctx)
    views = []
    for c in campaigns:
        assert c.id is not None
        view = view_order(ctx.session, c.id, ctx.sender_id)
        if view is not None:
            views.append((c, view))
    return _to_sender(ctx, "orders/mine", orders=views)


def _my_campaigns(ctx: Ctx) -> list[Campaign]:
    stmt = (
        select(Campaign)
        .join(Order)
        .where(Order.member_id == ctx.sender_id, Order.status == OrderStatus.ACTIVE)
        .order_by(Campaign.id.desc())  # type: ignore[union-attr]
        .limit(5)
    )
    return list(ctx.session.exec(stmt))


@router.route(order_text, keeps_cache=True)
def place(ctx: Ctx, args: OrderArgs) -> Reply | list[Reply]:
    return _apply(ctx, args.shop, args.parsed, mode="add")


def _apply(ctx: Ctx, shop: Shop, parsed: ParsedOrder, *, mode: str) -> Reply | list[Reply]:
    """Order (``add``) or 改 (``set``) the parsed quantities, unless the campaign is not open."""
    if (closed := _closed_reply(ctx, shop)) is not None:
        return closed
    wants = [(shop.item(p.item_id), p.quantity) for p in parsed.parts]
    outcome = change_order(
        ctx.session,
        shop.campaign,
        ctx.sender_id,
        ctx.group_id or "",
        wants,
        ctx.now,
        mode=mode,
        note=parsed.note,
        room=parsed.room,
        sold_out=sold_out(ctx),
        early=shop.campaign.status == CampaignStatus.SCHEDULED,  # a VIP's head start
    )
    return _result(ctx, shop, outcome, parsed, "orders/placed")
