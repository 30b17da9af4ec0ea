"""THE command grammar: every command word, alias, role and argument model lives here.

Handlers never compare strings themselves; they ask this module. A command is a leading
word (with aliases) followed by its arguments. Words are matched longest first so that
``取消团`` is not read as ``取消`` + ``团``.

``strict`` commands answer a malformed argument with their usage text; loose ones (short
everyday words such as 改 or 取消) treat a message they cannot read as chit-chat and stay
silent, so 「改天再说」 never gets a reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from bot.groupbuy.numerals import MAX_STOCK, parse_int


class Level(IntEnum):
    MEMBER = 0
    ADMIN = 1
    LEADER = 2


@dataclass(frozen=True)
class CommandSpec:
    key: str  # stable id: usage template messages/usage/<key>.j2, help entries
    words: tuple[str, ...]
    level: Level = Level.MEMBER
    strict: bool = True
    # Where it may be used: "group", "private" or "any".
    scope: str = "any"
    # Listed by 帮助 from this level on (default: ``level``); 绑定 is open to anyone, since
    # a leader is nobody yet in a new group, but it is a leader's word.
    help_level: Level | None = None

    @property
    def shown_from(self) -> Level:
        return self.level if self.help_level is None else self.help_level


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("open", ("开团",), Level.ADMIN),
    CommandSpec("close", ("截团", "结团", "截单"), Level.ADMIN),
    CommandSpec("cancel_campaign", ("取消团", "撤团"), Level.ADMIN),
    CommandSpec("add_stock", ("加库存", "补库存", "补货"), Level.ADMIN),
    CommandSpec("tally", ("统计", "汇总", "接龙统计"), Level.ADMIN),
    CommandSpec("admin", ("管理员",), Level.LEADER, scope="group"),
    CommandSpec("help", ("帮助", "菜单", "help", "功能"), Level.MEMBER),
    CommandSpec("cancel_order", ("取消", "不要了", "退单"), Level.MEMBER, strict=False),
    CommandSpec("change", ("改", "修改", "改成"), Level.MEMBER, strict=False),
    CommandSpec("my_orders", ("我的订单", "查订单", "查单", "我的"), Level.MEMBER, strict=False),
    # The campaign timeline (issue 4): leader's view and edits, rain grabs, payments.
    CommandSpec("timeline", ("时间线", "时间表", "日程"), Level.ADMIN),
    CommandSpec("timeline_skip", ("跳过",), Level.ADMIN, strict=False),
    CommandSpec("timeline_move", ("改期", "移动"), Level.ADMIN, strict=False),
    CommandSpec("grab", ("抢",), Level.MEMBER, strict=False, scope="group"),
    CommandSpec("mark_paid", ("收款", "确认收款"), Level.ADMIN, strict=False),
    CommandSpec(
        "report_paid", ("已付款", "已付", "付了", "已转账"), Level.MEMBER, strict=False, scope="group"
    ),
    # After the sale (issue 5): recap, pickup, after-sales, ratings, member history.
    CommandSpec("recap", ("战报", "复盘"), Level.ADMIN),
    CommandSpec("verify", ("核销",), Level.ADMIN),
    CommandSpec("pickup_remind", ("取货提醒", "提醒取货"), Level.LEADER),
    CommandSpec("not_collected", ("未取货", "没取货"), Level.LEADER),
    CommandSpec("support", ("售后",), Level.MEMBER),
    CommandSpec("rate", ("评价",), Level.MEMBER, strict=False),
    CommandSpec("members", ("会员",), Level.LEADER, strict=False, scope="private"),
    # WeChat 接龙 (issue 3): the leader decides lines that touch someone else's entry.
    CommandSpec("jielong_confirm", ("确认",), Level.LEADER, strict=False),
    CommandSpec("jielong_reject", ("拒绝",), Level.LEADER, strict=False),
    # The leader's groups as one: bind in chat, list them.
    CommandSpec(
        "bind",
        ("绑定", "绑定本群", "绑定群"),
        Level.MEMBER,
        strict=False,
        scope="group",
        help_level=Level.LEADER,
    ),
    CommandSpec("unbind", ("解绑", "解绑本群", "解除绑定"), Level.LEADER, strict=False, scope="group"),
    CommandSpec("my_groups", ("我的群", "群列表"), Level.LEADER, strict=False),
    CommandSpec("broadcast", ("群发",), Level.LEADER),
    CommandSpec("own_post", ("定时", "定时发"), Level.ADMIN),
    CommandSpec(
        "pickup_choice", ("自提点", "选自提点", "换自提点"), Level.MEMBER, strict=False, scope="group"
    ),
    # Keeping members: open tickets, win-back, points and sign-in, invitations.
    CommandSpec("tickets", ("售后单", "工单"), Level.ADMIN),
    CommandSpec("winback", ("召回",), Level.LEADER),
    CommandSpec("unsubscribe", ("退订", "取消订阅"), Level.MEMBER, strict=False),
    CommandSpec("sign_in", ("签到", "打卡"), Level.MEMBER, strict=False),
    CommandSpec("my_points", ("我的积分", "查积分", "积分"), Level.MEMBER, strict=False),
    CommandSpec("redeem", ("积分兑换", "兑换积分"), Level.MEMBER),
    CommandSpec("invites", ("邀请榜", "邀请排行", "邀请排行榜"), Level.MEMBER, strict=False),
    # The leader's console on the phone: a one-time link in private chat, and logging out.
    CommandSpec("console", ("后台", "管理后台"), Level.ADMIN, strict=False),
    CommandSpec("console_logout", ("退出后台",), Level.ADMIN, strict=False),
)


def _words_by_first_char() -> dict[str, list[tuple[str, CommandSpec]]]:
    """Command words by their first (lower-cased) character, longest first. Most messages are
    orders and chat whose first character starts no command: one look-up dismisses them."""
    by_first: dict[str, list[tuple[str, CommandSpec]]] = {}
    words = sorted(((word, spec) for spec in COMMANDS for word in spec.words), key=lambda p: -len(p[0]))
    for word, spec in words:
        by_first.setdefault(word[0].lower(), []).append((word, spec))
    return by_first


_BY_FIRST = _words_by_first_char()
COMMAND_BY_KEY = {spec.key: spec for spec in COMMANDS}


@dataclass(frozen=True)
class Invocation:
    spec: CommandSpec
    word: str
    rest: str  # the arguments, stripped; multi-line for 开团


class UsageError(Exception):
    """The arguments of a strict command could not be read: reply with its usage."""

    def __init__(self, key: str, **data: object) -> None:
        super().__init__(key)
        self.key = key
        self.data = data


# Words glued to a command word that make it talk, not a command: 「截团了吗」「统计一下人数」
# 「核销怎么弄」「没取货的人真多」「菜单呢」. Only the first line counts (开团's items follow).
_TALK = re.compile(
    r"^(了|一下|的|是|还|都|也|就|怎|如何|啥|什么|为什么|谁|哪|吗|呢|吧|啊|呀|啦|嘛|没|不)"
    r"|(吗|呢|吧|啊|呀|啦|嘛|没|没有|一下|[?？])$"
    r"|怎么|如何|什么|为什么|为啥"
)


def match_command(text: str) -> Invocation | None:
    """The command a message starts with, or None. Case-insensitive for Latin words."""
    head = text.lstrip()
    folded = head.lower()
    for word, spec in _BY_FIRST.get(folded[:1], ()):
        if folded.startswith(word.lower()):
            rest = head[len(word) :]
            glued = bool(rest) and not rest[0].isspace()
            # A loose word must stand alone or be followed by a space/argument, never be
            # the start of an ordinary sentence (我的订单 yes, 我的天 no).
            if glued and spec.key == "my_orders":
                if re.fullmatch(r"[呢吗嘛啊?？!！。]+", rest.strip()):
                    return Invocation(spec, word, "")  # 「我的订单呢？」 is still asking for them
                continue
            if glued and spec.key != "my_orders" and _TALK.search(rest.split("\n", 1)[0].strip()):
                return None
            return Invocation(spec, word, rest.strip())
    return None


def small_number(text: str) -> int | None:
    """A plain number of at most 9 ASCII digits (「²」, 「①」 and 20-digit ids are not)."""
    text = text.strip()
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) else None


# --- argument models ---------------------------------------------------------------


@dataclass(frozen=True)
class AddStockArgs:
    item: str
    quantity: int


# The unit after the number is optional, and never a multiplier (「1万」 is not 1).
_ITEM_QTY = re.compile(
    r"^(?P<item>.+?)\s*[x×*+]?\s*(?P<qty>[0-9零一二两俩三四五六七八九十百千]+)\s*(?:[^\s0-9万亿千百十]{1,2})?$"
)


def parse_add_stock(rest: str) -> AddStockArgs:
    """``加库存 苹果 20`` / ``加库存 苹果20斤``."""
    match = _ITEM_QTY.match(rest.strip())
    digits = match.group("qty") if match else ""
    qty = int(digits) if digits.isdigit() else parse_int(digits)
    if not match or qty is None or qty <= 0:
        raise UsageError("add_stock")
    if qty > MAX_STOCK:
        raise UsageError("add_stock", too_big=digits, most=f"{MAX_STOCK:,}")
    return AddStockArgs(match.group("item").strip(), qty)


@dataclass(frozen=True)
class AdminArgs:
    add: bool


def parse_admin(rest: str, mentions: tuple[str, ...]) -> AdminArgs:
    """``管理员 添加 @小陈`` / ``管理员 删除 @小陈`` — the person comes from the @mention's id."""
    word = rest.split()[0] if rest.split() else ""
    if not mentions or word not in {"添加", "增加", "设置", "删除", "移除", "取消"}:
        raise UsageError("admin")
    return AdminArgs(add=word in {"添加", "增加", "设置"})


