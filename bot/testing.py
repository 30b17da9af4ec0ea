"""An in-package test harness: a group chat you can say() into and a clock you can move.

Used by the test-suite and by `tuanbot replay`. Nothing here sleeps: time moves only when
told to, and due timeline jobs fire on the way.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import App, create_app
from bot.core.clock import FakeClock
from bot.core.config import Settings
from bot.core.messages import InboundMessage, OutboundMessage
from bot.groupbuy.jielong import parse_jielong
from bot.store.db import make_engine
from bot.store.models import Item, Member, Order, OrderLine, OrderStatus
from bot.transports.memory import MemoryTransport
from scheduler.timers import FakeTimer


def stable_id(kind: str, name: str) -> str:
    """Deterministic ids from names for scenarios: 王姐 -> u-<hex>."""
    return f"{kind}-{uuid.uuid5(uuid.NAMESPACE_URL, f'tuanbot:{kind}:{name}').hex[:12]}"


def jielong_app_message(title: str, authors: list[str]) -> str:
    """WeChat's 接龙 app message (type 53) as a transport receives it: the list in <title>, each
    entry's author id with <r> its start-length in UTF-16 units after 'N. '."""
    snap = parse_jielong(title)
    assert snap is not None
    items, cursor = [], 0
    for entry, author in zip(snap.entries, authors, strict=True):
        start = title.index(f"\n{entry.seq}. ", cursor) + len(f"\n{entry.seq}. ")
        end = title.find(f"\n{entry.seq + 1}. ", start)
        cursor = end = len(title) if end == -1 else end
        begin = len(title[:start].encode("utf-16-le")) // 2
        length = len(title[start:end].encode("utf-16-le")) // 2
        items.append(f"<i><u>{author}</u><h>0</h><s>.</s><t>1700000000</t><r>{begin}-{length}</r></i>")
    info = (
        f"<solitaire><tt>0-10</tt><s>.</s><au>{authors[0]}</au>"
        f"<content><s>{len(items)}</s>{''.join(items)}</content></solitaire>"
    )
    return (
        f'{authors[-1]}:\n<?xml version="1.0"?>\n<msg><appmsg appid="" sdkver="0">'
        f"<title>{escape(title)}</title>"
        f"<des /><type>53</type><extinfo><solitaire_info><![CDATA[{info}]]></solitaire_info></extinfo>"
        f"</appmsg><fromusername>{authors[-1]}</fromusername></msg>"
    )


def demo_settings(
    groups: dict[str, dict[str, Any]] | None = None,
    *,
    database_url: str = "sqlite://",
    leaders: list[str] | None = None,
    **overrides: Any,
) -> Settings:
    """Settings for a scenario: {group name: {leader, admins, members}} with ids made from names.

    A group without a leader is in the chat but bound by nobody yet (a leader sends 绑定 there);
    ``leaders`` names the leaders config.yaml lists (with the admins of their groups)."""
    groups = groups or {"幸福里1群": {"leader": "王姐", "admins": [], "members": ["李阿姨", "张叔", "小陈"]}}
    conf, unbound = [], []
    for name, g in groups.items():
        people = [*([g["leader"]] if g.get("leader") else []), *g.get("admins", []), *g.get("members", [])]
        members = [{"id": stable_id("u", p), "name": p} for p in dict.fromkeys(people)]
        if not g.get("leader"):
            unbound.append({"id": stable_id("g", name), "name": name, "members": members})
            continue
        conf.append(
            {
                "id": stable_id("g", name),
                "name": name,
                "leader": stable_id("u", g["leader"]),
                "admins": [stable_id("u", a) for a in g.get("admins", [])],
                "members": members,
            }
        )
    pacing = {"per_chat_per_minute": 600, "per_account_per_minute": 1200, "burst": 50, "jitter_seconds": 0}
    data: dict[str, Any] = {"database_url": database_url, "groups": conf, "pacing": pacing}
    if leaders:
        data["leaders"] = [{"id": stable_id("u", n), "name": n} for n in leaders]
    if unbound:
        data["web"] = {"demo_groups": unbound}
    data.update(overrides)
    return Settings.model_validate(data)


def chat_groups(settings: Settings) -> dict[str, str]:
    """Every group in the chat, configured or not: name -> id."""
    return {g.name: g.id for g in (*settings.groups, *settings.web.demo_groups)}


