"""The console's pages (GET): campaigns, a campaign's orders, figures, timeline, 接龙 lines,
downloads, members; the figures as JSON; the live socket. Read-only sessions throughout."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlmodel import Session

from bot.console.forms import MembersQuery, OrdersQuery, read_form
from bot.console.live import Watcher
from bot.console.web import COOKIE, console_of, notice, page, visitor_of
from bot.groupbuy.exports import Export, Format, write_exports
from bot.services.campaign_list import campaign_for, campaign_list
from bot.services.campaigns import campaign_groups
from bot.services.console_access import session_of
from bot.services.figures import Figures, campaign_figures
from bot.services.jielong_book import waiting_lines
from bot.services.member_history import History, MemberStats, report_data
from bot.services.members import member_name
from bot.services.order_list import order_page
from bot.services.recaps import LEADER_FILES
from bot.services.reports import order_rows
from bot.services.timeline_edit import may_move, may_skip
from bot.services.timeline_edit import rows as timeline_rows
from bot.store.models import Campaign
from bot.transports.webchat.origin import same_origin

NOT_YOURS = ("找不到这个团", "没有这个团，或者这个团不归你管。")
FORMATS: tuple[tuple[Format, str], ...] = (("xlsx", "Excel"), ("csv", "CSV"))
MEMBERS_SHOWN = 300


async def campaigns(request: web.Request) -> web.Response:
    visitor = visitor_of(request)
    found = await console_of(request).read(lambda s: campaign_list(s, visitor.groups))
    return page(request, "campaigns", summaries=found)


async def _campaign(request: web.Request, work: Any = None) -> tuple[Campaign, Any] | None:
    """Her campaign named in the path (and whatever ``work`` reads with it), or None."""
    visitor = visitor_of(request)
    campaign_id = int(request.match_info["campaign"])

    def read(s: Session) -> tuple[Campaign, Any] | None:
        campaign = campaign_for(s, visitor.groups, campaign_id)
        if campaign is None:
            return None
        return campaign, work(s, campaign) if work is not None else None

    return await console_of(request).read(read)


def _may_decide(request: web.Request, groups: list[str]) -> bool:
    """确认 and 拒绝 are the leader's: she leads one of the campaign's groups."""
    return bool(set(visitor_of(request).leads) & set(groups))


async def orders(request: web.Request) -> web.Response:
    query = read_form(OrdersQuery, request.query)
    if isinstance(query, str):
        return notice(request, 400, "搜索有误", query)

    def read(s: Session, campaign: Campaign) -> Any:
        assert campaign.id is not None
        return order_page(s, campaign.id, query.q, query.show, query.offset, query.upto)

    found = await _campaign(request, read)
    if found is None:
        return notice(request, 404, *NOT_YOURS)
    campaign, listing = found
    template = "_orders" if request.query.get("part") else "orders"
    return page(request, template, campaign=campaign, listing=listing, query=query, tab="orders")


async def figures_page(request: web.Request) -> web.Response:
    found = await _campaign(request)
    if found is None:
        return notice(request, 404, *NOT_YOURS)
    return page(request, "figures", campaign=found[0], tab="figures")


async def figures_json(request: web.Request) -> web.Response:
    console = console_of(request)
    now, tz = console.app.clock.now(), console.settings.tz
    found = await _campaign(request, lambda s, c: campaign_figures(s, c, now, tz))
    if found is None:
        return web.json_response({"ok": False, "messages": [NOT_YOURS[1]]}, status=404)
    return web.json_response(_figures_data(found[1]))


def _yuan(fen: int) -> float:
    return round(fen / 100, 2)


def _figures_data(f: Figures) -> dict[str, Any]:
    return {
        "orders": f.orders,
        "buyers": f.buyers,
        "sales": _yuan(f.sales_fen),
        "series": {
            "labels": f.series.labels,
            "orders": f.series.orders,
            "sales": [_yuan(x) for x in f.series.sales_fen],
        },
        "groups": {
            "labels": [g.name for g in f.by_group],
            "sales": [_yuan(g.amount_fen) for g in f.by_group],
            "buyers": [g.count for g in f.by_group],
        },
        "items": {
            "labels": [i.name for i in f.by_item],
            "sales": [_yuan(i.amount_fen) for i in f.by_item],
            "units": [str(i.count) + i.unit for i in f.by_item],
        },
        "goals": [
            {"label": g.label, "have": str(g.have), "need": str(g.need), "unit": g.unit, "ratio": g.ratio}
            for g in f.goals
        ],
        "paid": {"counts": list(f.paid), "amounts": [_yuan(x) for x in f.paid_fen]},
        "collected": list(f.collected),
    }


async def timeline(request: web.Request) -> web.Response:
    console = console_of(request)
    config, tz = console.settings.timeline, console.settings.tz
    found = await _campaign(request, lambda s, c: timeline_rows(s, c, config, tz))
    if found is None:
        return notice(request, 404, *NOT_YOURS)
    campaign, rows = found
    template = "_timeline" if request.query.get("part") else "timeline"
    skippable = {r.no for r in rows if may_skip(r)}
    movable = {r.no for r in rows if may_move(r)}
    return page(
        request, template, campaign=campaign, rows=rows, skippable=skippable, movable=movable, tab="timeline"
    )


async def jielong(request: web.Request) -> web.Response:
    def read(s: Session, campaign: Campaign) -> tuple[list[dict[str, Any]], list[str]]:
        assert campaign.id is not None
        lines = [
            {
                "row": p,
                "member": member_name(s, p.member_id) if p.member_id else None,
                "reporter": member_name(s, p.reported_by),
            }
            for p in waiting_lines(s, campaign.id)
        ]
        return lines, campaign_groups(s, campaign.id)

    found = await _campaign(request, read)
    if found is None:
        return notice(request, 404, *NOT_YOURS)
    campaign, (lines, groups) = found
    template = "_jielong" if request.query.get("part") else "jielong"
    may = _may_decide(request, groups)
    return page(request, template, campaign=campaign, lines=lines, may_decide=may, tab="jielong")


async def downloads(request: web.Request) -> web.Response:
    found = await _campaign(request)
    if found is None:
        return notice(request, 404, *NOT_YOURS)
    return page(request, "downloads", campaign=found[0], files=LEADER_FILES, formats=FORMATS, tab="downloads")


async def download(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    kind, fmt = request.match_info["kind"], request.match_info["fmt"]
    names = dict(LEADER_FILES)
    if kind not in names or fmt not in dict(FORMATS):
        return notice(request, 404, "没有这个文件", "没有这种文件，请在下载页里选。")
    tz = console.settings.tz
    found = await _campaign(request, lambda s, c: order_rows(s, c, tz))
    if found is None:
        return notice(request, 404, *NOT_YOURS)
    campaign, rows = found

    def write() -> bytes:
        with tempfile.TemporaryDirectory(prefix="tuanbot-console-") as folder:
            path = Path(folder) / f"export.{fmt}"
            write_exports(rows, [Export(kind, fmt, path)])  # type: ignore[arg-type]
            return path.read_bytes()

    body = await asyncio.to_thread(write)
    filename = f"{names[kind]}-{campaign.id}.{fmt}"
    disposition = f"attachment; filename=\"{kind}-{campaign.id}.{fmt}\"; filename*=UTF-8''{quote(filename)}"
    types = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    return web.Response(body=body, headers={"Content-Type": types[fmt], "Content-Disposition": disposition})


async def members(request: web.Request) -> web.Response:
    query = read_form(MembersQuery, request.query)
    if isinstance(query, str):
        return notice(request, 400, "筛选有误", query)
    console, visitor = console_of(request), visitor_of(request)
    if not visitor.leads:
        return page(request, "members", history=None, tab="members")
    now, levels = console.app.clock.now(), console.settings.loyalty.vip.levels
    data = await console.read(lambda s: report_data(s, visitor.leads, now, levels))  # as 会员 in chat
    history: History = data["history"]  # type: ignore[assignment]
    vips = {m.member_id: level.name for m, level in data["vips"]}  # type: ignore[attr-defined]
    shown = (
        [m for m in history.members if m.member_id in vips]
        if query.view == "vip"
        else _members_in(history, query.view)
    )
    return page(
        request,
        "members",
        history=history,
        vips=vips,
        view=query.view,
        shown=shown[:MEMBERS_SHOWN],
        more=max(len(shown) - MEMBERS_SHOWN, 0),
        tab="members",
    )


def _members_in(history: History, view: str) -> list[MemberStats]:
    if view == "repeat":
        return history.repeat
    if view.startswith("silent"):
        return history.silent[int(view.removeprefix("silent"))]
    if view != "all":
        return next(seg.members for seg in history.segments if seg.name == view)
    return history.members


async def live(request: web.Request) -> web.StreamResponse:
    """The page's socket: pushes ``{"type": "changed"}`` when its campaign changes."""
    console = console_of(request)
    if not same_origin(request, console.trusted, required=True):
        return notice(request, 403, "不能连接", "这个连接不是从后台页面发起的。")
    raw = request.query.get("c", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        return notice(request, 400, "连接有误", "缺少团号。")
    visitor = visitor_of(request)
    campaign_id = int(raw)

    def groups(s: Session) -> list[str] | None:
        return campaign_groups(s, campaign_id) if campaign_for(s, visitor.groups, campaign_id) else None

    found = await console.read(groups)
    if found is None:
        return notice(request, 404, *NOT_YOURS)
    token = request.cookies.get(COOKIE)

    async def still_valid() -> bool:
        now = console.app.clock.now()
        return await console.read(lambda s: session_of(s, token, now) is not None)

    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    stop = console.live.watch(campaign_id, frozenset(found), Watcher(ws, still_valid))
    try:
        async for _ in ws:
            pass  # the page only listens
    finally:
        stop()
    return ws
