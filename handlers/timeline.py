"""时间线 / 跳过 / 改期: the leader sees what will be sent when, and skips or moves a post."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.commands import Level, TimelineRef, parse_timeline_ref, split_move
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.groupbuy.timeparse import TimeParseError, parse_time
from bot.services.campaigns import campaign_of
from bot.services.members import managed_groups
from bot.services.timeline_edit import EditError, move, rows, skip
from bot.store.models import Campaign

router = Router("timeline")


def leader_campaign(ctx: Ctx) -> Campaign | None:
    """The campaign a leader command is about: the group's current one, else its latest."""
    return campaign_of(ctx.session, managed_groups(ctx))


def _command(key: str, ctx: Ctx) -> str | None:
    inv = ctx.invocation
    return inv.rest if inv is not None and inv.spec.key == key and ctx.message.kind == "text" else None


def show_trigger(ctx: Ctx) -> bool | None:
    rest = _command("timeline", ctx)
    return True if rest is not None and not rest.strip() else None


@router.route(show_trigger, level=Level.ADMIN, writes=False)
def show(ctx: Ctx, _: bool) -> Reply:
    campaign = leader_campaign(ctx)
    if campaign is None:
        return Reply.of("timeline/none")
    config = ctx.settings.timeline
    return Reply.of(
        "timeline/timeline", campaign=campaign, rows=rows(ctx.session, campaign, config, ctx.clock.tz)
    )


def skip_trigger(ctx: Ctx) -> TimelineRef | str | None:
    rest = _command("timeline_skip", ctx)
    if rest is None:
        return None
    # 「跳过」 alone or with something unreadable still gets a usage reply: it is a leader word.
    return parse_timeline_ref(rest) or rest


@router.route(skip_trigger, level=Level.ADMIN)
def skip_post(ctx: Ctx, ref: TimelineRef | str) -> Reply:
    campaign = leader_campaign(ctx)
    if campaign is None:
        return Reply.of("timeline/none")
    if isinstance(ref, str):
        return Reply.of("timeline/usage", action="skip", text=ref)
    return skip_in(ctx, campaign, ref)


def skip_in(ctx: Ctx, campaign: Campaign, ref: TimelineRef) -> Reply:
    """跳过 a post of this campaign's timeline (the chat command and the console)."""
    config = ctx.settings.timeline
    try:
        skipped = skip(ctx.session, campaign, ref, config, ctx.clock.tz, ctx.now)
    except EditError as err:
        return Reply("timeline/edit_error", {"reason": err.reason, "campaign": campaign, **err.data})
    assert campaign.id is not None
    ctx.replan.add(campaign.id)
    return Reply.of("timeline/skipped", campaign=campaign, rows=skipped)


@dataclass(frozen=True)
class MoveArgs:
    ref: TimelineRef | None
    when_text: str


def move_trigger(ctx: Ctx) -> MoveArgs | None:
    rest = _command("timeline_move", ctx)
    if rest is None:
        return None
    split = split_move(rest)
    if split is None:
        # 「移动」 is an everyday word (移动公司…): only 改期 answers with its usage.
        return MoveArgs(None, rest) if ctx.invocation and ctx.invocation.word == "改期" else None
    return MoveArgs(*split)


@router.route(move_trigger, level=Level.ADMIN)
def move_post(ctx: Ctx, args: MoveArgs) -> Reply:
    campaign = leader_campaign(ctx)
    if campaign is None:
        return Reply.of("timeline/none")
    if args.ref is None:
        return Reply.of("timeline/usage", action="move", text=args.when_text)
    return move_in(ctx, campaign, args.ref, args.when_text)


def move_in(ctx: Ctx, campaign: Campaign, ref: TimelineRef, when_text: str) -> Reply:
    """改期 a post of this campaign's timeline to the time written (the chat command and the console)."""
    try:
        when = parse_time(when_text, ctx.now, ctx.clock.tz)
    except TimeParseError:
        return Reply("timeline/edit_error", {"reason": "bad_time", "campaign": campaign, "text": when_text})
    config = ctx.settings.timeline
    try:
        row = move(ctx.session, campaign, ref, when, config, ctx.clock.tz, ctx.now)
    except EditError as err:
        return Reply("timeline/edit_error", {"reason": err.reason, "campaign": campaign, **err.data})
    assert campaign.id is not None
    ctx.replan.add(campaign.id)
    return Reply.of("timeline/moved", campaign=campaign, row=row)