def parse_campaign_ref(rest: str, key: str) -> int | None:
    """An optional campaign number after a command: ``截团`` or ``截团 3`` / ``截团 #3``."""
    rest = rest.strip().lstrip("#").strip()
    if not rest:
        return None
    if (number := small_number(rest)) is not None:
        return number
    raise UsageError(key)


# --- timeline, red packets and payments (issue 4) ------------------------------------------

_TL_NUM = r"(\d+|[零一二两三四五六七八九十]+)"
_TL_UNIT = r"(小时|个小时|分钟|分)"
_TL_WORDS: tuple[tuple[str, str], ...] = (
    (r"预热", "preheat"),
    (r"(团长红包|发红包)", "leader_packets"),
    (r"红包雨?(开始)?", "rain_start"),
    (r"(开团|开始|开抢)", "open"),
    (r"(截团|结团|截单)", "close"),
    (r"(销售)?播报", "sales"),
)
_TL_PAY = re.compile(rf"^催付{_TL_NUM}?$")
_TL_OWN = re.compile(r"^定时(\d{1,4})$")
_TL_COUNTDOWN = re.compile(rf"^倒计时{_TL_NUM}{_TL_UNIT}?$")
_TL_BEFORE_OPEN = re.compile(rf"^(开团前|提前){_TL_NUM}{_TL_UNIT}(提醒)?$")
_TL_LAST_CALL = re.compile(rf"^(最后|截团前){_TL_NUM}{_TL_UNIT}(提醒)?$")


