"""战报 / 复盘: the recap text and poster for the group, the leader's files privately."""

from __future__ import annotations

from bot.commands import Invocation, parse_campaign_ref
from bot.context import Ctx
from bot.messages import Reply
from bot.recaps import media_dir_for, recap_campaign, recap_replies
from bot.routing import Router
from bot.store.models import CampaignStatus

router = Router("recap")


@router.command("recap")
def post_recap(ctx: Ctx, inv: Invocation) -> list[Reply] | Reply:
    ref = parse_campaign_ref(inv.rest, "recap")
    groups = ctx.managed_groups()
    campaign = recap_campaign(ctx.session, groups, ref)
    if campaign is None:
        return Reply.of("recap/none", ref=ref)
    if campaign.status != CampaignStatus.CLOSED:
        return Reply.of("recap/not_closed", campaign=campaign)
    preview_to = None if ctx.message.is_group else ctx.sender_id
    replies = recap_replies(
        ctx.session,
        campaign,
        ctx.settings,
        ctx.now,
        media_dir_for(ctx.session, ctx.settings),
        env=ctx.env,
        preview_to=preview_to,
    )
    if preview_to is not None:
        replies.append(Reply.of("recap/preview_hint", campaign=campaign))
    return replies
