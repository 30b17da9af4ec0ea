"""WeChat 接龙 (chain lists): parse a pasted snapshot and reconcile it with what was seen before.

Parsing (``parse_jielong``): a header line holding ``#接龙`` / ``#接龍`` / ``#Group Note`` (a title may
sit on it, or text before it: ``@某人 打卡#接龙``), description lines, an optional ``例`` block (a format
hint that may span lines), then numbered entries ``N. <群昵称> <content>`` (``N.`` ``N、`` ``N)`` ``N:``,
full-width digits, missing space), entries continued on unnumbered lines, and a trailing note after
the last blank line. Quote-replies (a ``- - - -`` line, the quoted part in 「」) are not part of the list.
A list flattened onto one line (``1. 2. 倪彩霞 gt7 3. 莓心``) is split at its sequential numbers.
The entries start at the last line numbered 1 (after any 例 block), so a numbered description above
them is not taken for entries. The nickname is the first whitespace-separated token of an entry.

Reconciling (``reconcile``): every join, edit or delete re-sends the WHOLE list, sent by whoever acted;
a deletion renumbers later lines, so entries are never matched by number. Each line is identified by
a fingerprint of its nickname and content; the state remembers when each fingerprint was first seen
(a version counter bumped per snapshot) and, per member, the current content, its lines and the
version it was set at. The rules:

1. The sender's own lines are authoritative: a new or changed line sets the sender's content (join,
   edit); the sender's lines all missing drops the sender's entry (delete) -- unless the snapshot is
   stale: it shows a line its author has since replaced or deleted, so it is an old list pasted again.
   (A re-pasted old list that shows no such line cannot be told from a fresh one.)
2. A line that once was the sender's content and was since replaced or deleted counts again (a
   revert, or re-joining with the same words) only when the snapshot is not stale and carries every
   other member's current line; so a re-paste never resurrects a cancelled order. A line seen
   before but never applied for the sender (it came first in someone else's snapshot and was
   reported) is applied: its author now vouches for it.
3. Lines of other members that we have seen before change nothing (a re-paste counts nothing twice).
4. A new line attributed to another member is reported (``other_add`` / ``other_edit``), never applied,
   unless the snapshot came as WeChat's XML whose author ids WeChat itself vouches for (a 接龙 the
   transport delivered as one, never typed text): then it is that author's own line and is applied
   as in rule 1.
5. Another member's line missing from the snapshot: if that line is newer than everything the
   snapshot contains, the sender built on an older list (two members appending at once) and nothing
   happens; otherwise someone removed it and it is reported (``other_delete``).
6. A line whose nickname maps to no member is reported (``unattributed``); when the sender has no line
   of their own in the snapshot, the report suggests the sender as its author.
7. Actions are emitted only on change, and each report only once: the same snapshot twice yields
   nothing. Deleting someone else's newest line looks exactly like rule 5's older list and is ignored.

A member's content is the text of all their lines joined by "；" (two lines order both).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.groupbuy.text import fold_width

MAX_JIELONG_CHARS = 200_000
LINE_JOIN = "；"

_HEADER = re.compile(r"#\s*(?:接龙|接龍|group\s*note)", re.IGNORECASE)
_MENTION = re.compile(r"@\S+")
_ENTRY = re.compile(r"^\s*(\d{1,4})\s*(?:[.、)）．]|[:：](?!\d))\s*(.*)$")
_INLINE_NUMBER = re.compile(r"(?:^|(?<=\s))(\d{1,4})\s*[.、)）．](?!\d)")
_EXAMPLE = re.compile(r"^\s*例(?:如)?\s*[:：]?\s*(.*)$")
_QUOTE_RULE = re.compile(r"^\s*(?:[-—–]\s*){4,}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_SPACE = re.compile(r"\s+")
_KEY_DROP = re.compile(r"[\W_]+")
# A line starting with a building-room key (8-602, 3栋1202, 12#302, 2号楼1001, 6-2-503)
_ROOM_START = re.compile(r"^(?:[A-Za-z]?\d{1,3}(?:[-#_/]|栋|幢|号楼|座)\d{0,2}[-_/]?\d{2,4}|\d{3,4}室)")
_MAX_NICK = 20


@dataclass(frozen=True)
class JielongEntry:
    seq: int
    nickname: str
    content: str
    author_id: str | None = None  # WeChat's own author id (XML form only)


@dataclass(frozen=True)
class JielongSnapshot:
    title: str
    description: tuple[str, ...]
    example: tuple[str, ...]
    entries: tuple[JielongEntry, ...]
    trailer: tuple[str, ...]
    key: str  # identifies the list: normalised title + first description line


# ----------------------------------------------------------------------------------------- parsing


def parse_jielong(text: str) -> JielongSnapshot | None:
    """Read a 接龙 message; None when the text holds no 接龙 header."""
    if not isinstance(text, str) or len(text) > MAX_JIELONG_CHARS:
        return None
    text = _CONTROL.sub("", fold_width(text).replace("\r\n", "\n").replace("\r", "\n"))
    text = unicodedata.normalize("NFC", text)
    if not _HEADER.search(text):
        return None
    lines = _without_quotes(text.split("\n"))
    header_at = next((i for i, line in enumerate(lines) if _HEADER.search(line)), None)
    if header_at is None:
        return None
    header = lines[header_at]
    marker = _HEADER.search(header)
    assert marker is not None
    before = _MENTION.sub("", header[: marker.start()]).strip()
    after = header[marker.end() :].strip()
    body = lines[header_at + 1 :]
    # A flattened list keeps everything on the header line: 标题 例 ... 1. 张三 2. 李四
    pieces = _split_inline(after, single=True)
    if len(pieces) > 1 or (pieces and _ENTRY.match(pieces[0])):
        after = "" if _ENTRY.match(pieces[0]) else pieces.pop(0)
        body = pieces + body
    example_inline: list[str] = []
    example_match = re.search(r"(?:^|\s)例(?:如)?\s*[:：]?\s+", after)
    if example_match:
        example_inline = [after[example_match.end() :].strip()]
        after = after[: example_match.start()].strip()
    title = " ".join(part for part in (before, after) if part)
    return _parse_body(title, example_inline, body)


def _without_quotes(lines: list[str]) -> list[str]:
    """Drop quote-reply rules and the quoted 「...」 part they separate from the reply."""
    if not any(_QUOTE_RULE.match(line) for line in lines):
        return lines
    segments: list[list[str]] = [[]]
    for line in lines:
        if _QUOTE_RULE.match(line):
            segments.append([])
        else:
            segments[-1].append(line)
    kept: list[str] = []
    for segment in segments:
        first = next((line.strip() for line in segment if line.strip()), "")
        if first.startswith("「"):
            continue
        kept.extend(segment)
    return kept


def _split_inline(line: str, single: bool = False) -> list[str]:
    """Split ``1. 2. 倪彩霞 gt7 3. 莓心`` at its sequential numbers; other lines come back whole.

    ``single``: one ``1.`` after other text is enough (the header line: ``#接龙 周六团 1. 王姐``).
    """
    marks = [m for m in _INLINE_NUMBER.finditer(line)]
    cuts: list[int] = []
    expected = None
    for match in marks:
        number = int(match.group(1))
        if expected is None:
            if number == 1:
                cuts.append(match.start())
                expected = 2
        elif number == expected:
            cuts.append(match.start())
            expected += 1
    if not cuts or (len(cuts) < 2 and cuts[0] != 0 and not single):
        return [line] if line else []
    pieces = [line[: cuts[0]].strip()] if line[: cuts[0]].strip() else []
    for start, end in zip(cuts, [*cuts[1:], len(line)], strict=True):
        pieces.append(line[start:end].strip())
    return pieces


def _parse_body(title: str, example: list[str], body: list[str]) -> JielongSnapshot:
    lines: list[str] = []
    for line in body:
        lines.extend(_split_inline(line) if _INLINE_NUMBER.search(line) else [line])
    example_end = -1
    for i, line in enumerate(lines):
        if _EXAMPLE.match(line):
            example_end = i
            break
    entry_start = _entry_start(lines, example_end)
    head = lines if entry_start is None else lines[:entry_start]
    description: list[str] = []
    in_example = False
    for line in head:
        stripped = line.strip()
        match = _EXAMPLE.match(line)
        if match and not in_example and not example:
            in_example = True
            if match.group(1).strip():
                example.append(match.group(1).strip())
        elif not stripped:
            in_example = False
        elif in_example:
            example.append(stripped)
        elif not title:
            title = stripped
        else:
            description.append(stripped)
    entries, trailer = _entries(lines[entry_start:] if entry_start is not None else [])
    key = _key(title) + "|" + (_key(description[0]) if description else "")
    return JielongSnapshot(
        title=title,
        description=tuple(description),
        example=tuple(example),
        entries=tuple(entries),
        trailer=tuple(trailer),
        key=key,
    )


def _entry_start(lines: list[str], after: int) -> int | None:
    numbered = [
        (i, int(m.group(1))) for i, line in enumerate(lines) if (m := _ENTRY.match(line)) and i > after
    ]
    if not numbered:
        return None
    ones = [i for i, number in numbered if number == 1]
    return ones[-1] if ones else numbered[0][0]


def _entries(lines: list[str]) -> tuple[list[JielongEntry], list[str]]:
    raw: list[tuple[int, list[str]]] = []
    trailer: list[str] = []
    blank_since_entry = False
    for line in lines:
        stripped = line.strip()
        match = _ENTRY.match(line)
        number = int(match.group(1)) if match else 0
        if match and (not raw or number > raw[-1][0]) and not (trailer and blank_since_entry):
            raw.append((number, [match.group(2).strip()]))
            blank_since_entry = False
        elif not stripped:
            blank_since_entry = bool(raw)
        elif blank_since_entry or trailer:
            trailer.append(stripped)
        elif raw:
            raw[-1][1].append(stripped)
    entries = []
    for seq, parts in raw:
        text = _SPACE.sub(" ", " ".join(p for p in parts if p)).strip()
        nickname, _, content = text.partition(" ")
        entries.append(JielongEntry(seq=seq, nickname=nickname, content=content.strip()))
    return entries, trailer


def _key(text: str) -> str:
    return _KEY_DROP.sub("", text.casefold())[:64]


# ---------------------------------------------------------------------------------------- XML form


def parse_jielong_xml(xml: str) -> JielongSnapshot | None:
    """WeChat app message type 53: the list in <title>, each entry's author id in <solitaire_info>."""
    if not isinstance(xml, str) or len(xml) > MAX_JIELONG_CHARS * 2 or "<" not in xml:
        return None
    xml = xml[xml.index("<") :]  # group messages arrive as "wxid_xxx:\n<?xml ...>"
    if "<!DOCTYPE" in xml.upper() or "<!ENTITY" in xml.upper():
        return None  # no entity expansion from untrusted input
    try:
        root = ET.fromstring(xml)
    except (ET.ParseError, ValueError):
        return None
    appmsg = root if root.tag == "appmsg" else root.find(".//appmsg")
    if appmsg is None:
        return None
    kind = (appmsg.findtext("type") or "").strip()
    if kind and kind != "53":
        return None
    title = appmsg.findtext("title") or ""
    snapshot = parse_jielong(title)
    if snapshot is None:
        return None
    authors = _authors(appmsg.find(".//solitaire_info"), title)
    if not authors:
        return snapshot
    return _with_authors(snapshot, authors)


def _authors(info: ET.Element | None, title: str) -> list[tuple[str, str | None]]:
    """(author id, the entry text its UTF-16 range points at) in list order."""
    if info is None:
        return []
    solitaire: ET.Element | None = info.find(".//content")
    if solitaire is None and (info.text or "").strip():
        try:
            inner = ET.fromstring(info.text.strip())
        except (ET.ParseError, ValueError):
            return []
        solitaire = inner.find(".//content")
    if solitaire is None:
        return []
    utf16 = title.encode("utf-16-le", "surrogatepass")
    found = []
    for item in solitaire.findall("i"):
        author = (item.findtext("u") or "").strip()
        if not author:
            continue
        span = None
        match = re.fullmatch(r"\s*(\d+)-(\d+)\s*", item.findtext("r") or "")
        if match:
            start, length = int(match.group(1)), int(match.group(2))
            chunk = utf16[2 * start : 2 * (start + length)]
            span = _SPACE.sub(" ", chunk.decode("utf-16-le", "ignore")).strip()
        found.append((author, span))
    return found


def _with_authors(snapshot: JielongSnapshot, authors: list[tuple[str, str | None]]) -> JielongSnapshot:
    texts = [_SPACE.sub(" ", f"{e.nickname} {e.content}").strip() for e in snapshot.entries]
    assigned: list[str | None] = [None] * len(texts)
    used = [False] * len(authors)
    for i, text in enumerate(texts):
        for j, (author, span) in enumerate(authors):
            if not used[j] and span is not None and _SPACE.sub(" ", fold_width(span)) == text:
                assigned[i], used[j] = author, True
                break
    if len(authors) == len(texts):  # ranges unreadable (edited title?): fall back to list order
        for i in range(len(texts)):
            if assigned[i] is None and not used[i]:
                assigned[i], used[i] = authors[i][0], True
    entries = tuple(
        JielongEntry(e.seq, e.nickname, e.content, author_id=assigned[i])
        for i, e in enumerate(snapshot.entries)
    )
    return JielongSnapshot(
        snapshot.title, snapshot.description, snapshot.example, entries, snapshot.trailer, snapshot.key
    )


# -------------------------------------------------------------------------------------- reconciling


@dataclass(frozen=True)
class SetEntry:
    member_id: str
    content: str  # this member's jielong content is now `content`


@dataclass(frozen=True)
class DropEntry:
    member_id: str  # this member's entry is gone: cancel


@dataclass(frozen=True)
class NeedsConfirm:
    """Something only the leader may decide. kind: other_add, other_edit, other_delete, unattributed."""

    kind: str
    nickname: str
    content: str | None
    member_id: str | None  # whose entry it touches; for ``unattributed`` the likely author, if any
    fingerprints: tuple[str, ...] = ()  # the lines concerned, handed back to ``confirm``


Action = SetEntry | DropEntry | NeedsConfirm


@dataclass
class MemberEntry:
    nickname: str
    content: str | None  # None: the member's entry was dropped
    lines: list[str]  # fingerprints of the member's current lines
    since: int  # version at which the current content was set
    retired: list[str] = field(default_factory=list)  # lines that were this member's and were replaced


@dataclass
class JielongState:
    """What one 接龙 (per group and key) has shown so far. Serialise with to_json()/from_json()."""

    version: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # line fingerprint -> version first seen
    members: dict[str, MemberEntry] = field(default_factory=dict)
    reported: set[str] = field(default_factory=set)  # reports already sent to the leader

    def contents(self) -> dict[str, str]:
        """Current content per member with an entry."""
        return {mid: m.content for mid, m in self.members.items() if m.content is not None}

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "seen": self.seen,
                "members": {
                    mid: {
                        "nickname": m.nickname,
                        "content": m.content,
                        "lines": m.lines,
                        "since": m.since,
                        "retired": m.retired,
                    }
                    for mid, m in self.members.items()
                },
                "reported": sorted(self.reported),
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, data: str) -> JielongState:
        raw = json.loads(data)
        return cls(
            version=int(raw["version"]),
            seen={str(k): int(v) for k, v in raw["seen"].items()},
            members={
                str(mid): MemberEntry(
                    m["nickname"], m["content"], list(m["lines"]), int(m["since"]), list(m.get("retired", []))
                )
                for mid, m in raw["members"].items()
            },
            reported=set(raw["reported"]),
        )

    def copy(self) -> JielongState:
        return JielongState(
            version=self.version,
            seen=dict(self.seen),
            members={
                mid: MemberEntry(m.nickname, m.content, list(m.lines), m.since, list(m.retired))
                for mid, m in self.members.items()
            },
            reported=set(self.reported),
        )


