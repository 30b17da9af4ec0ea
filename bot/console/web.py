"""What every console request handler shares: the console, the visitor, page responses."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.console.state import Console
from bot.services.console_access import Visitor

PREFIX = "/console"
COOKIE = "tuanbot_console"
CONSOLE = web.AppKey("console", Console)
VISITOR = web.RequestKey("console_visitor", Visitor)


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE]


def visitor_of(request: web.Request) -> Visitor:
    return request[VISITOR]


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def page(request: web.Request, template: str, *, status: int = 200, **data: Any) -> web.Response:
    """A console page: the visitor, her form token and any flash messages go to every template."""
    console = console_of(request)
    visitor = request.get(VISITOR)
    flash = console.take_flash(request.cookies.get(COOKIE, "")) if visitor is not None else []
    html = console.render(template, prefix=PREFIX, visitor=visitor, flash=flash, **data)
    return web.Response(text=html, content_type="text/html", status=status)


def notice(request: web.Request, status: int, title: str, text: str) -> web.Response:
    """A page that only says something (no data): refused, not found, a bad link."""
    if wants_json(request):
        return web.json_response({"ok": False, "messages": [text]}, status=status)
    return page(request, "notice", status=status, title=title, text=text)
