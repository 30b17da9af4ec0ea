"""The one order grammar: what a member's message or 接龙 line asks of the order book.

``parse_order_text("3栋1202 苹果改成3斤，香蕉不要了", catalogue)`` reads it as a careful human would:
items, exact quantities (halves for goods sold by weight), what to do with each (an ``Op``), a
building-room key and a note. None means "not an order": chit-chat, questions, price talk and
forwarded posts stay silent. The rules, in order:

1. Text longer than ``MAX_ORDER_CHARS`` or ``MAX_ORDER_LINES`` is a paragraph, not an order; so is
   a forwarded post (prices on several lines, pack sizes with a price) and a numbered list of
   names (a 接龙 pasted without its header).
2. A look-up (我的订单, 查一下我的订单, 我订了啥) is recognised before anything else.
3. @mentions and courtesies (团长, 谢谢, 麻烦了, [强]) are dropped; they are never notes. The room
   key is taken out (rooms.parse_room), so 1202 is never read as a quantity.
4. The text is cut into clauses at punctuation. A clause that asks (吗, ？, 几个, 多重, 甜不甜) or
   talks price (八块一斤, 39一箱, 贵) is never an order; a clause that reports (还剩, 已经) neither.
5. A clause is cut into tokens: catalogue names (longest first, so 三文鱼 is not 三 + 文鱼; Latin
   names and letter codes only between non-letters), quantities (2, 两斤, x2, +2, -1, 【12】, 半斤,
   一斤半, 1.5斤, 5两), action words (改成 只要 再来 减 不要了 取消 换成), ordering verbs and helpers
   (要 来 拍 订, 给我来, 帮我妈订), and free text. A word between an item and its number is never
   glued onto the item's name. Pack sizes (（40只装）, 5斤装) are part of the goods, never a quantity.
6. A quantity belongs to the name before it (苹果2斤 香蕉1把), else to the next one (来两斤苹果);
   各 shares one (苹果香蕉各1斤). An action word applies to the item it stands by, or to the whole
   clause when it opens it (改 苹果3 香蕉1). ``X不要了，换成Y`` / ``X换成Y`` replace X by Y;
   ``苹果3斤不要2斤了`` sets 3.
7. Names resolve by exact name or alias, containment (红富士苹果 -> 苹果), the same sound (平果 ->
   苹果, pypinyin), then close spelling (rapidfuzz). Two-character names one character apart are
   different goods (香瓜 is not 香蕉): an ``UnknownItem`` with a suggestion.
8. Quantities are checked against the item: halves only for goods sold by weight, weights
   converted between 斤/公斤/克 exactly, a unit that is not the item's (苹果2箱 for goods sold by
   the 斤) is ``Unclear`` — the reply asks instead of guessing.
9. A quantity with no item (+1, 来一份, 我也要, 同上, 改成3, 减一斤) is a part with ``item_id`` None:
   the handler resolves it from the campaign (one item on sale) or the member's order, or asks.
10. In a 接龙 line (``jielong=True``) a named item without a number is 1 of it (B 红烧肉).

Parses are memoised per catalogue index: a flash sale repeats 苹果1 hundreds of times.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from bot.groupbuy.numerals import CN_NUMERAL_CHARS, MAX_QUANTITY, parse_number
from bot.groupbuy.quantity import HALF, Quantity, convert, is_half_step, is_weight, is_whole, normalize
from bot.groupbuy.rooms import parse_room
from bot.groupbuy.text import fold_width

MAX_ORDER_CHARS = 200
MAX_ORDER_LINES = 8
MEMO_LIMIT = 1024  # parsed texts remembered per catalogue index

COUNT_UNITS = (
    "份", "箱", "个", "盒", "袋", "把", "瓶", "提", "只", "颗", "串", "包", "件", "条", "支", "罐",
    "桶", "套", "板", "听", "杯", "枚", "根", "粒", "组", "捆", "扎", "斗", "碗", "头", "张", "块",
)  # fmt: skip
WEIGHT_WORDS = ("公斤", "千克", "市斤", "kg", "斤", "克", "g")
UNITS = WEIGHT_WORDS + COUNT_UNITS
# Units that say "one piece" alike: 榴莲1个 for goods sold by the 只 is the same thing.
_PIECE = frozenset("个只颗枚粒")
_GENERIC = frozenset("份")  # 份 fits anything sold by count
_ONE_UNIT = frozenset("个份盒只袋把箱瓶斤")

# Traditional and variant characters common in grocery names, folded before matching (苹菓 -> 苹果).
_VARIANTS = str.maketrans(
    "菓蘋龍鳳雞魚豬蝦麵蔥薑蘿蔔櫻檸槤蓮桔獼楊棗藍黃紅綠鮮餃饅麥醬絲條顆個兩隻嚮",
    "果苹龙凤鸡鱼猪虾面葱姜萝卜樱柠莲莲橘猕杨枣蓝黄红绿鲜饺馒麦酱丝条颗个两只向",
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Width, variants and case in one table, for repeat_key
_KEY_FOLD = {
    **{code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)},
    **_VARIANTS,
    **_ASCII_LOWER,
    **{code + 0xFEE0: _ASCII_LOWER[code] for code in range(ord("A"), ord("Z") + 1)},
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


class Op(StrEnum):
    """What a part asks of the member's line of that item."""

    ORDER = "order"  # a plain quantity: a new line; on a line she already has, a question
    ADD = "add"  # 再来 / 加 / 苹果+1
    SET = "set"  # 改成 / 只要 / 换成 N / 改 苹果 0
    REDUCE = "reduce"  # 减 / 少 / -1
    REMOVE = "remove"  # 不要了 / 取消 (quantity None)


class Intent(StrEnum):
    """The message as a whole, for replies and for measuring the grammar."""

    ORDER = "order"
    ADD = "add"
    SET = "set"
    REDUCE = "reduce"
    REMOVE = "remove"
    REPLACE = "replace"
    LOOKUP = "lookup"
    ASK = "ask"  # clearly about an order, but which item or how much must be asked


@dataclass(frozen=True)
class CatalogueItem:
    id: int
    name: str
    aliases: tuple[str, ...] = ()
    unit: str = "份"


@dataclass(frozen=True)
class OrderPart:
    item_id: int | None  # None: the member did not say which item (+1, 改成3)
    quantity: Quantity | None  # None with REMOVE: the whole line
    raw: str
    op: Op = Op.ORDER
    again: bool = False  # 再来一份: more of what she already has (for a part without an item)
    dashed: bool = False  # 苹果-2斤: minus, or a dash between name and amount (an order if she has none)


@dataclass(frozen=True)
class UnknownItem:
    raw: str
    name: str
    suggestion: str | None  # closest catalogue name, if any


@dataclass(frozen=True)
class Unclear:
    """An item was named but its quantity cannot be taken as written; the reply asks."""

    raw: str
    reason: str  # "whole" (半个 of goods sold by the piece), "half" (0.3斤), "unit", "qty", "unreadable"
    item_id: int | None = None

    def __str__(self) -> str:
        return self.raw


