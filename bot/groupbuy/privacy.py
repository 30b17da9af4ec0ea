"""Masking of members' personal data in anything posted to a group."""

from __future__ import annotations

import re

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_name(name: str) -> str:
    """张三 -> 张*, 李阿姨 -> 李**, Alice -> A****; one character is kept as it is."""
    name = name.strip()
    if len(name) <= 1:
        return name or "*"
    return name[0] + "*" * min(len(name) - 1, 4)


def mask_phone(text: str) -> str:
    """Mainland mobile numbers inside any text: 13812345678 -> 138****5678."""
    return _PHONE.sub(r"\1****\2", text)


_DIGIT_RUN = re.compile(r"\d{7,}")


def redact(text: str) -> str:
    """Members' own words echoed into a group: long digit runs (phones, ids) become ***."""
    return _DIGIT_RUN.sub("***", mask_phone(text))