@dataclass
class _Line:
    member_id: str | None
    nickname: str
    content: str
    fp: str
    trusted: bool


def fingerprint(nickname: str, content: str) -> str:
    text = _SPACE.sub(" ", f"{nickname}\x1f{content}").strip().casefold()
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def reconcile(
    state: JielongState,
    snap: JielongSnapshot,
    sender_id: str,
    attribute: Callable[[str], str | None],
) -> tuple[JielongState, list[Action]]:
    """Compare a snapshot with the state; return the new state and what changed (see module rules)."""
    st = state.copy()
    st.version += 1
    version = st.version
    owners = {fp: mid for mid, m in st.members.items() for fp in m.lines}
    lines = [line for entry in snap.entries if (line := _attribute(entry, attribute, owners)) is not None]
    fresh_lines = [line for line in lines if line.fp not in st.seen]
    if len(fresh_lines) == 1 and fresh_lines[0].member_id is None:
        # The list's only new line is its sender's, whatever nickname or room it starts with:
        # whoever adds a line sends the whole list (8-602 南瓜2个, 珍珍 草莓2盒).
        fresh_lines[0].member_id = sender_id
    mine: dict[str, list[_Line]] = {}
    for line in lines:
        if line.member_id is not None:
            mine.setdefault(line.member_id, []).append(line)
    new = {line.fp for line in lines if line.fp not in st.seen}
    present = {line.fp for line in lines}
    # The newest list the sender had seen: lines of others in it were seen by the sender. The sender's
    # own lines only tell when the sender last set them (they may have come first in another list).
    base = max(
        (st.seen[line.fp] for line in lines if line.member_id != sender_id and line.fp in st.seen), default=0
    )
    own = st.members.get(sender_id)
    if own is not None and own.content is not None and own.lines and set(own.lines) <= present:
        base = max(base, own.since)
    others_current = all(
        set(m.lines) <= present for mid, m in st.members.items() if mid != sender_id and m.content is not None
    )
    # an old snapshot pasted again shows lines their authors have since replaced or deleted
    stale = any(
        line.fp in st.members[line.member_id].retired
        for line in lines
        if line.member_id is not None and line.member_id != sender_id and line.member_id in st.members
    )
    unattributed_new = [line for line in lines if line.member_id is None and line.fp in new]
    actions: list[Action] = []

    for mid, member_lines in mine.items():
        content = LINE_JOIN.join(line.content for line in member_lines)
        fps = [line.fp for line in member_lines]
        nickname = member_lines[0].nickname
        current = st.members.get(mid)
        if current is not None and current.content == content:
            current.lines, current.nickname = fps, nickname  # a renamed member keeps the entry
            continue
        has_new = any(fp in new for fp in fps)
        # a line never applied for this member (new, or only reported so far) is fresh news from its author
        known = set(current.lines) | set(current.retired) if current is not None else set()
        fresh = any(fp not in known for fp in fps)
        if mid == sender_id or (fresh and all(line.trusted for line in member_lines)):
            if fresh or (mid == sender_id and others_current and not stale):
                _set(st, mid, MemberEntry(nickname, content, fps, version))
                actions.append(SetEntry(mid, content))
        elif has_new:
            kind = "other_edit" if current is not None and current.content is not None else "other_add"
            new_fps = tuple(fp for fp in fps if fp in new)
            _report(st, actions, NeedsConfirm(kind, nickname, content, mid, new_fps), f"{kind}:{new_fps}")

    for mid, member in list(st.members.items()):
        if member.content is None or mid in mine:
            continue
        if mid == sender_id:
            if unattributed_new or stale:
                continue  # an unattributed line may be the sender's; a stale list says nothing about now
            _set(st, mid, MemberEntry(member.nickname, None, [], version))
            actions.append(DropEntry(mid))
        elif member.since <= base:
            request = NeedsConfirm("other_delete", member.nickname, member.content, mid, tuple(member.lines))
            _report(st, actions, request, f"other_delete:{mid}:{member.lines}")

    suggest = sender_id if sender_id not in mine else None
    for line in unattributed_new:
        request = NeedsConfirm("unattributed", line.nickname, line.content, suggest, (line.fp,))
        _report(st, actions, request, f"unattributed:{line.fp}")

    for line in lines:
        st.seen.setdefault(line.fp, version)
    return st, actions