@dataclass(frozen=True)
class ParsedOrder:
    parts: tuple[OrderPart, ...]  # one per item and op; the same item twice in one text is summed
    unknown: tuple[UnknownItem, ...] = ()  # looked like goods + quantity, but not on sale
    unreadable: tuple[Unclear, ...] = ()
    note: str | None = None  # what the member wrote besides the order (不要太熟, 帮我妈)
    room: str | None = None  # building-room key: 3栋1202 -> "3-1202"
    lookup: bool = False  # 我的订单, 我订了啥
    cancel_all: bool = False  # 取消 / 不要了 with no item named: the whole order

    @property
    def intent(self) -> Intent:
        if self.lookup:
            return Intent.LOOKUP
        ops = {p.op for p in self.parts}
        if self.cancel_all:
            ops.add(Op.REMOVE)
        if any(p.item_id is None for p in self.parts) or (not ops and (self.unreadable or self.unknown)):
            return Intent.ASK
        if Op.REMOVE in ops and ops & {Op.ORDER, Op.ADD, Op.SET}:
            return Intent.REPLACE
        for op, intent in (
            (Op.REMOVE, Intent.REMOVE),
            (Op.SET, Intent.SET),
            (Op.REDUCE, Intent.REDUCE),
            (Op.ADD, Intent.ADD),
        ):
            if op in ops:
                return intent
        return Intent.ORDER


class CatalogueIndex:
    """Folded names and aliases of the items on sale; build once per catalogue and reuse."""

    def __init__(self, catalogue: Sequence[CatalogueItem]) -> None:
        self.items = tuple(catalogue)
        terms: dict[str, CatalogueItem] = {}
        for item in self.items:
            for term in (item.name, *item.aliases):
                folded = _fold(_clean(term)).strip()
                if folded and folded not in terms:
                    terms[folded] = item
        self.terms = terms
        self.by_length = sorted(terms, key=len, reverse=True)
        self.by_id = {item.id: item for item in self.items}
        self._sounds: dict[str, list[str]] | None = None
        # Results by text: a flash sale brings hundreds of identical short messages (苹果1,
        # +1), and a parse depends on nothing but the text and this catalogue.
        self.parsed: dict[tuple[str, bool], ParsedOrder | None] = {}

    def spans(self, text: str) -> list[tuple[int, int, CatalogueItem]]:
        """Non-overlapping catalogue-name occurrences, longest name first.

        A name that starts or ends with a Latin letter (a letter code B, cheese cake) only counts
        between non-letters, so B is not found in "bb" and G not in "500g"."""
        taken = [False] * len(text)
        found: list[tuple[int, int, CatalogueItem]] = []
        for term in self.by_length:
            start = text.find(term)
            while start != -1:
                end = start + len(term)
                if not any(taken[start:end]) and _bounded(text, start, end, term):
                    found.append((start, end, self.terms[term]))
                    for i in range(start, end):
                        taken[i] = True
                start = text.find(term, start + 1)
        return sorted(found, key=lambda span: span[0])

    def sounds(self) -> dict[str, list[str]]:
        """Catalogue terms by their toneless pinyin (平果 sounds like 苹果)."""
        if self._sounds is None:
            self._sounds = {}
            for term in self.terms:
                if len(term) >= 2 and _has_cjk(term):
                    self._sounds.setdefault(_sound(term), []).append(term)
        return self._sounds

    def resolve(self, name: str) -> tuple[CatalogueItem | None, str | None]:
        """(item, None) when the name is clear; (None, closest catalogue name or None) otherwise."""
        if not name or not self.terms:
            return None, None
        if name in self.terms:
            return self.terms[name], None
        contained = [t for t in self.by_length if (len(t) >= 2 or t == name) and t in name]
        if contained:
            longest = [t for t in contained if len(t) == len(contained[0])]
            if len({self.terms[t].id for t in longest}) == 1:
                return self.terms[longest[0]], None
            return None, self.terms[longest[0]].name
        if len(name) >= 2:
            containing = {self.terms[t].id: self.terms[t] for t in self.by_length if name in t}
            if len(containing) == 1:
                return next(iter(containing.values())), None
            if containing:
                return None, next(iter(containing.values())).name
        if len(name) >= 2 and _has_cjk(name):
            same = {self.terms[t].id: self.terms[t] for t in self.sounds().get(_sound(name), ())}
            if len(same) == 1:
                return next(iter(same.values())), None
        scored = sorted(((fuzz.ratio(name, t), t) for t in self.terms), reverse=True)
        best_score, best = scored[0]
        tied = {self.terms[t].id for score, t in scored if score == best_score}
        close = (
            len(name) >= 3 and len(best) >= 3 and Levenshtein.distance(name, best) <= 1
        ) or best_score >= 85
        if close and len(tied) == 1:
            return self.terms[best], None
        return None, (self.terms[best].name if best_score >= 50 else None)


def _bounded(text: str, start: int, end: int, term: str) -> bool:
    if _is_latin(term[0]) and start > 0 and (_is_latin(text[start - 1]) or text[start - 1].isdigit()):
        return False
    return not (_is_latin(term[-1]) and end < len(text) and _is_latin(text[end]))


def _is_latin(ch: str) -> bool:
    return "a" <= ch <= "z"


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _sound(text: str) -> str:
    return " ".join(lazy_pinyin(text))


# ----------------------------------------------------------------------------------- entry point


def parse_order_text(
    text: str, catalogue: Sequence[CatalogueItem] | CatalogueIndex, *, jielong: bool = False
) -> ParsedOrder | None:
    """Read an order from a member's message or 接龙 line; None when it is not an order."""
    if not isinstance(text, str) or len(text) > MAX_ORDER_CHARS * 2:
        return None
    index = catalogue if isinstance(catalogue, CatalogueIndex) else CatalogueIndex(catalogue)
    key = (text, jielong)
    if key in index.parsed:
        return index.parsed[key]
    if len(index.parsed) >= MEMO_LIMIT:
        index.parsed.clear()
    parsed = index.parsed[key] = _Reader(index, jielong).read(text)
    return parsed


def repeat_key(text: str) -> str:
    """What makes two messages "the same text again": letters and digits, width and case folded.
    (One translate and one regex: it runs on every order message.)"""
    return _KEY_DROP.sub("", text[:400].translate(_KEY_FOLD))[:200]


_KEY_DROP = re.compile(r"[^\w+\-×*]+|_+")  # 苹果+1 is not 苹果1


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", fold_width(text))
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _fold(text: str) -> str:
    """Same length as the input, so positions stay valid for slicing the original."""
    return text.translate(_VARIANTS).translate(_ASCII_LOWER)


