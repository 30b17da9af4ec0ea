"""Pure rules for keeping members: VIP levels, points, helpful messages, comment words, quiet hours."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from bot.groupbuy.loyalty_config import VipLevel


def vip_level(campaigns: int, levels: Sequence[VipLevel]) -> str | None:
    """The highest level whose repeat-purchase count the member reaches (None: not a VIP)."""
    reached = [lv for lv in levels if campaigns >= lv.campaigns]
    return max(reached, key=lambda lv: lv.campaigns).name if reached else None


def points_for(fen: int, per_yuan: int) -> int:
    """Points for an amount paid: whole yuan only (12.80 yuan at 1 per yuan is 12)."""
    return max(fen, 0) // 100 * per_yuan


def redeem_fen(points: int, points_per_yuan: int) -> int:
    """The coupon a number of points buys, in fen."""
    return points * 100 // points_per_yuan


# Laughter, thanks and one-word reactions are friendly but not helpful.
_FILLER = re.compile(r"^[哈呵嘿嘻哇哦噢嗯啊呀好的谢感恩收到了👍🙏😄😂🌹\s!！~～。.,，]+$")
_QUESTION = re.compile(r"([?？]|吗|呢|么|没有|几点|多少|怎么|什么|哪)\s*[~～!！。.]*$")


def is_helpful(text: str, min_chars: int) -> bool:
    """A group message that helps neighbours: says something (not a question, not filler).

    「苹果很甜，昨天买过，推荐」 and 「驿站今天开到晚上九点」 count; 「哈哈哈」 and 「几点到？」 do not.
    The caller has already ruled out orders and commands.
    """
    clean = text.strip()
    if len(clean) < min_chars or (clean.startswith("@") and len(clean.split(maxsplit=1)) == 1):
        return False
    return not _FILLER.match(clean) and not _QUESTION.search(clean)


_STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "我",
        "也",
        "很",
        "都",
        "就",
        "还",
        "有",
        "在",
        "和",
        "又",
        "这",
        "那",
        "个",
        "吧",
        "啊",
        "呀",
        "呢",
        "吗",
        "哦",
        "嗯",
        "不",
        "没",
        "太",
        "挺",
        "非常",
        "比较",
        "一点",
        "有点",
        "一个",
        "这次",
        "这个",
        "那个",
        "我们",
        "你们",
        "他们",
        "下次",
        "就是",
        "还是",
        "但是",
        "而且",
        "然后",
        "可以",
        "感觉",
        "觉得",
        "东西",
        "团长",
    ]
)


@cache
def _jieba():  # type: ignore[no-untyped-def]
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # its dictionary load is chatty on stderr
    return jieba


def common_words(comments: Iterable[str], limit: int = 5) -> list[tuple[str, int]]:
    """The words members use most in their comments (jieba segmentation), most frequent first.

    A word counts once per comment; single characters, numbers and filler words are left out.
    """
    counts: Counter[str] = Counter()
    for comment in comments:
        words = {
            w.strip()
            for w in _jieba().lcut(comment)
            if len(w.strip()) >= 2 and w.strip() not in _STOPWORDS and not w.strip().isdigit()
        }
        words = {w for w in words if re.search(r"[\u4e00-\u9fffA-Za-z]", w)}
        counts.update(words)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def out_of_quiet(when: datetime, start: time, end: time, tz: ZoneInfo) -> datetime:
    """``when``, or the end of the quiet hours it falls in (quiet may span midnight)."""
    local = when.astimezone(tz)
    t = local.time()
    quiet = (start <= t or t < end) if start > end else (start <= t < end)
    if not quiet:
        return when
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz)
