"""战报 / 复盘: the recap text and poster for the group, the leader's files privately.

The handler only checks the request and books it (``request_recap``); the timeline runner
makes the 战报 in a read-only session right after this message's transaction commits, so
the poster and the Excel files never hold the store's writer. Redelivery is safe: the route
writes, so a message id seen before is dropped together with its booking.
"""

from __future__ import annotations

from bot.core.commands import Invocation, parse_campaign_ref
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.services.members import managed_groups
from bot.services.recaps import recap_campaign, request_recap
from bot.store.models import CampaignStatus

router = Router("recap")


@router.command("recap")
def post_recap(ctx: Ctx, inv: Invocation) -> Reply | None:
    ref = parse_campaign_ref(inv.rest, "recap")
    groups = managed_groups(ctx)
    campaign = recap_campaign(ctx.session, groups, ref)
    if campaign is None:
        return Reply.of("recap/none", ref=ref)
    if campaign.status != CampaignStatus.CLOSED:
        return Reply.of("recap/not_closed", campaign=campaign)
    assert campaign.id is not None
    # Asked in private: a preview for the asker; in a group: the post for the campaign's groups.
    preview_to = None if ctx.message.is_group else ctx.sender_id
    request_recap(ctx.session, campaign.id, ctx.now, preview_to)
    ctx.replan.add(campaign.id)
    return None  # the 战报 itself follows within moments (scheduler.actions.recap_request_job)