def _is_sep(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in "PSZC" or ch in "和、跟"


# --------------------------------------------------------------------------- whole-message checks

_MENTION = re.compile(r"@[^\s@]{1,20}(?:\s|$)")
_EMOTICON = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,4}\]")  # WeChat's [强] [玫瑰]
# Courtesies and address words: never notes, never orders.
_COURTESY = re.compile(
    r"团长(?:大人|姐姐|妹妹|哥哥|辛苦了?)?|(?:亲爱的|亲们?|宝子们?|姐妹们?|家人们)(?=[\s,，!！~～。]|$)|"
    r"谢谢(?:团长|啦|了|哈|你|亲)?|感谢|多谢|辛苦(?:了|啦)?|麻烦(?:了|啦|团长|你)?|拜托了?|"
    r"(?<![要不])好的|好滴|好嘞|ok(?![a-z])|嗯+|哈{2,}|嘻+|呵呵|么么哒|比心|(?:[～~!！。]+)"
)
_LOOKUP = re.compile(
    r"^(?:帮我|麻烦|请|能不能|可以)?\s*(?:"
    r"(?:查|看|瞅|核对|确认)(?:一下|下|查|看)?(?:我的|我)?(?:订单|单子|订的|买的|下的单|都订了|订了啥|订了什么)"
    r"|我的(?:订单|单子|单)(?:呢|是啥|有啥|是什么|查一下|看一下)?"
    r"|我(?:刚才|之前|今天|一共|总共|都)?(?:订|买|拍|要|下单|接龙)(?:了|的)?(?:是)?(?:啥|什么|哪些|几样|多少|几(?:斤|个|份|盒|箱|把|袋)?)"
    r"[\u4e00-\u9fff]{0,6}?(?:东西|来着|呀|啊)?"
    r"|我(?:接龙|跟团|报名)(?:上|成功)?了(?:吗|没|没有|么)"
    r"|我(?:有没有|是不是|到底)(?:订|下单|买|拍)(?:上|到|成功)?了?"
    r"|我(?:订|下单|买|拍)(?:上|到|成功)?了(?:吗|没|没有|么)"
    r"|订单(?:呢|在哪|查询)"
    r"|我的|查单|查订单|订单"
    r")\s*[?？。!！~～]*$"
)
# A look-up in other words: about her own order (我 + 订/买/下单…), asking or looking (呢 哪些 多少 看看),
# short, and no number in it (我订了哪些, 团长帮我看看我订了多少, 我下的单呢).
_LOOKUP_MINE = re.compile(r"我.{0,4}?(?:订|买|拍|下单|下的单|单子|接龙|跟团)")
_LOOKUP_ASK = re.compile(r"呢|吗|没有?$|哪些|哪几|多少|啥|什么|几|看看|看下|看一下|查|瞅")
_PRICE = re.compile(
    rf"[¥￥]\s*\d|(?:\d+(?:\.\d+)?|[{CN_NUMERAL_CHARS}]+)\s*(?:块钱|块|元|毛|角)(?![a-z])"
    rf"|(?:\d+(?:\.\d+)?)\s*(?:/|一|每)\s*(?:{'|'.join(UNITS)})"
    rf"|[一每](?:{'|'.join(UNITS)})[^\d,，。]{{0,8}}?(?:要|是|才|得|卖)\s*\d+(?:\.\d+)?(?!\s*(?:{'|'.join(UNITS)}|\d))"
    # 五十九一斤 (59 a jin; 二十一斤 is 21斤), 39.9 (a price's decimals, not a half), 两盒就80了
    rf"|[零一二两三四五六七八九十百]*[十百][一二三四五六七八九]一(?:{'|'.join(UNITS)})"
    rf"|\d+\.\d*[1-46-9](?!\d|\s*(?:{'|'.join(UNITS)}))|(?:就|才|要|共|一共|总共)\s*\d{{2,}}(?:\.\d+)?\s*了"
    r"|便宜|太贵|有点贵|好贵|挺贵|真贵|不贵|贵了|划算|实惠|价格|价钱|多少钱|涨价|降价|打折|团购价|原价|市场价|特价|秒杀价"
)
_PACK = re.compile(
    r"[(（]?\s*\d+(?:\.\d+)?\s*(?:只|颗|个|袋|片|枚|粒|g|克|斤|kg|公斤|ml|毫升|l|升|包|支|根|块|条|盒|瓶|罐|串)?\s*装\s*[)）]?"
    r"|\d+(?:\.\d+)?\s*(?:g|克|ml|毫升|kg)\s*[/*×x]\s*\d*\s*(?:袋|盒|瓶|包|罐|支)"
    r"|[(（]\s*(?:约|净重|毛重|单果|规格)[^)）]{0,12}[)）]|(?:约|净重|毛重|单果|规格)\s*\d+(?:\.\d+)?\s*(?:g|克|斤|kg|公斤|ml)"
)
_TOTAL = re.compile(
    r"(?:共|合计|总共|一共|总价|总计|付了|转了|已付|已转)\s*[:：]?\s*(?:[¥￥]\s*)?\d+(?:\.\d+)?\s*(?:元|块钱|块)?"
    r"|[¥￥]\s*\d+(?:\.\d+)?(?=\s*(?:[)）]|$))"
)
_MONEY = re.compile(
    rf"(?:[¥￥]\s*\d+(?:\.\d+)?|(?:\d+(?:\.\d+)?|[{CN_NUMERAL_CHARS}]+)\s*(?:元|块钱|块)"
    rf"(?:\d(?!\s*(?:{'|'.join(UNITS)}))|[一二三四五六七八九](?!\s*(?:{'|'.join(UNITS)})))?)"
    rf"(?:\s*(?:/|每|一)\s*(?:{'|'.join(UNITS)}))?"
)
_NUMBERED = re.compile(r"^\s*\d{1,3}\s*[.、)）．]")
_QUESTION = re.compile(
    r"[?？]|吗|[呢么嘛](?=[\s,，。!！~～]*$)|什么|啥|怎么|怎样|如何|多少|几(?:个|斤|点|号|时|天|块|钱|盒|份|箱|袋|人|两|克)?"
    r"|哪|谁|为啥|为什么|能不能|能否|可不可以|可以吗|有没有|是不是|行不行|好不好|要不要|够不够|对不对|请问|问一下|问下|咨询"
    r"|多重|多大|多长|多久|不知道|([\u4e00-\u9fff])不\1"
)
_REPORT = re.compile(r"还剩|剩下|剩余|库存|已经|收到|到了|到货|发货|取了|拿到|卖完|抢光|没了")
_CLAUSE = re.compile(r"[,，。；;！!？?\n]+|然后|另外")

# --------------------------------------------------------------------------------- clause tokens

