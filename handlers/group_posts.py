"""群发 (to all or named groups, 确认 first for many) and 定时 (the leader's own timeline post)."""

from __future__ import annotations

from bot.core.commands import Invocation, UsageError
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.services.campaigns import campaign_of
from bot.services.group_posts import (
    CONFIRM_FROM,
    add_own_post,
    broadcast_replies,
    has_pending,
    hold_broadcast,
    read_broadcast,
    split_when,
    take_pending,
)
from bot.services.groups import group_name
from bot.services.members import managed_groups

router = Router("group_posts")


@router.command("broadcast")
def broadcast(ctx: Ctx, inv: Invocation) -> list[Reply] | Reply:
    draft = read_broadcast(ctx.session, ctx.sender_id, inv.rest)
    if draft.unknown:
        return Reply.of("groups/unknown", unknown=draft.unknown, groups=draft.pool)
    if not draft.text:
        raise UsageError("broadcast")
    if not draft.groups:
        return Reply.of("groups/list", groups=[], new=None)
    if len(draft.groups) >= CONFIRM_FROM:
        hold_broadcast(ctx.session, ctx.sender_id, draft, ctx.now)
        return Reply.of("groups/broadcast_confirm", text=draft.text, groups=[g.name for g in draft.groups])
    return _sent(ctx, [g.id for g in draft.groups], draft.text)


def _sent(ctx: Ctx, group_ids: list[str], text: str) -> list[Reply]:
    names = [group_name(ctx.session, g) for g in group_ids]
    told = Reply("groups/broadcast_sent", {"groups": names}, chat_id=ctx.sender_id, private=True)
    return [*broadcast_replies(group_ids, text), told]


def confirm_trigger(ctx: Ctx) -> bool | None:
    """A bare 确认 while her 群发 waits (确认 with a number is the 接龙's)."""
    inv = ctx.invocation
    if inv is None or inv.spec.key != "jielong_confirm" or inv.rest.strip():
        return None
    return True if has_pending(ctx.session, ctx.sender_id) else None


@router.route(confirm_trigger)
def confirm(ctx: Ctx, _: bool) -> list[Reply]:
    pending = take_pending(ctx.session, ctx.sender_id)
    assert pending is not None
    return _sent(ctx, list(pending.groups), pending.text)


@router.command("own_post")
def own_post(ctx: Ctx, inv: Invocation) -> Reply:
    found = split_when(inv.rest, ctx.now, ctx.clock.tz)
    if found is None or not found[1]:
        raise UsageError("own_post")
    when, text = found
    if when <= ctx.now:
        raise UsageError("own_post", past=True)
    campaign = campaign_of(ctx.session, managed_groups(ctx), or_latest=False)
    if campaign is None or campaign.id is None:
        return Reply.of("timeline/none")
    seq = add_own_post(ctx.session, campaign.id, when, text)
    ctx.replan.add(campaign.id)
    return Reply.of("groups/own_scheduled", campaign=campaign, when=when, seq=seq, text=text)
