"""Pickup: 核销 <取货码>, 取货提醒 [截止时间], 未取货."""

from __future__ import annotations

from bot.core.commands import COMMAND_BY_KEY, Invocation, UsageError, parse_pickup_code, small_number
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.groupbuy.pickup_points import choice_points, group_pickup
from bot.groupbuy.timeparse import TimeParseError, parse_time
from bot.services.campaigns import campaign_groups
from bot.services.members import managed_groups
from bot.services.pickup import (
    choose_pickup,
    collect,
    collected_count,
    find_by_code,
    not_collected,
    pickup_campaign,
)
from bot.services.points import points_for_order
from bot.services.shop import shop_of

router = Router("pickup")


@router.command("verify")
def verify(ctx: Ctx, inv: Invocation) -> Reply:
    return verify_code(ctx, parse_pickup_code(inv.rest))


def verify_code(ctx: Ctx, code: str) -> Reply:
    """核销 a pickup code among the groups the sender runs (the chat command and the console)."""
    found = find_by_code(ctx.session, managed_groups(ctx, COMMAND_BY_KEY["verify"].level), code)
    in_group = ctx.message.is_group
    if found.packet is None:
        if found.used is not None:
            return Reply.of("pickup/used", code=code, packet=found.used, in_group=in_group)
        return Reply.of("pickup/unknown", code=code, in_group=in_group)
    packet = found.packet
    collect(ctx.session, packet.order, ctx.now)
    ctx.session.flush()
    points_for_order(ctx.session, packet, ctx.now, ctx.settings.loyalty.points)
    left = len(not_collected(ctx.session, packet.campaign))
    return Reply.of("pickup/verified", code=code, packet=packet, in_group=in_group, left=left)


@router.command("pickup_remind")
def remind(ctx: Ctx, inv: Invocation) -> list[Reply] | Reply:
    deadline = None
    if inv.rest:
        try:
            deadline = parse_time(inv.rest, ctx.now, ctx.clock.tz)
        except TimeParseError as err:
            raise UsageError("pickup_remind") from err
    campaign = pickup_campaign(ctx.session, managed_groups(ctx, inv.spec.level), None)
    if campaign is None:
        return Reply.of("pickup/no_campaign")
    waiting = not_collected(ctx.session, campaign)
    if not waiting:
        return Reply.of("pickup/all_collected", campaign=campaign)
    assert campaign.id is not None
    replies = []
    for group_id in campaign_groups(ctx.session, campaign.id):
        here = [w for w in waiting if w.group_id == group_id]
        if here:
            replies.append(
                Reply(
                    "pickup/reminder",
                    {"campaign": campaign, "waiting": here, "deadline": deadline},
                    chat_id=group_id,
                    mentions=tuple(w.member_id for w in here),
                    standalone=True,
                )
            )
    if not ctx.message.is_group:
        replies.append(
            Reply.of("pickup/reminded", campaign=campaign, count=len(waiting), groups=len(replies))
        )
    return replies


@router.command("not_collected", writes=False)
def left(ctx: Ctx, inv: Invocation) -> Reply:
    campaign = pickup_campaign(ctx.session, managed_groups(ctx, inv.spec.level), None)
    if campaign is None:
        return Reply.of("pickup/no_campaign")
    waiting = not_collected(ctx.session, campaign)
    return Reply.of(
        "pickup/left",
        campaign=campaign,
        waiting=waiting,
        collected=collected_count(ctx.session, campaign),
        in_group=ctx.message.is_group,
    )


def choice_trigger(ctx: Ctx) -> int | str | None:
    """「自提点 2」 (or the point's name) from a member, when her group's campaign offers several."""
    inv = ctx.invocation
    if inv is None or inv.spec.key != "pickup_choice" or not inv.rest:
        return None
    return small_number(inv.rest.lstrip("#第").removesuffix("个").removesuffix("号")) or inv.rest.strip()


@router.route(choice_trigger, scope="group")
def choose(ctx: Ctx, choice: int | str) -> Reply | None:
    shop = shop_of(ctx)
    if shop is None:
        return None
    campaign = shop.campaign
    points = choice_points(campaign.options or {})
    assert ctx.group_id is not None and campaign.id is not None
    if isinstance(choice, str):
        choice = next((n for n, p in enumerate(points, 1) if choice in p or p in choice), 0)
    if not 1 <= choice <= len(points):
        here = group_pickup(campaign.pickup, campaign.options or {}, ctx.group_id)
        return Reply.of("pickup/choice_unknown", points=points, pickup=here, campaign=campaign)
    choose_pickup(ctx.session, campaign.id, ctx.sender_id, choice)
    return Reply(
        "pickup/chosen", {"point": points[choice - 1], "campaign": campaign}, mentions=(ctx.sender_id,)
    )