@dataclass(frozen=True)
class TimelineRef:
    """Which timeline post a leader means: a kind (and its minutes), or a number from 时间线."""

    kinds: tuple[str, ...] = ()
    slot: str | None = None
    index: int | None = None


def _tl_minutes(num: str, unit: str | None) -> int | None:
    n = parse_int(num)
    if n is None or n <= 0:
        return None
    return n * 60 if unit and "时" in unit else n


def parse_timeline_ref(text: str) -> TimelineRef | None:
    """``预热`` ``倒计时5分钟`` ``开团前1小时`` ``最后30分钟`` ``红包雨`` ``催付2`` or a row number ``3``."""
    text = "".join(text.split())
    if not text:
        return None
    if (number := small_number(text)) is not None:
        return TimelineRef(index=number)
    for pattern, kind in _TL_WORDS:
        if re.fullmatch(pattern, text):
            return TimelineRef((kind,), "0")
    if m := _TL_PAY.match(text):
        n = parse_int(m.group(1)) if m.group(1) else None
        return TimelineRef(("pay",), None if n is None else str(n))
    if m := _TL_OWN.match(text):
        return TimelineRef(("own",), str(int(m.group(1))))
    if m := _TL_COUNTDOWN.match(text):
        minutes = _tl_minutes(m.group(1), m.group(2))
        return None if minutes is None else TimelineRef(("countdown",), str(minutes))
    if m := _TL_BEFORE_OPEN.match(text):
        minutes = _tl_minutes(m.group(2), m.group(3))
        return None if minutes is None else TimelineRef(("remind_open", "countdown"), str(minutes))
    if m := _TL_LAST_CALL.match(text):
        minutes = _tl_minutes(m.group(2), m.group(3))
        return None if minutes is None else TimelineRef(("last_call",), str(minutes))
    return None


def split_move(rest: str) -> tuple[TimelineRef, str] | None:
    """``改期 倒计时5分钟 19:56`` -> (the post, the time text); None when it does not read."""
    tokens = rest.split()
    for k in range(1, len(tokens)):
        ref = parse_timeline_ref(" ".join(tokens[:k]))
        if ref is not None:
            return ref, " ".join(tokens[k:])
    return None


