"""The feedback loop's chat side: 售后单 (open tickets) and helpful group messages (活跃之星)."""

from __future__ import annotations

from bot.core.commands import Invocation, Level
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.core.routing import Router
from bot.groupbuy.loyalty import is_helpful
from bot.services.feedback import open_tickets
from bot.services.members import managed_groups
from bot.services.stars import note_helpful

router = Router("feedback")


@router.command("tickets", writes=False)
def tickets(ctx: Ctx, inv: Invocation) -> Reply:
    groups = managed_groups(ctx, Level.ADMIN)
    return Reply.of(
        "feedback/tickets",
        tickets=open_tickets(ctx.session, groups),
        in_group=ctx.message.is_group,
        overdue_hours=ctx.settings.loyalty.feedback.ticket_overdue_hours,
    )


def helpful(ctx: Ctx) -> bool | None:
    """A group message no other route took that helps neighbours (not an order, a command or a question)."""
    m = ctx.message
    if not m.is_group or ctx.invocation is not None or m.kind != "text":
        return None
    return True if is_helpful(m.text, ctx.settings.loyalty.stars.helpful_min_chars) else None


# After every other route (see handlers/__init__.py): only what nothing else took counts.
helpful_router = Router("helpful")


@helpful_router.route(helpful, scope="group", keeps_cache=True)
def count_helpful(ctx: Ctx, _: bool) -> None:
    """Counted silently: chit-chat never gets a reply."""
    assert ctx.group_id is not None
    note_helpful(ctx.session, ctx.group_id, ctx.sender_id, ctx.now.astimezone(ctx.clock.tz).date())
