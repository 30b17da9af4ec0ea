"""抢: members grab a packet of the bot's own red-packet rain."""

from __future__ import annotations

from bot.core.commands import is_bare
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.groupbuy.plan import rain_of
from bot.services.campaigns import campaign_of
from bot.services.redpackets import GrabOutcome, RainState, grab, rain_state
from bot.store.models import Campaign

router = Router("redpacket")


def grab_trigger(ctx: Ctx) -> Campaign | None:
    """A bare 抢 in a group whose campaign has a rain; anything else is chit-chat."""
    inv = ctx.invocation
    if inv is None or inv.spec.key != "grab" or not is_bare(inv.rest) or ctx.group_id is None:
        return None
    campaign = campaign_of(ctx.session, [ctx.group_id])
    if campaign is None or rain_of(campaign) is None:
        return None
    return campaign


@router.route(grab_trigger, scope="group")
def grab_packet(ctx: Ctx, campaign: Campaign) -> Reply:
    assert campaign.id is not None
    state = rain_state(ctx.session, campaign.id)
    mention = (ctx.sender_id,)
    if state == RainState.NOT_STARTED:
        rain = rain_of(campaign)
        assert rain is not None
        return Reply("redpacket/not_started", {"at": rain[0]}, mentions=mention)
    if state == RainState.OVER:
        return Reply("redpacket/over", {}, mentions=mention)
    got = grab(ctx.session, campaign.id, ctx.sender_id, ctx.group_id, ctx.now)
    if got.outcome == GrabOutcome.TWICE:
        return Reply("redpacket/twice", {"amount_fen": got.amount_fen}, mentions=mention)
    if got.outcome == GrabOutcome.EMPTY:
        return Reply("redpacket/empty", {}, mentions=mention)
    return Reply(
        "redpacket/grabbed",
        {"amount_fen": got.amount_fen, "left": got.left, "has_order": got.has_order},
        mentions=mention,
    )