def confirm(
    state: JielongState, request: NeedsConfirm, member_id: str | None = None
) -> tuple[JielongState, SetEntry | DropEntry]:
    """The leader confirmed a report: apply it to the state and return the action for the order book.

    ``member_id`` names the member for an ``unattributed`` line (defaults to the suggested one).
    """
    mid = member_id or request.member_id
    if mid is None:
        raise ValueError("an unattributed line needs a member to confirm it for")
    st = state.copy()
    st.version += 1
    if request.kind == "other_delete":
        previous = st.members.get(mid)
        nickname = previous.nickname if previous else request.nickname
        _set(st, mid, MemberEntry(nickname, None, [], st.version))
        return st, DropEntry(mid)
    content = request.content or ""
    _set(st, mid, MemberEntry(request.nickname, content, list(request.fingerprints), st.version))
    return st, SetEntry(mid, content)


def _set(st: JielongState, member_id: str, entry: MemberEntry) -> None:
    """Replace a member's entry, remembering the lines it replaces so a re-paste cannot bring them back."""
    previous = st.members.get(member_id)
    if previous is not None:
        retired = [*previous.retired, *(fp for fp in previous.lines if fp not in entry.lines)]
        entry.retired = list(dict.fromkeys(fp for fp in retired if fp not in entry.lines))
    st.members[member_id] = entry


