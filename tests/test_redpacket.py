import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.groupbuy.redpacket import split_red_packet


@st.composite
def totals_and_counts(draw):
    total = draw(st.integers(min_value=1, max_value=2_000_00))
    count = draw(st.integers(min_value=1, max_value=min(total, 200)))
    return total, count


@given(totals_and_counts(), st.integers(min_value=0, max_value=2**32))
def test_split_is_exact_and_follows_the_double_average_rule(total_count, seed):
    total, count = total_count
    packets = split_red_packet(total, count, random.Random(seed))
    assert len(packets) == count
    assert sum(packets) == total
    assert all(isinstance(p, int) and p >= 1 for p in packets)
    remaining = total
    for left, packet in zip(range(count, 0, -1), packets, strict=True):
        # Each draw stays below twice the mean of what was left at that moment.
        assert packet * left < 2 * remaining
        remaining -= packet


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=2**32))
def test_as_many_packets_as_fen_gives_one_fen_each(total, seed):
    assert split_red_packet(total, total, random.Random(seed)) == [1] * total


def test_same_seed_same_split():
    assert split_red_packet(5000, 10, random.Random(7)) == split_red_packet(5000, 10, random.Random(7))


@pytest.mark.parametrize(("total", "count"), [(100, 0), (100, -1), (5, 6), (0, 1), (-10, 1)])
def test_impossible_splits_are_refused(total, count):
    with pytest.raises(ValueError):
        split_red_packet(total, count, random.Random(1))


def test_every_position_is_fair_on_average():
    total, count, runs = 5000, 10, 100_000
    rng = random.Random(20261204)
    sums = [0] * count
    largest_first = 0
    for _ in range(runs):
        packets = split_red_packet(total, count, rng)
        largest_first = max(largest_first, packets[0])
        for i, packet in enumerate(packets):
            sums[i] += packet
    mean = total / count
    for i, s in enumerate(sums):
        assert s / runs == pytest.approx(mean, rel=0.01), f"position {i + 1}"
    # The first draw ranges over [1, 999]: it must reach close to its cap but never 2x the mean.
    assert 990 <= largest_first < 2 * mean
