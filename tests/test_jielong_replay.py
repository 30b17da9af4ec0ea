"""docs/examples/jielong_day.yaml, replayed from outside as a leader would: members order only by 接龙."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "docs" / "examples" / "jielong_day.yaml"


@pytest.fixture(scope="module")
def events() -> list[dict]:
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "replay", str(SCENARIO), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def test_every_order_came_from_a_jielong(events: list[dict]) -> None:
    templates = [e["template"] for e in events if e["template"]]
    assert not any(t.startswith("orders/") for t in templates)
    applied = [e["text"] for e in events if e["template"] == "jielong/applied"]
    assert applied == [
        "@李** ✅ 跟团号1：苹果2斤 香蕉1把，合计 ¥35.50",
        "@张* ✅ 跟团号2：苹果3斤，合计 ¥38.40",
        "@赵* ✅ 跟团号3：香蕉2把，合计 ¥19.80",  # appended to the same base as 张叔: both count
        "@刘* ❓ 没看懂「苹果两斤半斤」，请写成：苹果2斤",
        "@刘* ✅ 跟团号4：苹果2斤，合计 ¥25.60",
        "@孙** ✅ 跟团号5：香蕉1把，合计 ¥9.90",  # the identical re-paste before it got no reply
        "@张* ✅ 跟团号2：苹果4斤，合计 ¥51.20",  # after the leader's 确认 1
        "@李** ✅ 接龙里你的那一行删掉了，订单已取消。",  # the stale re-paste after it got no reply
        "@刘* ❗ 苹果每人限购5斤，接龙写的6斤没记上，仍是2斤，最多写苹果5斤。",
    ]


def test_leader_decides_privately(events: list[dict]) -> None:
    request = next(e for e in events if e["template"] == "jielong/confirm_request")
    assert request["to"] == "王姐" and request["chat"] is None
    assert "#1 把张叔的接龙改成：5-301 苹果4斤" in request["text"] and "孙奶奶发的接龙" in request["text"]
    decided = next(e for e in events if e["template"] == "jielong/decided")
    assert decided["to"] == "王姐" and decided["text"] == "✅ #1 已确认，张叔：跟团号2。"


def test_tally_and_close_agree_with_the_last_list(events: list[dict]) -> None:
    tally = next(e for e in events if e["template"] == "campaign/tally")["text"]
    assert "李阿姨" not in tally  # deleted, and an old list pasted again did not bring her back
    assert "2. 张叔 苹果4斤" in tally and "4. 刘哥 苹果2斤" in tally and "5. 孙奶奶 香蕉1把" in tally
    assert "苹果：6斤（剩4）" in tally and "香蕉：3把（剩47）" in tally
    closed = next(e for e in events if e["template"] == "campaign/closed")
    assert closed["time"].startswith("2026-12-05T18:00:00") and "共4人跟团" in closed["text"]


def test_group_posts_mask_names_and_ignore_the_check_in_list(events: list[dict]) -> None:
    group = "\n".join(e["text"] for e in events if e["chat"] and e["template"])
    assert "李阿姨" not in group and "晨跑" not in group
