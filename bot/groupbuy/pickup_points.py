"""Where a member collects: one point, a point per group, or several points members pick from.

The 开团 line is read as entries split by 「/」: ``自提 东门驿站`` (one point),
``自提 1群 东门驿站 / 2群 西门超市`` (a point per group) or ``自提 东门驿站 / 西门超市``
(members choose with 「自提点 2」; who does not choose collects at the first). Resolved, they
live in the campaign's options: ``pickup_by_group`` {group id: point} and ``pickup_points``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SEP = re.compile(r"\s*[/／;；|｜]\s*")
_GROUP_FIRST = re.compile(r"^(?P<ref>\S*群)\s*[:：]?\s+(?P<point>\S.*)$")


def parse_pickup(value: str) -> tuple[tuple[str | None, str], ...]:
    """「1群 东门驿站 / 2群 西门超市」 -> (("1群", "东门驿站"), ("2群", "西门超市"))."""
    entries: list[tuple[str | None, str]] = []
    for part in _SEP.split(value.strip()):
        if not part:
            continue
        m = _GROUP_FIRST.match(part)
        entries.append((m["ref"], m["point"].strip()) if m else (None, part.strip()))
    return tuple(entries)


def choice_points(options: Mapping[str, Any]) -> list[str]:
    """The points a member picks from (empty unless the campaign offers more than one)."""
    return list(options.get("pickup_points") or [])


def group_pickup(pickup: str | None, options: Mapping[str, Any], group_id: str) -> str | None:
    """The point a group's members collect at (None when they choose among several)."""
    by_group = options.get("pickup_by_group") or {}
    if group_id in by_group:
        return str(by_group[group_id])
    return None if choice_points(options) else pickup


def order_pickup(
    pickup: str | None, options: Mapping[str, Any], group_id: str, choice: int | None = None
) -> str | None:
    """Where one order is collected: the member's choice, else her group's point, else the first."""
    points = choice_points(options)
    if points and choice is not None and 1 <= choice <= len(points):
        return points[choice - 1]
    found = group_pickup(pickup, options, group_id)
    if found is None and points:
        return points[0]
    return found
