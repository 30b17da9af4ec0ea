"""Text as members type it: full-width ASCII folded to half-width."""

from __future__ import annotations

# Full-width ASCII (！ to ～) to half-width; the ideographic space and the space WeChat puts
# after an @mention to a plain space. One C-level translate: every message passes here.
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0x2005: 0x20}


def fold_width(text: str) -> str:
    """Full-width ASCII (ａ１＋，：) to half-width; CJK characters are kept as they are."""
    return text.translate(_FOLD)
