"""The one order grammar shared by member commands and 接龙 lines.

``parse_order_text("3栋1202 苹果2斤 香蕉x1 不要太熟", catalogue)`` reads item names, whole quantities, a
building-room key and a free-text note. It returns None for anything that does not look like an
order, so chit-chat gets no reply. The rules, in order:

1. Text longer than ``MAX_ORDER_CHARS`` or ``MAX_ORDER_LINES`` is a paragraph, not an order.
2. The room key is taken out first (rooms.parse_room), so 1202 is never read as a quantity.
3. Clauses that ask or report (苹果甜吗？ 今天几点到 还剩3个) go to the note, never into items.
4. The rest is cut into tokens: catalogue names (longest first, so 三文鱼 is not 三 + 文鱼),
   quantities (2, 两斤, x2, ×2, *2, +2, 【12】, 半, 0.5), filler verbs (要 来 买 订 拍), and free text.
   A bare number only counts when nothing but a separator or another item follows it (下午3点取 is
   not a quantity); a Chinese numeral glued to free text is part of that text (周一, 十三香).
5. A quantity belongs to the name just before it if that name has none yet (苹果2斤 香蕉1把),
   otherwise to the next name (要两斤苹果 三斤香蕉). 各 shares one quantity (苹果香蕉各1斤).
6. Names resolve by exact name or alias, then containment (红富士苹果 -> 苹果), then close spelling
   (rapidfuzz; a one-character slip in a name of three or more characters). Two-character names that
   differ by one character are different goods (香瓜 is not 香蕉): they become an UnknownItem with a
   suggestion instead.
7. An order needs a name with a quantity, or a leading 要/来/买/订/拍 with a catalogue name
   (quantity 1). A lone ``+1``/``x2``/``3份`` counts only when the catalogue has exactly one item.
8. Halves, decimals, zero and two quantities on one name (两斤半斤) are ``unreadable``: the reply
   asks for whole numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from bot.groupbuy.numerals import CN_NUMERAL_CHARS, MAX_QUANTITY, parse_quantity
from bot.groupbuy.rooms import parse_room
from bot.groupbuy.text import fold_width

MAX_ORDER_CHARS = 200
MAX_ORDER_LINES = 8
MEMO_LIMIT = 1024  # parsed texts remembered per catalogue index

UNITS = (
    "公斤", "千克", "kg", "斤", "份", "箱", "个", "盒", "袋", "把", "瓶", "提", "只", "颗", "串",
    "包", "件", "条", "支", "罐", "桶", "套", "板", "听", "杯", "枚", "根", "粒", "组", "捆", "扎",
)  # fmt: skip

# Traditional and variant characters common in grocery names, folded before matching (苹菓 -> 苹果).
_VARIANTS = str.maketrans(
    "菓蘋龍鳳雞魚豬蝦麵蔥薑蘿蔔櫻檸槤蓮桔獼楊棗藍黃紅綠鮮餃饅麥醬絲條顆個兩隻嚮",
    "果苹龙凤鸡鱼猪虾面葱姜萝卜樱柠莲莲橘猕杨枣蓝黄红绿鲜饺馒麦酱丝条颗个两只向",
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")

_UNIT = "(?:" + "|".join(re.escape(u) for u in UNITS) + ")"
_NUM = rf"(?:\d+(?:\.\d+)?|\.\d+|[{CN_NUMERAL_CHARS}]+)"
_QTY = re.compile(
    rf"(?P<tael>\d+(?:\.\d+)?两)(?![{CN_NUMERAL_CHARS}]|{_UNIT})"  # 2两: the weight unit, a fraction of a 斤
    rf"|(?P<open>[【\[(（])\s*(?P<bnum>{_NUM})\s*(?P<bunit>{_UNIT})?\s*(?P<bhalf>半\s*{_UNIT}?)?\s*[】\])）]"
    rf"|(?P<mark>[xX×*+\-])?\s*(?:(?P<num>{_NUM})\s*(?P<unit>{_UNIT})?(?P<half>\s*半\s*{_UNIT}?)?(?P<more>(?:\d+|[一二三四五六七八九])两(?!{_UNIT}))?"
    rf"|(?P<onlyhalf>半)\s*(?P<hunit>{_UNIT})?)"
)
_MARK_CHARS = set("xX×*+")
_QTY_START = frozenset("0123456789.【[(（xX×*+-半" + CN_NUMERAL_CHARS)  # where a quantity can begin

# Filler verbs in front of what is ordered. Not when the next character makes it something else
# (来了, 要不要, 买单, 订单, 来自).
_VERB = re.compile(
    r"(?:我也|我家|帮我|我|俺|也|再|还|另外|加)?(?:要|来|买|订|定|拍|预定|预订|加)"
    r"(?![不了是吗过到的点单说着自看源往呢吧啊哦])"
)
_QUESTION = re.compile(
    r"[?？]|吗|呢|么|多少|几点|几号|几时|几天|啥|哪|能不能|可不可以|有没有|是不是|"
    r"还剩|剩下|剩余|库存|一共|总共|合计|已经|收到|到了|发货"
)
_CLAUSE_END = re.compile(r"(?<=[,，。！!？?；;\n])")
# Free text that can never be a product name.
_NOT_NAME_CHARS = set("我你他她们了吗呢吧啊哦呀嘛谁啥么号月次元块钱秒")
_NOT_NAME_PREFIX = ("还", "剩", "共", "第", "每", "限", "约", "大概", "差不多", "已", "才", "就", "都", "等")


@dataclass(frozen=True)
class CatalogueItem:
    id: int
    name: str
    aliases: tuple[str, ...] = ()
    unit: str = "份"


@dataclass(frozen=True)
class OrderPart:
    item_id: int
    quantity: int
    raw: str


@dataclass(frozen=True)
class UnknownItem:
    raw: str
    name: str
    suggestion: str | None  # closest catalogue name, if any


@dataclass(frozen=True)
class ParsedOrder:
    parts: tuple[OrderPart, ...]  # same item twice in one text -> summed
    unknown: tuple[UnknownItem, ...]  # looked like item + quantity but the item is not on sale
    unreadable: tuple[str, ...]  # an item was named but its quantity can't be read (两斤半斤)
    note: str | None  # leftover free text kept as a note (不要辣, 晚点取)
    room: str | None  # building-room key: 3栋1202 -> "3-1202"


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
        # Results by text: a flash sale brings hundreds of identical short messages (苹果1,
        # +1), and a parse depends on nothing but the text and this catalogue.
        self.parsed: dict[str, ParsedOrder | None] = {}

    def spans(self, text: str) -> list[tuple[int, int, CatalogueItem]]:
        """Non-overlapping catalogue-name occurrences, longest name first."""
        taken = [False] * len(text)
        found: list[tuple[int, int, CatalogueItem]] = []
        for term in self.by_length:
            start = text.find(term)
            while start != -1:
                end = start + len(term)
                if not any(taken[start:end]):
                    found.append((start, end, self.terms[term]))
                    for i in range(start, end):
                        taken[i] = True
                start = text.find(term, end)
        return sorted(found, key=lambda span: span[0])

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
        scored = sorted(((fuzz.ratio(name, t), t) for t in self.terms), reverse=True)
        best_score, best = scored[0]
        tied = {self.terms[t].id for score, t in scored if score == best_score}
        close = (
            len(name) >= 3 and len(best) >= 3 and Levenshtein.distance(name, best) <= 1
        ) or best_score >= 85
        if close and len(tied) == 1:
            return self.terms[best], None
        return None, (self.terms[best].name if best_score >= 50 else None)


@dataclass
class _Tok:
    kind: str  # "item" "qty" "text" "verb" "each"
    start: int
    end: int
    gap_before: bool = False  # a separator precedes it
    item: CatalogueItem | None = None
    qty: int | None = None  # whole quantity, None when unreadable
    marked: bool = False  # unit, marker or brackets present
    text_after: bool = False  # free text glued right after this quantity


@dataclass
class _Group:
    name: _Tok | None
    qtys: list[_Tok] = field(default_factory=list)
    forward: bool = False  # quantity written before the name (两斤苹果)


def parse_order_text(text: str, catalogue: Sequence[CatalogueItem] | CatalogueIndex) -> ParsedOrder | None:
    """Read an order from a member's message or 接龙 line; None when it is not an order."""
    if not isinstance(text, str) or len(text) > MAX_ORDER_CHARS * 2:
        return None
    index = catalogue if isinstance(catalogue, CatalogueIndex) else CatalogueIndex(catalogue)
    if text in index.parsed:
        return index.parsed[text]
    if len(index.parsed) >= MEMO_LIMIT:
        index.parsed.clear()
    parsed = index.parsed[text] = _parse(text, index)
    return parsed