_NUM = rf"(?:\d+(?:\.\d+)?|\.\d+|[{CN_NUMERAL_CHARS}]+(?:点[零〇一二三四五六七八九]+)?)"
_UNIT_RE = "(?:" + "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True)) + ")"
_QTY = re.compile(
    rf"(?P<open>[【\[(（])?\s*(?P<mark>[x×*+\-])?\s*(?:"
    rf"(?P<num>{_NUM})\s*(?:(?P<tael>两)(?![{CN_NUMERAL_CHARS}]|{_UNIT_RE})|(?P<unit>{_UNIT_RE})?\s*(?P<half>半)?"
    rf"(?:(?P<more>\d+|[一二三四五六七八九])两(?!{_UNIT_RE}))?)"
    rf"|(?P<onlyhalf>半)\s*(?P<hunit>{_UNIT_RE})?)"
    r"\s*(?P<close>[】\])）])?"
)
_UNIT_AT = re.compile(_UNIT_RE)
_QTY_START = frozenset("0123456789.【[(（x×*+-半" + CN_NUMERAL_CHARS)
# Words after a number that make it something else than a quantity: 3点 5号 2岁 3口人 3楼.
_NOT_QTY_AFTER = re.compile(r"[点号月日天分秒岁口楼层栋单元室人位次遍年周期折%号米度]|块钱|元|毛|角")

_ADD = "add"
_WORDS: tuple[tuple[str, str, str], ...] = (
    # (pattern, kind, op or role). Tried longest first at each position; a lookahead keeps a word
    # from eating something else (不要太熟 is a note, 来了 is chat).
    (
        r"不要了|不要啦|不要咯|都不要|不用了|不买了|不订了|不拍了|不需要了|算了|作废|撤销|撤回|删掉|删除|删了|去掉|拿掉|退掉|退了",
        "op",
        "remove",
    ),
    (r"取消(?:掉|了)?", "op", "remove"),
    (r"不要", "op", "remove_bare"),  # only before an end, a name or "N斤了" (not 不要太熟)
    (r"改成|改为|改到|改回|改换|改下|改一下|修改为?|调成|调到|调整为|变成|换成|换为|换", "op", "set"),
    (r"改", "op", "set"),
    (
        r"只需要|只需|只要|就要|就来|就订|就拍|就买|就拿|只订|只买|只来|只拍|只拿|只留|总共要|一共要|一共|总共",
        "op",
        "set_soft",
    ),
    (r"就行了?|就好了?|就够了|就够|就可以了?|即可|好了|得了", "op", "set_tail"),
    (
        r"再(?:来|要|加|订|拍|买|拿|整|追|补|添|多)|追加|补加|多要|多来|多加|多拿|多订|又要|还要|另加|另要|加",
        "op",
        _ADD,
    ),
    (r"再", "op", _ADD),
    (r"减掉|减去|减少|减|扣掉|扣除|扣|少要|少来|少拿|少订|少买|少", "op", "reduce"),
    (r"我也要|我也来|我也是|同上|跟一个|跟一份|算我一个|算我一份", "same", ""),
    # Ordering verbs in front of what is ordered (not 来了, 要不要, 买单, 订单, 来自, 带来).
    (
        r"(?:我也|我家|我|俺|也|给我|帮我|麻烦)?(?:想要|需要|想买|想订|要买|要订|要|来|买|订|定|拍|预定|预订|下单|拿|留|整|搞|带)"
        r"(?![不了是吗过到的点单说着自看源往呢吧啊哦走])",
        "verb",
        "",
    ),
    (r"各", "each", ""),
    (
        r"我的订单|我的|订单|单子|数量|个数|份数|那个|这个|全部|全都|所有|都|接龙|然后|另外|还有|的话|的|了|哦|啊|呀|吧|啦|哈|嘛|呗|咯|喔|噢|额|一下|先|呢|就"
        r"|再见|哈喽|你好|早上好|早|晚安|我们|我|俺|咱|把",
        "filler",
        "",
    ),
)
_WORD_RES = [(re.compile(p), kind, role) for p, kind, role in _WORDS]
# 帮我妈订 / 给隔壁王阿姨带 / 替邻居拍: still the sender's order, the person kept as a note.
_HELPER = re.compile(
    r"(?P<who>(?:帮|给|替|代)(?!我(?:来|要|订|拍|买|留|拿))(?:我|俺)?[\u4e00-\u9fffA-Za-z]{1,6}?)"
    r"(?:订|定|买|拍|带|要|来|下单|拿|留|预定|预订)(?![了的])"
)
_NOTE_JUNK = re.compile(r"^[\s\W_了的吧呀啊哦哈嘛呗咯]*$")


@dataclass
class _Tok:
    kind: str  # item qty op verb same each filler text
    start: int
    end: int
    gap_before: bool = False
    item: CatalogueItem | None = None
    qty: Quantity | None = None  # None: unreadable
    unit: str | None = None  # the unit written with a quantity
    mark: str | None = None  # x + - or a bracket
    fraction: bool = False  # 半 or a decimal point written
    op: str = ""
    text_after: bool = False  # free text glued right after this quantity


@dataclass
class _Group:
    name: _Tok | None
    qtys: list[_Tok] = field(default_factory=list)
    forward: bool = False  # quantity written before the name (两斤苹果)
    op: str = ""  # the action word that stands by this item


@dataclass
class _Acc:
    """What a message has said so far, clause by clause."""

    parts: dict[tuple[int | None, Op, bool], list] = field(default_factory=dict)
    unknown: list[UnknownItem] = field(default_factory=list)
    unclear: list[Unclear] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cancel_all: bool = False
    last_items: list[CatalogueItem] = field(default_factory=list)  # named by the clause before
    pending_op: str = ""  # 我改一下，苹果4斤: an action word alone in its clause
    described: bool = False  # a pack size was written (馄饨（40只装）): goods described, not ordered
    talked: bool = False  # a clause asked or talked price: other goods it names are talk too

    def add(
        self,
        item_id: int | None,
        op: Op,
        qty: Quantity | None,
        raw: str,
        again: bool = False,
        dashed: bool = False,
    ) -> None:
        key = (item_id, op, again or dashed)
        entry = self.parts.get(key)
        if entry is None:
            self.parts[key] = [qty, [raw]]
        else:
            entry[0] = None if entry[0] is None or qty is None else normalize(entry[0] + qty)
            entry[1].append(raw)


