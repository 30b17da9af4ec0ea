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
import uuid
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.core.clock import Clock, SystemClock, Timer
from bot.core.commands import Level, UsageError, match_command
from bot.core.config import Settings
from bot.core.context import BatchCache, Ctx
from bot.core.messages import InboundMessage, OutboundMessage, Reply
from bot.core.outbox import Outbox, enqueue
from bot.core.pacing import Pacer
from bot.core.render import make_environment, render
from bot.core.routing import Route
from bot.core.transport import NotStored, Transport
from bot.services.members import (
    group_led,
    level_in,
    level_of,
    mark_left,
    member_name,
    stored_members,
    sync_config,
    touch_member,
    touch_members,
)
from bot.store.db import create_schema, make_engine, savepoint, table
from bot.store.models import ProcessedMessage
from bot.store.prepared import Prepared
from scheduler.care import CareRunner
from scheduler.runner import TimelineRunner
from scheduler.timers import APSTimer

log = logging.getLogger(__name__)

SEEN_LIMIT = 10_000
# Messages of one chat handled in one transaction at most. Each transaction costs ~2 ms
# beside its messages (commit, outbox, the shop read); 128 halves that in a flash sale's
# burst while the first reply of a full batch still comes within ~50 ms.
BATCH = 128
RETRIES = 3

_PROCESSED = table(ProcessedMessage)
_MARK_HANDLED = Prepared(_PROCESSED.insert(), columns=("id", "at"))
_HANDLED_AMONG = select(_PROCESSED.c.id).where(_PROCESSED.c.id.in_(bindparam("ids", expanding=True)))
T = TypeVar("T")
Operation = Callable[[Ctx], "Reply | Iterable[Reply] | None"]


@dataclass(frozen=True)
class Changed:
    """Where the store may have just changed: a chat whose messages were handled, or one
    campaign (its timeline fired, or a caller outside the chat changed it)."""

    chat_id: str | None = None
    is_group: bool = False
    campaign_id: int | None = None


@dataclass
class _Handled:
    """One message's effect, kept aside until its savepoint is released."""

    outbound: list[OutboundMessage] = field(default_factory=list)
    mark: bool = False  # a writing route ran: record the message id against redelivery
    replan: set[int] = field(default_factory=set)


