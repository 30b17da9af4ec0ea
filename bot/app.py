"""The application: wires transport, store, routers, scheduler and outbox together.

``create_app(settings, transport=..., clock=...)`` builds it; ``async with app:`` starts
and stops everything. Messages of one chat are handled in order (a queue per chat),
different chats concurrently. A message's changes and its replies (written to the outbox)
commit together, so an acknowledged order or reply is never lost and never doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections import OrderedDict
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import Clock, SystemClock
from bot.commands import Level, UsageError, match_command
from bot.config import Settings
from bot.context import Ctx
from bot.members import level_in, mark_left, member_name, sync_config, touch_member
from bot.messages import InboundMessage, OutboundMessage, Reply
from bot.outbox import Outbox, enqueue
from bot.pacing import Pacer
from bot.render import make_environment, render
from bot.routing import Route
from bot.store.db import create_schema, make_engine
from bot.store.models import ProcessedMessage
from bot.transports.base import Transport
from scheduler.runner import TimelineRunner
from scheduler.timers import APSTimer, Timer

log = logging.getLogger(__name__)

SEEN_LIMIT = 10_000
BATCH = 64  # messages of one chat handled in one transaction at most
RETRIES = 3


@dataclass
class _ChatQueue:
    """Messages of one chat waiting to be handled, in arrival order."""

    waiting: list[tuple[InboundMessage, asyncio.Future[None]]] = field(default_factory=list)
    busy: bool = False


class App:
    def __init__(
        self,
        settings: Settings,
        transport: Transport,
        clock: Clock,
        engine: Engine,
        timer: Timer,
        rng: random.Random,
        routes: list[Route],
        owner: str = "main",
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.clock = clock
        self.engine = engine
        self.timer = timer
        self.rng = rng
        self.routes = routes
        self.owner = owner
        self.env = make_environment(clock.tz, mask_names=settings.mask_names)
        self.outbox = Outbox(engine, transport, clock, timer, Pacer(settings.pacing, rng), owner)
        self.timeline = TimelineRunner(self)
        self._chats: dict[str, _ChatQueue] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Members already refreshed in the store: (group, id, name). Bounded by the groups' size.
        self._known: set[tuple[str | None, str, str]] = set()
        self._unconfigured: set[str] = set()
        self._writer = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        self._seen: OrderedDict[str, None] = OrderedDict()

    # --- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> App:
        await asyncio.to_thread(self._prepare_store)
        self.timer.start()
        await self.timeline.reconcile()
        await self.transport.start(self.feed)
        # A transport that can drop (WeChat) says when it is back: deliver what waited at once.
        on_change = getattr(self.transport, "on_connection_change", None)
        if on_change is not None:
            on_change(lambda up: self._spawn(self.outbox.pump()) if up else None)
        await self.outbox.pump()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.transport.stop()
        self.timer.shutdown()

    def _prepare_store(self) -> None:
        create_schema(self.engine)
        with Session(self.engine) as s:
            sync_config(s, self.settings, self.clock.now())
            s.commit()

    # --- inbound ---------------------------------------------------------------------

    async def feed(self, message: InboundMessage) -> None:
        """Entry point for transports. Returns once the message is handled and its replies sent.

        Messages of one chat queue up and are handled in order. Whatever queued while the
        previous batch was in the database is handled next as one batch: one transaction
        (one commit, one fsync) with a savepoint per message, so one bad message cannot
        spoil its neighbours.
        """
        if message.sender_id == self.settings.bot_id or self._already_seen(message.id):
            return
        if message.is_group and message.kind == "text":
            self.timeline.activity.record(message.chat_id, self.clock.now())  # the chat-activity alert
            self._note_unconfigured(message)
        chat = self._chats.setdefault(message.chat_id, _ChatQueue())
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        chat.waiting.append((message, done))
        if not chat.busy:
            chat.busy = True
            self._spawn(self._drain(chat))
        await done

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work in the background, keeping a reference so it is not collected mid-way."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, chat: _ChatQueue) -> None:
        batch: list[tuple[InboundMessage, asyncio.Future[None]]] = []
        try:
            while chat.waiting:
                batch, chat.waiting = chat.waiting[:BATCH], chat.waiting[BATCH:]
                messages = [m for m, _ in batch]
                try:
                    replan = await asyncio.to_thread(self._handle_batch, messages)
                except Exception:
                    log.exception("a batch of %d message(s) failed; handling them one by one", len(messages))
                    replan = await self._one_by_one(messages)
                try:
                    for campaign_id in replan:
                        await self.timeline.plan(campaign_id)
                    await self.outbox.pump()
                except Exception:
                    log.exception("planning or sending after a batch failed; the outbox will retry")
                for _, done in batch:
                    done.set_result(None)
                batch = []
        finally:
            chat.busy = False
            for _, done in batch:  # only when cancelled mid-batch (shutdown)
                if not done.done():
                    done.cancel()

    async def _one_by_one(self, messages: list[InboundMessage]) -> set[int]:
        """After a failed batch commit: each message in its own transaction. One that still
        fails is forgotten, so the network's redelivery of it is handled, not dropped."""
        replan: set[int] = set()
        for message in messages:
            try:
                replan |= await asyncio.to_thread(self._handle_batch, [message])
            except Exception:
                log.exception(
                    "message %s in %s failed; a redelivery will be handled", message.id, message.chat_id
                )
                self._seen.pop(message.id, None)
        return replan

    def _note_unconfigured(self, message: InboundMessage) -> None:
        """Tell the operator, once per group, how to put a new WeChat group in config.yaml."""
        if self.settings.group(message.chat_id) is None and message.chat_id not in self._unconfigured:
            self._unconfigured.add(message.chat_id)
            log.info(
                "group %r (%s) is not in config.yaml; to run group-buys there add under groups: "
                "{id: %s, name: %s, leader: <the leader's id>} — this message came from %s (id %s)",
                message.chat_name,
                message.chat_id,
                message.chat_id,
                message.chat_name or "",
                message.sender_name,
                message.sender_id,
            )

    def _already_seen(self, message_id: str) -> bool:
        if message_id in self._seen:
            return True
        self._seen[message_id] = None
        if len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return False

    def _handle_batch(self, messages: list[InboundMessage]) -> set[int]:
        """Handle messages in one transaction; returns the campaigns to plan again."""
        replan: set[int] = set()
        fresh = {_member_key(m) for m in messages} - self._known
        # SQLite has one writer: queue for it here rather than in its sleeping busy handler.
        with self._writer, Session(self.engine, expire_on_commit=False) as s:
            for message in messages:
                replan |= self._handle_retrying(s, message, _member_key(message) in fresh)
            try:
                s.commit()
            except Exception:
                self._known -= fresh  # their member rows were not stored after all
                raise
        return replan

    def _handle_retrying(self, s: Session, message: InboundMessage, fresh: bool) -> set[int]:
        """One message in its own savepoint; a failure leaves no trace in the store."""
        for attempt in range(1, RETRIES + 1):
            try:
                with s.begin_nested():
                    return self._handle(s, message)
            except IntegrityError:
                # Another process inserted the same member or order row first; now that it
                # is committed, another try sees it.
                if fresh:
                    self._known.discard(_member_key(message))
                if attempt == RETRIES:
                    log.exception("message %s in %s failed", message.id, message.chat_id)
            except Exception:
                if fresh:
                    self._known.discard(_member_key(message))
                log.exception("message %s in %s failed", message.id, message.chat_id)
                break
        return set()

    def _handle(self, s: Session, message: InboundMessage) -> set[int]:
        """Route one message. Returns the campaigns whose timeline changed."""
        if message.kind != "text":
            return self._handle_event(s, message)
        group_id = message.chat_id if message.is_group else None
        ctx = Ctx(
            message=message,
            session=s,
            settings=self.settings,
            clock=self.clock,
            rng=self.rng,
            level=level_in(s, group_id, message.sender_id),
            invocation=match_command(message.text),
            group_id=group_id,
        )
        for route in self.routes:
            if (route.scope == "group" and not message.is_group) or (
                route.scope == "private" and message.is_group
            ):
                continue
            try:
                args = route.trigger(ctx)
            except UsageError as err:
                self._enqueue(s, [self._usage(err)], message)
                return set()
            if args is None:
                continue
            if ctx.level < route.level:
                self._enqueue(s, [Reply.of("common/refused", level=int(route.level))], message)
                return set()
            return self._run(s, ctx, route, args)
        return set()

    def _handle_event(self, s: Session, message: InboundMessage) -> set[int]:
        """Joins and leaves: keep membership right, then let routes react (welcome)."""
        now = self.clock.now()
        if message.kind == "leave":
            mark_left(s, message.chat_id, message.sender_id, now)
            self._known = {k for k in self._known if k[:2] != (message.chat_id, message.sender_id)}
        elif message.kind == "join":
            touch_member(s, message.chat_id, message.sender_id, message.sender_name, now)
        ctx = Ctx(message, s, self.settings, self.clock, self.rng, Level.MEMBER, None, message.chat_id)
        for route in self.routes:
            args = route.trigger(ctx)
            if args is not None:
                return self._run(s, ctx, route, args)
        return set()

    def _run(self, s: Session, ctx: Ctx, route: Route, args: Any) -> set[int]:
        message = ctx.message
        if route.writes and not self._mark_processed(s, message):
            log.info("message %s already handled; dropped", message.id)
            return set()
        if (known := _member_key(message)) not in self._known:
            touch_member(s, ctx.group_id, message.sender_id, message.sender_name, self.clock.now())
            self._known.add(known)
        try:
            with s.begin_nested():
                replies = _as_list(route.handler(ctx, args))
        except UsageError as err:
            replies = [self._usage(err)]  # the handler's changes were rolled back with its savepoint
        self._enqueue(s, replies, message)
        return ctx.replan

    def _mark_processed(self, s: Session, message: InboundMessage) -> bool:
        """Record the message id; False when it was handled before (a redelivery)."""
        dialect = {"sqlite": sqlite_insert, "postgresql": pg_insert}[self.engine.dialect.name]
        stmt = (
            dialect(ProcessedMessage)
            .values(id=message.id, at=self.clock.now())
            .on_conflict_do_nothing()
            .returning(ProcessedMessage.id)  # rowcount is not reliable here on PostgreSQL
        )
        return s.execute(stmt).first() is not None

    def _usage(self, err: UsageError) -> Reply:
        return Reply(f"usage/{err.key}", dict(err.data))

    # --- outbound --------------------------------------------------------------------

    def _enqueue(self, s: Session, replies: list[Reply], message: InboundMessage | None) -> None:
        outbound = [self.render_reply(s, r, message) for r in replies]
        enqueue(s, self.owner, outbound, self.clock.now())

    def render_reply(self, s: Session, reply: Reply, message: InboundMessage | None) -> OutboundMessage:
        if reply.chat_id is not None:
            chat_id, is_group = reply.chat_id, not reply.private
        elif message is not None:
            chat_id, is_group = message.chat_id, message.is_group
        else:
            raise ValueError(f"reply {reply.template} has no chat")
        data: dict[str, Any] = {"bot_name": self.settings.bot_name, "now": self.clock.now()}
        if message is not None:
            data.update(
                sender=member_name(s, message.sender_id) or message.sender_name, sender_id=message.sender_id
            )
        data.update(reply.data)
        mentions = reply.mentions
        return OutboundMessage(
            chat_id=chat_id,
            text=render(self.env, reply.template, data),
            template=reply.template,
            is_group=is_group,
            kind=reply.kind,
            path=reply.path,
            mentions=mentions,
            must_send=reply.must_send,
            standalone=reply.standalone,
        )

    def send_in_transaction(self, s: Session, replies: Iterable[Reply]) -> None:
        """For scheduled work: queue replies in the caller's transaction."""
        self._enqueue(s, list(replies), None)


def _member_key(message: InboundMessage) -> tuple[str | None, str, str]:
    """(group, member id, name): a member whose row and membership are known to be stored."""
    return (message.chat_id if message.is_group else None, message.sender_id, message.sender_name)


def _as_list(result: Reply | Iterable[Reply] | None) -> list[Reply]:
    if result is None:
        return []
    if isinstance(result, Reply):
        return [result]
    return list(result)


def create_app(
    settings: Settings,
    *,
    transport: Transport,
    clock: Clock | None = None,
    engine: Engine | None = None,
    timer: Timer | None = None,
    rng: random.Random | None = None,
    owner: str = "main",
) -> App:
    from handlers import all_routes

    clock = clock or SystemClock(settings.timezone)
    return App(
        settings=settings,
        transport=transport,
        clock=clock,
        engine=engine or make_engine(settings.database_url),
        timer=timer or APSTimer(),
        rng=rng or random.Random(),
        routes=all_routes(),
        owner=owner,
    )
