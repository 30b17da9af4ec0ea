"""Welcome new members when they join: the group rules and the current campaign."""

from __future__ import annotations

from bot.core.context import Ctx
from bot.core.messages import InboundMessage, Reply
from bot.core.routing import Router
from bot.services.campaigns import current_campaign, items_of

router = Router("welcome")


def join_trigger(ctx: Ctx) -> InboundMessage | None:
    message = ctx.message
    return message if message.kind == "join" and message.is_group else None


@router.route(join_trigger, scope="group")
def welcome(ctx: Ctx, message: InboundMessage) -> Reply:
    assert ctx.group_id is not None
    group = ctx.settings.group(ctx.group_id)
    campaign = current_campaign(ctx.session, ctx.group_id)
    items = items_of(ctx.session, campaign.id) if campaign is not None and campaign.id is not None else []
    return Reply(
        "welcome/welcome",
        {
            "name": message.sender_name,
            "group_name": (group.name if group else None) or message.chat_name or "本群",
            "rules": group.rules if group else None,
            "campaign": campaign,
            "items": items,
        },
        mentions=(message.sender_id,),
    )
