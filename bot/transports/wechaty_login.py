"""Getting the WeChat account logged in: the scan QR code in the terminal and on a local page.

The page (``LoginPage``, http://127.0.0.1:8080/ by default) shows the transport's ``LoginState``
as it changes: the QR code to scan, then who is logged in, or why the gateway cannot be reached.
It only reads; it listens on localhost unless configured otherwise.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.transports.wechaty import LoginState, WechatyTransport

log = logging.getLogger(__name__)

PAGES_DIR = Path(__file__).resolve().parents[2] / "templates" / "web"


def qr_terminal(text: str) -> str:
    """The QR code as text for a terminal: light modules as blocks, for a dark background."""
    import segno

    out = io.StringIO()
    segno.make(text, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue()


def qr_svg_data_uri(text: str) -> str:
    import segno

    return str(segno.make(text, error="m").svg_data_uri(scale=6, border=4))


def login_view(state: LoginState) -> dict[str, Any]:
    """What the page shows, as JSON: the state, the QR code as an image, who is logged in."""
    return {
        "status": state.status,
        "qr": qr_svg_data_uri(state.qrcode) if state.status == "scan" and state.qrcode else None,
        "user": state.user_name or state.user_id,
        "problem": state.problem,
    }


class LoginPage:
    """The local page with the login QR code and the account's state."""

    def __init__(
        self,
        transport: WechatyTransport,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        setup_routes: Callable[[web.Application], None] | None = None,
    ) -> None:
        self.transport = transport
        self.host = host
        self.port = port
        self._setup_routes = setup_routes  # what else this server serves (the leader's console)
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._pages = jinja2.Environment(
            loader=jinja2.FileSystemLoader(PAGES_DIR), autoescape=True, undefined=jinja2.StrictUndefined
        )

    @property
    def url(self) -> str:
        port = self._bound_port if self._bound_port is not None else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}/"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/api/login", self._state)
        if self._setup_routes is not None:
            self._setup_routes(app)
        return app

    async def start(self) -> None:
        runner = web.AppRunner(self.build_app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        self._bound_port = runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _page(self, request: web.Request) -> web.Response:
        view = login_view(self.transport.login)
        html = self._pages.get_template("login.html").render(view=view)
        return web.Response(text=html, content_type="text/html")

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(login_view(self.transport.login))


def print_login_prompts(transport: WechatyTransport, page_url: str | None, out: Any) -> None:
    """Print each new scan QR code to ``out`` (the terminal) as a picture, with where else to find it."""
    shown: set[str] = set()

    def on_change(state: LoginState) -> None:
        if state.status != "scan" or not state.qrcode or state.qrcode in shown:
            return
        shown.add(state.qrcode)
        where = f"（网页上也有 / also at {page_url}）" if page_url else ""
        print(f"\n请用团长的微信扫码登录 / scan with WeChat to log in{where}:\n", file=out)
        print(qr_terminal(state.qrcode), file=out, flush=True)

    transport.on_login_change(on_change)