def _parse(text: str, index: CatalogueIndex) -> ParsedOrder | None:
    clean = _clean(text).strip()
    if not clean or len(clean) > MAX_ORDER_CHARS or clean.count("\n") >= MAX_ORDER_LINES:
        return None
    room, rest = parse_room(clean)
    rest, notes = _drop_questions(rest)
    work = _fold(rest)
    tokens = _tokenize(work, index)
    has_verb = _split_verbs(tokens, work)
    names = _merge_names(tokens)
    groups, orphans = _pair(names)
    return _evaluate(rest, work, index, groups, orphans, has_verb, notes, room)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", fold_width(text))
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _fold(text: str) -> str:
    """Same length as the input, so positions stay valid for slicing the original."""
    return text.translate(_VARIANTS).translate(_ASCII_LOWER)


def _is_sep(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in "PSZC" or ch in "和、"


def _drop_questions(text: str) -> tuple[str, list[str]]:
    """Blank out asking/reporting clauses (kept for the note); positions are preserved."""
    out, notes = [], []
    for clause in _CLAUSE_END.split(text):
        if clause and _QUESTION.search(clause):
            notes.append(clause)
            out.append(" " * len(clause))
        else:
            out.append(clause)
    return "".join(out), notes


def _tokenize(work: str, index: CatalogueIndex) -> list[_Tok]:
    spans = index.spans(work)
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
        match = _QTY.match(work, pos) if work[pos] in _QTY_START else None
        if match and match.end() > pos and match.end() <= limit:
            tok = _quantity_token(match, work, pos, gap, tokens, span_at)
            if tok is not None:
                tokens.append(tok)
                pos, gap = tok.end, False
                continue
        if _is_sep(work[pos]):
            gap = True
        else:
            add_text(pos)
        pos += 1
    for i, tok in enumerate(tokens[:-1]):
        after = tokens[i + 1]
        tok.text_after = tok.kind == "qty" and after.kind == "text" and after.start == tok.end
    return tokens


def _quantity_token(
    match: re.Match[str], work: str, pos: int, gap: bool, tokens: list[_Tok], span_at: dict
) -> _Tok | None:
    g = match.groupdict()
    number = g["bnum"] or g["num"] or g["tael"] or ""
    unit = g["bunit"] or g["unit"] or g["hunit"]
    half = bool(g["bhalf"] or g["half"] or g["onlyhalf"] or g["tael"] or g["more"])
    mark = g["mark"]
    marked = bool(g["open"] or g["tael"] or unit or (mark and mark in _MARK_CHARS))
    end = match.end()
    while end > pos and work[end - 1].isspace():
        end -= 1
    nxt = work[end] if end < len(work) else ""
    prev_tok = tokens[-1] if tokens else None
    glued_to_text = not gap and prev_tok is not None and prev_tok.kind == "text" and prev_tok.end == pos
    if mark and not number and not g["onlyhalf"]:
        return None
    if not marked:
        # A bare number only when a separator, an item or a marker follows it.
        if nxt and not (_is_sep(nxt) or end in span_at or nxt in _MARK_CHARS):
            return None
        if number and number[0] in CN_NUMERAL_CHARS and glued_to_text:
            return None  # 周一, 初二: part of the word before it
        if number.isdigit() and int(number) > 99:
            return None  # 1202, 2024: not a quantity without a unit
    if g["onlyhalf"] and nxt and not unit and not _is_sep(nxt) and end not in span_at:
        return None  # 半价, 半天
    if number.isdigit() and len(number) > len(str(MAX_QUANTITY)):
        if not marked:
            return None  # phone numbers and order ids
        return _Tok("qty", pos, end, gap_before=gap, qty=None, marked=True)  # 苹果x99999: too many
    value = None if mark == "-" else parse_quantity(number, half) if number else None
    return _Tok("qty", pos, end, gap_before=gap, qty=value, marked=marked)


def _split_verbs(tokens: list[_Tok], work: str) -> bool:
    """Turn 要/来/买… at the start of free text into verb tokens; True if the message starts with one."""
    has_verb = False
    for i, tok in enumerate(list(tokens)):
        if tok.kind != "text":
            continue
        segment = work[tok.start : tok.end]
        if segment == "各":
            tok.kind = "each"
            continue
        match = _VERB.match(segment)
        if not match or not (tok.gap_before or tok.start == 0):
            continue
        if match.end() == len(segment):
            tok.kind = "verb"
        else:
            verb = _Tok("verb", tok.start, tok.start + match.end(), gap_before=tok.gap_before)
            tokens.insert(tokens.index(tok), verb)
            tok.start, tok.gap_before = verb.end, False
        if i == 0:
            has_verb = True
    return has_verb


def _merge_names(tokens: list[_Tok]) -> list[_Tok]:
    """Glue free text onto a neighbouring catalogue name (红富士苹果, 苹果要2斤)."""
    out: list[_Tok] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        # 红富士苹果 with 红富士 an alias of 苹果: one name
        if (
            tok.kind == "item"
            and out
            and out[-1].kind == "item"
            and out[-1].end == tok.start
            and out[-1].item == tok.item
        ):
            out[-1].end = tok.end
            i += 1
            continue
        if tok.kind == "text" and nxt and nxt.kind == "item" and nxt.start == tok.end:
            merged = _Tok("item", tok.start, nxt.end, gap_before=tok.gap_before, item=nxt.item)
            tokens[i + 1] = merged
            i += 1
            continue
        if (
            tok.kind == "text"
            and out
            and out[-1].kind == "item"
            and out[-1].end == tok.start
            and tok.end - tok.start <= 3
            and nxt is not None
            and nxt.kind == "qty"
            and nxt.start == tok.end
        ):
            out[-1].end = tok.end
            i += 1
            continue
        out.append(tok)
        i += 1
    return out


def _pair(tokens: list[_Tok]) -> tuple[list[_Group], list[_Tok]]:
    groups: list[_Group] = []
    forward: list[_Tok] = []
    last: _Tok | None = None
    last_group: _Group | None = None
    verb_pending = each = False
    for tok in tokens:
        if tok.kind == "verb":
            verb_pending = True
        elif tok.kind == "each":
            each = True
        elif tok.kind in ("item", "text"):
            group = _Group(tok)
            groups.append(group)
            if forward:
                group.qtys.extend(forward)
                group.forward = True
                forward = []
            last_group, verb_pending = group, False
        elif tok.kind == "qty":
            if each and last_group is not None:
                for group in reversed(groups):
                    if group.qtys:
                        break
                    group.qtys.append(tok)
                each = False
            elif verb_pending:
                forward.append(tok)
            elif last is not None and last.kind in ("item", "text") and last_group and not last_group.qtys:
                last_group.qtys.append(tok)
            elif last is not None and last.kind == "qty" and not tok.gap_before and last_group:
                last_group.qtys.append(tok)  # 1斤2两: two quantities on one name
            else:
                forward.append(tok)
        last = tok
    return groups, forward


def _evaluate(
    shown: str,
    work: str,
    index: CatalogueIndex,
    groups: list[_Group],
    orphans: list[_Tok],
    has_verb: bool,
    notes: list[str],
    room: str | None,
) -> ParsedOrder | None:
    totals: dict[int, int] = {}
    raws: dict[int, list[str]] = {}
    unknown: list[UnknownItem] = []
    unreadable: list[str] = []
    unquantified: list[str] = []  # catalogue names written without a quantity

    def add(item_id: int, quantity: int, raw: str) -> None:
        totals[item_id] = totals.get(item_id, 0) + quantity
        raws.setdefault(item_id, []).append(raw)

    if orphans and groups:
        groups[-1].qtys.extend(orphans)  # 苹果2斤 3斤: which one?
        orphans = []
    for group in groups:
        name = group.name
        assert name is not None
        toks = [name, *group.qtys]
        start, end = min(t.start for t in toks), max(t.end for t in toks)
        raw = shown[start:end].strip()
        qty = group.qtys[0].qty if len(group.qtys) == 1 else None
        if name.kind == "item" and name.item is not None:
            item, suggestion = name.item, None
        else:
            item, suggestion = index.resolve(_strip_filler(work[name.start : name.end]))
        if item is not None:
            if not group.qtys:
                if has_verb:
                    add(item.id, 1, raw)
                else:
                    unquantified.append(raw)
            elif qty is None or qty + totals.get(item.id, 0) > MAX_QUANTITY:
                unreadable.append(raw)
            else:
                add(item.id, qty, raw)
            continue
        label = _strip_filler(shown[name.start : name.end].strip())
        prose = group.qtys and not group.forward and group.qtys[-1].text_after
        itemish = _looks_like_item(label)
        verb_only = not group.qtys and has_verb and bool(suggestion) and len(groups) == 1  # 要苹菓
        if itemish and ((group.qtys and not prose) or verb_only):
            unknown.append(UnknownItem(raw=raw, name=label, suggestion=suggestion))
        else:
            notes.append(raw)
    if orphans and not groups and len(index.items) == 1:
        qty_tok = orphans[0]
        raw = shown[orphans[0].start : orphans[-1].end].strip()
        if len(orphans) == 1 and (qty_tok.marked or has_verb):
            if qty_tok.qty is None:
                unreadable.append(raw)
            else:
                add(index.items[0].id, qty_tok.qty, raw)
    if not (totals or unknown or unreadable):
        return None
    unreadable.extend(unquantified)
    parts = tuple(OrderPart(item_id=i, quantity=q, raw=" ".join(raws[i])) for i, q in totals.items())
    note = " ".join(n.strip(" ,，。;；!！") for n in notes if n.strip(" ,，。;；!！")).strip() or None
    return ParsedOrder(
        parts=parts, unknown=tuple(unknown), unreadable=tuple(unreadable), note=note, room=room
    )


def _strip_filler(name: str) -> str:
    match = _VERB.match(name)
    if match and match.end() < len(name):
        name = name[match.end() :]
    return name.strip()


def _looks_like_item(name: str) -> bool:
    if not name or len(name) > 12 or any(ch in _NOT_NAME_CHARS for ch in name):
        return False
    if name.startswith(_NOT_NAME_PREFIX):
        return False
    cjk = sum(1 for ch in name if "\u4e00" <= ch <= "\u9fff")
    letters = sum(1 for ch in name if ch.isascii() and ch.isalpha())
    return cjk >= 1 or letters >= 3
