"""The leader's 开团 announcement: free-form chat text -> a validated CampaignDraft.

The format is the one leaders already paste into groups, made a little stricter:

    开团 周六水果团
    苹果 12.8元/斤 原价15 库存100 限购5
    阳光玫瑰(葡萄) ¥39.9/盒 不限量
    开始 明天10:00
    截团 明天18:00
    成团 10人
    自提 幸福里东门驿站
    预热 明天9:00
    红包雨 明天9:50 10个 共50元
    提醒 关
    阶梯 苹果 满30份 11.8

Every problem raises AnnouncementError naming the line, so the reply can show the leader what a
good line looks like (templates/messages/campaign/announce_error.j2). Nothing here does I/O.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import cn2an

from bot.groupbuy.group_names import split_refs
from bot.groupbuy.money import CN_DIGITS, MAX_PRICE_FEN, parse_price, parse_price_with_unit, scan_price, yuan
from bot.groupbuy.numerals import MAX_QUANTITY, MAX_STOCK, parse_int
from bot.groupbuy.pickup_points import parse_pickup
from bot.groupbuy.text import fold_width
from bot.groupbuy.timeparse import TimeParseError, parse_time


@dataclass(frozen=True)
class Tier:
    """A lower price that applies once the campaign sells ``min_units`` or has ``min_buyers``."""

    price_fen: int
    min_units: int | None = None
    min_buyers: int | None = None


@dataclass(frozen=True)
class ItemDraft:
    name: str
    price_fen: int
    unit: str = "份"
    original_price_fen: int | None = None
    stock: int | None = None  # None: unlimited
    limit_per_member: int | None = None
    aliases: tuple[str, ...] = ()
    tiers: tuple[Tier, ...] = ()


@dataclass(frozen=True)
class CampaignDraft:
    title: str
    items: tuple[ItemDraft, ...]
    opens_at: datetime | None  # None: opens as soon as the leader confirms
    closes_at: datetime | None
    min_buyers: int | None
    pickup: str | None
    # JSON-able timeline overrides: preheat_at, leader_packets_at, rain {at, count, total_fen},
    # reminders, min_units.
    options: dict[str, Any] = field(default_factory=dict)
    # The leader's groups as she named them (「全部」 for all); empty: where it was sent.
    groups: tuple[str, ...] = ()
    # 自提 entries: (group reference or None, point); see bot.groupbuy.pickup_points.
    pickups: tuple[tuple[str | None, str], ...] = ()


class AnnouncementError(ValueError):
    """Why an announcement could not be read. ``data`` holds what the error template needs."""

    def __init__(self, reason: str, line_no: int | None = None, line: str | None = None, **data: Any) -> None:
        super().__init__(f"{reason} at line {line_no}: {line!r} {data}")
        self.reason = reason
        self.line_no = line_no
        self.line = line
        self.data = data

    def template_vars(self) -> dict[str, Any]:
        return {"reason": self.reason, "line_no": self.line_no, "line": self.line, **self.data}


# --- Line kinds ----------------------------------------------------------------------------------

_HEADER_RE = re.compile(r"^#?\s*开团\s*[:：]?\s*(?P<title>.*)$")

# Synonym -> canonical field name (the Chinese word shown in error messages).
_FIELDS = {
    "开始": "开始",
    "开始时间": "开始",
    "开团时间": "开始",
    "开抢": "开始",
    "开售": "开始",
    "截团": "截团",
    "截团时间": "截团",
    "截止": "截团",
    "截止时间": "截团",
    "结束": "截团",
    "结束时间": "截团",
    "结团": "截团",
    "成团": "成团",
    "成团人数": "成团",
    "自提": "自提",
    "自提点": "自提",
    "自提地址": "自提",
    "提货点": "自提",
    "取货点": "自提",
    "预热": "预热",
    "预热时间": "预热",
    "红包雨": "红包雨",
    "团长红包": "团长红包",
    "发红包": "团长红包",
    "提醒": "提醒",
    "阶梯": "阶梯",
    "阶梯价": "阶梯",
    # Which of the leader's groups it goes to: 「群 全部」「群 1群 3群」, in a group 「同步 全部群」.
    "群": "群",
    "发到": "群",
    "发群": "群",
    "同步": "群",
    "同步到": "群",
    "VIP": "VIP",
    "vip": "VIP",
}
_VIP_EARLY = re.compile(r"(?:提前)?\s*(\d{1,3}|[一二两三四五六七八九十]+)\s*(?:分钟|分)(?:下单|开抢|开团)?")
_FIELD_RE = re.compile(
    r"^(?P<kw>" + "|".join(sorted(map(re.escape, _FIELDS), key=len, reverse=True)) + r")"
    r"(?P<sep>\s*[:：]\s*|\s+|(?=[\d今明后大周星礼本这下中晚凌早傍清夜满开关不" + CN_DIGITS + r"])|$)"
    r"(?P<value>.*)$"
)

# Item attribute words. Longest first so 每人限购 wins over 限购 and 不限量 over 限量.
_ATTR_WORDS = (
    "每人限购",
    "每人最多",
    "每人限",
    "不限量",
    "无限量",
    "原价",
    "库存",
    "限量",
    "限购",
    "别名",
    "无限",
)
_ATTR_SPLIT_RE = re.compile(r"\s?(" + "|".join(_ATTR_WORDS) + r")")
# Words that may be glued to the item name ("苹果原价15") without being part of a name.
_GLUED_WORDS = ("原价", "库存", "限购", "每人限")
_ORIGINAL_RE = re.compile(r"^原价[:：]?(?P<v>.+)$")
_STOCK_RE = re.compile(r"^(?:库存|限量)[:：]?(?P<v>.+)$")
_UNLIMITED = {"不限量", "无限量", "无限"}
_LIMIT_RE = re.compile(r"^(?:每人限购|每人最多|每人限|限购)[:：]?(?P<v>.+)$")
_ALIAS_RE = re.compile(r"^别名[:：]?(?P<v>.+)$")
_NAME_ALIAS_RE = re.compile(r"^(?P<name>[^()]+?)\s*\((?P<aliases>[^()]+)\)$")
_ALIAS_SEP_RE = re.compile(r"[/、,，|]")
_BULLET_RE = re.compile(r"^\d{1,2}[、.)]\s*(?=\D)")
# A letter code in front of the name (A 套餐, B. 红烧肉, C、宫保鸡丁): members order by it (B 1份).
_CODE_RE = re.compile(r"^(?P<code>[A-Za-z])\s*(?:[.、)）:：]\s*|\s+)(?=[^\sA-Za-z0-9])")

_COUNT_RE = re.compile(rf"^(?P<n>\d+|[{CN_DIGITS}]+)\s*(?P<unit>[^\d\s]{{0,3}})$")
_BUYER_UNITS = {"", "人", "位", "户", "名"}

_TIER_STEP_RE = re.compile(
    rf"满\s*(?P<n>\d+|[{CN_DIGITS}]+)\s*(?P<unit>人|位|户|名|份|件|个|斤|盒|箱|袋|单)(?:及以上|以上)?\s*[:：,，]?\s*"
)
_DISCOUNT_RE = re.compile(r"^(?P<d>\d(?:\.\d)?)折$")

_RAIN_TOTAL_RE = re.compile(r"(?:总共|合计|总额|总计|共|总)\s*[:：]?\s*")
_RAIN_COUNT_RE = re.compile(rf"(?<![\d:.])(?P<n>\d+|[{CN_DIGITS}]+)\s*(?:个|包)(?:红包)?")

_SWITCH = {
    "关": False,
    "关闭": False,
    "不要": False,
    "不用": False,
    "否": False,
    "off": False,
    "no": False,
    "开": True,
    "开启": True,
    "打开": True,
    "要": True,
    "是": True,
    "on": True,
    "yes": True,
}

_TIME_FIELDS = {"开始", "截团", "预热", "团长红包"}


# --- Helpers -------------------------------------------------------------------------------------


def _count(text: str) -> tuple[int, str] | None:
    """'100' / '100份' / '十人' -> (number, unit word); None when not a whole number."""
    m = _COUNT_RE.match(text.strip())
    if m is None:
        return None
    n = m["n"]
    if n.isdigit():
        return int(n), m["unit"]
    try:
        value = cn2an.cn2an(n, "smart")
    except ValueError:
        return None
    if value != int(value):
        return None
    return int(value), m["unit"]


def _show(when: datetime, tz: ZoneInfo) -> str:
    local = when.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _key(name: str) -> str:
    return name.strip().casefold()


@dataclass
class _Line:
    no: int
    raw: str  # as the leader wrote it, for error messages
    text: str  # width-folded and stripped, for parsing

    def error(self, reason: str, **data: Any) -> AnnouncementError:
        return AnnouncementError(reason, self.no, self.raw, **data)


@dataclass
class _TierLine:
    line: _Line
    item: str | None
    steps: list[tuple[int, str, int]]  # (threshold, unit word, price_fen or -discount permille)


# --- Item lines ----------------------------------------------------------------------------------


def _attr_at(text: str, pos: int, words: tuple[str, ...]) -> bool:
    return text.startswith(words, pos)


def _relaxed_marked_price(text: str, pos: int) -> bool:
    """A price with 元/块/¥ starting at ``pos``, even if more text is glued after it."""
    m = re.match(rf"[¥￥]\s*\d|(?:\d+(?:\.\d+)?|[{CN_DIGITS}]+)\s*(?:元|块|毛|角)", text[pos:])
    return m is not None


def _name_end(text: str) -> int | None:
    """Where the item name stops and the price/attributes begin; None if nothing follows the name."""
    for pos in range(1, len(text)):
        prev = text[pos - 1]
        if prev.isspace():
            if text[pos].isspace():
                continue
            if _attr_at(text, pos, _ATTR_WORDS) or _relaxed_marked_price(text, pos):
                return pos
            if scan_price(text, pos) is not None:
                return pos
        elif prev not in "0123456789.¥￥" + CN_DIGITS and (
            _attr_at(text, pos, _GLUED_WORDS) or _relaxed_marked_price(text, pos)
        ):
            return pos
    return None


def _split_name(name: str) -> tuple[str, tuple[str, ...]]:
    m = _NAME_ALIAS_RE.match(name)
    if m is None:
        return name.strip(), ()
    aliases = tuple(a.strip() for a in _ALIAS_SEP_RE.split(m["aliases"]) if a.strip())
    return m["name"].strip(), aliases


def _parse_item(line: _Line) -> ItemDraft:
    text = _BULLET_RE.sub("", line.text)
    code = None
    if m := _CODE_RE.match(text):
        code, text = m["code"].upper(), text[m.end() :]
    end = _name_end(text)
    raw_name = text[:end].strip() if end is not None else text.strip()
    name, aliases = _split_name(raw_name)
    if end is None:
        if parse_price_with_unit(text) is not None:
            raise line.error("no_item_name")
        raise line.error("bad_item", name=name)

    rest = re.sub(r"(\d)\s+(元|块)", r"\1\2", text[end:])
    rest = _ATTR_SPLIT_RE.sub(lambda m: " " + m[1], rest)
    tokens = rest.split()
    # "库存 100": an attribute word on its own takes the next token as its value.
    merged: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.rstrip(":：") in _ATTR_WORDS and tok.rstrip(":：") not in _UNLIMITED and i + 1 < len(tokens):
            merged.append(tok + tokens[i + 1])
            i += 2
        else:
            merged.append(tok)
            i += 1

    price: int | None = None
    unit = "份"
    original: int | None = None
    stock: int | None = None
    limit: int | None = None
    extra_aliases: list[str] = []
    for tok in merged:
        if m := _ORIGINAL_RE.match(tok):
            parsed = parse_price_with_unit(m["v"])
            if parsed is None or parsed[0] <= 0:
                raise line.error("bad_number", field="原价", value=m["v"], name=name)
            original = _money_bound(line, "原价", m["v"], parsed[0], name)
        elif m := _STOCK_RE.match(tok):
            stock = _bound(line, "库存", m["v"], _positive(line, "库存", m["v"], name), MAX_STOCK, name)
        elif tok in _UNLIMITED:
            stock = None
        elif m := _LIMIT_RE.match(tok):
            limit = _bound(line, "限购", m["v"], _positive(line, "限购", m["v"], name), MAX_QUANTITY, name)
        elif m := _ALIAS_RE.match(tok):
            extra_aliases += [a.strip() for a in _ALIAS_SEP_RE.split(m["v"]) if a.strip()]
        elif price is None and (parsed := parse_price_with_unit(tok)) is not None:
            price, unit = parsed[0], parsed[1] or "份"
            if price <= 0:
                raise line.error("bad_number", field="价格", value=tok, name=name)
            _money_bound(line, "价格", tok, price, name)
        else:
            raise line.error("unknown_word", word=tok, name=name)
    if price is None:
        raise line.error("bad_item", name=name)
    if original is not None and original < price:
        raise line.error("original_below_price", name=name, price=yuan(price), original=yuan(original))
    return ItemDraft(
        name=name,
        price_fen=price,
        unit=unit,
        original_price_fen=original,
        stock=stock,
        limit_per_member=limit,
        aliases=tuple(dict.fromkeys(aliases + tuple(extra_aliases) + ((code,) if code else ()))),
    )


def _bound(line: _Line, field_name: str, value: str, number: int, most: int, name: str | None = None) -> int:
    """A number no larger than ``most``; a larger one is refused before any database sees it."""
    if number > most:
        raise line.error("too_big", field=field_name, value=value, most=f"{most:,}", name=name)
    return number


def _money_bound(line: _Line, field_name: str, value: str, fen: int, name: str | None = None) -> int:
    if fen > MAX_PRICE_FEN:
        raise line.error("too_big", field=field_name, value=value, most=f"{yuan(MAX_PRICE_FEN)}元", name=name)
    return fen


def _positive(line: _Line, field_name: str, value: str, name: str | None = None) -> int:
    parsed = _count(value)
    if parsed is None or parsed[0] <= 0:
        raise line.error("bad_number", field=field_name, value=value, name=name)
    return parsed[0]


# --- Field lines ---------------------------------------------------------------------------------


def _parse_tier_line(line: _Line, value: str) -> _TierLine:
    first = _TIER_STEP_RE.search(value)
    if first is None:
        raise line.error("bad_tier", problem="syntax")
    item = value[: first.start()].strip() or None
    steps: list[tuple[int, str, int]] = []
    pos = first.start()
    while pos < len(value):
        m = _TIER_STEP_RE.match(value, pos)
        if m is None:
            raise line.error("bad_tier", problem="syntax")
        nxt = _TIER_STEP_RE.search(value, m.end())
        price_text = value[m.end() : nxt.start() if nxt else len(value)].strip()
        threshold = _count(m["n"])
        if threshold is None or threshold[0] <= 0:
            raise line.error("bad_tier", problem="syntax")
        _bound(line, "阶梯", m["n"], threshold[0], MAX_STOCK)
        if d := _DISCOUNT_RE.match(price_text):
            tenths = Decimal(d["d"])
            if not 0 < tenths < 10:
                raise line.error("bad_tier", problem="syntax")
            steps.append((threshold[0], m["unit"], -int(tenths * 100)))
        else:
            fen = parse_price(price_text)
            if fen is None or fen <= 0:
                raise line.error("bad_tier", problem="syntax")
            steps.append((threshold[0], m["unit"], _money_bound(line, "阶梯", price_text, fen)))
        pos = nxt.start() if nxt else len(value)
    return _TierLine(line=line, item=item, steps=steps)


def _apply_tiers(items: list[ItemDraft], tier_lines: list[_TierLine]) -> list[ItemDraft]:
    by_key: dict[str, int] = {}
    for idx, item in enumerate(items):
        for n in (item.name, *item.aliases):
            by_key[_key(n)] = idx
    tiers: dict[int, list[Tier]] = {}
    for tl in tier_lines:
        if tl.item is None:
            if len(items) != 1:
                raise tl.line.error("bad_tier", problem="which_item", names="、".join(i.name for i in items))
            idx = 0
        elif (found := by_key.get(_key(tl.item))) is None:
            raise tl.line.error(
                "bad_tier", problem="unknown_item", item=tl.item, names="、".join(i.name for i in items)
            )
        else:
            idx = found
        item = items[idx]
        for threshold, unit, price in tl.steps:
            if price < 0:  # a discount in permille of the full price: 7折 -> -700
                price = int((Decimal(item.price_fen) * -price / 1000).quantize(Decimal(1), ROUND_HALF_UP))
            if price >= item.price_fen:
                raise tl.line.error(
                    "bad_tier", problem="not_cheaper", item=item.name, price=yuan(item.price_fen)
                )
            tier = (
                Tier(price, min_buyers=threshold)
                if unit in _BUYER_UNITS
                else Tier(price, min_units=threshold)
            )
            existing = tiers.setdefault(idx, [])
            if any(t.min_buyers == tier.min_buyers and t.min_units == tier.min_units for t in existing):
                raise tl.line.error("bad_tier", problem="duplicate", item=item.name)
            existing.append(tier)
    out = list(items)
    for idx, found_tiers in tiers.items():
        ordered = sorted(found_tiers, key=lambda t: (t.min_units is None, t.min_units or t.min_buyers or 0))
        # Within one kind a higher threshold must not cost more, or the ladder goes backwards.
        for a, b in itertools.pairwise(ordered):
            if (a.min_units is None) == (b.min_units is None) and b.price_fen > a.price_fen:
                line = next(
                    tl.line for tl in tier_lines if tl.item is None or by_key.get(_key(tl.item)) == idx
                )
                raise line.error("bad_tier", problem="order", item=out[idx].name)
        out[idx] = ItemDraft(**{**out[idx].__dict__, "tiers": tuple(ordered)})
    return out


def _parse_rain(line: _Line, value: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, int, int]:
    total: int | None = None
    rest = value
    if (m := _RAIN_TOTAL_RE.search(rest)) and (p := scan_price(rest, m.end())) is not None:
        total, rest = p.fen, rest[: m.start()] + " " + rest[p.end :]
    else:
        for tok in rest.split():
            p = scan_price(tok)
            if p is not None and p.marked and p.end == len(tok):
                total, rest = p.fen, rest.replace(tok, " ", 1)
                break
    c = _RAIN_COUNT_RE.search(rest)
    if total is None or c is None:
        raise line.error("bad_rain", missing="total" if total is None else "count")
    count = _count(c["n"])
    rest = rest[: c.start()] + " " + rest[c.end() :]
    if count is None or count[0] <= 0:
        raise line.error("bad_number", field="红包个数", value=c[0])
    if total <= 0:
        raise line.error("bad_number", field="红包总额", value=yuan(total))
    _money_bound(line, "红包总额", yuan(total), total)
    _bound(line, "红包个数", c[0], count[0], MAX_QUANTITY)
    if count[0] > total:
        raise line.error("rain_too_many_packets", count=count[0], total=yuan(total))
    at = _time(line, "红包雨", " ".join(rest.split()), now, tz)
    return at, count[0], total


def _time(line: _Line, field_name: str, value: str, now: datetime, tz: ZoneInfo) -> datetime:
    try:
        when = parse_time(value, now, tz)
    except TimeParseError:
        raise line.error("bad_time", field=field_name, value=value) from None
    if when < now:
        raise line.error("time_in_past", field=field_name, when=_show(when, tz), now=_show(now, tz))
    return when


# --- The announcement ----------------------------------------------------------------------------


def parse_announcement(text: str, now: datetime, tz: ZoneInfo) -> CampaignDraft:
    """Read a 开团 announcement. Raises AnnouncementError naming the first line that is wrong."""
    lines = [
        _Line(no, raw.strip(), fold_width(raw).strip())
        for no, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1)
    ]
    lines = [ln for ln in lines if ln.text]
    if not lines:
        raise AnnouncementError("no_header")
    head = _HEADER_RE.match(lines[0].text)
    if head is None:
        raise lines[0].error("no_header")
    title = head["title"].strip()
    body = lines[1:]
    if not title:
        # "开团" alone, the title on the next line (as long as that line is neither a field nor an item).
        if (
            not body
            or _FIELD_RE.match(body[0].text)
            or _name_end(_BULLET_RE.sub("", body[0].text)) is not None
        ):
            raise lines[0].error("no_title")
        title, body = body[0].text, body[1:]

    items: list[ItemDraft] = []
    item_lines: dict[str, int] = {}
    seen_fields: dict[str, int] = {}
    times: dict[str, tuple[datetime, _Line]] = {}
    min_buyers: int | None = None
    pickup: str | None = None
    pickups: tuple[tuple[str | None, str], ...] = ()
    groups: tuple[str, ...] = ()
    options: dict[str, Any] = {}
    tier_lines: list[_TierLine] = []
    rain: tuple[datetime, _Line] | None = None
    vip_line: _Line | None = None

    for line in body:
        fm = _FIELD_RE.match(line.text)
        if fm is None and _name_end(_BULLET_RE.sub("", line.text)) is None:
            # No price anywhere: a field word glued to its value ("自提幸福里") is still a field.
            fm = re.match(r"^(?P<kw>自提点|自提|提货点|取货点)(?P<sep>)(?P<value>.+)$", line.text)
        if fm is None:
            item = _parse_item(line)
            for n in (item.name, *item.aliases):
                if _key(n) in item_lines:
                    raise line.error("duplicate_item", name=n, first_line=item_lines[_key(n)])
            for n in (item.name, *item.aliases):
                item_lines[_key(n)] = line.no
            items.append(item)
            continue

        name = _FIELDS[fm["kw"]]
        value = fm["value"].strip()
        if name != "阶梯":
            if name in seen_fields:
                raise line.error("duplicate_field", field=name, first_line=seen_fields[name])
            seen_fields[name] = line.no
        if not value:
            raise line.error("empty_value", field=name)

        if name in _TIME_FIELDS:
            times[name] = (_time(line, name, value, now, tz), line)
        elif name == "红包雨":
            at, count, total = _parse_rain(line, value, now, tz)
            rain = (at, line)
            options["rain"] = {"at": at.isoformat(), "count": count, "total_fen": total}
        elif name == "成团":
            parsed = _count(value)
            if parsed is None or parsed[0] <= 0:
                raise line.error("bad_number", field="成团", value=value)
            _bound(line, "成团", value, parsed[0], MAX_STOCK)
            if parsed[1] in _BUYER_UNITS:
                min_buyers = parsed[0]
            else:
                options["min_units"] = parsed[0]
        elif name == "自提":
            pickup, pickups = value, parse_pickup(value)
        elif name == "群":
            groups = split_refs(value)
        elif name == "VIP":
            # VIP 提前10分钟: repeat buyers may order this long before everyone else.
            vip = _VIP_EARLY.fullmatch(value)
            minutes = parse_int(vip.group(1)) if vip else None
            if minutes is None or not 0 < minutes <= 720:
                raise line.error("bad_vip", value=value)
            options["vip_early_minutes"] = minutes
            vip_line = line
        elif name == "提醒":
            if value.lower() not in _SWITCH:
                raise line.error("bad_switch", field="提醒", value=value)
            options["reminders"] = _SWITCH[value.lower()]
        else:
            tier_lines.append(_parse_tier_line(line, value))

    if not items:
        raise AnnouncementError("no_items")

    opens_at = times["开始"][0] if "开始" in times else None
    closes_at = times["截团"][0] if "截团" in times else None
    if opens_at and closes_at and closes_at <= opens_at:
        raise times["截团"][1].error(
            "close_before_open", opens=_show(opens_at, tz), closes=_show(closes_at, tz)
        )
    if "预热" in times:
        preheat_at, line = times["预热"]
        if opens_at is None:
            raise line.error("preheat_without_open")
        if preheat_at >= opens_at:
            raise line.error("preheat_after_open", preheat=_show(preheat_at, tz), opens=_show(opens_at, tz))
        options["preheat_at"] = preheat_at.isoformat()
    if "团长红包" in times:
        # The leader's own WeChat red packets: the bot announces and counts down, the leader sends.
        packets_at, line = times["团长红包"]
        if closes_at and packets_at >= closes_at:
            raise line.error(
                "packets_after_close", packets=_show(packets_at, tz), closes=_show(closes_at, tz)
            )
        options["leader_packets_at"] = packets_at.isoformat()
    if vip_line is not None and opens_at is None:
        raise vip_line.error("vip_without_open")
    if rain and closes_at and rain[0] >= closes_at:
        raise rain[1].error("rain_after_close", rain=_show(rain[0], tz), closes=_show(closes_at, tz))

    if tier_lines:
        items = _apply_tiers(items, tier_lines)
    return CampaignDraft(
        title=title,
        items=tuple(items),
        opens_at=opens_at,
        closes_at=closes_at,
        min_buyers=min_buyers,
        pickup=pickup,
        options=options,
        groups=groups,
        pickups=pickups,
    )