class _Reader:
    def __init__(self, index: CatalogueIndex, jielong: bool) -> None:
        self.index = index
        self.jielong = jielong

    def read(self, text: str) -> ParsedOrder | None:
        clean = _clean(text).strip()
        if not clean or len(clean) > MAX_ORDER_CHARS or clean.count("\n") >= MAX_ORDER_LINES:
            return None
        if not self.jielong and _looks_up(_strip_courtesy(clean).strip()):
            return ParsedOrder(parts=(), lookup=True)
        if not self.jielong and self._forwarded(clean):
            return None
        room, rest = parse_room(clean)
        rest = _MENTION.sub(" ", rest)
        rest = _EMOTICON.sub(" ", rest)
        acc = _Acc()
        for clause in _clauses(rest):
            self._clause(clause, acc)
        return self._result(acc, room)

    # -------------------------------------------------------------------------- message level

    def _forwarded(self, text: str) -> bool:
        """A supplier's post or an announcement passed on, or a list of names: not her order."""
        lines = [line for line in text.split("\n") if line.strip()]
        prices = sum(1 for line in lines if _PRICE.search(_fold(line)))
        if prices >= 2 or (prices and _PACK.search(_fold(text))):
            return True
        if sum(1 for line in lines if _NUMBERED.match(line)) >= 2:
            return True  # a numbered list (a 接龙 without its header, names, a menu)
        return len(lines) >= 3 and prices >= 1

    def _clause(self, clause: str, acc: _Acc) -> None:
        shown = clause
        # 共45.5元 / ¥25.6 after an order: what she pays, never a quantity, never price talk
        work = _mask(_fold(clause), _TOTAL)
        if not work.strip(" ,，。；;！!\n"):
            return
        if self.jielong:
            work = _mask(work, _MONEY)  # a list line's price is not its quantity
        elif _REPORT.search(work) or _QUESTION.search(work) or _PRICE.search(work):
            # asks, reports or talks price: never an order, but it may name the goods the next
            # clause orders (苹果还有吗？我要2斤)
            acc.last_items = [item for _, _, item in self.index.spans(work)]
            acc.pending_op = ""
            acc.talked = True
            return
        packed = _mask(work, _PACK)  # pack sizes are part of the goods, never a quantity
        acc.described = acc.described or packed != work
        work = _mask(packed, _COURTESY)
        helper = _HELPER.search(work)
        if helper is not None:
            acc.notes.append(shown[helper.start("who") : helper.end("who")])
            # the person is a note; the ordering verb after it stays
            work = (
                work[: helper.start()]
                + " " * (helper.end("who") - helper.start())
                + work[helper.end("who") :]
            )
        tokens = self._tokenize(work)
        if tokens and all(t.kind in ("op", "filler") for t in tokens) and any(t.kind == "op" for t in tokens):
            ops = [t for t in tokens if t.kind == "op"]
            if len(ops) == 1 and ops[0].op not in ("remove",):
                acc.pending_op = ops[0].op  # 我改一下，苹果4斤
                return
        self._evaluate(tokens, shown, work, acc)
        acc.pending_op = ""

    def _result(self, acc: _Acc, room: str | None) -> ParsedOrder | None:
        parts = []
        for (item_id, op, flag), (qty, raws) in acc.parts.items():
            again, dashed = (flag and op != Op.REDUCE), (flag and op == Op.REDUCE)
            parts.append(OrderPart(item_id, qty, " ".join(raws), op, again, dashed))
        # 苹果，3斤: a name alone in one clause, its amount in the next — not a question
        named = {p.item_id for p in parts}
        acc.unclear = [u for u in acc.unclear if not (u.reason == "qty" and u.item_id in named)]
        unknown = () if acc.talked else tuple(acc.unknown)
        if not (parts or unknown or acc.unclear or acc.cancel_all):
            return None
        note = " ".join(n for n in (_tidy_note(n) for n in acc.notes) if n) or None
        return ParsedOrder(
            parts=tuple(parts),
            unknown=unknown,
            unreadable=tuple(acc.unclear),
            note=note,
            room=room,
            cancel_all=acc.cancel_all,
        )

    # ------------------------------------------------------------------------------- tokens
    def _tokenize(self, work: str) -> list[_Tok]:
        spans = self.index.spans(work)
        span_at = {start: (end, item) for start, end, item in spans}
        starts = sorted(span_at)
        tokens: list[_Tok] = []
        pos, gap, n, next_span = 0, True, len(work), 0

        def add_text(i: int) -> None:
            nonlocal gap
            last = tokens[-1] if tokens else None
            if last is not None and last.kind == "text" and last.end == i:
                last.end = i + 1
            else:
                tokens.append(_Tok("text", i, i + 1, gap_before=gap))
            gap = False

        while pos < n:
            while next_span < len(starts) and starts[next_span] < pos:
                next_span += 1
            limit = starts[next_span] if next_span < len(starts) else n
            if pos in span_at:
                end, item = span_at[pos]
                tokens.append(_Tok("item", pos, end, gap_before=gap, item=item))
                pos, gap = end, False
                continue
            if work[pos] in _QTY_START and not (pos and work[pos - 1].isdigit()):  # never inside 138…
                match = _QTY.match(work, pos)
                if match and match.end() > pos and match.end() <= limit:
                    tok = self._quantity(match, work, pos, gap, tokens, span_at)
                    if tok is not None:
                        tokens.append(tok)
                        pos, gap = tok.end, False
                        continue
            prev = tokens[-1] if tokens else None
            if prev is not None and prev.kind == "verb" and prev.end == pos and work[pos] in _ONE_UNIT:
                # 来个鸡腿 / 要份红烧肉: the unit alone after a verb is one of it
                tokens.append(_Tok("qty", pos, pos + 1, qty=1, unit=work[pos]))
                pos, gap = pos + 1, False
                continue
            word = self._word(work, pos, limit, tokens, span_at)
            if word is not None:
                word.gap_before = gap
                tokens.append(word)
                pos, gap = word.end, False
                continue
            if _is_sep(work[pos]):
                gap = True
            else:
                add_text(pos)
            pos += 1
        merged: list[_Tok] = []
        for tok in tokens:
            last = merged[-1] if merged else None
            # 要熟一点的, 少放辣, 改天: a word glued to free text is part of that text
            if (
                tok.kind == "text"
                and last is not None
                and last.kind in ("verb", "op")
                and last.end == tok.start
            ):
                last.kind, last.end, last.op = "text", tok.end, ""
                continue
            if tok.kind == "text" and last is not None and last.kind == "text" and last.end == tok.start:
                last.end = tok.end
                continue
            merged.append(tok)
        tokens = merged
        for i, tok in enumerate(tokens[:-1]):
            after = tokens[i + 1]
            tok.text_after = tok.kind == "qty" and after.kind == "text" and after.start == tok.end
        return tokens

    def _word(self, work: str, pos: int, limit: int, tokens: list[_Tok], span_at: dict) -> _Tok | None:
        prev = tokens[-1] if tokens else None
        glued_text = prev is not None and prev.kind == "text" and prev.end == pos
        for pattern, kind, role in _WORD_RES:
            match = pattern.match(work, pos, limit)
            if match is None or match.end() == pos:
                continue
            if kind in ("verb", "same", "filler") and glued_text:
                continue  # inside a word: 想要, 需要的, 不错的
            if kind == "op" and role == _ADD and work.startswith("加", pos) and glued_text:
                continue  # 增加, 参加
            if role == "remove_bare":
                if not _removes(work, match.end(), span_at):
                    continue  # 不要太熟, 不要辣: a wish, kept as a note
                role = "remove"
            return _Tok(kind, pos, match.end(), op=role)
        return None

    def _quantity(
        self, match: re.Match[str], work: str, pos: int, gap: bool, tokens: list[_Tok], span_at: dict
    ) -> _Tok | None:
        g = match.groupdict()
        if g["open"] and not g["close"]:
            return None
        number = g["num"] or ""
        unit = g["unit"] or g["hunit"]
        mark = g["mark"]
        end = match.end()
        while end > pos and work[end - 1].isspace():
            end -= 1
        nxt = work[end] if end < len(work) else ""
        prev = tokens[-1] if tokens else None
        glued_to_text = not gap and prev is not None and prev.kind == "text" and prev.end == pos
        if mark and not number and not g["onlyhalf"]:
            return None
        if mark == "x" and pos > 0 and _is_latin(work[pos - 1]):
            return None  # a word such as "box2"
        marked = bool(g["open"] or unit or g["tael"] or mark or g["half"] or g["onlyhalf"])
        if _NOT_QTY_AFTER.match(work, end) and not unit:
            return None
        if not marked:
            # A bare number only when a separator, an item, a word or the end follows it.
            if nxt and not (_is_sep(nxt) or end in span_at or _starts_word(work, end)):
                return None
            if number and number[0] in CN_NUMERAL_CHARS and glued_to_text:
                return None  # 周一, 初二, 十三香: part of the word before it
            if number.isdigit() and int(number) > 99:
                return None  # 1202, 2024: not a quantity without a unit
        elif number and number[0] in CN_NUMERAL_CHARS and glued_to_text and not unit:
            return None
        if g["onlyhalf"] and nxt and not unit and not _is_sep(nxt) and end not in span_at:
            return None  # 半价, 半天
        if unit and nxt and _is_latin(unit[-1]) and _is_latin(nxt):
            return None
        if number.replace(".", "").isdigit() and len(number.split(".")[0]) > len(str(MAX_QUANTITY)):
            if not marked:
                return None  # phone numbers and order ids
            return _Tok("qty", pos, end, gap_before=gap, qty=None, mark=mark or "[")  # 苹果x99999: too many
        value: Quantity | None
        fraction = bool(
            g["half"] or g["onlyhalf"] or "." in number or "点" in number or g["more"] or g["tael"]
        )
        if g["half"] and (again := _UNIT_AT.match(work, end)):
            value, end = None, again.end()  # 两斤半斤: two units on one number
        elif g["onlyhalf"]:
            value = HALF
        else:
            base = parse_number(number)
            value = None if base is None else base
            if value is not None and g["half"]:
                value = normalize(value + HALF)
            if value is not None and g["tael"]:
                value, unit = normalize(Decimal(value) / 10), "斤"
            if value is not None and g["more"]:
                taels = parse_number(g["more"])
                value = None if taels is None else normalize(value + Decimal(taels) / 10)
        return _Tok(
            "qty",
            pos,
            end,
            gap_before=gap,
            qty=value,
            unit=unit,
            mark=mark or (g["open"] and "["),
            fraction=fraction,
        )

    # ---------------------------------------------------------------------------- evaluation

    def _evaluate(self, tokens: list[_Tok], shown: str, work: str, acc: _Acc) -> None:
        tokens = _merge_names(tokens)
        items_here = [t.item for t in tokens if t.kind == "item" and t.item is not None]
        ops = [t for t in tokens if t.kind == "op"]
        # X不要了 换成Y / X换成Y / 换成Y: the item before 换 goes, the rest is the new order
        swap = next((t for t in ops if work[t.start : t.end] in _SWAP_WORDS and _swaps(t, tokens)), None)
        if swap is not None:
            before = [t for t in tokens if t.kind == "item" and t.end <= swap.start]
            after = [t for t in tokens if t.kind == "item" and t.start >= swap.end]
            if after:
                gone = [t.item for t in before if t.item is not None] or acc.last_items
                removed = [t for t in ops if t.op == "remove" and t.end <= swap.start]
                if not gone and not removed and any(t.kind == "text" for t in tokens if t.end <= swap.start):
                    gone = []
                for item in gone:
                    acc.add(item.id, Op.REMOVE, None, shown[: swap.start].strip())
                if not gone:
                    acc.add(None, Op.REMOVE, None, shown[: swap.start].strip() or shown.strip())
                self._groups([t for t in tokens if t.start >= swap.end], shown, work, acc, Op.ORDER, True)
                acc.last_items = items_here
                return
        remove_tok = next((t for t in ops if t.op == "remove"), None)
        if remove_tok is not None:
            qty_before = [t for t in tokens if t.kind == "qty" and t.end <= remove_tok.start]
            qty_after = [t for t in tokens if t.kind == "qty" and t.start >= remove_tok.end]
            if qty_before and qty_after and len(items_here) == 1:
                # 苹果3斤不要2斤了: the first number is what she wants
                self._groups([t for t in tokens if t.end <= remove_tok.start], shown, work, acc, Op.SET)
                acc.last_items = items_here
                return
            if not qty_before and not qty_after:
                # 苹果不要了 / 取消苹果 / 不要了; the next clause may say what instead (换成…)
                named = [t for t in tokens if t.kind == "item" and t.item is not None]
                if named:
                    for t in named:
                        acc.add(t.item.id, Op.REMOVE, None, shown[t.start : t.end])  # type: ignore[union-attr]
                    acc.last_items = items_here
                elif not any(t.kind == "text" for t in tokens):
                    acc.cancel_all = True
                return
        default = (acc.pending_op and _op_of(acc.pending_op)) or Op.ORDER
        if ops and tokens and tokens[0].kind in ("op",):
            default = _op_of(tokens[0].op)
        elif ops and tokens and tokens[0].kind == "filler" and any(t.kind == "op" for t in tokens[:2]):
            default = _op_of(next(t for t in tokens if t.kind == "op").op)
        self._groups(tokens, shown, work, acc, default)
        acc.last_items = items_here or acc.last_items

    def _groups(
        self, tokens: list[_Tok], shown: str, work: str, acc: _Acc, default: Op, replacing: bool = False
    ) -> None:
        groups, orphans, verb_first, same = _pair(tokens)
        found_item = False
        talk = any(g.name is not None and g.name.kind == "text" and not g.qtys for g in groups)
        for group in groups:
            name = group.name
            assert name is not None
            toks = [name, *group.qtys]
            start, end = min(t.start for t in toks), max(t.end for t in toks)
            raw = shown[start:end].strip()
            if name.kind == "item" and name.item is not None:
                item, suggestion = name.item, None
            else:
                item, suggestion = self.index.resolve(_strip_filler(work[name.start : name.end]))
            op = _op_of(group.op) if group.op else default
            if item is not None:
                found_item = True
                written = work[name.start : name.end]
                coded = name.kind == "item" and _coded(written, self.index)
                plain = coded or " ".join(written.split()) in self.index.terms  # 苹果, not 周一取苹果
                self._take(item, group, op, raw, verb_first or coded, acc, replacing, talk or not plain)
                continue
            label = _strip_filler(shown[name.start : name.end].strip())
            prose = group.qtys and not group.forward and group.qtys[-1].text_after
            itemish = _looks_like_item(label)
            verb_only = not group.qtys and verb_first and bool(suggestion) and len(groups) == 1  # 要苹菓
            orderish = bool(group.qtys) and not prose and self._orderish(group, verb_first, len(groups) == 1)
            if itemish and (orderish or verb_only):
                unknown = UnknownItem(raw=raw, name=label, suggestion=suggestion)
                if unknown not in acc.unknown:
                    acc.unknown.append(unknown)
            else:
                acc.notes.append(raw if group.qtys and prose else shown[name.start : name.end])
        if orphans:
            qty_tok = orphans[0]
            raw = shown[orphans[0].start : orphans[-1].end].strip()
            op = default
            if qty_tok.mark == "-":
                op = Op.REDUCE
            bare_ok = self.jielong and len(self.index.items) == 1  # 接龙 of one item: 小美 1
            if len(orphans) == 1 and (
                qty_tok.mark or qty_tok.unit or verb_first or op != Op.ORDER or same or bare_ok
            ):
                if acc.last_items and len(acc.last_items) == 1 and not found_item:
                    # 苹果还有吗？我要2斤: the item named just before
                    self._take(acc.last_items[0], _Group(None, [qty_tok]), op, raw, verb_first, acc)
                elif qty_tok.qty is None or not self._quantity_ok(qty_tok):
                    acc.unclear.append(Unclear(raw, "unreadable"))
                else:
                    again = op == Op.ADD
                    acc.add(None, Op.ORDER if again else op, qty_tok.qty, raw, again)
        elif same is not None and not groups:
            acc.add(None, Op.ORDER, 1, shown[same.start : same.end])
        elif (
            not groups
            and verb_first
            and all(t.kind in ("verb", "filler") for t in tokens)
            and work.strip().startswith(("我", "俺", "给我"))  # not a lone 来 / 要 (coming, yes)
        ):
            acc.add(None, Op.ORDER, 1, shown.strip())  # 我要 / 来: one of the only item, or which?

    def _take(
        self,
        item: CatalogueItem,
        group: _Group,
        op: Op,
        raw: str,
        verb_first: bool,
        acc: _Acc,
        replacing: bool = False,
        talk: bool = False,
    ) -> None:
        qtys = group.qtys
        if op == Op.REMOVE:
            acc.add(item.id, Op.REMOVE, None, raw)
            return
        if not qtys:
            if replacing:
                acc.add(item.id, Op.ORDER, None, raw)  # as much as the line it replaces
            elif self.jielong or verb_first or op == Op.ADD:
                acc.add(item.id, op, 1, raw)
            elif not (talk or acc.described):
                acc.unclear.append(Unclear(raw, "qty", item.id))  # just 苹果: how many?
            return
        if len(qtys) > 1:
            acc.unclear.append(Unclear(raw, "unreadable", item.id))
            return
        tok = qtys[0]
        if tok.mark == "-":
            op = Op.REDUCE
        elif tok.mark == "+" and op == Op.ORDER:
            op = Op.ADD
        value = tok.qty
        if value is None:
            acc.unclear.append(Unclear(raw, "unreadable", item.id))
            return
        value, reason = _fit(value, tok.unit, item)
        if reason:
            acc.unclear.append(Unclear(raw, reason, item.id))
            return
        assert value is not None
        if value == 0 and op == Op.SET:
            acc.add(item.id, Op.REMOVE, None, raw)
            return
        if value <= 0 or value > MAX_QUANTITY:
            acc.unclear.append(Unclear(raw, "unreadable", item.id))
            return
        acc.add(item.id, op, value, raw, dashed=tok.mark == "-" and bool(tok.unit))

    def _quantity_ok(self, tok: _Tok) -> bool:
        if tok.qty is None or tok.qty <= 0 or tok.qty > MAX_QUANTITY:
            return False
        return is_whole(tok.qty) or (is_weight(tok.unit) and is_half_step(tok.qty))

    def _orderish(self, group: _Group, verb_first: bool, alone: bool) -> bool:
        """Goods with a unit or a marker after the name (榴莲2个, 西瓜x1), alone with a number
        (西瓜2), or after an ordering verb (要2个榴莲): worth telling her it is not on sale. Not
        3个小孩."""
        if group.forward:
            return verb_first
        return alone or any(t.unit or t.mark for t in group.qtys)


