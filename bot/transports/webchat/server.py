"""The embedded default transport: a WeChat-style chat page served by aiohttp.

Routes: ``GET /`` the page, ``GET /ws`` the WebSocket, ``GET /api/state`` groups and recent
history, ``/static/`` the page's JS/CSS, ``/media/`` images and files the bot sends. The app may
add its own routes (e.g. ``GET /api/campaign`` for the side panel) through ``setup_routes``.

The side panel expects ``/api/campaign`` to answer 404 (no panel), ``null`` (nothing running)
or ``{"title": str, "status": str, "items": [{"name", "price", "left"}], "lines": [str]}`` where
every value is a display string.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import WSMsgType, web

from bot.core.clock import Clock
from bot.core.messages import OutboundMessage
from bot.core.transport import Sink
from bot.transports.webchat.hub import ChatHub, FrameError, WebGroup

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
PAGES_DIR = Path(__file__).resolve().parents[3] / "templates" / "web"

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
        self._setup_routes = setup_routes
        self._sink: Sink | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._pages = jinja2.Environment(
            loader=jinja2.FileSystemLoader(PAGES_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )

    # -- Transport -----------------------------------------------------------------------------

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
        url = await self._media_url(message.path) if message.kind != "text" and message.path else None
        event = self.hub.bot_event(message, url)
        self.hub.record(event)
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
        app = web.Application()
        app[WEBCHAT] = self
        app.router.add_get("/", _page)
        app.router.add_get("/ws", _socket)
        app.router.add_get("/api/state", _state)
        app.router.add_static("/static/", STATIC_DIR)
        if self.media_dir is not None:
            self.media_dir.mkdir(parents=True, exist_ok=True)
            app.router.add_static("/media/", self.media_dir)
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

    async def handle_frame(self, ws: web.WebSocketResponse, raw: str) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            await ws.send_json({"type": "error", "text": "看不懂这条消息"}, dumps=_dumps)
            return
        parse = {"say": self.hub.parse_say, "join": self.hub.parse_join}.get(
            frame.get("type") if isinstance(frame, dict) else None  # type: ignore[arg-type]
        )
        if parse is None:
            await ws.send_json({"type": "error", "text": "看不懂这条消息"}, dumps=_dumps)
            return
        try:
            inbound, event = parse(frame)
        except FrameError as exc:
            await ws.send_json({"type": "error", "id": frame.get("id"), "text": str(exc)}, dumps=_dumps)
            return
        if self.hub.is_duplicate(inbound.id):
            # A page retrying after a reconnect: it only needs to hear that we have it.
            await ws.send_json({"type": "ack", "id": inbound.id, "duplicate": True}, dumps=_dumps)
            return
        self.hub.record(event)
        await self._broadcast(event)
        await ws.send_json({"type": "ack", "id": inbound.id}, dumps=_dumps)
        assert self._sink is not None
        try:
            await self._sink(inbound)
        except Exception:
            log.exception("sink failed for web chat message %s", inbound.id)

    async def serve_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            # One frame at a time per page, so a member's messages reach the sink in order.
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self.handle_frame(ws, msg.data)
        finally:
            self._sockets.discard(ws)
        return ws

    async def close_sockets(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutdown")

    async def _broadcast(self, event: dict[str, Any]) -> None:
        for ws in list(self._sockets):
            if ws.closed:
                self._sockets.discard(ws)
                continue
            try:
                await ws.send_json(event, dumps=_dumps)
            except (ConnectionError, RuntimeError):
                self._sockets.discard(ws)

    async def _media_url(self, path: str) -> str | None:
        """Where a page can fetch ``path``; files outside ``media_dir`` are copied in first."""
        if self.media_dir is None:
            log.warning("web chat has no media_dir; cannot serve %s", path)
            return None
        source = Path(path).resolve()
        root = self.media_dir.resolve()
        if not source.is_relative_to(root):
            target = root / source.name
            if source != target and source.exists():
                await asyncio.to_thread(shutil.copyfile, source, target)
            source = target
        return "/media/" + source.relative_to(root).as_posix()


WEBCHAT = web.AppKey("webchat", WebChat)


async def _page(request: web.Request) -> web.Response:
    return web.Response(text=request.app[WEBCHAT].render_page(), content_type="text/html")


async def _state(request: web.Request) -> web.Response:
    return web.json_response(request.app[WEBCHAT].hub.state(), dumps=_dumps)


async def _socket(request: web.Request) -> web.WebSocketResponse:
    return await request.app[WEBCHAT].serve_socket(request)


async def _close_sockets(app: web.Application) -> None:
    await app[WEBCHAT].close_sockets()