def _attribute(
    entry: JielongEntry, attribute: Callable[[str], str | None], owners: dict[str, str]
) -> _Line | None:
    """Whose line it is and the part of it that holds the order (a room in front is kept)."""
    if not entry.nickname and not entry.content:
        return None  # an empty numbered line: nothing to attribute or report
    fp = fingerprint(entry.nickname, entry.content)
    whole = f"{entry.nickname} {entry.content}".strip()
    if entry.author_id:
        return _Line(entry.author_id, entry.nickname, _order_part(entry), fp, trusted=True)
    member = attribute(entry.nickname)
    content = entry.content
    if member is None and content:
        # Group nicknames may hold a space (3-1202 王姐): try the first two tokens as the nickname.
        second, _, rest = content.partition(" ")
        member = attribute(f"{entry.nickname} {second}")
        if member is not None:
            content = rest.strip()
        elif _ROOM_START.match(entry.nickname):
            # 3栋1202 李阿姨 苹果2斤: a room, then the nickname; the room stays with the order
            member = attribute(second)
            content = f"{entry.nickname} {rest}".strip() if member is not None else whole
    if member is None:
        # 王秀英3斤 / 王秀英苹果2斤: a nickname glued to what she orders
        for end in range(min(len(entry.nickname), _MAX_NICK), 1, -1):
            if (found := attribute(entry.nickname[:end])) is not None:
                member, content = found, f"{entry.nickname[end:]} {entry.content}".strip()
                break
    if member is None:
        member = owners.get(fp)  # a line we already know as someone's (their single new line)
        content = _order_part(entry)
    return _Line(member, entry.nickname, content, fp, trusted=False)


def _order_part(entry: JielongEntry) -> str:
    """The order in a line whose nickname matched nobody: a room or goods in front stay, a name goes."""
    if _ROOM_START.match(entry.nickname) or any(ch.isdigit() for ch in entry.nickname) or not entry.content:
        return f"{entry.nickname} {entry.content}".strip()
    return entry.content


def _report(st: JielongState, actions: list[Action], request: NeedsConfirm, key: str) -> None:
    if key not in st.reported:
        st.reported.add(key)
        actions.append(request)
