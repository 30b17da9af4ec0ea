"""Members' orders in the group, all read by the one order grammar (bot/groupbuy/order_text.py):
free-form text (苹果x2 香蕉1, 橙子改成3, 苹果不要了, 我订了啥) and the loose command words 改 / 取消 /
我的订单, whose whole message goes through the same grammar. Outside a group, 我的订单 lists the
member's orders of recent campaigns.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from bot.core.commands import Invocation
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.groupbuy.order_text import ParsedOrder, parse_order_text, repeat_key
from bot.services.coupons import apply_coupon, coupon_holders
from bot.services.orderbook import Outcome, change_from_text, view_order
from bot.services.shop import Shop, shop_of, sold_out
from bot.services.stars import vip_of, vip_window_open
from bot.services.timeline_hooks import order_followups
from bot.store.models import Campaign, CampaignStatus, Order, OrderStatus

router = Router("orders")

# Command words that are member order talk: their whole message is read by the order grammar.
ORDER_COMMANDS = frozenset({"cancel_order", "change", "my_orders"})


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


@dataclass(frozen=True)
class OrderArgs:
    shop: Shop
    parsed: ParsedOrder
    command: bool  # started with 取消 / 改 / 我的订单: a member talking to the bot about her order


def order_text(ctx: Ctx) -> OrderArgs | None:
    """Any group message that the grammar reads as about an order in the current campaign."""
    inv = ctx.invocation
    if (inv is not None and inv.spec.key not in ORDER_COMMANDS) or not ctx.message.is_group:
        return None
    shop = shop_of(ctx)
    if shop is None:
        return None
    parsed = parse_order_text(ctx.text, shop.index)
    return None if parsed is None else OrderArgs(shop, parsed, inv is not None)


@router.route(order_text, keeps_cache=True)
def place(ctx: Ctx, args: OrderArgs) -> Reply | list[Reply] | None:
    shop, parsed = args.shop, args.parsed
    assert shop.campaign.id is not None
    if parsed.lookup:
        view = view_order(ctx.session, shop.campaign.id, ctx.sender_id)
        return _to_sender(ctx, "orders/mine", orders=[(shop.campaign, view)] if view else [])
    if (closed := _closed_reply(ctx, shop)) is not None:
        return closed
    outcome = change_from_text(
        ctx.session,
        shop.campaign,
        ctx.sender_id,
        ctx.group_id or "",
        parsed,
        shop.index,
        shop.by_id,
        ctx.now,
        text_key=repeat_key(ctx.text),
        sold_out=sold_out(ctx),
        early=shop.campaign.status == CampaignStatus.SCHEDULED,  # a VIP's head start
    )
    if outcome.closed:
        return _to_sender(ctx, "orders/closed", campaign=shop.campaign)
    decision = outcome.decision
    if outcome.repeat:
        view = view_order(ctx.session, shop.campaign.id, ctx.sender_id)
        return _to_sender(ctx, "orders/repeat", campaign=shop.campaign, order=view)
    if decision is not None and decision.nothing_to_cancel and not outcome.accepted and not decision.asks:
        # 不要了 with nothing ordered: an answer only when she spoke to the bot (取消)
        return _to_sender(ctx, "orders/none", campaign=shop.campaign) if args.command else None
    # Timeline hooks first: red-packet coupons go onto the order before it is shown.
    extra = order_followups(ctx, shop.campaign, outcome.touched_items, coupons=shop.rain)
    if outcome.order_id is not None and outcome.accepted and ctx.sender_id in coupon_holders(ctx):
        apply_coupon(ctx.session, outcome.order_id, ctx.sender_id, ctx.now)  # a personal coupon, once
    view = view_order(ctx.session, shop.campaign.id, ctx.sender_id) if outcome.order_id else None
    return [_placed(ctx, shop, outcome, parsed, view), *extra]


def _placed(ctx: Ctx, shop: Shop, outcome: Outcome, parsed: ParsedOrder, view: object) -> Reply:
    changed = {a.item: outcome.before(a) for a in outcome.accepted}
    data: dict[str, object] = {
        "campaign": shop.campaign,
        "outcome": outcome,
        "order": view,
        "changed": changed,
        "removed": [f"{a.item} {changed[a.item]}→0{a.unit}" for a in outcome.accepted if a.quantity == 0],
        "already": False,
        "questions": False,
    }
    decision = outcome.decision
    if (
        (decision is not None
        and (decision.asks or decision.already or decision.not_ordered))
        or (parsed.unknown or parsed.unreadable)
    ):
        # the rarer replies: she asked for what cannot be done as written
        names = shop.by_id
        data.update(
            already=bool(decision and decision.already and not outcome.accepted),
            asks=[
                (a, [names[i] for i in a.item_ids if i in names]) for a in (decision.asks if decision else [])
            ],
            not_ordered=[names[i].name for i in (decision.not_ordered if decision else []) if i in names],
            unknown=list(parsed.unknown),
            unreadable=[(u, names.get(u.item_id)) for u in parsed.unreadable if u.reason != "qty"],
            items=shop.items,
            questions=True,
        )
    return _to_sender(ctx, "orders/placed", **data)


@router.command("my_orders", writes=False, keeps_cache=True)
def mine(ctx: Ctx, inv: Invocation) -> Reply | None:
    """我的订单 in a private chat (or a group with no campaign): recent campaigns' orders."""
    if inv.rest:
        return None
    views = []
    for c in _my_campaigns(ctx):
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
