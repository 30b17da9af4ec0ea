"""The embedded default transport: a WeChat-style chat page served by aiohttp.

Routes: ``GET /`` the page, ``GET /ws`` the WebSocket, ``GET /api/state`` groups and the groups'
recent history, ``/static/`` the page's JS/CSS, ``/media/<token>/<name>`` images and files the
bot sends. The app may add its own routes (e.g. ``GET /api/campaign`` for the side panel)
through ``setup_routes``.

It is a local simulator: any page may speak as any member. What keeps it safe to leave
running is that only pages it served may use it: the Host must be an address or localhost
(no DNS rebinding), a WebSocket or a state-changing request from another origin is refused,
private chats reach only a page that speaks as that member (never ``/api/state``), and media
links carry an unguessable token.

Delivery: a frame is acknowledged only after the app committed the message it carries; the
page keeps it and resends until then, and a resend is handled once. The bot's messages are
written to the history in the transaction that marks their outbox rows sent (``record``),
then shown to open pages (``publish``); history lives in the store and survives a restart.

The side panel expects ``/api/campaign`` to answer 404 (no panel), ``null`` (nothing running)
or ``{"title": str, "status": str, "items": [{"name", "price", "left"}], "lines": [str]}`` where
every value is a display string.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import shutil
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import WSMsgType, web
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.messages import OutboundMessage
from bot.core.transport import Sink
from bot.transports.webchat.hub import ChatHub, FrameError, WebGroup
from bot.transports.webchat.log import ChatLog, history_key
from bot.transports.webchat.origin import host_allowed, same_origin

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
PAGES_DIR = Path(__file__).resolve().parents[3] / "templates" / "web"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")

_dumps = partial(json.dumps, ensure_ascii=False)


class WebChat:
    """A local chat network: every open page sees every group and can speak as any member."""

    name = "webchat"

    def __init__(
        self,
        *,
        groups: Sequence[WebGroup],
        bot_name: str,
        clock: Clock,
        host: str = "127.0.0.1",
        port: int = 8080,
        media_dir: Path | None = None,
        setup_routes: Callable[[web.Application], None] | None = None,
    ) -> None:
        self.hub = ChatHub(groups, bot_name, clock)
        self.host = host
        self.port = port
        self.media_dir = media_dir
        self.log: ChatLog | None = None
        self._setup_routes = setup_routes
        self._sink: Sink | None = None
        # Open pages and the member each speaks as (None until it says).
        self._sockets: dict[web.WebSocketResponse, str | None] = {}
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._pages = jinja2.Environment(
            loader=jinja2.FileSystemLoader(PAGES_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )

    # -- Transport -----------------------------------------------------------------------------

    def use_store(self, engine: Engine, writer: AbstractContextManager[object]) -> None:
        """Keep the history in the app's store, writing behind the app's writer lock."""
        self.log = ChatLog(engine, writer)

    async def start(self, sink: Sink) -> None:
        """Serve the page; returns once the socket is listening."""
        runner = web.AppRunner(self.build_app(sink))
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self._bound_port = runner.addresses[0][1]
        log.info("web chat listening on %s", self.url)

    async def send(self, message: OutboundMessage) -> None:
        """Deliver one message in a transaction of its own (the outbox uses ``record``)."""
        chat_log = self._chat_log()

        def deliver() -> dict[str, Any]:
            with chat_log.writer, chat_log.engine.begin() as conn:
                return self.record(conn, message, ())

        await self.publish(await asyncio.to_thread(deliver))

    def record(self, conn: Connection, message: OutboundMessage, outbox_ids: Sequence[int]) -> dict[str, Any]:
        """Write the bot's message to the history on the outbox's connection (in the thread
        and transaction that mark its rows sent); ``publish`` shows it once committed. The
        event names its outbox rows, so a check can tell each reply was shown exactly once."""
        url = self._media_url(message.path) if message.kind != "text" and message.path else None
        event = {**self.hub.bot_event(message, url), "outbox": list(outbox_ids)}
        self._chat_log().record(conn, event)
        return event

    async def publish(self, event: dict[str, Any]) -> None:
        await self._broadcast(event)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        port = self._bound_port if self._bound_port is not None else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}/"

    # -- the aiohttp application ---------------------------------------------------------------

    def build_app(self, sink: Sink) -> web.Application:
        """The aiohttp application; ``start`` serves it, tests may drive it with a test client."""
        self._sink = sink
        self._chat_log()
        app = web.Application(middlewares=[_only_this_origin])
        app[WEBCHAT] = self
        app.router.add_get("/", _page)
        app.router.add_get("/ws", _socket)
        app.router.add_get("/api/state", _state)
        app.router.add_static("/static/", STATIC_DIR)
        if self.media_dir is not None:
            app.router.add_get("/media/{token}/{name}", _media)
        if self._setup_routes is not None:
            self._setup_routes(app)
        app.on_shutdown.append(_close_sockets)
        return app

    def render_page(self) -> str:
        return self._pages.get_template("chat.html").render(
            bot_name=self.hub.bot_name,
            groups=list(self.hub.groups.values()),
            identities=self.hub.identities(),
        )

    async def state(self) -> dict[str, Any]:
        """Groups and the groups' history; private chats go only over a page's own socket."""
        keys = [history_key(g, None) for g in self.hub.groups]
        history = await asyncio.to_thread(self._chat_log().recent, keys)
        return {**self.hub.state(), "history": history}

    async def handle_frame(self, ws: web.WebSocketResponse, raw: str) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            await ws.send_json({"type": "error", "text": "看不懂这条消息"}, dumps=_dumps)
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "hello":
            await self._hello(ws, frame)
            return
        parse = {"say": self.hub.parse_say, "join": self.hub.parse_join}.get(kind)  # type: ignore[arg-type]
        if parse is None:
            await ws.send_json({"type": "error", "text": "看不懂这条消息"}, dumps=_dumps)
            return
        try:
            inbound, event = parse(frame)
        except FrameError as exc:
            await ws.send_json({"type": "error", "id": frame.get("id"), "text": str(exc)}, dumps=_dumps)
            return
        if kind == "say":
            self._sockets[ws] = inbound.sender_id  # the page speaks as this member now
        if self.hub.acked(inbound.id):
            # A page retrying after a reconnect: it only needs to hear that we have it.
            await ws.send_json({"type": "ack", "id": inbound.id, "duplicate": True}, dumps=_dumps)
            return
        if kind != "say" or await asyncio.to_thread(self._chat_log().save, event):
            await self._broadcast(event)
        assert self._sink is not None
        try:
            await self._sink(inbound)
        except Exception:
            # Not stored: no ack. The page keeps the frame and sends it again.
            log.exception("web chat message %s not stored; the page will resend it", inbound.id)
            await ws.send_json({"type": "retry", "id": inbound.id}, dumps=_dumps)
            return
        self.hub.remember_ack(inbound.id)
        await ws.send_json({"type": "ack", "id": inbound.id}, dumps=_dumps)

    async def _hello(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        """A page says who it speaks as: it gets that member's private chat, and only that."""
        member = self.hub.members.get(str(frame.get("as", "")))
        if member is None:
            await ws.send_json({"type": "error", "text": "不认识这个发言人"}, dumps=_dumps)
            return
        self._sockets[ws] = member.id
        key = history_key(member.id, member.id)
        history = await asyncio.to_thread(self._chat_log().recent, [key])
        await ws.send_json({"type": "history", "key": key, "events": history.get(key, [])}, dumps=_dumps)

    async def serve_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        self._sockets[ws] = None
        try:
            # One frame at a time per page, so a member's messages reach the sink in order.
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self.handle_frame(ws, msg.data)
        finally:
            self._sockets.pop(ws, None)
        return ws

    async def close_sockets(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutdown")

    async def _broadcast(self, event: dict[str, Any]) -> None:
        """To every page; a private chat only to the pages that speak as that member."""
        private_to = event.get("private_to")
        for ws, speaker in list(self._sockets.items()):
            if private_to is not None and speaker != private_to:
                continue
            if ws.closed:
                self._sockets.pop(ws, None)
                continue
            try:
                await ws.send_json(event, dumps=_dumps)
            except (ConnectionError, RuntimeError):
                self._sockets.pop(ws, None)

    def _chat_log(self) -> ChatLog:
        if self.log is None:
            self.log = ChatLog()
        return self.log

    def _media_url(self, path: str) -> str | None:
        """Where a page can fetch ``path``: a copy under an unguessable token (the leader's
        order files must not be found by trying names)."""
        if self.media_dir is None:
            log.warning("web chat has no media_dir; cannot serve %s", path)
            return None
        source = Path(path)
        if not source.is_file():
            log.warning("web chat cannot serve %s: no such file", path)
            return None
        token = secrets.token_urlsafe(16)
        target = self.media_dir / "shared" / token / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return f"/media/{token}/{source.name}"

    def media_file(self, token: str, name: str) -> Path | None:
        if self.media_dir is None or not _TOKEN.fullmatch(token) or "/" in name or name in ("", ".", ".."):
            return None
        path = self.media_dir / "shared" / token / name
        return path if path.is_file() else None


WEBCHAT = web.AppKey("webchat", WebChat)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _only_this_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not host_allowed(request.host):
        raise web.HTTPForbidden(text="unknown host")
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    if (upgrade or request.method not in SAFE_METHODS) and not same_origin(request, required=False):
        log.warning(
            "refused a %s %s from origin %s", request.method, request.path, request.headers.get("Origin")
        )
        raise web.HTTPForbidden(text="cross-origin request refused")
    return await handler(request)


async def _page(request: web.Request) -> web.Response:
    return web.Response(text=request.app[WEBCHAT].render_page(), content_type="text/html")


async def _state(request: web.Request) -> web.Response:
    return web.json_response(await request.app[WEBCHAT].state(), dumps=_dumps)


async def _media(request: web.Request) -> web.StreamResponse:
    path = request.app[WEBCHAT].media_file(request.match_info["token"], request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path)


async def _socket(request: web.Request) -> web.WebSocketResponse:
    return await request.app[WEBCHAT].serve_socket(request)


async def _close_sockets(app: web.Application) -> None:
    await app[WEBCHAT].close_sockets()
