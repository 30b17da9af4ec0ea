"""Reading the times and durations leaders write in chat ("明天18:00", "周六晚上六点", "30分钟").

Rules worth knowing:
- A bare hour of 1-6 written with 点 and no period word ("六点") means the evening: group-buys do
  not open at 6 in the morning, and that is how leaders talk. "6:00" (colon form) stays 06:00.
- A time of day without a date is today, even when it has already passed; the caller decides
  whether a past time is an error ("time in the past") instead of us silently moving it.
- 周六 / 星期六 is the next such day, today included while that time is still ahead.
  下周六 is the Saturday of next calendar week (weeks start on Monday).
- 12月5日 without a year is this year, or next year when that date has already gone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import cn2an

from bot.groupbuy.text import fold_width

_CN = "零〇一二两三四五六七八九十"
_NUM = rf"(?:\d{{1,2}}|[{_CN}]{{1,3}})"

_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_RELATIVE_DAYS = {"今": 0, "明": 1, "后": 2, "大后": 3}

_PERIOD_WORDS = "凌晨|清晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|夜间|晚|早"
_EVENING = {"下午", "傍晚", "晚上", "夜里", "夜间", "晚"}

_DATE_RE = re.compile(
    rf"""
    (?:
        (?P<rel>大后|今|明|后)(?:天|日|(?=晚|早))
      | (?P<week>本|这|下)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天七])
      | (?P<y>\d{{4}})[-/.年](?P<ym>\d{{1,2}})[-/.月](?P<yd>\d{{1,2}})[日号]?
      | (?P<m>\d{{1,2}}|[{_CN}]{{1,3}})月(?P<d>\d{{1,2}}|[{_CN}]{{1,3}})[日号]?
      | (?P<m2>\d{{1,2}})[-/](?P<d2>\d{{1,2}})(?![\d:])
    )
    """,
    re.VERBOSE,
)

_CLOCK_RE = re.compile(
    rf"""
    (?P<period>{_PERIOD_WORDS})?\s*
    (?:
        (?P<hh>\d{{1,2}}):(?P<mm>\d{{2}})(?::(?P<ss>\d{{2}}))?
      | (?P<h>{_NUM})\s*[点时]\s*
        (?:
            (?P<half>半)
          | (?P<quarter>一刻|三刻)
          | (?P<m>{_NUM})\s*分?
          | 整
        )?
    )
    """,
    re.VERBOSE,
)

_DURATION_RE = re.compile(
    r"""
    (?P<num>\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+|半)\s*(?:个)?\s*
    (?P<unit>
        seconds?|secs?|s|秒钟|秒
      | minutes?|mins?|m|分钟|分
      | hours?|hrs?|h|小时|钟头
      | days?|d|天|日
    )
    (?![a-z])
    """,
    re.VERBOSE | re.IGNORECASE,
)

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class TimeParseError(ValueError):
    """The text is not a time (or duration) we can read; ``text`` is what was given."""

    def __init__(self, text: str) -> None:
        super().__init__(f"unreadable time: {text!r}")
        self.text = text


def _number(token: str) -> int:
    if token.isdigit():
        return int(token)
    value = cn2an.cn2an(token, "smart")
    if value != int(value):
        raise ValueError(token)
    return int(value)


def _resolve_date(m: re.Match[str], today: date) -> tuple[date, bool]:
    """The date a date phrase names, and whether it was a bare weekday (needs the 'still ahead' rule)."""
    if m["rel"] is not None:
        return today + timedelta(days=_RELATIVE_DAYS[m["rel"]]), False
    if m["wd"] is not None:
        target = _WEEKDAYS[m["wd"]]
        if m["week"] == "下":
            monday_next = today + timedelta(days=7 - today.weekday())
            return monday_next + timedelta(days=target), False
        if m["week"] in ("本", "这"):
            return today + timedelta(days=target - today.weekday()), False
        return today + timedelta(days=(target - today.weekday()) % 7), True
    if m["y"] is not None:
        return date(int(m["y"]), int(m["ym"]), int(m["yd"])), False
    month, day = (m["m"], m["d"]) if m["m"] is not None else (m["m2"], m["d2"])
    candidate = date(today.year, _number(month), _number(day))
    if candidate < today:
        candidate = date(today.year + 1, candidate.month, candidate.day)
    return candidate, False


def _resolve_clock(m: re.Match[str], period: str | None) -> tuple[time, int]:
    """Time of day and a day offset (晚上12点 is midnight, the start of the next day)."""
    if m["hh"] is not None:
        hour, minute, second = int(m["hh"]), int(m["mm"]), int(m["ss"] or 0)
        dotted = False
    else:
        hour = _number(m["h"])
        if m["half"]:
            minute = 30
        elif m["quarter"]:
            minute = 15 if m["quarter"] == "一刻" else 45
        else:
            minute = _number(m["m"]) if m["m"] is not None else 0
        second = 0
        dotted = True
    days = 0
    if period in _EVENING:
        if hour == 12:
            hour, days = 0, 1
        elif hour < 12:
            hour += 12
    elif (period == "中午" and 1 <= hour <= 3) or (period is None and dotted and 1 <= hour <= 6):
        hour += 12
    return time(hour, minute, second), days


def parse_time(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """Read a written time relative to ``now``; returns an aware UTC datetime.

    Raises TimeParseError when the text is not a time we can read.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    raw = text
    text = fold_width(text).strip()
    today = now.astimezone(tz).date()
    day = today
    weekday_rule = False

    date_match = _DATE_RE.match(text)
    if date_match is not None:
        try:
            day, weekday_rule = _resolve_date(date_match, today)
        except ValueError as exc:  # 13月, 2月30日
            raise TimeParseError(raw) from exc
        # 今晚 / 明早: the day word leaves 晚 / 早 behind as the period word.
        rest = text[date_match.end() :].lstrip()
    else:
        rest = text

    clock_match = _CLOCK_RE.fullmatch(rest)
    if clock_match is None:
        raise TimeParseError(raw)
    period = clock_match["period"]
    try:
        clock, extra_days = _resolve_clock(clock_match, period)
    except ValueError as exc:  # 25点, 18:61
        raise TimeParseError(raw) from exc

    local = datetime.combine(day + timedelta(days=extra_days), clock, tzinfo=tz)
    result = local.astimezone(UTC)
    if weekday_rule and result <= now:
        result = datetime.combine(day + timedelta(days=7 + extra_days), clock, tzinfo=tz).astimezone(UTC)
    return result


def parse_duration(text: str) -> timedelta:
    """'30m', '45s', '2h', '1d', '30分钟', '2小时', '半小时', '1h30m' -> timedelta (positive).

    Raises TimeParseError for anything else, including a zero duration.
    """
    cleaned = fold_width(text).strip().replace(" ", "")
    total = 0.0
    pos = 0
    for m in _DURATION_RE.finditer(cleaned):
        if m.start() != pos:
            raise TimeParseError(text)
        pos = m.end()
        num = m["num"]
        if num == "半":
            value = 0.5
        elif num[0].isdigit():
            value = float(num)
        else:
            try:
                value = float(cn2an.cn2an(num, "smart"))
            except ValueError as exc:
                raise TimeParseError(text) from exc
        total += value * _UNIT_SECONDS[_unit_key(m["unit"])]
    if pos == 0 or pos != len(cleaned) or total <= 0:
        raise TimeParseError(text)
    return timedelta(seconds=round(total))


def _unit_key(unit: str) -> str:
    unit = unit.lower()
    if unit[0] in "s秒":
        return "s"
    if unit[0] in "m分":
        return "m"
    if unit[0] in "h小钟":
        return "h"
    return "d"
