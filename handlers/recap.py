"""战报 / 复盘: the recap text and poster for the group, the leader's files privately."""

from __future__ import annotations

from sqlmodel import col, select

from bot.commands import Invocation, parse_campaign_ref
from bot.context import Ctx
from bot.members import groups_managed
from bot.messages import Reply
from bot.recaps import media_dir_for, recap_replies
from bot.routing import Router
from bot.store.models import Campaign, CampaignGroup, CampaignStatus

router = Router("recap")


def _campaign(ctx: Ctx, groups: list[str], ref: int | None) -> Campaign | None:
    """The campaign given by number, else the groups' newest closed one (else the newest active)."""
    stmt = (
        select(Campaign)
        .join(CampaignGroup, col(CampaignGroup.campaign_id) == col(Campaign.id))
        .where(col(CampaignGroup.group_id).in_(groups), Campaign.status != CampaignStatus.CANCELLED)
        .order_by(col(Campaign.id).desc())
    )
    if ref is not None:
        return ctx.session.exec(stmt.where(Campaign.id == ref)).first()
    closed = ctx.session.exec(stmt.where(Campaign.status == CampaignStatus.CLOSED)).first()
    return closed or ctx.session.exec(stmt).first()


@router.command("recap")
def post_recap(ctx: Ctx, inv: Invocation) -> list[Reply] | Reply:
    ref = parse_campaign_ref(inv.rest, "recap")
    groups = [ctx.group_id] if ctx.group_id else groups_managed(ctx.session, ctx.sender_id)
    campaign = _campaign(ctx, groups, ref)
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
        preview_to=preview_to,
    )
    if preview_to is not None:
        replies.append(Reply.of("recap/preview_hint", campaign=campaign))
    return replies
