"""The console's changes (POST): 收款, 核销, cancelling a line with a reason, 跳过 and 改期 on the
timeline, 确认 and 拒绝 of 接龙 lines.

Each runs through ``App.perform`` with the very function the chat command runs (or, for a
line the leader cancels, the member's own cancel path), so the words on the page are the
words the chat would have said and the group hears what it would have heard.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy
from sqlmodel import select

from bot.app import Operation
from bot.console.forms import (
    CancelForm,
    DecideForm,
    Form,
    MoveForm,
    PaidForm,
    SkipForm,
    VerifyForm,
    read_form,
)
from bot.console.web import COOKIE, PREFIX, console_of, notice, visitor_of, wants_json
from bot.core.commands import COMMAND_BY_KEY, DecisionArgs, Level, PaidArgs, TimelineRef
from bot.core.context import Ctx
from bot.core.messages import Reply
from bot.services.campaign_list import campaign_for
from bot.services.members import groups_managed, member_name
from bot.services.orderbook import cancel_order, view_order
from bot.services.timeline_hooks import order_followups
from bot.store.models import Campaign, Item, Order, OrderStatus
from handlers.jielong import DecisionCall, on_decision
from handlers.payments import mark_in
from handlers.pickup import verify_code
from handlers.timeline import move_in, skip_in

Work = Callable[[Ctx, Campaign], Reply | list[Reply]]
FORM = web.RequestKey("console_form", MultiDictProxy[str | bytes | FileField])


class NotYours(Exception):
    """No such campaign among those she runs."""


class NotAllowed(Exception):
    """Her campaign, but the change needs a higher role (确认 is the leader's)."""


def in_campaign(campaign_id: int, level: Level, work: Work) -> Operation:
    """An operation on one of her campaigns, refused unless she has ``level`` in one of its groups."""

    def operation(ctx: Ctx) -> Reply | list[Reply]:
        s = ctx.session
        campaign = campaign_for(s, groups_managed(s, ctx.sender_id, Level.ADMIN), campaign_id)
        if campaign is None:
            raise NotYours
        if (
            level > Level.ADMIN
            and campaign_for(s, groups_managed(s, ctx.sender_id, level), campaign_id) is None
        ):
            raise NotAllowed
        return work(ctx, campaign)

    return operation


def cancel_line(ctx: Ctx, campaign: Campaign, follow_no: int, item_id: int, reason: str) -> list[Reply]:
    """The leader takes one item off a member's order: stock goes back as if the member had
    written 取消 苹果, the member is told in her group why, and the leader is told what changed."""
    assert campaign.id is not None
    s = ctx.session
    order = s.exec(
        select(Order).where(
            Order.campaign_id == campaign.id, Order.follow_no == follow_no, Order.status == OrderStatus.ACTIVE
        )
    ).first()
    item = s.get(Item, item_id)
    if order is None or item is None or item.campaign_id != campaign.id:
        return [Reply.of("orders/staff_cancel_none", no=follow_no, item=item.name if item else None)]
    member_id, group_id, paid = order.member_id, order.group_id, order.paid
    outcome = cancel_order(s, campaign, member_id, [item], ctx.now)
    if not outcome.accepted:
        return [Reply.of("orders/staff_cancel_none", no=follow_no, item=item.name)]
    view = view_order(s, campaign.id, member_id)
    data = {
        "campaign": campaign,
        "no": follow_no,
        "name": member_name(s, member_id),
        "accepted": outcome.accepted,
        "order": view,
        "reason": reason,
        "paid": paid,
    }
    return [
        Reply("orders/staff_cancelled", data, chat_id=group_id, mentions=(member_id,)),
        Reply("orders/staff_cancel_done", data),
        *order_followups(ctx, campaign, outcome.touched_items, member_id, coupons=False),
    ]


def _level(key: str) -> Level:
    return COMMAND_BY_KEY[key].level


def _operation(form: Form, campaign_id: int) -> Operation:
    """The chat command's function for a validated form."""
    match form:
        case PaidForm(no=no):
            return in_campaign(
                campaign_id, _level("mark_paid"), lambda ctx, c: mark_in(ctx, c, PaidArgs((no,)))
            )
        case VerifyForm(code=code):
            return in_campaign(campaign_id, _level("verify"), lambda ctx, _: verify_code(ctx, code))
        case CancelForm(no=no, item=item, reason=reason):
            return in_campaign(campaign_id, Level.ADMIN, lambda ctx, c: cancel_line(ctx, c, no, item, reason))
        case MoveForm(row=row, when=when):
            ref = TimelineRef(index=row)
            return in_campaign(
                campaign_id, _level("timeline_move"), lambda ctx, c: move_in(ctx, c, ref, when)
            )
        case SkipForm(row=row):
            ref = TimelineRef(index=row)
            return in_campaign(campaign_id, _level("timeline_skip"), lambda ctx, c: skip_in(ctx, c, ref))
        case DecideForm(number=number, decision=decision, member=member):
            call = DecisionCall(decision == "confirm", DecisionArgs((number,), member))
            return in_campaign(campaign_id, _level("jielong_confirm"), lambda ctx, _: on_decision(ctx, call))
    raise TypeError(f"no operation for {form!r}")


FORMS: dict[str, type[Form]] = {
    "paid": PaidForm,
    "verify": VerifyForm,
    "cancel": CancelForm,
    "skip": SkipForm,
    "move": MoveForm,
    "decide": DecideForm,
}


async def act(request: web.Request) -> web.StreamResponse:
    """POST /c/{campaign}/{action}: validate, perform, answer with the chat's own words."""
    console, visitor = console_of(request), visitor_of(request)
    campaign_id = int(request.match_info["campaign"])
    model = FORMS.get(request.match_info["action"])
    if model is None:
        return notice(request, 404, "没有这个操作", "没有这个操作。")
    posted = await request.post()
    request[FORM] = posted
    form = read_form(model, posted)
    if isinstance(form, str):
        return _answer(request, 400, [form])
    try:
        answers = await console.app.perform(visitor.member_id, _operation(form, campaign_id))
    except NotYours:
        return notice(request, 404, "找不到这个团", "没有这个团，或者这个团不归你管。")
    except NotAllowed:
        return notice(request, 403, "只有团长可以", "这个操作只有团长可以做。")
    console.live.touch(campaign_id)
    return _answer(request, 200, [a.text for a in answers])


def _answer(request: web.Request, status: int, messages: list[str]) -> web.StreamResponse:
    """JSON for the page's script; without script, back to the page with the words on it."""
    if wants_json(request):
        return web.json_response({"ok": status == 200, "messages": messages}, status=status)
    console_of(request).flash(request.cookies.get(COOKIE, ""), messages)
    raise web.HTTPSeeOther(_back(request))


def _back(request: web.Request) -> str:
    """Where the form came from (its ``back`` field): a console page, never another site."""
    form = request.get(FORM) or {}
    back = str(form.get("back", ""))
    campaign_page = f"{PREFIX}/c/{request.match_info['campaign']}"
    split = urlsplit(back)
    if split.scheme or split.netloc or not split.path.startswith(PREFIX + "/") or "//" in split.path:
        return campaign_page
    return split.path + (f"?{split.query}" if split.query else "")