def _fit(value: Quantity, unit: str | None, item: CatalogueItem) -> tuple[Quantity | None, str]:
    """The quantity in the item's own unit, or why it cannot be taken (the reply asks)."""
    sold_by = item.unit
    if unit and unit != sold_by and not (unit in _GENERIC and not is_weight(sold_by)):
        if is_weight(unit) or is_weight(sold_by):
            converted = convert(value, unit, sold_by)
            if converted is None:
                return None, "unit"
            value = converted
        elif sold_by in _GENERIC or (unit in _PIECE and sold_by in _PIECE):
            pass
        else:
            return None, "unit"
    if is_whole(value):
        return normalize(value), ""
    if not is_weight(sold_by):
        return None, "whole"
    if not is_half_step(value):
        return None, "half"
    return normalize(value), ""


_REMOVE_TAIL = re.compile(rf"\s*(?:$|[\s,，。!！~～、]|(?:{_NUM})\s*{_UNIT_RE}?\s*了|了|啦)")


def _removes(work: str, end: int, span_at: dict) -> bool:
    """不要 ends an order when nothing follows, or a name (不要苹果了), or N斤了 (…不要2斤了)."""
    rest = end
    while rest < len(work) and work[rest] == " ":
        rest += 1
    return rest in span_at or bool(_REMOVE_TAIL.match(work, end))


