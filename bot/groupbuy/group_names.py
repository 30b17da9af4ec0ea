"""Naming a leader's groups in chat: 「群 1群 3群」, 「同步 全部群」, 「自提 1群 东门驿站」.

Leaders call their groups by the short end of the name (幸福里1群 -> 1群): a reference
matches a group whose name is it, ends with it (1群 is not the end of 幸福里11群), or, failing
those, is the one group whose name contains it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

ALL_WORDS = frozenset({"全部", "全部群", "所有", "所有群", "全体", "全群", "all"})
_SPLIT = re.compile(r"[\s,，、;；/+]+")


def natural_key(name: str) -> tuple[tuple[int, object], ...]:
    """幸福里2群 before 幸福里10群."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", name) if p)


def split_refs(text: str) -> tuple[str, ...]:
    """「1群 3群」「1群、3群」 -> ("1群", "3群")."""
    return tuple(p for p in _SPLIT.split(text.strip()) if p)


def is_all(refs: Sequence[str]) -> bool:
    return len(refs) == 1 and refs[0].lower() in ALL_WORDS


def _ends_with(name: str, ref: str) -> bool:
    if not name.endswith(ref):
        return False
    before = name[: len(name) - len(ref)]
    return not (ref[:1].isdigit() and before[-1:].isdigit())


def match_group(ref: str, groups: Sequence[tuple[str, str]]) -> str | None:
    """The id of the one group (id, name) this reference names, or None."""
    for rule in (
        lambda name: name == ref,
        lambda name: _ends_with(name, ref),
        lambda name: ref in name,
    ):
        found = [gid for gid, name in groups if rule(name)]
        if len(found) == 1:
            return found[0]
        if found:
            return None  # ambiguous: better to ask than to guess
    return None


def match_groups(refs: Sequence[str], groups: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(ids of the groups named, in the order named, without repeats; references that name none)."""
    if is_all(refs):
        return [gid for gid, _ in groups], []
    ids: list[str] = []
    unknown: list[str] = []
    for ref in refs:
        found = match_group(ref, groups)
        if found is None:
            unknown.append(ref)
        elif found not in ids:
            ids.append(found)
    return ids, unknown
