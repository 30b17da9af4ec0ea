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

from bot.groupbuy.numerals import parse_quantity


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


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("open", ("开团",), Level.ADMIN, scope="group"),
    CommandSpec("close", ("截团", "结团", "截单"), Level.ADMIN),
    CommandSpec("cancel_campaign", ("取消团", "撤团"), Level.ADMIN),
    CommandSpec("add_stock", ("加库存", "补库存", "补货"), Level.ADMIN),
    CommandSpec("tally", ("统计", "汇总", "接龙统计"), Level.ADMIN),
    CommandSpec("admin", ("管理员",), Level.LEADER, scope="group"),
    CommandSpec("help", ("帮助", "菜单", "help", "功能"), Level.MEMBER),
    CommandSpec("cancel_order", ("取消", "不要了", "退单"), Level.MEMBER, strict=False),
    CommandSpec("change", ("改", "修改", "改成"), Level.MEMBER, strict=False),
    CommandSpec("my_orders", ("我的订单", "查订单", "查单", "我的"), Level.MEMBER, strict=False),
)

_BY_WORD = sorted(((w, spec) for spec in COMMANDS for w in spec.words), key=lambda p: -len(p[0]))
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


def match_command(text: str) -> Invocation | None:
    """The command a message starts with, or None. Case-insensitive for Latin words."""
    head = text.lstrip()
    folded = head.lower()
    for word, spec in _BY_WORD:
        if folded.startswith(word.lower()):
            rest = head[len(word) :]
            # A loose word must stand alone or be followed by a space/argument, never be
            # the start of an ordinary sentence (我的订单 yes, 我的天 no).
            if not spec.strict and rest and not rest[0].isspace() and spec.key == "my_orders":
                continue
            return Invocation(spec, word, rest.strip())
    return None


# --- argument models ---------------------------------------------------------------


@dataclass(frozen=True)
class AddStockArgs:
    item: str
    quantity: int


_ITEM_QTY = re.compile(r"^(?P<item>.+?)\s*[x×*+]?\s*(?P<qty>[0-9零一二两俩三四五六七八九十百千]+)\s*\S{0,2}$")


def parse_add_stock(rest: str) -> AddStockArgs:
    """``加库存 苹果 20`` / ``加库存 苹果20斤``."""
    match = _ITEM_QTY.match(rest.strip())
    qty = parse_quantity(match.group("qty")) if match else None
    if not match or qty is None or qty <= 0:
        raise UsageError("add_stock")
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
    if rest.isdigit():
        return int(rest)
    raise UsageError(key)