_SWAP_WORDS = frozenset(("换成", "换为", "换", "改成", "改为", "改换"))


def _swaps(op: _Tok, tokens: list[_Tok]) -> bool:
    """换成 always names what comes instead; 改成 only when an item follows that is not the one before
    it (香蕉不要了改成两斤橙子, not 苹果改成3斤)."""
    after = [t.item for t in tokens if t.kind == "item" and t.start >= op.end]
    if not after:
        return False
    before = [t.item for t in tokens if t.kind == "item" and t.end <= op.start]
    return op.op == "set" and (not before or any(a not in before for a in after))


def _looks_up(text: str) -> bool:
    if _LOOKUP.match(text):
        return True
    return (
        len(text) <= 16
        and not any(ch.isdigit() for ch in text)
        and bool(_LOOKUP_MINE.search(text))
        and bool(_LOOKUP_ASK.search(text))
        and not re.search(r"[要来拍订买](?:[一两俩二三四五六七八九十半]|个)", text)  # 我也要一份吗: an order
    )


def _coded(text: str, index: CatalogueIndex) -> bool:
    """The name was written with its letter code (B, B 红烧肉): a meal-chain line, 1 of it."""
    return any(len(t) == 1 and _is_latin(t) and index.terms.get(t) is not None for t in text.split()) or (
        len(text) == 1 and _is_latin(text)
    )


