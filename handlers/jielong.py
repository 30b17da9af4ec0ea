"""Members ordering through WeChat 接龙, and the leader's 确认 / 拒绝 of lines that need a decision.

A pasted 接龙 whose header or description names the group's campaign feeds its order book; any other
接龙 (打卡, sports, meals) is claimed here and ignored silently, so it is never read as a free-form
order. One merged reply per snapshot @-mentions the members whose orders changed; a re-paste with
nothing new gets no reply. Reports for the leader go out privately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.commands import DecisionArgs, Level, UsageError, parse_decision
from bot.core.context import Ctx
from bot.core.messages import InboundMessage, Reply
from bot.core.routing import Router
from bot.groupbuy.jielong import JielongSnapshot, parse_jielong, parse_jielong_xml
from bot.services.campaigns import items_of
from bot.services.jielong_book import (
    Decision,
    EntryChange,
    Link,
    SnapshotResult,
    apply_snapshot,
    ask_link,
    decide,
    find_link,
    leader_of,
    pending_for,
)
from bot.services.members import level_in, member_name
from bot.services.orderbook import view_order
from bot.services.timeline_hooks import order_followups
from bot.store.models import Campaign, CampaignStatus

router = Router("jielong")

_XML_START = re.compile(r"^\s*(?:[\w@.-]+:\s*\n)?\s*<")
REQUESTS_SHOWN = 10  # lines listed to the leader per snapshot; the rest are counted
_MARKERS = ("接龙", "接龍", "group note")
_HEADER = re.compile(r"#\s*(?:接龙|接龍|group\s*note)", re.IGNORECASE)


def read_snapshot(message: InboundMessage) -> JielongSnapshot | None:
    """The 接龙 in a message. Author ids come only from a 接龙 the transport delivered as one
    (``message.jielong``: WeChat's app-message XML or its GroupNote); typed text, whatever XML
    it holds, is read as a pasted list and attributed by nickname."""
    if message.jielong is not None:
        raw = message.jielong
        return parse_jielong_xml(raw) if _XML_START.match(raw) else parse_jielong(raw)
    text = message.text
    folded = text.casefold()
    if not any(marker in folded for marker in _MARKERS):
        return None  # cheap check first: this runs on every group message
    return parse_jielong(text)


@dataclass(frozen=True)
class JielongArgs:
    snap: JielongSnapshot | None  # None: a 接龙 header only inside a quote-reply; ignored
    link: Link  # campaign None: not a group-buy 接龙; ignored

    @property
    def campaign(self) -> Campaign | None:
        return self.link.campaign


def jielong_trigger(ctx: Ctx) -> JielongArgs | None:
    message = ctx.message
    if ctx.invocation is not None or not message.is_group or message.kind != "text" or ctx.group_id is None:
        return None
    snap = read_snapshot(message)
    if snap is None:
        # A quote-reply of a 接龙 carries the list inside its quote: never an order, never an entry.
        return JielongArgs(None, Link(None)) if _HEADER.search(message.text[:2000]) else None
    return JielongArgs(snap, find_link(ctx.session, ctx.group_id, snap, ctx.now))


@router.route(jielong_trigger, scope="group")
def on_jielong(ctx: Ctx, args: JielongArgs) -> list[Reply]:
    campaign = args.campaign
    if campaign is None or args.snap is None or ctx.group_id is None:
        return []
    if not args.link.confirmed:
        # A list whose title names no campaign and whose lines only partly read as its goods:
        # the leader is asked once, privately; the list waits for her answer.
        asked = ask_link(ctx.session, ctx.group_id, args.link, args.snap, ctx.text, ctx.sender_id, ctx.now)
        leader = leader_of(ctx.session, ctx.group_id)
        if asked is None or leader is None:
            return []
        data = {
            "number": asked.id,
            "title": args.snap.title,
            "campaign": campaign,
            "reporter": ctx.message.sender_name,
        }
        return [Reply("jielong/link_request", data, chat_id=leader, private=True)]
    result = apply_snapshot(
        ctx.session, campaign, ctx.group_id, args.snap, ctx.sender_id, ctx.message.sender_name, ctx.now
    )
    if result.blocked:
        template = "orders/not_open" if campaign.status == CampaignStatus.SCHEDULED else "orders/closed"
        return [Reply(template, {"in_group": True, "campaign": campaign}, mentions=(ctx.sender_id,))]
    replies = []
    if (applied := applied_reply(ctx, result.changes, campaign)) is not None:
        replies.append(applied)
    if result.pending and (request := _request_reply(ctx, result)) is not None:
        replies.append(request)
    replies += order_followups(ctx, campaign, result.touched_items)
    return replies


def applied_reply(
    ctx: Ctx, changes: list[EntryChange], campaign: Campaign, chat_id: str | None = None
) -> Reply | None:
    """One message for the whole snapshot, @ every member whose order it changed."""
    said = [c for c in changes if c.worth_saying]
    if not said:
        return None
    assert campaign.id is not None
    names = [i.name for i in items_of(ctx.session, campaign.id)]
    mentions = tuple(dict.fromkeys(c.member_id for c in said))
    return Reply(
        "jielong/applied", {"changes": said, "item_names": names}, chat_id=chat_id, mentions=mentions
    )


def _request_reply(ctx: Ctx, result: SnapshotResult, group_id: str | None = None) -> Reply | None:
    group_id = group_id or ctx.group_id
    assert group_id is not None and result.campaign.id is not None
    leader = leader_of(ctx.session, group_id)
    if leader is None:
        return None
    requests = []
    # A pasted list of thousands of strangers is a summary with the first lines, not thousands.
    shown, rest = result.pending[:REQUESTS_SHOWN], result.pending[REQUESTS_SHOWN:]
    for p in shown:
        order = view_order(ctx.session, result.campaign.id, p.member_id) if p.member_id else None
        requests.append(
            {
                "number": p.id,
                "kind": p.kind,
                "nickname": p.nickname,
                "content": p.content,
                "member": member_name(ctx.session, p.member_id) if p.member_id else None,
                "order": order,
            }
        )
    data = {
        "title": result.title or result.campaign.title,
        "reporter": ctx.message.sender_name,
        "requests": requests,
        "total": len(result.pending),
        "more": [p.id for p in rest],
    }
    return Reply("jielong/confirm_request", data, chat_id=leader, private=True)


# ------------------------------------------------------------------------------- 确认 N / 拒绝 N


@dataclass(frozen=True)
class DecisionCall:
    accept: bool
    args: DecisionArgs


def decision_trigger(ctx: Ctx) -> DecisionCall | None:
    inv = ctx.invocation
    if inv is None or inv.spec.key not in ("jielong_confirm", "jielong_reject") or ctx.message.kind != "text":
        return None
    args = parse_decision(inv.rest)
    if args is None:
        # 「确认」 alone from a leader asks how; from anyone else, and 「确认一下」, it is chit-chat.
        if not inv.rest and ctx.level >= Level.LEADER:
            raise UsageError("jielong_decide")
        return None
    return DecisionCall(inv.spec.key == "jielong_confirm", args)


@router.route(decision_trigger, level=Level.LEADER)
def on_decision(ctx: Ctx, call: DecisionCall) -> list[Reply]:
    decisions: list[Decision] = []
    requests: list[Reply] = []
    group_changes: dict[str, tuple[Campaign, list[EntryChange]]] = {}
    for number in call.args.numbers:
        pending = pending_for(ctx.session, number)
        if pending is None or level_in(ctx.session, pending.group_id, ctx.sender_id) < Level.LEADER:
            decisions.append(Decision(number, "not_found"))
            continue
        decision = decide(ctx.session, pending, call.accept, call.args.member, ctx.now)
        decisions.append(decision)
        if decision.change is not None and decision.campaign is not None:
            group_changes.setdefault(pending.group_id, (decision.campaign, []))[1].append(decision.change)
        if decision.result is not None and decision.campaign is not None:
            group_changes.setdefault(pending.group_id, (decision.campaign, []))[1].extend(
                decision.result.changes
            )
            if decision.result.pending and (
                request := _request_reply(ctx, decision.result, pending.group_id)
            ):
                requests.append(request)
    replies = [
        Reply(
            "jielong/decided",
            {"decisions": decisions, "in_group": ctx.message.is_group, "member_name": call.args.member or ""},
        )
    ]
    for group_id, (campaign, changes) in group_changes.items():
        if (applied := applied_reply(ctx, changes, campaign, chat_id=group_id)) is not None:
            replies.append(applied)
        touched = [i for c in changes for i in c.outcome.touched_items]
        replies += order_followups(ctx, campaign, touched)
    return replies + requests