@dataclass(frozen=True)
class PaidArgs:
    follow_nos: tuple[int, ...] = ()
    everyone: bool = False


def parse_mark_paid(rest: str, mentions: tuple[str, ...]) -> PaidArgs | None:
    """``收款 12`` / ``收款 3 5 8`` / ``收款 @张三`` / ``收款 全部``; None when it is not a 收款 command."""
    words = rest.replace("，", " ").replace(",", " ").replace("、", " ").split()
    if mentions:
        return PaidArgs()
    if words in (["全部"], ["所有"], ["全部人"]):
        return PaidArgs(everyone=True)
    nos = [w.lstrip("#").removesuffix("号") for w in words]
    numbers = [small_number(n) for n in nos]
    if nos and all(n is not None for n in numbers):
        return PaidArgs(tuple(n for n in numbers if n is not None))
    return None


_BARE = set(" !！~～。.啊呀了红包")


def is_bare(rest: str) -> bool:
    """A short command word said on its own (抢 / 抢！ / 已付款了), not the start of a sentence."""
    return all(ch in _BARE for ch in rest)


# --- after the sale (issue 5) ---------------------------------------------------------------

_PICKUP_CODE = re.compile(r"^#?\s*(\d{4,8})$")


def parse_pickup_code(rest: str) -> str:
    """``核销 0427`` -> "0427"; anything else is a usage error."""
    match = _PICKUP_CODE.match(rest.strip())
    if match is None:
        raise UsageError("verify")
    return match.group(1)


@dataclass(frozen=True)
class TicketAnswer:
    ticket_id: int
    answer: str


_TICKET_ANSWER = re.compile(r"^#?\s*(\d{1,9})(?:号)?\s+(.+)$", re.S)


def parse_ticket_answer(rest: str) -> TicketAnswer | None:
    """``售后 12 已补发`` / ``售后 #12 退款 5`` from the leader; None when it is not an answer."""
    match = _TICKET_ANSWER.match(rest.strip())
    if match is None:
        return None
    return TicketAnswer(int(match.group(1)), match.group(2).strip())


# --- WeChat 接龙 confirmations (issue 3) ------------------------------------------------------

_DECISION = re.compile(
    r"^#?\s*(?P<nos>\d{1,9}(?:\s*号)?(?:\s*[,，、\s]\s*#?\d{1,9}(?:\s*号)?)*)(?:\s+(?P<who>.*))?$"
)


@dataclass(frozen=True)
class DecisionArgs:
    """``确认 12`` / ``确认 12 13`` / ``确认 12 张叔`` (whose line it is) / ``拒绝 12``."""

    numbers: tuple[int, ...]
    member: str | None = None  # a name for an unattributed line


def parse_decision(rest: str) -> DecisionArgs | None:
    """None when the words after 确认/拒绝 hold no report number (「确认一下几点到」 is chit-chat)."""
    match = _DECISION.match(rest.strip())
    if match is None:
        return None
    numbers = tuple(dict.fromkeys(int(n) for n in re.findall(r"\d+", match.group("nos"))))
    who = (match.group("who") or "").strip().lstrip("@").strip() or None
    if who is not None and len(numbers) > 1:
        return None  # one name names the author of one line
    return DecisionArgs(numbers, who)


# --- keeping members ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WinbackArgs:
    """``召回 30天 券5元``: members silent this many days get a coupon of this many fen."""

    days: int
    coupon_fen: int


_WINBACK = re.compile(
    r"^(?P<days>\d{1,3}|[一二两三四五六七八九十百]+)\s*天\s*(?:没下单|未下单|沉默)?\s*[,，]?\s*"
    r"(?:优惠)?券\s*(?P<yuan>\d{1,3}(?:\.\d{1,2})?)\s*元?$"
)


def parse_winback(rest: str) -> WinbackArgs | None:
    """None for a bare ``召回`` (show the last waves); a usage error when it does not read."""
    text = rest.strip()
    if not text:
        return None
    match = _WINBACK.match(text)
    days = parse_int(match["days"]) if match else None
    fen = round(float(match["yuan"]) * 100) if match else 0
    if match is None or days is None or not 1 <= days <= 365 or not 0 < fen <= 100_00:
        raise UsageError("winback")
    return WinbackArgs(days, fen)


def parse_redeem(rest: str) -> int:
    """``积分兑换 500`` -> 500."""
    number = small_number(rest.removesuffix("分").removesuffix("积分"))
    if number is None or number <= 0:
        raise UsageError("redeem")
    return number
