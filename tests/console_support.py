"""Driving the leader's console in tests: a real app on the harness, the console's real aiohttp
application in front of it, a browser-like client that keeps the session cookie."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import CookieJar, web
from aiohttp.test_utils import TestClient, TestServer

from bot.console import Console, mount
from bot.testing import Harness

LINK = re.compile(r"https?://\S+(/console/login/[A-Za-z0-9_-]{43})")
CSRF = re.compile(r'data-csrf="([^"]+)"')


@asynccontextmanager
async def console_client(h: Harness) -> AsyncIterator[TestClient]:
    console = Console(h.settings)
    console.attach(h.app)
    root = web.Application()
    mount(console, root)
    # unsafe: accept cookies from 127.0.0.1 (the test server's address), as a browser does.
    async with TestClient(TestServer(root), cookie_jar=CookieJar(unsafe=True)) as client:
        yield client


async def link_path(h: Harness, who: str) -> str:
    """The path of a fresh 后台 link, asked for in private chat."""
    out = await h.say(who, "后台", private=True)
    found = LINK.search(out[-1].text)
    assert found is not None, out
    return found.group(1)


async def log_in(h: Harness, client: TestClient, who: str) -> str:
    """Log in by the link as a leader does; returns the page's form token."""
    path = await link_path(h, who)
    response = await client.post(path, headers={"Origin": origin(client)})
    assert response.status == 200, await response.text()  # followed the redirect to the campaigns
    return csrf_of(await response.text())


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None
    return found.group(1)


def origin(client: TestClient) -> str:
    return str(client.make_url("/")).rstrip("/")
