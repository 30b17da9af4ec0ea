"""The crash test, short: the real bot process SIGKILLed 10 times in an order storm through the
web chat, started again each time; nothing acknowledged lost or doubled, no oversell, no reply
lost or shown twice (bench/chaos.py has the full run and its figures)."""

from __future__ import annotations

import pytest

from bench.chaos import PROBLEMS, report, run
from tests.conftest import BACKENDS, PG_URL


@pytest.mark.parametrize("backend", BACKENDS)
async def test_sigkill_in_an_order_storm_loses_and_doubles_nothing(backend: str) -> None:
    figures = await run(
        members=10, messages=8, kills=10, seed=7, pg_url=PG_URL if backend == "postgres" else None
    )
    print(report(backend, figures))
    assert figures["kills"] == 10 and figures["starts"] == 11
    assert figures["acknowledged"] == 10 * 8  # every member's every frame was acknowledged in the end
    assert {name: figures[name] for name in PROBLEMS} == dict.fromkeys(PROBLEMS, 0)
    assert figures["replies"] >= figures["acknowledged"]  # each order was answered
