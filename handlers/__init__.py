"""Feature handlers, one Router each. Order matters: earlier routes win."""

from __future__ import annotations

from bot.core.routing import Route
from handlers import (
    admin,
    campaign,
    console,
    feedback,
    group_posts,
    groups,
    help,
    invites,
    jielong,
    members_report,
    orders,
    payments,
    pickup,
    points,
    recap,
    redpacket,
    support,
    timeline,
    welcome,
    winback,
)


def all_routes() -> list[Route]:
    routers = (
        help.router,
        campaign.router,
        admin.router,
        groups.router,
        group_posts.router,  # a bare 确认 for a waiting 群发 before the 接龙's 确认
        invites.router,  # an invited join: credit the inviter, then the usual welcome
        console.router,
        welcome.router,
        timeline.router,
        redpacket.router,
        payments.router,
        recap.router,
        pickup.router,
        support.router,
        members_report.router,
        feedback.router,
        points.router,
        winback.router,
        jielong.router,  # a pasted 接龙 is never read as a free-form order
        orders.router,  # free-form order text last: commands win over item names
        feedback.helpful_router,  # what no route took: a helpful message counts for 活跃之星
    )
    return [route for router in routers for route in router.routes]