@contextmanager
def isolated_engine(url: str) -> Iterator[Engine]:
    """An engine on a fresh, empty store: a temp schema on PostgreSQL, the given file on SQLite."""
    if url.startswith("postgres"):
        schema = f"t_{uuid.uuid4().hex[:10]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in url else "?"
        engine = make_engine(f"{url}{sep}options=-csearch_path%3D{schema}")
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    else:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@dataclass
class Harness:
    """A running app on a memory transport with a fake clock."""

    app: App
    transport: MemoryTransport
    clock: FakeClock
    timer: FakeTimer
    settings: Settings
    _read: int = 0

    def group_id(self, name: str | None = None) -> str:
        groups = chat_groups(self.settings)
        return next(iter(groups.values())) if name is None else groups[name]

    def chat_size(self, group: str | None) -> int:
        everyone = (*self.settings.groups, *self.settings.web.demo_groups)
        return next(len(g.members) for g in everyone if group is None or g.name == group)

    def member_id(self, name: str) -> str:
        for g in (*self.settings.groups, *self.settings.web.demo_groups):
            for m in g.members:
                if m.name == name:
                    return m.id
        return stable_id("u", name)

    def new(self) -> list[OutboundMessage]:
        """Messages sent since the last call."""
        out = self.transport.sent[self._read :]
        self._read = len(self.transport.sent)
        return out

    async def say(
        self,
        who: str,
        text: str,
        *,
        group: str | None = None,
        private: bool = False,
        mentions: tuple[str, ...] = (),
        message_id: str | None = None,
    ) -> list[OutboundMessage]:
        gid = self.group_id(group)
        msg = self.transport.message(
            gid,
            self.member_id(who),
            who,
            text,
            is_group=not private,
            chat_name=None if private else (group or next(iter(chat_groups(self.settings)))),
            mentions=tuple(self.member_id(m) for m in mentions),
            message_id=message_id,
            timestamp=self.clock.now(),
            chat_size=None if private else self.chat_size(group),
        )
        return await self._deliver(msg)

    async def join(
        self, who: str, *, inviter: str | None = None, group: str | None = None
    ) -> list[OutboundMessage]:
        """``who`` joins the group (added by ``inviter`` when given, as WeChat reports it)."""
        msg = self.transport.message(
            self.group_id(group),
            self.member_id(who),
            who,
            "",
            chat_name=group or next(iter(chat_groups(self.settings))),
            kind="join",
            timestamp=self.clock.now(),
            inviter_id=self.member_id(inviter) if inviter else None,
        )
        return await self._deliver(msg)

    async def _deliver(self, msg: InboundMessage) -> list[OutboundMessage]:
        await self.transport.deliver(msg)
        await self.timer.run_due()
        return self.new()

    async def advance(self, delta: timedelta) -> list[OutboundMessage]:
        await self.timer.advance_to(self.clock.now() + delta)
        return self.new()

    async def drain(self, within: timedelta = timedelta(minutes=5)) -> list[OutboundMessage]:
        """Let paced replies still waiting in the outbox go out (moving the clock at most ``within``)."""
        deadline = self.clock.now() + within
        while self.app.outbox.pending() and (due := self.timer.next_due()) is not None and due <= deadline:
            await self.timer.advance_to(due)
        return self.new()

    async def at(self, when: datetime) -> list[OutboundMessage]:
        await self.timer.advance_to(when)
        return self.new()


def build_harness(
    settings: Settings, engine: Engine, start: datetime, *, seed: int = 7, owner: str = "main"
) -> Harness:
    clock = FakeClock(start, settings.timezone)
    timer = FakeTimer(clock)
    transport = MemoryTransport((settings.bot_name,), clock)
    app = create_app(
        settings,
        transport=transport,
        clock=clock,
        engine=engine,
        timer=timer,
        rng=random.Random(seed),
        owner=owner,
    )
    return Harness(app, transport, clock, timer, settings)


def order_book(h: Harness) -> dict[str, dict[str, int]]:
    """member name -> {item: quantity} of the active orders: what the store really holds."""
    with Session(h.app.engine) as s:
        stmt = (
            select(Member.name, Item.name, OrderLine.quantity)
            .join(Order, col(Order.member_id) == col(Member.id))
            .join(OrderLine, col(OrderLine.order_id) == col(Order.id))
            .join(Item, col(Item.id) == col(OrderLine.item_id))
            .where(Order.status == OrderStatus.ACTIVE)
        )
        out: dict[str, dict[str, int]] = {}
        for member, item, qty in s.exec(stmt):
            out.setdefault(member, {})[item] = qty
        return out


def units_sold(h: Harness) -> dict[str, int]:
    """item name -> units sold (the atomic stock counter)."""
    with Session(h.app.engine) as s:
        return {i.name: i.sold for i in s.exec(select(Item))}
