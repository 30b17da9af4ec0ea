"""Feature handlers, one Router each. Order matters: earlier routes win."""

from __future__ import annotations

from bot.core.routing import Route
from handlers import (
    admin,
    campaign,
    group_posts,
    groups,
    help,
    jielong,
    members_report,
    orders,
    payments,
    pickup,
    recap,
    redpacket,
    support,
    timeline,
    welcome,
)


def all_routes() -> list[Route]:
    routers = (
        help.router,
        campaign.router,
        admin.router,
        groups.router,
        group_posts.router,  # a bare 确认 for a waiting 群发 before the 接龙's 确认
        welcome.router,
        timeline.router,
        redpacket.router,
        payments.router,
        recap.router,
        pickup.router,
        support.router,
        members_report.router,
        jielong.router,  # a pasted 接龙 is never read as a free-form order
        orders.router,  # free-form order text last: commands win over item names
    )
    return [route for router in routers for route in router.routes]
