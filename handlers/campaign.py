"""The leader's campaign commands: 开团, 截团, 取消团, 加库存, 统计."""

from __future__ import annotations

from dataclasses import replace

from bot.core.commands import Invocation, UsageError, parse_add_stock, parse_campaign_ref
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.groupbuy.announce import AnnouncementError, parse_announcement
from bot.groupbuy.numerals import MAX_STOCK
from bot.services import broadcasts
from bot.services.campaigns import (
    add_stock,
    campaign_of,
    cancel_campaign,
    create_campaign,
    current_campaign,
    find_item,
    group_totals,
    items_of,
    tally,
)
from bot.services.groups import group_name, pickups_by_group, target_groups
from bot.services.members import managed_groups
from bot.store.models import Campaign, CampaignStatus

router = Router("campaign")


def _target(ctx: Ctx, inv: Invocation, *, active_only: bool = True) -> Campaign | None:
    """The campaign a leader command is about: a number given, else the group's current one."""
    ref = parse_campaign_ref(inv.rest, inv.spec.key) if inv.spec.key != "add_stock" else None
    groups = managed_groups(ctx, inv.spec.level)
    if ref is not None:
        campaign = ctx.session.get(Campaign, ref)
        if campaign is None or campaign.owner_group_id not in groups:
            return None
        return campaign
    return campaign_of(ctx.session, groups, or_latest=not active_only)


@router.command("open")
def open_campaign(ctx: Ctx, inv: Invocation) -> list[Reply] | Reply:
    try:
        draft = parse_announcement(ctx.text, ctx.now, ctx.clock.tz)
    except AnnouncementError as err:
        return Reply("campaign/announce_error", err.template_vars())
    targets = target_groups(ctx.session, ctx.sender_id, draft.groups, ctx.group_id)
    if targets.unknown:
        return Reply.of("groups/unknown", unknown=targets.unknown, groups=targets.pool)
    if not targets.ids:
        # In private with no 「群」 line: her only group, else ask which.
        if len(targets.pool) != 1:
            return Reply.of("campaign/which_groups", groups=targets.pool)
        targets = replace(targets, ids=[targets.pool[0].id])
    by_group, unknown = pickups_by_group(draft.pickups, targets)
    if unknown:
        return Reply.of("groups/unknown", unknown=unknown, groups=targets.pool, pickup=True)
    busy = [(g, c) for g in targets.ids if (c := current_campaign(ctx.session, g)) is not None]
    if busy:
        names = [group_name(ctx.session, g) for g, _ in busy]
        return Reply.of("campaign/already_active", campaign=busy[0][1], groups=names)
    campaign = create_campaign(
        ctx.session, draft, targets.ids, ctx.sender_id, ctx.now, pickup_by_group=by_group
    )
    assert campaign.id is not None
    ctx.replan.add(campaign.id)
    names = [group_name(ctx.session, g) for g in targets.ids]
    replies: list[Reply] = []
    if campaign.status == CampaignStatus.OPEN:
        replies += broadcasts.opened(ctx.session, campaign)
    else:
        replies.append(
            Reply.of("campaign/scheduled", campaign=campaign, items=items_of(ctx.session, campaign.id))
        )
    if len(names) > 1 or not ctx.message.is_group:
        # Where it went, told to the leader privately.
        replies.append(
            Reply(
                "campaign/published",
                {"campaign": campaign, "groups": names},
                chat_id=ctx.sender_id,
                private=True,
            )
        )
    return replies


@router.command("close")
def close_now(ctx: Ctx, inv: Invocation) -> list[Reply] | Reply:
    campaign = _target(ctx, inv)
    if campaign is None or campaign.status not in (CampaignStatus.OPEN, CampaignStatus.SCHEDULED):
        return Reply.of("campaign/none", action="截团", campaign=campaign)
    assert campaign.id is not None
    ctx.replan.add(campaign.id)
    return broadcasts.closed(ctx.session, campaign, ctx.settings, ctx.now)


@router.command("cancel_campaign")
def cancel(ctx: Ctx, inv: Invocation) -> list[Reply] | Reply:
    campaign = _target(ctx, inv)
    if campaign is None:
        return Reply.of("campaign/none", action="取消团", campaign=None)
    cancelled = cancel_campaign(ctx.session, campaign, ctx.now)
    if cancelled is None:
        return Reply.of("campaign/none", action="取消团", campaign=campaign)
    assert campaign.id is not None
    ctx.replan.add(campaign.id)
    return broadcasts.to_groups(ctx.session, campaign, "campaign/cancelled", must_send=True, orders=cancelled)


@router.command("add_stock")
def restock(ctx: Ctx, inv: Invocation) -> Reply:
    args = parse_add_stock(inv.rest)
    campaign = _target(ctx, inv)
    if campaign is None:
        return Reply.of("campaign/none", action="加库存", campaign=None)
    assert campaign.id is not None
    items = items_of(ctx.session, campaign.id)
    item = find_item(args.item, items)
    if item is None:
        raise UsageError("add_stock", unknown=args.item, items=[i.name for i in items])
    if item.stock is None:
        return Reply.of("campaign/stock_unlimited", item=item)
    if item.stock + args.quantity > MAX_STOCK:
        raise UsageError("add_stock", too_big=str(args.quantity), most=f"{MAX_STOCK:,}", stock=item.stock)
    add_stock(ctx.session, item, args.quantity)
    return Reply.of("campaign/stock_added", item=item, added=args.quantity, remaining=item.stock - item.sold)


@router.command("tally", writes=False)
def show_tally(ctx: Ctx, inv: Invocation) -> Reply:
    campaign = _target(ctx, inv, active_only=False)
    if campaign is None:
        return Reply.of("campaign/none", action="统计", campaign=None)
    assert campaign.id is not None
    book = tally(ctx.session, campaign.id)
    return Reply.of(
        "campaign/tally",
        campaign=campaign,
        tally=book,
        groups=group_totals(ctx.session, campaign.id, book),
        private=not ctx.message.is_group,
    )
