"""The embedded web chat as the app runs it: the demo groups from config.yaml, and read-only
JSON for the page's campaign panel (GET /api/campaign)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.clock import Clock
from bot.core.config import Settings, is_loopback
from bot.groupbuy.money import yuan, yuan2
from bot.groupbuy.privacy import mask_name
from bot.services.campaigns import campaign_of, items_of, tally
from bot.transports.webchat import WebChat, WebGroup, WebMember

log = logging.getLogger(__name__)

STATUS = {"open": "进行中", "scheduled": "未开始", "closed": "已截团", "cancelled": "已取消"}


def campaign_panel(engine: Engine, group_ids: list[str], mask: bool) -> dict[str, Any] | None:
    with Session(engine) as s:
        campaign = campaign_of(s, group_ids)
        if campaign is None or campaign.id is None:
            return None
        t = tally(s, campaign.id)
        show = mask_name if mask else str
        return {
            "title": f"{campaign.title}（团号 {campaign.id}）",
            "status": STATUS.get(campaign.status, campaign.status),
            "items": [
                {
                    "name": i.name,
                    "price": f"¥{yuan(i.price_fen)}/{i.unit}",
                    "left": "不限" if i.stock is None else f"{max(i.stock - i.sold, 0)}{i.unit}",
                }
                for i in items_of(s, campaign.id)
            ],
            "lines": [
                f"{line.follow_no}. {show(line.name)} " + " ".join(f"{n}{q}{u}" for n, q, u in line.items)
                for line in t.lines
            ]
            + [f"共{len(t.lines)}人 ¥{yuan2(t.amount_fen)}"],
        }


def setup_campaign_routes(
    engine: Engine, settings: Settings, mount: Callable[[web.Application], None] | None = None
) -> Callable[[web.Application], None]:
    group_ids = [g.id for g in settings.groups] + [d.id for d in settings.web.demo_groups]

    async def handler(request: web.Request) -> web.Response:
        data = await asyncio.to_thread(campaign_panel, engine, group_ids, settings.mask_names)
        return web.json_response(data, dumps=partial(json.dumps, ensure_ascii=False))

    def setup(app: web.Application) -> None:
        app.router.add_get("/api/campaign", handler)
        if mount is not None:
            mount(app)

    return setup


def webchat_for(
    settings: Settings,
    clock: Clock,
    engine: Engine,
    *,
    port: int | None = None,
    media_dir: Path,
    mount: Callable[[web.Application], None] | None = None,
) -> WebChat:
    """The web chat for these settings: its groups and members, the campaign panel, and what
    ``mount`` adds to its server (the leader's console)."""
    groups = [
        WebGroup(g.id, g.name, tuple(WebMember(m.id, m.name) for m in g.members), g.leader)
        for g in settings.groups
    ]
    leaders = [lead.id for lead in settings.leaders]
    for d in settings.web.demo_groups:
        members = tuple(WebMember(m.id, m.name) for m in d.members)
        # Not bound yet: the page lists it under the leader who will bind it.
        leader = next((m.id for m in members if m.id in leaders), members[0].id if members else "")
        groups.append(WebGroup(d.id, d.name, members, leader))
    if not is_loopback(settings.web.host):
        log.warning(
            "the web chat listens on %s (web.allow_remote): it is a local simulator, and anyone who "
            "can reach that address can speak as any member, the leader too",
            settings.web.host,
        )
    return WebChat(
        groups=groups,
        bot_name=settings.bot_name,
        clock=clock,
        host=settings.web.host,
        port=settings.web.port if port is None else port,
        media_dir=media_dir,
        setup_routes=setup_campaign_routes(engine, settings, mount),
    )
