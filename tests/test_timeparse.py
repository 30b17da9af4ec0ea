from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.groupbuy.timeparse import TimeParseError, parse_duration, parse_time

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=TZ)  # a Friday morning


def local(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


TIMES = [
    ("18:00", local(2026, 12, 4, 18)),
    ("18：00", local(2026, 12, 4, 18)),  # full-width colon
    ("18点", local(2026, 12, 4, 18)),
    ("18点半", local(2026, 12, 4, 18, 30)),
    ("18点30分", local(2026, 12, 4, 18, 30)),
    ("六点", local(2026, 12, 4, 18)),  # a bare 1-6 o'clock is the evening
    ("晚上六点", local(2026, 12, 4, 18)),
    ("今晚六点", local(2026, 12, 4, 18)),
    ("今晚6点半", local(2026, 12, 4, 18, 30)),
    ("六点一刻", local(2026, 12, 4, 18, 15)),
    ("六点零五", local(2026, 12, 4, 18, 5)),
    ("下午3点", local(2026, 12, 4, 15)),
    ("中午12点", local(2026, 12, 4, 12)),
    ("中午1点", local(2026, 12, 4, 13)),
    ("8点", local(2026, 12, 4, 8)),  # past already, but still today: the caller rejects it
    ("6:00", local(2026, 12, 4, 6)),  # colon form is a 24-hour clock
    ("明早六点", local(2026, 12, 5, 6)),
    ("晚上12点", local(2026, 12, 5, 0)),
    ("明天18:00", local(2026, 12, 5, 18)),
    ("明天 晚上8点", local(2026, 12, 5, 20)),
    ("后天10:00", local(2026, 12, 6, 10)),
    ("大后天 9点", local(2026, 12, 7, 9)),
    ("今天 20:30", local(2026, 12, 4, 20, 30)),
    ("周六 18:00", local(2026, 12, 5, 18)),
    ("星期六18点", local(2026, 12, 5, 18)),
    ("礼拜天 10:00", local(2026, 12, 6, 10)),
    ("周日 10:00", local(2026, 12, 6, 10)),
    ("周五 18:00", local(2026, 12, 4, 18)),  # today, still ahead
    ("周五 8:00", local(2026, 12, 11, 8)),  # today's 8:00 is gone: next Friday
    ("周四 10:00", local(2026, 12, 10, 10)),
    ("下周一 10:00", local(2026, 12, 7, 10)),
    ("下周五 8点", local(2026, 12, 11, 8)),
    ("12月5日 18:00", local(2026, 12, 5, 18)),
    ("12月5号 18:00", local(2026, 12, 5, 18)),
    ("十二月五日 晚上八点", local(2026, 12, 5, 20)),
    ("12-05 18:00", local(2026, 12, 5, 18)),
    ("12/05 18:00", local(2026, 12, 5, 18)),
    ("1月3日 10:00", local(2027, 1, 3, 10)),  # already gone this year: next year
    ("2026-12-05 18:00", local(2026, 12, 5, 18)),
    ("2026年12月5日 18:00", local(2026, 12, 5, 18)),
]


@pytest.mark.parametrize(("text", "expected"), TIMES)
def test_parse_time(text, expected):
    got = parse_time(text, NOW, TZ)
    assert got.tzinfo is UTC
    assert got == expected


def test_now_in_another_zone_uses_the_local_date():
    # 17:30 UTC on Dec 3 is already Dec 4 01:30 in Shanghai: 明天 is Dec 5.
    now = datetime(2026, 12, 3, 17, 30, tzinfo=UTC)
    assert parse_time("明天10:00", now, TZ) == local(2026, 12, 5, 10)


@pytest.mark.parametrize(
    "text", ["", "明天", "abc", "25:00", "18:61", "2月30日 10:00", "13月1日 10:00", "下下周 10点", "马上"]
)
def test_unreadable_time(text):
    with pytest.raises(TimeParseError):
        parse_time(text, NOW, TZ)


DURATIONS = [
    ("30m", timedelta(minutes=30)),
    ("45s", timedelta(seconds=45)),
    ("2h", timedelta(hours=2)),
    ("1d", timedelta(days=1)),
    ("30分钟", timedelta(minutes=30)),
    ("2小时", timedelta(hours=2)),
    ("两个小时", timedelta(hours=2)),
    ("半小时", timedelta(minutes=30)),
    ("1.5h", timedelta(minutes=90)),
    ("1h30m", timedelta(minutes=90)),
    ("1小时30分钟", timedelta(minutes=90)),
    ("三十分钟", timedelta(minutes=30)),
    ("2 hours", timedelta(hours=2)),
    ("3天", timedelta(days=3)),
]


@pytest.mark.parametrize(("text", "expected"), DURATIONS)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "0m", "abc", "30x", "m30", "1h 后"])
def test_unreadable_duration(text):
    with pytest.raises(TimeParseError):
        parse_duration(text)
