"""Who may use the console: the one-time link opens a session; every other page and API
needs it; every change carries the session's form token and, from a browser, our Origin."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.console.web import COOKIE, PREFIX, VISITOR, console_of, notice, page
from bot.services.console_access import LinkProblem, end_session, link_problem, redeem_link, visitor
from bot.transports.webchat.origin import host_allowed, same_origin

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LOGIN_HINT = "私聊机器人发「后台」，点收到的新链接即可登录。"
LINK_PROBLEMS = {
    LinkProblem.UNKNOWN: (404, "链接无效", "这个后台链接不对（可能没复制完整）。"),
    LinkProblem.EXPIRED: (410, "链接已过期", "这个后台链接已经过期了。"),
    LinkProblem.USED: (410, "链接已用过", "这个后台链接已经用过一次，不能再用。"),
}
# Sent with every console response: no framing, no inline script, no Referer (it would carry
# a link's token) to other sites, nothing cached (order books are private).
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def public(handler: Handler) -> Handler:
    """Mark a handler that needs no session (the login link)."""
    handler.public = True  # type: ignore[attr-defined]
    return handler


@web.middleware
async def secure_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.update(HEADERS)
    if not isinstance(request.match_info.route.resource, web.StaticResource):
        response.headers["Cache-Control"] = "no-store"
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def require_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No page, API or socket without a session; no change without its form token and our Origin."""
    console = console_of(request)
    if not host_allowed(request.host, console.trusted):  # DNS rebinding: a stranger's domain name
        return notice(request, 403, "地址不对", "请用机器人私聊发给你的链接打开后台。")
    route = request.match_info
    if isinstance(route.route.resource, web.StaticResource) or getattr(route.handler, "public", False):
        return await handler(request)
    token = request.cookies.get(COOKIE)
    now = console.app.clock.now()
    found = await console.read(lambda s: visitor(s, token, now))
    if found is None:
        return notice(request, 401, "请先登录", "后台要先登录。" + LOGIN_HINT)
    request[VISITOR] = found
    if request.method not in ("GET", "HEAD"):
        if not same_origin(request, console.trusted, required=False):
            return notice(request, 403, "不能这样操作", "这个请求不是从后台页面发出的，没有执行。")
        form = await request.post()
        sent = request.headers.get("X-CSRF-Token") or str(form.get("csrf", ""))
        if not hmac.compare_digest(sent.encode(), found.csrf.encode()):
            return notice(request, 403, "页面已过期", "页面已过期，请刷新后再试。没有执行任何操作。")
    return await handler(request)


@public
async def login_page(request: web.Request) -> web.Response:
    console = console_of(request)
    token = request.match_info["token"]
    now = console.app.clock.now()
    problem = await console.read(lambda s: link_problem(s, token, now))
    if problem is not None:
        return _bad_link(request, problem)
    return page(request, "login", token=token)


@public
async def login(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    if not same_origin(request, console.trusted, required=False):
        return notice(request, 403, "不能这样登录", "请直接点机器人私聊发给你的链接。")
    token = request.match_info["token"]
    now = console.app.clock.now()
    hours = console.settings.console.session_hours
    result = await console.app.write(lambda s: redeem_link(s, token, now, hours))
    if isinstance(result, LinkProblem):
        return _bad_link(request, result)
    response = web.HTTPSeeOther(PREFIX + "/")
    response.set_cookie(
        COOKIE,
        result.token,
        max_age=hours * 3600,
        path=PREFIX,
        httponly=True,
        samesite="Strict",
        secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
    )
    return response


async def logout(request: web.Request) -> web.Response:
    console = console_of(request)
    token = request.cookies.get(COOKIE, "")
    now = console.app.clock.now()
    await console.app.write(lambda s: end_session(s, token, now))
    del request[VISITOR]
    response = notice(request, 200, "已退出", "已退出后台。" + LOGIN_HINT)
    response.del_cookie(COOKIE, path=PREFIX)
    return response


def _bad_link(request: web.Request, problem: LinkProblem) -> web.Response:
    status, title, text = LINK_PROBLEMS[problem]
    return notice(request, status, title, text + LOGIN_HINT)
