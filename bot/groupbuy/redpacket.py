"""Splitting the bot's own lucky-draw red packets (红包雨), the way WeChat splits a group red packet."""

from __future__ import annotations

import random


def split_red_packet(total_fen: int, count: int, rng: random.Random) -> list[int]:
    """Split ``total_fen`` into ``count`` random packets by the double-average rule.

    Each packet but the last is drawn uniformly from the integers in [1, 2 * remaining / left),
    capped so every later packet can still get 1 fen; the last takes what is left. The
    expected value of every position is the plain average, so grabbing early or late is fair.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if count > total_fen:
        raise ValueError("every packet needs at least 1 fen")
    packets: list[int] = []
    remaining = total_fen
    for left in range(count, 1, -1):
        # Largest integer strictly below 2 * remaining / left, i.e. ceil(2R/L) - 1.
        upper = -(-2 * remaining // left) - 1
        amount = rng.randint(1, min(upper, remaining - (left - 1)))
        packets.append(amount)
        remaining -= amount
    packets.append(remaining)
    return packets
