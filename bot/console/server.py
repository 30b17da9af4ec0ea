"""The console's aiohttp application, mounted at /console/ on the server the bot already runs:
the web chat's, or the local login page's beside the WeChat transport (same host and port)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.console import actions, auth, pages
from bot.console.state import Console
from bot.console.web import CONSOLE, PREFIX

STATIC_DIR = Path(__file__).parent / "static"
CAMPAIGN = r"/c/{campaign:\d{1,9}}"


def build(console: Console) -> web.Application:
    """The console's routes under its own middlewares (security headers, sessions)."""
    app = web.Application(middlewares=[auth.secure_headers, auth.require_session])
    app[CONSOLE] = console
    app.router.add_get("/login/{token}", auth.login_page)
    app.router.add_post("/login/{token}", auth.login)
    app.router.add_post("/logout", auth.logout)
    app.router.add_get("/", pages.campaigns)
    app.router.add_get("/members", pages.members)
    app.router.add_get("/ws", pages.live)
    app.router.add_get(CAMPAIGN, pages.orders)
    app.router.add_get(CAMPAIGN + "/figures", pages.figures_page)
    app.router.add_get(CAMPAIGN + "/figures.json", pages.figures_json)
    app.router.add_get(CAMPAIGN + "/timeline", pages.timeline)
    app.router.add_get(CAMPAIGN + "/jielong", pages.jielong)
    app.router.add_get(CAMPAIGN + "/downloads", pages.downloads)
    app.router.add_get(CAMPAIGN + r"/download/{kind:[a-z]+}.{fmt:[a-z]+}", pages.download)
    app.router.add_post(CAMPAIGN + r"/{action:[a-z]+}", actions.act)
    app.router.add_static("/static/", STATIC_DIR)
    return app


def mount(console: Console, root: web.Application) -> None:
    """Put the console under /console/ of another aiohttp application (the web chat's)."""
    root.add_subapp(PREFIX, build(console))
