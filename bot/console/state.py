"""The console's state for one process: the app it works through, its page templates, the
flash messages waiting for a browser without script, and the live hub."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session

from bot.app import App
from bot.console.live import LiveHub
from bot.core.config import Settings
from bot.core.render import TEMPLATES, make_environment
from bot.store.db import reader

T = TypeVar("T")
FLASH_LIMIT = 1000  # browsers with flash messages waiting (without script only)


class Console:
    """Built before the app (the web chat mounts it while the transport is made), attached to
    the app before the app starts; it serves nothing until then."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._app: App | None = None
        self.pages = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(("html",)),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # The chat's filters (money, times in the leader's zone); names unmasked: she sees her own book.
        self.pages.filters.update(make_environment(settings.tz, mask_names=False).filters)
        self.live = LiveHub()
        self._flash: OrderedDict[str, list[str]] = OrderedDict()

    def attach(self, app: App) -> None:
        self._app = app
        app.listen(self.live.changed)

    @property
    def app(self) -> App:
        if self._app is None:
            raise RuntimeError("the console is not attached to an app")
        return self._app

    @property
    def trusted(self) -> tuple[str, ...]:
        """Origins besides the server itself: the public address phones use."""
        return (self.settings.console.public_url,) if self.settings.console.public_url else ()

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a read-only session, off the event loop."""

        def run() -> T:
            with Session(reader(self.app.engine)) as s:
                return work(s)

        return await asyncio.to_thread(run)

    def render(self, template: str, **data: Any) -> str:
        return self.pages.get_template(f"web/console/{template}.html").render(**data)

    def flash(self, key: str, messages: list[str]) -> None:
        self._flash[key] = messages
        self._flash.move_to_end(key)
        while len(self._flash) > FLASH_LIMIT:
            self._flash.popitem(last=False)

    def take_flash(self, key: str) -> list[str]:
        return self._flash.pop(key, [])