@dataclass
class _Batch:
    """What one batch transaction gathers, written once just before its commit."""

    cache: BatchCache
    handled_before: set[str]  # message ids an earlier transaction handled (redeliveries)
    marks: list[str] = field(default_factory=list)
    outbound: list[OutboundMessage] = field(default_factory=list)


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
        # SQLite has one writer: every write transaction of this process queues here rather
        # than in SQLite's busy handler, which sleeps in coarse steps.
        self.writer: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        use_store = getattr(transport, "use_store", None)
        if use_store is not None:
            use_store(engine, self.writer)
        pacer = Pacer(settings.pacing, rng)
        self.outbox = Outbox(engine, transport, clock, timer, pacer, owner, writer=self.writer)
        self.timeline = TimelineRunner(self)
        self.care = CareRunner(self)
        self._chats: dict[str, _ChatQueue] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Members already refreshed in the store: (group, id, name). Bounded by the groups' size.
        self._known: set[tuple[str | None, str, str]] = set()
        self._unconfigured: set[str] = set()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._listeners: list[Callable[[Changed], None]] = []

    # --- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> App:
        await asyncio.to_thread(self._prepare_store)
        self.timer.start()
        await self.timeline.reconcile()
        self.care.start()
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
            # Members stored before this start need no upsert when they next speak.
            self._known |= stored_members(s)

    # --- inbound ---------------------------------------------------------------------

    async def feed(self, message: InboundMessage) -> None:
        """Entry point for transports. Returns once the message is handled and its transaction
        committed (a transport acknowledges only then); raises ``NotStored`` when it could not
        be, so the sender's retry is handled.

        Messages of one chat queue up and are handled in order. Whatever queued while the
        previous batch was in the database is handled next as one batch: one transaction
        (one commit, one fsync) with a savepoint per message, so one bad message cannot
        spoil its neighbours.
        """
        if (running := self._inflight.get(message.id)) is not None:
            # The same message again while the first copy is in the database (a page resending
            # after a reconnect): it is acknowledged when that copy is, not before.
            await asyncio.shield(running)
            return
        if self._already_seen(message.id):
            return
        if message.is_group and message.kind == "text":
            # The chat-activity and active-member alerts.
            self.timeline.activity.record(message.chat_id, self.clock.now(), message.sender_id)
        chat = self._chats.setdefault(message.chat_id, _ChatQueue())
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        chat.waiting.append((message, done))
        self._inflight[message.id] = done
        done.add_done_callback(lambda _: self._inflight.pop(message.id, None))
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
                failed: set[str] = set()
                try:
                    replan = await asyncio.to_thread(self._handle_batch, messages)
                except Exception:
                    log.exception("a batch of %d message(s) failed; handling them one by one", len(messages))
                    replan, failed = await self._one_by_one(messages)
                self._notify(Changed(messages[0].chat_id, messages[0].is_group))
                try:
                    for campaign_id in replan:
                        await self.timeline.plan(campaign_id)
                    self.care.poke()  # a 核销, 售后, 召回 or 截团 may have made work due
                    # Sending before the next batch measured faster than overlapping the two:
                    # Python threads share one core's worth of interpreter.
                    await self.outbox.pump()
                except Exception:
                    log.exception("planning or sending after a batch failed; the outbox will retry")
                for message, done in batch:
                    if message.id in failed:
                        done.set_exception(NotStored(message.id))
                    else:
                        done.set_result(None)
                batch = []
        finally:
            chat.busy = False
            for _, done in batch:  # only when cancelled mid-batch (shutdown)
                if not done.done():
                    done.cancel()

    async def _one_by_one(self, messages: list[InboundMessage]) -> tuple[set[int], set[str]]:
        """After a failed batch commit: each message in its own transaction. One that still
        fails is forgotten, so the network's redelivery of it is handled, not dropped; its
        ``feed`` raises ``NotStored`` so the transport does not acknowledge it."""
        replan: set[int] = set()
        failed: set[str] = set()
        for message in messages:
            try:
                replan |= await asyncio.to_thread(self._handle_batch, [message])
            except Exception:
                log.exception(
                    "message %s in %s failed; a redelivery will be handled", message.id, message.chat_id
                )
                self._seen.pop(message.id, None)
                failed.add(message.id)
        return replan, failed

    def _note_unconfigured(self, message: InboundMessage) -> None:
        """Tell the operator, once per group, how a new WeChat group is taken on."""
        if message.chat_id not in self._unconfigured:
            self._unconfigured.add(message.chat_id)
            log.info(
                "group %r (%s) is not in config.yaml; its leader binds it by sending 绑定 there "
                "(her id must be under leaders: in config.yaml) — this message came from %s (id %s)",
                message.chat_name,
                message.chat_id,
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
        """Handle messages in one transaction; returns the campaigns to plan again.

        Per message only its own changes run in the database (in a savepoint); what every
        message adds - its id in the processed table, its replies in the outbox - is written
        once for the whole batch just before the commit.
        """
        replan: set[int] = set()
        now = self.clock.now()
        fresh = {_member_key(m) for m in messages if m.kind == "text"} - self._known
        with self.writer, Session(self.engine, expire_on_commit=False) as s:
            # Everybody who spoke is a member of the group: one upsert for the batch's newcomers.
            if fresh:
                touch_members(s, fresh, now)
            batch = _Batch(BatchCache(), self._handled_before(s, [m.id for m in messages]))
            for message in messages:
                replan |= self._handle_retrying(s, message, batch)
            if batch.marks:
                # A plain INSERT: another process that handled the same message first makes
                # this commit fail, and the one-by-one retry then drops the redelivery.
                rows = [{"id": message_id, "at": now} for message_id in batch.marks]
                _MARK_HANDLED.execute_many(s.connection(), rows)
            enqueue(s, self.owner, batch.outbound, now)
            s.commit()
        self._known |= fresh
        return replan

    def _handled_before(self, s: Session, ids: list[str]) -> set[str]:
        """Which of these message ids an earlier transaction handled (redeliveries)."""
        return set(s.connection().execute(_HANDLED_AMONG, {"ids": ids}).scalars())

    def _handle_retrying(self, s: Session, message: InboundMessage, batch: _Batch) -> set[int]:
        """One message in its own savepoint; a failure leaves no trace in the store."""
        for attempt in range(1, RETRIES + 1):
            handled = _Handled()
            try:
                with savepoint(s, "message"):
                    self._handle(s, message, batch, handled)
            except UsageError as err:
                # A handler refused after all: its changes went with the savepoint, the
                # message still counts as handled and the sender learns what is possible.
                handled.outbound = [self.render_reply(s, self._usage(err), message)]
                handled.replan = set()
            except IntegrityError:
                # Another process inserted the same order row first; now that it is
                # committed, another try sees it.
                batch.cache.clear()
                if attempt == RETRIES:
                    log.exception("message %s in %s failed", message.id, message.chat_id)
                continue
            except Exception:
                batch.cache.clear()
                log.exception("message %s in %s failed", message.id, message.chat_id)
                break
            finally:
                # The order path writes with Core statements: objects loaded for one message
                # must not be taken as current by the next one.
                s.expunge_all()
            if handled.mark:
                batch.marks.append(message.id)
            batch.outbound += handled.outbound
            return handled.replan
        return set()

    def _handle(self, s: Session, message: InboundMessage, batch: _Batch, handled: _Handled) -> None:
        """Route one message; its replies and timeline changes go into ``handled``."""
        if message.kind != "text":
            batch.cache.clear()
            self._handle_event(s, message, batch, handled)
            return
        group_id = message.chat_id if message.is_group else None
        ctx = Ctx(
            message=message,
            session=s,
            settings=self.settings,
            clock=self.clock,
            rng=self.rng,
            level=level_of(s, batch.cache, group_id, message.sender_id),
            invocation=match_command(message.text),
            group_id=group_id,
            env=self.env,
            cache=batch.cache,
        )
        if group_id is not None and not group_led(s, batch.cache, group_id):
            # No leader runs this group (not in config.yaml, never bound): nothing is answered
            # there but a leader's 绑定; the operator hears of it once.
            self._note_unconfigured(message)
            if ctx.invocation is None or ctx.invocation.spec.key != "bind":
                return
        for route in self.routes:
            if (route.scope == "group" and not message.is_group) or (
                route.scope == "private" and message.is_group
            ):
                continue
            try:
                args = route.trigger(ctx)
            except UsageError as err:
                handled.outbound.append(self.render_reply(s, self._usage(err), message))
                return
            if args is None:
                continue
            if ctx.level < route.level:
                refused = Reply.of("common/refused", level=int(route.level))
                handled.outbound.append(self.render_reply(s, refused, message))
                return
            try:
                self._run(s, ctx, route, args, batch, handled)
            finally:
                if not route.keeps_cache:
                    batch.cache.clear()
            return

    def _handle_event(self, s: Session, message: InboundMessage, batch: _Batch, handled: _Handled) -> None:
        """Joins and leaves: keep membership right, then let routes react (welcome)."""
        if not group_led(s, batch.cache, message.chat_id):
            return  # a group no leader runs: no record, no welcome
        now = self.clock.now()
        if message.kind == "leave":
            mark_left(s, message.chat_id, message.sender_id, now)
            self._known = {k for k in self._known if k[:2] != (message.chat_id, message.sender_id)}
        elif message.kind == "join":
            touch_member(s, message.chat_id, message.sender_id, message.sender_name, now)
        ctx = Ctx(
            message, s, self.settings, self.clock, self.rng, Level.MEMBER, None, message.chat_id, self.env
        )
        for route in self.routes:
            args = route.trigger(ctx)
            if args is not None:
                self._run(s, ctx, route, args, batch, handled)
                return

    def _run(self, s: Session, ctx: Ctx, route: Route, args: Any, batch: _Batch, handled: _Handled) -> None:
        message = ctx.message
        if route.writes:
            if message.id in batch.handled_before:
                log.info("message %s already handled; dropped", message.id)
                return
            handled.mark = True
        replies = _as_list(route.handler(ctx, args))
        handled.outbound += [self.render_reply(s, r, message) for r in replies]
        handled.replan = ctx.replan

    def _usage(self, err: UsageError) -> Reply:
        return Reply(f"usage/{err.key}", dict(err.data))

    # --- callers outside the chat (the leader's console) ------------------------------

    async def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one write transaction of this process (behind ``writer``), off the loop."""

        def run() -> T:
            with self.writer, Session(self.engine, expire_on_commit=False) as s:
                result = work(s)
                s.commit()
                return result

        return await asyncio.to_thread(run)

    async def perform(self, actor_id: str, operation: Operation) -> list[OutboundMessage]:
        """Run a change for someone outside the chat exactly as her private-chat command runs:
        the operation gets a ``Ctx`` as if she had written to the bot privately (her level, her
        groups), its changes and the replies it addresses to chats commit together through the
        outbox, the timeline is planned again and the outbox pumped. The replies meant for her
        (no ``chat_id``) are returned rendered instead of sent: the caller shows them.
        """

        def run() -> tuple[list[OutboundMessage], set[int]]:
            now = self.clock.now()
            with self.writer, Session(self.engine, expire_on_commit=False) as s:
                message = InboundMessage(
                    id=f"console:{uuid.uuid4().hex}",
                    chat_id=actor_id,
                    sender_id=actor_id,
                    sender_name=member_name(s, actor_id),
                    is_group=False,
                    timestamp=now,
                )
                level = level_in(s, None, actor_id)
                ctx = Ctx(message, s, self.settings, self.clock, self.rng, level, None, None, self.env)
                try:
                    replies = _as_list(operation(ctx))
                except UsageError as err:
                    s.rollback()
                    return [self.render_reply(s, self._usage(err), message)], set()
                answers = [self.render_reply(s, r, message) for r in replies if r.chat_id is None]
                others = [self.render_reply(s, r, message) for r in replies if r.chat_id is not None]
                enqueue(s, self.owner, others, now)
                s.commit()
                s.expunge_all()
                return answers, ctx.replan

        answers, replan = await asyncio.to_thread(run)
        for campaign_id in replan:
            await self.timeline.plan(campaign_id)
        await self.outbox.pump()
        return answers

    def listen(self, listener: Callable[[Changed], None]) -> Callable[[], None]:
        """Call ``listener`` (on the event loop) whenever the store may have changed; returns
        the function that stops it. A listener must be quick: it runs on the message path."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def campaign_changed(self, campaign_id: int) -> None:
        self._notify(Changed(campaign_id=campaign_id))

    def _notify(self, change: Changed) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                log.exception("a change listener failed")

    # --- outbound --------------------------------------------------------------------

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
                sender=message.sender_name or member_name(s, message.sender_id), sender_id=message.sender_id
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
            # What no message caused (the timeline's posts) is a broadcast, like a 群发.
            bulk=reply.bulk or message is None,
        )

    def send_in_transaction(self, s: Session, replies: Iterable[Reply]) -> None:
        """For scheduled work: queue replies in the caller's transaction."""
        enqueue(s, self.owner, [self.render_reply(s, r, None) for r in replies], self.clock.now())


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