def _op_of(role: str) -> Op:
    return {
        "remove": Op.REMOVE,
        "set": Op.SET,
        "set_soft": Op.SET,
        "set_tail": Op.SET,
        _ADD: Op.ADD,
        "reduce": Op.REDUCE,
    }.get(role, Op.ORDER)


def _starts_word(work: str, pos: int) -> bool:
    return any(p.match(work, pos) for p, kind, _ in _WORD_RES if kind in ("op", "filler"))


def _mask(work: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m.group(0)), work)


def _strip_courtesy(text: str) -> str:
    text = _MENTION.sub(" ", text)
    text = _EMOTICON.sub(" ", text)
    return _COURTESY.sub(" ", _fold(text)).strip(" ,，。!！~～")


def _clauses(text: str) -> list[str]:
    """Clauses at punctuation; positions inside each clause index the clause itself."""
    out, last = [], 0
    for match in _CLAUSE.finditer(text):
        out.append(text[last : match.end()])  # with its punctuation: a ？ makes it a question
        last = match.end()
    out.append(text[last:])
    return [c for c in out if c.strip(" ,，。；;！!\n")]


def _merge_names(tokens: list[_Tok]) -> list[_Tok]:
    """Glue free text onto a neighbouring catalogue name (红富士苹果); never an action word."""
    out: list[_Tok] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        # 红富士苹果 with 红富士 an alias of 苹果, or the letter code and the name (B 红烧肉): one name
        if tok.kind == "item" and out and out[-1].kind == "item" and out[-1].item == tok.item:
            out[-1].end = tok.end
            i += 1
            continue
        if (
            tok.kind == "text"
            and nxt
            and nxt.kind == "item"
            and nxt.start == tok.end
            and tok.end - tok.start <= 4
        ):
            merged = _Tok("item", tok.start, nxt.end, gap_before=tok.gap_before, item=nxt.item)
            tokens[i + 1] = merged
            i += 1
            continue
        if (
            tok.kind == "text"
            and out
            and out[-1].kind == "item"
            and out[-1].end == tok.start
            and tok.end - tok.start <= 2
            and nxt is not None
            and nxt.kind == "qty"
            and nxt.start == tok.end
        ):
            out[-1].end = tok.end  # 苹果大果2斤: a variety word between name and number
            i += 1
            continue
        out.append(tok)
        i += 1
    return out


def _pair(tokens: list[_Tok]) -> tuple[list[_Group], list[_Tok], bool, _Tok | None]:
    """Groups of a name and its quantities; quantities with no name; whether a verb opened the
    clause; a 我也要 / 同上 token."""
    groups: list[_Group] = []
    forward: list[_Tok] = []
    last: _Tok | None = None
    last_group: _Group | None = None
    verb_pending = each = False
    verb_first = False
    same: _Tok | None = None
    pending_op = ""
    for i, tok in enumerate(tokens):
        if tok.kind == "verb":
            verb_pending = True
            if i == 0 or all(t.kind in ("filler", "op") for t in tokens[:i]):
                verb_first = True
        elif tok.kind == "same":
            same = tok
            verb_first = True
        elif tok.kind == "each":
            each = True
        elif tok.kind == "filler":
            continue
        elif tok.kind == "op":
            if tok.op == "set_tail":
                # 苹果3斤就行: the quantity just written is what she wants
                if last_group is not None:
                    last_group.op = "set"
            elif (
                last_group is not None
                and not last_group.qtys
                and last_group.op != "remove"
                and tok.op in ("set", "set_soft", _ADD, "reduce")
            ):
                last_group.op = tok.op  # 苹果改成3 / 苹果再加一斤 / 苹果减一斤
                pending_op = ""
            elif (
                last_group is not None
                and tok.op == "remove"
                and last is not None
                and last.kind in ("item", "qty")
            ):
                last_group.op = "remove"  # 香蕉取消 / 苹果不要了
            else:
                pending_op = tok.op
            if tok.op in ("set_soft", _ADD, "set", "reduce"):
                verb_pending = True
            last = tok
            continue
        elif tok.kind in ("item", "text"):
            group = _Group(tok)
            groups.append(group)
            if forward:
                group.qtys.extend(forward)
                group.forward = True
                forward = []
            if pending_op:
                group.op = pending_op
                pending_op = ""
            last_group, verb_pending = group, False
        elif tok.kind == "qty":
            # 苹果来俩 / 苹果要2斤: a name still waiting for its number, no other name after it
            open_before = last_group is not None and not last_group.qtys and not last_group.forward
            if each and last_group is not None:
                for group in reversed(groups):
                    if group.qtys:
                        break
                    group.qtys.append(tok)
                each = False
            elif verb_pending and not (open_before and not _item_next(tokens, i)):
                forward.append(tok)  # 要两斤苹果
            elif open_before and last is not None and last.kind in ("item", "text", "op", "verb"):
                last_group.qtys.append(tok)
                if pending_op and not last_group.op:
                    last_group.op, pending_op = pending_op, ""
            elif last is not None and last.kind == "qty" and not tok.gap_before and last_group:
                last_group.qtys.append(tok)  # 1斤2两: two quantities on one name
            else:
                forward.append(tok)
        last = tok
    if forward and groups and any(g.qtys for g in groups):
        groups[-1].qtys.extend(forward)  # 苹果2斤 3斤: which one? (unreadable)
        forward = []
    return groups, forward, verb_first, same


def _item_next(tokens: list[_Tok], i: int) -> bool:
    """Whether the next token after ``i`` that is not a filler is a catalogue name."""
    return next((t.kind == "item" for t in tokens[i + 1 :] if t.kind != "filler"), False)


def _strip_filler(name: str) -> str:
    for pattern, kind, _ in _WORD_RES:
        if kind == "verb":
            match = pattern.match(name)
            if match and match.end() < len(name):
                name = name[match.end() :]
    return name.strip()


_NOT_NAME_CHARS = set("我你他她们了吗呢吧啊哦呀嘛谁啥么号月次元块钱秒天点岁楼层")
_NOT_NAME_PREFIX = ("还", "剩", "共", "第", "每", "限", "约", "大概", "差不多", "已", "才", "就", "都", "等")


def _looks_like_item(name: str) -> bool:
    if not name or len(name) > 12 or any(ch in _NOT_NAME_CHARS for ch in name):
        return False
    if name.startswith(_NOT_NAME_PREFIX):
        return False
    cjk = sum(1 for ch in name if "\u4e00" <= ch <= "\u9fff")
    letters = sum(1 for ch in name if ch.isascii() and ch.isalpha())
    return cjk >= 1 or letters >= 3


_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _tidy_note(note: str) -> str:
    note = _PHONE.sub(" ", _COURTESY.sub(" ", note))  # a phone number is never kept in a note
    note = " ".join(note.split()).strip(" ,，。;；!！~～、")
    return "" if _NOTE_JUNK.match(note) else note
