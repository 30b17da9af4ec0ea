"""Routers, routes, triggers and guards.

A trigger reads a message and returns typed arguments, or None when the message is not
for this route. A guard decides whether the sender may run it. Both are kept apart so a
member who tries a leader command gets a refusal instead of silence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.core.commands import COMMAND_BY_KEY, Invocation, Level
from bot.core.context import Ctx
from bot.core.messages import Reply

Trigger = Callable[[Ctx], Any | None]
Handler = Callable[[Ctx, Any], Reply | Iterable[Reply] | None]


@dataclass(frozen=True)
class Route:
    name: str
    trigger: Trigger
    handler: Handler
    level: Level = Level.MEMBER
    scope: str = "any"  # "group", "private" or "any"
    # Routes that change the order book are deduplicated by message id in the database.
    writes: bool = True
    # Changes orders only, never campaigns, items or roles: the batch's look-ups stay valid.
    keeps_cache: bool = False


@dataclass
class Router:
    name: str
    routes: list[Route] = field(default_factory=list)

    def route(
        self,
        trigger: Trigger,
        *,
        level: Level = Level.MEMBER,
        scope: str = "any",
        writes: bool = True,
        keeps_cache: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(handler.__name__, trigger, handler, level, scope, writes, keeps_cache))
            return handler

        return register

    def command(
        self, key: str, *, writes: bool = True, keeps_cache: bool = False
    ) -> Callable[[Handler], Handler]:
        """Route a command of the grammar; the handler receives the ``Invocation``."""
        spec = COMMAND_BY_KEY[key]

        def trigger(ctx: Ctx) -> Invocation | None:
            inv = ctx.invocation
            return inv if inv is not None and inv.spec.key == key else None

        return self.route(trigger, level=spec.level, scope=spec.scope, writes=writes, keeps_cache=keeps_cache)
