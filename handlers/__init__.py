"""Feature handlers, one Router each. Order matters: earlier routes win."""

from __future__ import annotations

from bot.routing import Route
from handlers import admin, campaign, help, orders


def all_routes() -> list[Route]:
    routers = (
        help.router,
        campaign.router,
        admin.router,
        orders.router,  # free-form order text last: commands win over item names
    )
    return [route for router in routers for route in router.routes]
