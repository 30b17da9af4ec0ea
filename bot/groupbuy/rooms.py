"""Building-room keys as members write them: 3栋1202, 3-1202, 3号楼2单元1202, 295-909.

A key is the parts joined by "-": building, optional unit, room ("3-1202", "3-2-1202", "A-1202").
Keys sort by building, then unit, then room, numerically where the part is a number.
"""

from __future__ import annotations

import re

# 3栋1202, 3号楼1202, 3幢2单元1202室, A座1202, 3#1202
_WITH_WORD = re.compile(
    r"(?<![0-9A-Za-z])(?P<b>[A-Za-z]?\d{1,3}|[A-Za-z])\s*(?:栋|幢|号楼|座|#)\s*-?\s*"
    r"(?:(?P<u>\d{1,2})\s*单元\s*-?\s*)?(?P<r>\d{3,4})(?:室|号)?(?![0-9])"
)
# 3-1202, 295-909, 3-2-1202, 3/1202 (never inside longer digit or dash runs such as phone numbers)
_WITH_DASH = re.compile(
    r"(?<![0-9A-Za-z.\-])(?P<b>[A-Za-z]?\d{1,3})\s*[-_—–/]\s*"
    r"(?:(?P<u>\d{1,2})\s*[-_—–/]\s*)?(?P<r>\d{3,4})(?![0-9.\-])"
)
# 1202室 on its own
_ROOM_ONLY = re.compile(r"(?<![0-9])(?P<r>\d{3,4})\s*室")


def parse_room(text: str) -> tuple[str | None, str]:
    """Find the first building-room mention; return (key, text without it). (None, text) if none."""
    best: re.Match[str] | None = None
    for pattern in (_WITH_WORD, _WITH_DASH, _ROOM_ONLY):
        match = pattern.search(text)
        if match and (best is None or match.start() < best.start()):
            best = match
    if best is None:
        return None, text
    groups = best.groupdict()
    parts = [groups.get("b"), groups.get("u"), groups["r"]]
    key = "-".join(_clean_part(p) for p in parts if p)
    rest = (text[: best.start()] + " " + text[best.end() :]).strip()
    return key, re.sub(r"[ \t]{2,}", " ", rest)


def _clean_part(part: str) -> str:
    part = part.upper()
    # "03" and "3" are the same building; letters are kept as they are
    return str(int(part)) if part.isdigit() else part


def room_sort_key(key: str | None) -> tuple:
    """Sort key: building, unit, room, numbers compared as numbers; missing keys last."""
    if not key:
        return (1, ())
    parts = []
    for part in key.split("-"):
        digits = re.fullmatch(r"([A-Za-z]*)(\d*)", part)
        if digits and digits.group(2):
            parts.append((0, digits.group(1), int(digits.group(2)), ""))
        else:
            parts.append((1, "", 0, part))
    return (0, tuple(parts))
