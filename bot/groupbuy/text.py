"""Text as members type it: full-width ASCII folded to half-width."""

from __future__ import annotations


def fold_width(text: str) -> str:
    """Full-width ASCII (ａ１＋，：) to half-width; CJK characters are kept as they are."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif ch in "\u3000\u2005":  # ideographic space; the space WeChat puts after an @mention
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)
